// Split and mutation fuzzing of the decoders: every truncation of a valid message must be
// rejected with a ProtocolError (never a TypeError/RangeError), random byte damage must
// either decode or fail with a ProtocolError, and decoding a stream chunk by chunk must give
// the same values as decoding it in one piece. A fixed seed keeps failures reproducible.
import test from 'ava'
import { ProtocolError } from '../../../shared/errors.js'
import * as netstring from '../../../shared/protocol/netstring.js'
import * as tnetstring from '../../../shared/protocol/tnetstring.js'
import { parseReply, encodeReply } from '../../../shared/protocol/reply.js'
import { decodeRequest, encodeDisconnect, encodeRequest, type Headers } from '../../../shared/protocol/request.js'
import { decodeChunked } from '../../fuzz/fuzz.js'

/** mulberry32: tiny deterministic PRNG. */
function rng (seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296
  }
}

const kSender = Buffer.from('54c6755b-9628-40a4-9a2d-cc82a816345e')
const kHeaders: Headers = {
  PATH: '/hello/world',
  'x-dup': ['one', 'two'],
  host: 'localhost',
  'user-agent': 'curl/8.0 ☃',
  METHOD: 'POST',
  VERSION: 'HTTP/1.1',
  URI: '/hello/world?a=1',
  QUERY: 'a=1',
  PATTERN: '/',
  URL_SCHEME: 'http',
  REMOTE_ADDR: '127.0.0.1'
}
const kRequests: Buffer[] = [
  encodeRequest(kSender, 2, '/hello/world', kHeaders, Buffer.from('name=value&x=1,2'), 'json'),
  encodeRequest(kSender, 4, '/hello/world', kHeaders, Buffer.from([0, 0x2c, 0x3a, 0x7d, 0x5d]), 'tnetstring'),
  encodeRequest(kSender, 4294967295, '/hello/world', kHeaders, Buffer.alloc(0), 'msgpack'),
  encodeDisconnect(kSender, 17, 'json'),
  encodeDisconnect(kSender, 17, 'tnetstring')
]
const kReplies: Buffer[] = [
  encodeReply(kSender, [12], Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi')),
  encodeReply(kSender, [0, 1, 2, 3, 4, 5], Buffer.alloc(0)),
  encodeReply(kSender, [1, 22, 333], Buffer.from('11:3:ctl,0:}]'), true)
]
const kStructural = [0x20, 0x3a, 0x2c, 0x7d, 0x5d, 0x7b, 0x30, 0x31, 0x39, 0x58, 0x00, 0xff, 0x23, 0x7e]

function mutate (msg: Buffer, rand: () => number): Buffer {
  const out = Buffer.from(msg)
  const edits = 1 + Math.floor(rand() * 3)
  let buf = out
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(rand() * buf.length)
    const byte = rand() < 0.6 ? kStructural[Math.floor(rand() * kStructural.length)]! : Math.floor(rand() * 256)
    const kind = rand()
    if (kind < 0.6) buf[at] = byte
    else if (kind < 0.8) buf = Buffer.concat([buf.subarray(0, at), Buffer.from([byte]), buf.subarray(at)])
    else buf = Buffer.concat([buf.subarray(0, at), buf.subarray(at + 1)])
  }
  return buf
}

/** Runs fn; returns 'ok' or 'protocol', and fails the test on any other throw. */
function outcome (fn: () => unknown): 'ok' | 'protocol' {
  try {
    fn()
    return 'ok'
  } catch (err) {
    if (err instanceof ProtocolError) return 'protocol'
    throw err
  }
}

test('decodeRequest rejects every truncation of valid messages with a ProtocolError', (t) => {
  let cases = 0
  for (const msg of kRequests) {
    t.notThrows(() => decodeRequest(msg))
    for (let k = 0; k < msg.length; k++) {
      const cut = Buffer.from(msg.subarray(0, k))
      t.throws(() => decodeRequest(cut), { instanceOf: ProtocolError }, `cut at ${k}: ${cut.toString('latin1')}`)
      cases++
    }
  }
  t.true(cases > 500)
})

test('parseReply rejects every truncation before the body; cuts inside the body parse as shorter bodies', (t) => {
  for (const msg of kReplies) {
    const full = parseReply(msg)
    const bodyStart = msg.length - full.body.length
    for (let k = 0; k < msg.length; k++) {
      const cut = Buffer.from(msg.subarray(0, k))
      if (k < bodyStart) {
        t.throws(() => parseReply(cut), { instanceOf: ProtocolError }, `cut at ${k}`)
      } else {
        const reply = parseReply(cut)
        t.deepEqual(reply.ids, full.ids)
        t.deepEqual(reply.body, full.body.subarray(0, k - bodyStart))
      }
    }
  }
})

test('random damage to requests either decodes or fails with a ProtocolError', (t) => {
  const rand = rng(0x5eed)
  const seen = { ok: 0, protocol: 0 }
  for (let i = 0; i < 4000; i++) {
    const msg = mutate(kRequests[i % kRequests.length]!, rand)
    seen[outcome(() => decodeRequest(msg))]++
  }
  t.true(seen.protocol > 1000, `rejected ${seen.protocol}`)
  t.true(seen.ok > 100, `accepted ${seen.ok}`)
})

test('random damage to replies either parses or fails with a ProtocolError', (t) => {
  const rand = rng(0xbeef)
  const seen = { ok: 0, protocol: 0 }
  for (let i = 0; i < 4000; i++) {
    const msg = mutate(kReplies[i % kReplies.length]!, rand)
    seen[outcome(() => parseReply(msg))]++
  }
  t.true(seen.protocol > 500, `rejected ${seen.protocol}`)
  t.true(seen.ok > 500, `accepted ${seen.ok}`)
})

test('random damage to tnetstrings either decodes or fails with a ProtocolError', (t) => {
  const rand = rng(7)
  const value: tnetstring.TnetValue = { headers: ['id', 'fd'], rows: [[1, 'x', true, null, 2.5], [-3, '', false, null, 0]], nested: { a: { b: [] } } }
  const wire = tnetstring.encode(value)
  const seen = { ok: 0, protocol: 0 }
  for (let i = 0; i < 4000; i++) {
    const msg = mutate(wire, rand)
    seen[outcome(() => tnetstring.decode(msg))]++
    outcome(() => tnetstring.decodeBytes(msg))
  }
  t.true(seen.protocol > 1000, `rejected ${seen.protocol}`)
})

function randomSplits (stream: Buffer, rand: () => number): Buffer[] {
  const chunks: Buffer[] = []
  let p = 0
  while (p < stream.length) {
    const n = 1 + Math.floor(rand() * 12)
    chunks.push(stream.subarray(p, p + n))
    p += n
  }
  return chunks
}

test('netstring: every truncation is SHORT, and chunked decoding equals one-shot decoding', (t) => {
  const payloads = ['', 'a', 'hello world!', '☃ snow', 'x'.repeat(120), ',:,'].map((s) => Buffer.from(s))
  const stream = Buffer.concat(payloads.map((p) => netstring.encode(p)))
  for (let k = 0; k < netstring.encode(payloads[2]!).length; k++) {
    t.throws(() => netstring.decode(netstring.encode(payloads[2]!).subarray(0, k)), { code: 'SWB_ERR_NETSTRING_SHORT' })
  }
  const rand = rng(42)
  for (let round = 0; round < 50; round++) {
    t.deepEqual(decodeChunked(randomSplits(stream, rand), netstring.decode).map((v) => v.toString()), payloads.map((p) => p.toString()))
  }
})

test('tnetstring: every truncation is SHORT, and chunked decoding equals one-shot decoding', (t) => {
  const values: tnetstring.TnetValue[] = ['a', 42, { k: ['v', 1.5, true, null] }, [], '☃', -7]
  const stream = Buffer.concat(values.map((v) => tnetstring.encode(v)))
  const one = tnetstring.encode(values[2]!)
  for (let k = 0; k < one.length; k++) {
    t.throws(() => tnetstring.decode(one.subarray(0, k)), { code: 'SWB_ERR_TNETSTRING_SHORT' })
  }
  const rand = rng(43)
  for (let round = 0; round < 50; round++) {
    t.deepEqual(decodeChunked(randomSplits(stream, rand), tnetstring.decode), values)
  }
})
