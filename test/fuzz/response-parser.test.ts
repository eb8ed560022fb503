// Property-based fuzzing (fast-check) of the acceptor's parser for the raw HTTP responses
// handlers write: any bytes, cut into any pieces (as reply messages may cut them), give the
// same result as the same bytes in one piece — the same head, body, end and bytes consumed,
// or the same typed ResponseError — and never any other exception.
import assert from 'node:assert/strict'
import test from 'ava'
import fc from 'fast-check'
import { ResponseError } from '../../shared/errors.js'
import { ResponseParser, type ResponseHead, type ResponseSink } from '../../workers/acceptor/response-parser.js'
import { params, splitAtPoints } from './fuzz.js'

interface Outcome {
  head: ResponseHead | null
  body: string
  ends: number
  consumed: number
  done: boolean
  clean: boolean | null
  error: string | null
}

/** Feeds pieces the way the acceptor does (stop once done), then close() if asked. */
function feed (pieces: Buffer[], isHead: boolean, close: boolean, maxHeadBytes: number): Outcome {
  const parser = new ResponseParser(maxHeadBytes)
  const out: Outcome = { head: null, body: '', ends: 0, consumed: 0, done: false, clean: null, error: null }
  const sink: ResponseSink = {
    onHead (head) {
      if (out.head !== null) throw new Error('second onHead')
      out.head = head
    },
    onBody (chunk) {
      if (out.head === null || out.ends > 0 || chunk.length === 0) throw new Error('onBody out of order or empty')
      out.body += chunk.toString('latin1')
    },
    onEnd () {
      if (out.head === null) throw new Error('onEnd before onHead')
      out.ends++
    }
  }
  parser.reset(sink, isHead)
  try {
    for (const piece of pieces) {
      if (parser.done) break
      const n = parser.push(piece)
      if (n < piece.length && !parser.done) throw new Error(`push consumed ${n} of ${piece.length} bytes but is not done`)
      out.consumed += n
    }
    if (close) out.clean = parser.close()
  } catch (err) {
    if (!(err instanceof ResponseError)) throw err
    out.error = err.code
    if (parser.push(Buffer.from('HTTP/1.1 200 OK\r\n\r\n')) !== 0) throw new Error('a failed parser consumed bytes')
  }
  out.done = parser.done
  return out
}

const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/)
const fieldValue = fc.oneof({ weight: 4, arbitrary: fc.string({ unit: 'grapheme-ascii', maxLength: 20 }) }, { weight: 1, arbitrary: fc.string({ unit: 'binary-ascii', maxLength: 20 }) })
const framingHeader = fc.oneof(
  { weight: 6, arbitrary: fc.oneof(fc.nat(40).map((n) => `Content-Length: ${n}`), fc.constantFrom('Transfer-Encoding: chunked', 'Connection: close', 'Connection: keep-alive', 'Keep-Alive: timeout=5', 'Content-Length: 5, 5')) },
  { weight: 1, arbitrary: fc.constantFrom('Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: chunked, gzip',
    'Content-Length: 5, 6', 'Content-Length: -1', 'Content-Length: 99999999999999999999', ' folded', 'no colon') }
)
const headerLine = fc.oneof({ weight: 4, arbitrary: fc.tuple(token, fieldValue).map(([n, v]) => `${n}: ${v}`) }, { weight: 2, arbitrary: framingHeader })
const chunkedBody = fc.array(fc.string({ unit: 'binary-ascii', minLength: 1, maxLength: 20 }), { maxLength: 4 }).chain((chunks) =>
  fc.tuple(fc.constantFrom(';ext=1', '', ' '), fc.constantFrom('', 'Trailer: x\r\n')).map(([ext, trailer]) =>
    chunks.map((c) => `${c.length.toString(16)}${ext}\r\n${c}\r\n`).join('') + `0\r\n${trailer}\r\n`)
)
const statusLine = fc.oneof(
  { weight: 5, arbitrary: fc.tuple(fc.constantFrom('HTTP/1.1', 'HTTP/1.0'), fc.integer({ min: 100, max: 999 }), fc.constantFrom('', ' OK', ' Not Found', ' x\ty')).map(([v, s, r]) => `${v} ${s}${r}`) },
  { weight: 1, arbitrary: fc.constantFrom('HTTP/2 200 OK', 'HTTP/1.1 20 OK', 'HTTP/1.1 099 x', 'http/1.1 200 OK', 'HTTP/1.1 200OK', '') }
)
const response = fc.tuple(statusLine, fc.array(headerLine, { maxLength: 6 }), fc.constantFrom('\r\n', '\n'),
  fc.oneof(chunkedBody, fc.string({ unit: 'binary-ascii', maxLength: 60 })), fc.string({ unit: 'binary-ascii', maxLength: 30 }))
  .map(([status, headers, eol, body, trailing]) => Buffer.from([status, ...headers].join(eol) + eol + eol + body + trailing, 'latin1'))
const damaged = fc.tuple(response, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
  .map(([buf, edits]) => { const out = Buffer.from(buf); for (const [at, byte] of edits) out[at % out.length] = byte; return out })
const anyInput = fc.oneof(response, damaged, fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)))

test('response parser: any bytes in any pieces give the one-piece result or the same typed error', (t) => {
  const seen = { complete: 0, error: 0, other: 0 }
  fc.assert(fc.property(anyInput, fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), fc.boolean(), fc.constantFrom(16, 40, 65536, 65536, 65536, 65536),
    (input, cuts, isHead, close, maxHeadBytes) => {
      const whole = feed([input], isHead, close, maxHeadBytes)
      const split = feed(splitAtPoints(input, cuts), isHead, close, maxHeadBytes)
      seen[whole.error !== null ? 'error' : whole.done ? 'complete' : 'other']++
      if (whole.error !== null || split.error !== null) {
        assert.equal(split.error, whole.error, 'the same error, or none, in pieces as in one piece')
        return
      }
      assert.deepEqual(split, whole)
      if (whole.done) assert.equal(whole.ends, 1)
    }), params(params().numRuns! * 4))
  // Not vacuous: many inputs parse to a complete response, many fail.
  t.true(seen.complete > seen.error / 10 && seen.error > 0, JSON.stringify(seen))
  t.log(seen)
})

test('response parser: byte-by-byte feeding equals one piece for well-formed responses', (t) => {
  fc.assert(fc.property(response, fc.boolean(), (input, close) => {
    const whole = feed([input], false, close, 65536)
    const bytes = [...input].map((b) => Buffer.from([b]))
    const split = feed(bytes, false, close, 65536)
    assert.equal(split.error, whole.error)
    if (whole.error === null) assert.deepEqual(split, whole)
  }), params())
  t.pass()
})
