import test from 'ava'
import { holdHead, internHeld, keepHeld, kHoldResponse, kHoldStream, packHeaders, readGrip, unescapeCstring, unpackHeaders, type GripHold, type HeldResponse } from '../../workers/acceptor/grip-headers.js'
import type { ResponseHead } from '../../workers/acceptor/response-parser.js'
import { parseExtended } from '../../workers/acceptor/extended.js'
import { encode } from '../../shared/protocol/tnetstring.js'

type H = Array<[string, string]>

test('no Grip header: null, headers untouched', (t) => {
  const h: H = [['Content-Type', 'text/plain'], ['X-Grip', 'no']]
  t.is(readGrip(h), null)
  t.deepEqual(h, [['Content-Type', 'text/plain'], ['X-Grip', 'no']])
})

test('every Grip-* header is removed, hold or not, in any case', (t) => {
  const h: H = [['A', '1'], ['grip-link', '</x>; rel=next'], ['B', '2'], ['GRIP-STATUS', '200']]
  t.is(readGrip(h), null)
  t.deepEqual(h, [['A', '1'], ['B', '2']])
})

test('a response hold: channels with prev-ids (several headers and lists), timeout, defaults', (t) => {
  const h: H = [['Grip-Hold', 'Response'], ['Grip-Channel', 'a; prev-id=1, b'], ['X', 'y'], ['Grip-Channel', 'c ;prev-id="3"; filter=skip-self'], ['Grip-Timeout', '20']]
  const g = readGrip(h)!
  t.is(g.mode, kHoldResponse)
  t.deepEqual(g.channels, ['a', 'b', 'c'])
  t.deepEqual(g.prevIds, ['1', null, '3'])
  t.is(g.timeoutS, 20)
  t.is(g.keepAlive, null)
  t.deepEqual(h, [['X', 'y']])
  const d = readGrip([['Grip-Hold', 'response'], ['Grip-Channel', 'x, x']])!
  t.is(d.timeoutS, 55, "Pushpin's default")
  t.deepEqual(d.channels, ['x'])
  t.is(d.prevIds, null)
})

test('Grip-Keep-Alive: raw, cstring and base64 data, timeout default 55 s', (t) => {
  const ka = (v: string): GripHold => readGrip([['Grip-Hold', 'stream'], ['Grip-Channel', 'c'], ['Grip-Keep-Alive', v]])!
  t.deepEqual(ka(':ping').keepAlive, Buffer.from(':ping'))
  t.is(ka(':ping').keepAliveMs, 55_000)
  t.deepEqual(ka('\\n; format=cstring; timeout=30').keepAlive, Buffer.from('\n'))
  t.is(ka('\\n; format=cstring; timeout=30').keepAliveMs, 30_000)
  t.deepEqual(ka('AAEC/w==; format=base64; timeout=5').keepAlive, Buffer.from([0, 1, 2, 255]))
  t.deepEqual(unescapeCstring('a\\r\\n\\t\\\\\\"'), Buffer.from('a\r\n\t\\"'))
})

const bad = test.macro({
  exec (t, headers: H, reason: RegExp) {
    const err = t.throws(() => readGrip(headers))
    t.is((err as { code?: string }).code, 'SWB_ERR_GRIP_HEADER')
    t.regex(err!.message, reason)
  },
  title: (given) => `refused: ${given}`
})
test('Grip-Hold value', bad, [['Grip-Hold', 'forever'], ['Grip-Channel', 'a']], /must be response or stream/)
test('no channel', bad, [['Grip-Hold', 'response']], /without a Grip-Channel/)
test('empty channel name', bad, [['Grip-Hold', 'response'], ['Grip-Channel', 'a, ; prev-id=2']], /channel name/)
test('timeout not a number', bad, [['Grip-Hold', 'response'], ['Grip-Channel', 'a'], ['Grip-Timeout', '5s']], /Grip-Timeout/)
test('timeout 0', bad, [['Grip-Hold', 'response'], ['Grip-Channel', 'a'], ['Grip-Timeout', '0']], /Grip-Timeout/)
test('keep-alive format', bad, [['Grip-Hold', 'stream'], ['Grip-Channel', 'a'], ['Grip-Keep-Alive', 'x; format=hex']], /format must be raw, cstring or base64/)
test('keep-alive base64', bad, [['Grip-Hold', 'stream'], ['Grip-Channel', 'a'], ['Grip-Keep-Alive', 'abc; format=base64']], /not valid base64/)
test('keep-alive escape', bad, [['Grip-Hold', 'stream'], ['Grip-Channel', 'a'], ['Grip-Keep-Alive', '\\q; format=cstring']], /bad cstring escape/)
test('keep-alive timeout', bad, [['Grip-Hold', 'stream'], ['Grip-Channel', 'a'], ['Grip-Keep-Alive', 'x; timeout=never']], /timeout must be whole seconds/)

/** A parsed head as the response parser hands it over. */
function mk (headers: H, framing: ResponseHead['framing'], contentLength: number): ResponseHead {
  return { status: 200, reason: 'OK', headers, framing, contentLength, connectionClose: false }
}

test('holdHead: a response hold writes nothing; a stream hold becomes chunked; none framing refused', (t) => {
  const ex = { grip: null as GripHold | null }
  const head = mk([['Grip-Hold', 'response'], ['Grip-Channel', 'a']], 'length', 4)
  t.true(holdHead(ex, head))
  t.is(ex.grip!.mode, kHoldResponse)
  const ex2 = { grip: null as GripHold | null }
  const head2 = mk([['Grip-Hold', 'stream'], ['Grip-Channel', 'a']], 'length', 4)
  t.false(holdHead(ex2, head2))
  t.is(ex2.grip!.mode, kHoldStream)
  t.is(head2.framing, 'chunked')
  t.is(head2.contentLength, -1)
  t.throws(() => holdHead({ grip: null }, mk([['Grip-Hold', 'stream'], ['Grip-Channel', 'a']], 'none', -1)), { code: 'SWB_ERR_GRIP_HEADER' })
  t.false(holdHead({ grip: null }, mk([['A', 'b']], 'length', 0)))
})

test('X subscribe / unsubscribe bodies', (t) => {
  t.deepEqual(parseExtended(encode(['subscribe', { channel: 'room' }])), { subscribe: true, channel: 'room' })
  t.deepEqual(parseExtended(encode(['unsubscribe', { channel: 'room' }])), { subscribe: false, channel: 'room' })
  t.regex(parseExtended(encode(['subscribe', { room: 'x' }])) as string, /needs a "channel"/)
  t.regex(parseExtended(encode(['subscribe', 'room'])) as string, /args are not a dict/)
  t.regex(parseExtended(encode(['publish', { channel: 'x' }])) as string, /unknown key/)
})

test('a response hold keeps its head, headers packed in one string, unpacked as they were', (t) => {
  const ex = { grip: null as GripHold | null }
  const head = { ...mk([['Content-Type', 'text/plain'], ['Grip-Hold', 'response'], ['Grip-Channel', 'a'], ['X-Empty', ''], ['Set-Cookie', 'a=1; Path=/']], 'length', 4), status: 202, reason: 'Later' }
  t.true(holdHead(ex, head))
  t.deepEqual(head.headers, [])
  const held = ex.grip!.held!
  t.deepEqual(unpackHeaders(held.headers), [['Content-Type', 'text/plain'], ['X-Empty', ''], ['Set-Cookie', 'a=1; Path=/']])
  t.deepEqual([held.status, held.reason, held.framing, held.contentLength, held.connectionClose], [202, 'Later', 'length', 4, false])
  t.is(packHeaders([]), '')
  t.deepEqual(unpackHeaders(''), [])
})

test('held responses: the body is collected up to the limit; equal ones are shared, different ones not', (t) => {
  const hold = (body: string, status = 200): HeldResponse => {
    const ex = { grip: null as GripHold | null }
    t.true(holdHead(ex, { ...mk([['Content-Type', 'text/plain'], ['Grip-Hold', 'response'], ['Grip-Channel', 'a']], 'length', body.length), status }))
    keepHeld(ex.grip!, Buffer.from(body.slice(0, 2), 'latin1'), 64)
    keepHeld(ex.grip!, Buffer.from(body.slice(2), 'latin1'), 64)
    return internHeld(ex.grip!.held!)
  }
  const a = hold('timeout\n')
  t.is(a.body, 'timeout\n')
  t.is(hold('timeout\n'), a, 'an equal response is the same object')
  t.not(hold('timeout!\n'), a, 'another body')
  t.not(hold('timeout\n', 504), a, 'another status')
  t.is(hold('timeout\n'), a, 'still remembered')
  const big = 'x'.repeat(5000)
  const ex2 = { grip: null as GripHold | null }
  holdHead(ex2, mk([['Grip-Hold', 'response'], ['Grip-Channel', 'a']], 'length', big.length))
  keepHeld(ex2.grip!, Buffer.from(big), 10_000)
  const first = internHeld(ex2.grip!.held!)
  t.is(first, ex2.grip!.held!, 'a large response is its own')
  const ex3 = { grip: null as GripHold | null }
  holdHead(ex3, mk([['Grip-Hold', 'response'], ['Grip-Channel', 'a']], 'length', big.length))
  keepHeld(ex3.grip!, Buffer.from(big), 10_000)
  t.not(internHeld(ex3.grip!.held!), first, 'and never shared: the cache keeps no large body')
  const ex = { grip: null as GripHold | null }
  holdHead(ex, mk([['Grip-Hold', 'response'], ['Grip-Channel', 'a']], 'length', 100))
  t.throws(() => { keepHeld(ex.grip!, Buffer.alloc(100), 64) }, { code: 'SWB_ERR_GRIP_HEADER', message: /over 64 bytes/ })
})
