import test from 'ava'
import type { ExecutionContext } from 'ava'
import { ResponseError } from '../../shared/errors.js'
import { kParkChunked, kParkDone, ResponseParser } from '../../workers/acceptor/response-parser.js'
import type { ResponseHead, ResponseSink } from '../../workers/acceptor/response-parser.js'

/** Records what a parser reports, and fails on any out-of-order callback. */
class Recorder implements ResponseSink {
  head: ResponseHead | null = null
  body: Buffer[] = []
  ends = 0
  violations: string[] = []
  onHead (head: ResponseHead): void {
    if (this.head !== null) this.violations.push('second onHead')
    this.head = head
  }

  onBody (chunk: Buffer): void {
    if (this.head === null) this.violations.push('onBody before onHead')
    if (this.ends > 0) this.violations.push('onBody after onEnd')
    if (chunk.length === 0) this.violations.push('empty onBody')
    this.body.push(Buffer.from(chunk))   // copy: the view is only valid during the call
  }

  onEnd (): void {
    if (this.head === null) this.violations.push('onEnd before onHead')
    this.ends++
  }
}

interface Outcome {
  head: ResponseHead | null
  body: string
  ends: number
  consumed: number
  done: boolean
  clean: boolean | null
}

/** Feeds pieces the way the acceptor does: stops at the end of the response, then close(). */
function feed (pieces: Buffer[], opts: { isHead?: boolean, close?: boolean, parser?: ResponseParser } = {}): Outcome {
  const parser = opts.parser ?? new ResponseParser()
  const sink = new Recorder()
  parser.reset(sink, opts.isHead ?? false)
  let consumed = 0
  for (const piece of pieces) {
    if (parser.done) break
    const n = parser.push(piece)
    if (n < piece.length && !parser.done) throw new Error(`push consumed ${n}/${piece.length} but not done`)
    consumed += n
  }
  const clean = opts.close === true ? parser.close() : null
  if (sink.violations.length > 0) throw new Error(sink.violations.join('; '))
  return {
    head: sink.head,
    body: Buffer.concat(sink.body).toString('latin1'),
    ends: sink.ends,
    consumed,
    done: parser.done,
    clean
  }
}

const b = (s: string): Buffer => Buffer.from(s, 'latin1')

function splitAt (buf: Buffer, points: number[]): Buffer[] {
  const out: Buffer[] = []
  let prev = 0
  for (const p of points) { out.push(buf.subarray(prev, p)); prev = p }
  out.push(buf.subarray(prev))
  return out
}

function bytes (buf: Buffer): Buffer[] {
  const out: Buffer[] = []
  for (let i = 0; i < buf.length; i++) out.push(buf.subarray(i, i + 1))
  return out
}

// ---- valid responses, each checked one-shot, at every split point, and byte by byte ---------

interface Case {
  name: string
  response: string        // exactly one response
  after?: string          // bytes that follow it and must not be consumed
  isHead?: boolean
  close?: boolean         // until-close: ended by close()
  expect: Partial<ResponseHead> & { body: string }
}

const kLongValue = 'v'.repeat(5000)   // longer than the line buffer's 4 KiB growth step

const cases: Case[] = [
  {
    name: 'Content-Length, the Mongrel2 hello world',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello World\n',
    after: 'HTTP/1.1 200 OK\r\n',
    expect: { status: 200, reason: 'OK', headers: [], framing: 'length', contentLength: 12, connectionClose: false, body: 'Hello World\n' }
  },
  {
    name: 'chunked with extensions and trailers',
    response: 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n' +
      '5;name=val\r\nHello\r\n7 ; a="b;c" \r\n, World\r\n1a\r\nabcdefghijklmnopqrstuvwxyz\r\n' +
      '0;last\r\nX-Trailer: t\r\nExpires: never\r\n\r\n',
    after: 'EXTRA',
    expect: {
      status: 200,
      headers: [['Content-Type', 'text/plain']],
      framing: 'chunked',
      contentLength: -1,
      body: 'Hello, Worldabcdefghijklmnopqrstuvwxyz'
    }
  },
  {
    name: 'chunked with bare LF line ends and upper-case hex',
    response: 'HTTP/1.1 201 Created\nTransfer-Encoding: chunked\n\nA\n0123456789\n0\n\n',
    after: 'X',
    expect: { status: 201, reason: 'Created', framing: 'chunked', body: '0123456789' }
  },
  {
    name: 'HTTP/1.0 with bare LF line ends',
    response: 'HTTP/1.0 200 OK\nContent-Length: 3\n\nabc',
    after: 'zzz',
    expect: { status: 200, framing: 'length', contentLength: 3, body: 'abc' }
  },
  {
    name: 'until-close body ended by close()',
    response: 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n\r\ndata: 1\n\ndata: 2\n\n',
    close: true,
    expect: { status: 200, framing: 'close', contentLength: -1, headers: [['Content-Type', 'text/event-stream']], body: 'data: 1\n\ndata: 2\n\n' }
  },
  {
    name: '204 has no body',
    response: 'HTTP/1.1 204 No Content\r\nX-Id: 7\r\n\r\n',
    after: 'HTTP/1.1 200 OK\r\n\r\n',
    expect: { status: 204, framing: 'none', contentLength: -1, headers: [['X-Id', '7']], body: '' }
  },
  {
    name: '304 has no body even with Content-Length',
    response: 'HTTP/1.1 304 Not Modified\r\nETag: "x"\r\nContent-Length: 99\r\n\r\n',
    after: 'not a body',
    expect: { status: 304, framing: 'none', contentLength: 99, headers: [['ETag', '"x"']], body: '' }
  },
  {
    name: 'HEAD request: no body after the head',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n',
    after: 'Hello World\n',
    isHead: true,
    expect: { status: 200, framing: 'none', contentLength: 12, body: '' }
  },
  {
    name: '100 Continue ends at its head',
    response: 'HTTP/1.1 100 Continue\r\n\r\n',
    after: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    expect: { status: 100, reason: 'Continue', framing: 'none', body: '' }
  },
  {
    name: 'framing headers dropped, others kept in order with original case',
    response: 'HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nCONNECTION: close\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\n' +
      'Keep-Alive: timeout=5\r\ncontent-length: 2\r\nServer: sb\r\nSet-Cookie: b=2\r\n\r\nok',
    after: '!',
    expect: {
      headers: [['Set-Cookie', 'a=1'], ['Date', 'Mon, 01 Jan 2024 00:00:00 GMT'], ['Server', 'sb'], ['Set-Cookie', 'b=2']],
      framing: 'length',
      contentLength: 2,
      connectionClose: true,
      body: 'ok'
    }
  },
  {
    name: 'Content-Length 0 ends at the head',
    response: 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n',
    after: 'next',
    expect: { framing: 'length', contentLength: 0, body: '' }
  },
  {
    name: 'a header line longer than the 4 KiB buffer step',
    response: `HTTP/1.1 599 Custom Reason Here\r\nX-Long: ${kLongValue}\r\nContent-Length: 5\r\n\r\nhello`,
    after: 'x',
    expect: { status: 599, reason: 'Custom Reason Here', headers: [['X-Long', kLongValue]], body: 'hello' }
  }
]

function checkOutcome (t: ExecutionContext, c: Case, got: Outcome, how: string): void {
  t.truthy(got.head, `${how}: head`)
  const { body, ...head } = c.expect
  for (const [key, value] of Object.entries(head)) {
    t.deepEqual((got.head as unknown as Record<string, unknown>)[key], value, `${how}: head.${key}`)
  }
  t.is(got.body, body, `${how}: body`)
  t.is(got.ends, 1, `${how}: one onEnd`)
  t.true(got.done, `${how}: done`)
  t.is(got.consumed, Buffer.byteLength(c.response, 'latin1'), `${how}: consumed exactly the response`)
  if (c.close === true) t.true(got.clean, `${how}: close() is clean`)
}

for (const c of cases) {
  test(`one-shot: ${c.name}`, t => {
    const input = b(c.response + (c.after ?? ''))
    checkOutcome(t, c, feed([input], c), 'one-shot')
  })

  test(`every split point and 1-byte pieces: ${c.name}`, t => {
    const input = b(c.response + (c.after ?? ''))
    const oneShot = feed([input], c)
    // Compare everything but assert only on mismatch: thousands of splits, one message each.
    let mismatches = 0
    for (let i = 0; i <= input.length; i++) {
      const got = feed(splitAt(input, [i]), c)
      if (JSON.stringify(got) !== JSON.stringify(oneShot)) {
        mismatches++
        if (mismatches < 3) t.deepEqual(got, oneShot, `split at ${i}`)
      }
    }
    t.is(mismatches, 0)
    t.deepEqual(feed(bytes(input), c), oneShot, '1-byte pieces')
    checkOutcome(t, c, feed(bytes(input), c), '1-byte pieces')
  })
}

test('random multi-way splits match one-shot, on a reused parser', t => {
  let seed = 12345
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n }
  const parser = new ResponseParser()
  for (const c of cases) {
    const input = b(c.response + (c.after ?? ''))
    const oneShot = feed([input], c)
    for (let round = 0; round < 50; round++) {
      const points = Array.from({ length: 1 + rand(8) }, () => rand(input.length + 1)).sort((x, y) => x - y)
      t.deepEqual(feed(splitAt(input, points), { ...c, parser }), oneShot, `${c.name} split at ${points.join(',')}`)
    }
  }
})

// ---- behaviour ------------------------------------------------------------------------------

test('body chunks are views of the pushed buffer, not copies', t => {
  const input = b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello')
  const views: Buffer[] = []
  const parser = new ResponseParser()
  parser.reset({ onHead () {}, onBody (chunk) { views.push(chunk) }, onEnd () {} }, false)
  t.is(parser.push(input), input.length)
  t.is(views.length, 1)
  t.is(views[0]!.buffer, input.buffer)
  t.is(views[0]!.byteOffset, input.byteOffset + input.length - 5)
})

test('a body-only push is passed through as the same Buffer', t => {
  const parser = new ResponseParser()
  const views: Buffer[] = []
  parser.reset({ onHead () {}, onBody (chunk) { views.push(chunk) }, onEnd () {} }, false)
  parser.push(b('HTTP/1.1 200 OK\r\n\r\n'))
  const piece = b('stream')
  t.is(parser.push(piece), piece.length)
  t.is(views[0], piece)
})

test('onEnd comes right after onHead for a HEAD response, before push returns', t => {
  const events: string[] = []
  const parser = new ResponseParser()
  parser.reset({
    onHead (h) { events.push(`head ${h.framing}`) },
    onBody () { events.push('body') },
    onEnd () { events.push('end') }
  }, true)
  const input = b('HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc')
  t.is(parser.push(input), input.length - 3)
  t.deepEqual(events, ['head none', 'end'])
  t.true(parser.done)
  t.true(parser.headDone)
})

test('Transfer-Encoding chunked wins over Content-Length', t => {
  const got = feed([b('HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: CHUNKED\r\n\r\n3\r\nabc\r\n0\r\n\r\n')])
  t.is(got.head?.framing, 'chunked')
  t.is(got.head?.contentLength, -1)
  t.deepEqual(got.head?.headers, [])
  t.is(got.body, 'abc')
  t.is(got.ends, 1)
})

test('final coding chunked after another coding is chunked framing', t => {
  const got = feed([b('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nzz\r\n0\r\n\r\n')])
  t.is(got.head?.framing, 'chunked')
  t.is(got.body, 'zz')
})

test('Transfer-Encoding other than chunked (last) is until-close', t => {
  for (const te of ['gzip', 'chunked, gzip']) {
    const got = feed([b(`HTTP/1.1 200 OK\r\nTransfer-Encoding: ${te}\r\nContent-Length: 3\r\n\r\n3\r\nabc`)], { close: true })
    t.is(got.head?.framing, 'close', te)
    t.is(got.body, '3\r\nabc', te)
    t.true(got.clean, te)
  }
})

test('no Content-Length and no Transfer-Encoding is until-close', t => {
  const parser = new ResponseParser()
  const sink = new Recorder()
  parser.reset(sink, false)
  t.is(parser.push(b('HTTP/1.1 200 OK\r\n\r\npart 1 ')), 26)
  t.is(parser.push(b('part 2')), 6)
  t.is(sink.ends, 0)
  t.false(parser.done)
  t.true(parser.close())
  t.is(sink.ends, 1)
  t.true(parser.done)
  t.is(Buffer.concat(sink.body).toString(), 'part 1 part 2')
  t.is(parser.push(b('late')), 0, 'nothing consumed after the end')
  t.true(parser.close(), 'close() after the end stays true')
  t.is(sink.ends, 1, 'and does not end twice')
})

test('Connection: close is found in a token list, in any case', t => {
  t.true(feed([b('HTTP/1.1 200 OK\r\nConnection: Upgrade, CLOSE\r\nContent-Length: 0\r\n\r\n')]).head?.connectionClose)
  t.false(feed([b('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')]).head?.connectionClose)
  t.false(feed([b('HTTP/1.1 200 OK\r\nX-Connection: close\r\nContent-Length: 0\r\n\r\n')]).head?.connectionClose)
})

test('repeated identical Content-Length is accepted', t => {
  const two = feed([b('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc')])
  t.is(two.head?.contentLength, 3)
  t.is(two.body, 'abc')
  const list = feed([b('HTTP/1.1 200 OK\r\nContent-Length: 3 , 3\r\n\r\nabc')])
  t.is(list.head?.contentLength, 3)
})

test('header values are trimmed of OWS; empty values and empty reason are kept', t => {
  const got = feed([b('HTTP/1.1 200\r\nX-A:   v a l \t\r\nX-Empty:\r\nX-Latin: caf\xe9\r\nContent-Length: 0\r\n\r\n')])
  t.is(got.head?.reason, '')
  t.deepEqual(got.head?.headers, [['X-A', 'v a l'], ['X-Empty', ''], ['X-Latin', 'caf\xe9']])
})

test('a reused parser starts clean and gives each response its own head', t => {
  const parser = new ResponseParser()
  const first = feed([b('HTTP/1.1 200 OK\r\nX-One: 1\r\nConnection: close\r\nContent-Length: 1\r\n\r\na')], { parser })
  const second = feed([b('HTTP/1.1 404 Not Found\r\nX-Two: 2\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nb\r\n0\r\n\r\n')], { parser })
  t.deepEqual(first.head?.headers, [['X-One', '1']])
  t.deepEqual(second.head?.headers, [['X-Two', '2']])
  t.false(second.head?.connectionClose)
  t.is(second.head?.framing, 'chunked')
  t.is(second.body, 'b')
})

test('close() before the head is complete returns false and never ends', t => {
  const parser = new ResponseParser()
  const sink = new Recorder()
  parser.reset(sink, false)
  parser.push(b('HTTP/1.1 200 OK\r\nContent-Le'))
  t.false(parser.headDone)
  t.false(parser.close())
  t.is(sink.head, null)
  t.is(sink.ends, 0)
  t.false(parser.done)
  t.is(parser.push(b('ngth: 0\r\n\r\n')), 0, 'nothing consumed after close()')
})

test('close() before Content-Length is reached returns false', t => {
  const got = feed([b('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort')], { close: true })
  t.true(got.head !== null)
  t.is(got.body, 'short')
  t.is(got.ends, 0)
  t.false(got.clean)
})

test('close() inside a chunked body returns false', t => {
  for (const cut of ['3\r\nab', '3\r\nabc\r\n', '3\r\nabc\r\n0\r\n', '3\r\nabc\r\n0\r\nX-T: 1\r\n']) {
    const got = feed([b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n' + cut)], { close: true })
    t.false(got.clean, JSON.stringify(cut))
    t.is(got.ends, 0, JSON.stringify(cut))
  }
})

test('an empty push consumes nothing', t => {
  const parser = new ResponseParser()
  parser.reset(new Recorder(), false)
  t.is(parser.push(Buffer.alloc(0)), 0)
  t.false(parser.headDone)
})

// ---- malformed input ------------------------------------------------------------------------

/** The error must carry the code whether the bytes come at once or one at a time. */
function rejects (t: ExecutionContext, input: string, code: string, maxHeadBytes?: number): void {
  const whole = new ResponseParser(maxHeadBytes)
  whole.reset(new Recorder(), false)
  t.throws(() => whole.push(b(input)), { instanceOf: ResponseError, code }, `one-shot ${JSON.stringify(input.slice(0, 60))}`)
  t.is(whole.push(b('HTTP/1.1 200 OK\r\n\r\n')), 0, 'a failed parser consumes nothing')
  t.false(whole.close(), 'a failed parser does not close cleanly')

  const bytewise = new ResponseParser(maxHeadBytes)
  bytewise.reset(new Recorder(), false)
  t.throws(() => { for (const piece of bytes(b(input))) bytewise.push(piece) },
    { instanceOf: ResponseError, code }, `1-byte pieces ${JSON.stringify(input.slice(0, 60))}`)
}

const kHead = 'SWB_ERR_RESPONSE_HEAD'
const kLength = 'SWB_ERR_RESPONSE_LENGTH'
const kChunk = 'SWB_ERR_RESPONSE_CHUNK'

const malformed: Array<[name: string, input: string, code: string]> = [
  ['no status line', 'Content-Length: 0\r\n\r\n', kHead],
  ['empty first line', '\r\nHTTP/1.1 200 OK\r\n\r\n', kHead],
  ['four-digit status', 'HTTP/1.1 2000 X\r\n\r\n', kHead],
  ['two-digit status', 'HTTP/1.1 20 OK\r\n\r\n', kHead],
  ['status below 100', 'HTTP/1.1 099 Low\r\n\r\n', kHead],
  ['HTTP/2 status line', 'HTTP/2 200 OK\r\n\r\n', kHead],
  ['lower-case protocol', 'http/1.1 200 OK\r\n\r\n', kHead],
  ['control byte in reason', 'HTTP/1.1 200 O\x00K\r\n\r\n', kHead],
  ['header without colon', 'HTTP/1.1 200 OK\r\nNoColon\r\n\r\n', kHead],
  ['space in header name', 'HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n', kHead],
  ['space before colon', 'HTTP/1.1 200 OK\r\nName : x\r\n\r\n', kHead],
  ['empty header name', 'HTTP/1.1 200 OK\r\n: x\r\n\r\n', kHead],
  ['obs-fold', 'HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\n\r\n', kHead],
  ['bare CR in a value', 'HTTP/1.1 200 OK\r\nX-A: a\rb\r\n\r\n', kHead],
  ['bad Content-Length 12a', 'HTTP/1.1 200 OK\r\nContent-Length: 12a\r\n\r\n', kLength],
  ['empty Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: \r\n\r\n', kLength],
  ['negative Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', kLength],
  ['16-digit Content-Length', 'HTTP/1.1 200 OK\r\nContent-Length: 1234567890123456\r\n\r\n', kLength],
  ['conflicting Content-Length headers', 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello', kLength],
  ['conflicting Content-Length list', 'HTTP/1.1 200 OK\r\nContent-Length: 5, 6\r\n\r\nhello', kLength],
  ['bad chunk size zz', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', kChunk],
  ['chunk extension without a size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n;x\r\n', kChunk],
  ['garbage after chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5 x\r\n', kChunk],
  ['chunk size over 13 hex digits', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000\r\n', kChunk],
  ['CR without LF after chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\rhello', kChunk],
  ['chunk data longer than its size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n', kChunk],
  ['CR without LF after chunk data', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\rX', kChunk],
  ['CR without LF ending the trailers', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\rX', kChunk]
]

for (const [name, input, code] of malformed) {
  test(`rejects ${name} with ${code}`, t => { rejects(t, input, code) })
}

test('rejects a head larger than maxHeadBytes, with and without a line end', t => {
  const head = `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(100)}\r\n\r\n`
  rejects(t, head, kHead, 64)
  rejects(t, `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(100)}`, kHead, 64)
  // The same head fits once the limit allows it.
  const got = feed([b(head)], { parser: new ResponseParser(head.length) })
  t.is(got.head?.framing, 'close')
})

test('a head of exactly maxHeadBytes fits at every split point; one byte less fails', t => {
  const head = 'HTTP/1.1 200 OK\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n'
  const input = b(head + 'ok')
  let failures = 0
  for (let i = 0; i <= input.length; i++) {
    const got = feed(splitAt(input, [i]), { parser: new ResponseParser(head.length) })
    if (got.body !== 'ok' || got.ends !== 1 || got.consumed !== input.length) failures++
    const tight = new ResponseParser(head.length - 1)
    tight.reset(new Recorder(), false)
    try {
      for (const piece of splitAt(input, [i])) tight.push(piece)
      failures++
    } catch (err) {
      if (!(err instanceof ResponseError) || err.code !== kHead) failures++
    }
  }
  t.is(failures, 0)
})

test('rejects a trailer section larger than maxHeadBytes', t => {
  rejects(t, `HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nX-T: ${'t'.repeat(100)}\r\n\r\n`, kChunk, 64)
})

test('non-HTTP bytes fail at the first wrong byte, without waiting for a line end', t => {
  const parser = new ResponseParser()
  parser.reset(new Recorder(), false)
  t.is(parser.push(b('HTT')), 3)
  t.throws(() => parser.push(b('X')), { instanceOf: ResponseError, code: kHead })
})

test('error messages quote the offending line', t => {
  const parser = new ResponseParser()
  parser.reset(new Recorder(), false)
  const err = t.throws(() => parser.push(b('HTTP/1.1 200 OK\r\nBad Name: x\r\n\r\n')), { instanceOf: ResponseError })
  t.regex(err.message, /"Bad Name: x"/)
})

test('maxHeadBytes must be a sane integer', t => {
  t.throws(() => new ResponseParser(0), { code: 'SWB_ERR_RESPONSE_OPTION' })
  t.throws(() => new ResponseParser(1.5), { code: 'SWB_ERR_RESPONSE_OPTION' })
})

test('park/resume: a stream between messages goes on in another parser; a Content-Length body under way does not park', (t) => {
  // Chunked at a chunk boundary: parked, resumed elsewhere, the body goes on.
  const a = new ResponseParser()
  const rec = new Recorder()
  a.reset(rec, false)
  a.push(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n'))
  t.is(a.park(), kParkChunked)
  const c = new ResponseParser()
  c.resume(rec, kParkChunked)
  c.push(b('2\r\nde\r\n0\r\n\r\n'))
  t.true(c.done)
  t.is(Buffer.concat(rec.body).toString(), 'abcde')
  t.deepEqual(rec.violations, [])
  // Ended (a GRIP stream hold's Content-Length first body): parked as done, resumed done.
  const d = new ResponseParser()
  d.reset(new Recorder(), false)
  d.push(b('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi'))
  t.true(d.done)
  t.is(d.park(), kParkDone)
  const e = new ResponseParser()
  e.resume(new Recorder(), kParkDone)
  t.true(e.done)
  t.is(e.push(b('more')), 0, 'a done parser consumes nothing')
  // Mid-body or mid-chunk: the parser holds state no code carries.
  const f = new ResponseParser()
  f.reset(new Recorder(), false)
  f.push(b('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nab'))
  t.is(f.park(), 0)
  f.reset(new Recorder(), false)
  f.push(b('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab'))
  t.is(f.park(), 0)
})
