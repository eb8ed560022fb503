// Property-based fuzzing (fast-check) of every wire codec a peer can feed: netstring,
// tnetstring, request messages, reply frames, batch frames and published item frames. Each decoder, given any
// bytes, either decodes or throws a ProtocolError (never a TypeError/RangeError), and
// every encoder's output decodes back to what went in, whole or fed in arbitrary pieces.
import assert from 'node:assert/strict'
import test from 'ava'
import fc from 'fast-check'
import * as netstring from '../../shared/protocol/netstring.js'
import * as tnetstring from '../../shared/protocol/tnetstring.js'
import { encodeReply, parseReply, senderEnd } from '../../shared/protocol/reply.js'
import { decodeRequest, encodeDisconnect, encodeRequest, isDisconnect, type HeaderProtocol, type Headers } from '../../shared/protocol/request.js'
import { decodeItem, encodeItem, type PublishItem } from '../../shared/protocol/publish.js'
import { encodeReplyBatch, encodeRequestBatch, isRequestBatch, replyBatchStart, splitBatch } from '../../shared/protocol/batch.js'
import { decodeChunked, idArb, params, protocolOutcome, senderArb, splitAtPoints, structuralBytes } from './fuzz.js'

const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)), structuralBytes)

// ---- netstring ------------------------------------------------------------------------------

test('netstring: any bytes decode or fail with a ProtocolError', (t) => {
  fc.assert(fc.property(anyBytes, fc.nat(20), (buf, offset) => {
    protocolOutcome(() => netstring.decode(buf, Math.min(offset, buf.length)))
  }), params())
  t.pass()
})

test('netstring: a stream of encoded payloads, cut anywhere, decodes to the same payloads', (t) => {
  fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (payloads, cuts) => {
    const stream = Buffer.concat(payloads.map((p) => netstring.encode(p)))
    const got = decodeChunked(splitAtPoints(stream, cuts), netstring.decode).map((v) => Buffer.from(v))
    if (!arraysEqual(got, payloads)) throw new Error(`got ${got.length} payloads for ${payloads.length}`)
  }), params())
  t.pass()
})

// ---- tnetstring -----------------------------------------------------------------------------

const tnetValue: fc.Arbitrary<tnetstring.TnetValue> = fc.letrec<{ value: tnetstring.TnetValue }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true },
    fc.string({ unit: 'binary', maxLength: 20 }),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => (Object.is(d, -0) ? 0 : d)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(fc.string({ unit: 'binary', maxLength: 8 }), tie('value'), { maxKeys: 5, noNullPrototype: true })
  )
})).value

test('tnetstring: encode → decode round-trips any value', (t) => {
  fc.assert(fc.property(tnetValue, (value) => {
    const wire = tnetstring.encode(value)
    const { value: back, end } = tnetstring.decode(wire)
    if (end !== wire.length) throw new Error(`decode stopped at ${end} of ${wire.length}`)
    assert.deepStrictEqual(back, value)
  }), params())
  t.pass()
})

test('tnetstring: any bytes decode (strings or byte views) or fail with a ProtocolError', (t) => {
  fc.assert(fc.property(anyBytes, (buf) => {
    protocolOutcome(() => tnetstring.decode(buf))
    protocolOutcome(() => tnetstring.decodeBytes(buf))
  }), params(params().numRuns! * 2))
  t.pass()
})

test('tnetstring: damage to a valid encoding decodes or fails with a ProtocolError', (t) => {
  fc.assert(fc.property(tnetValue, fc.nat(), fc.integer({ min: 0, max: 255 }), (value, at, byte) => {
    const wire = Buffer.from(tnetstring.encode(value))
    wire[at % wire.length] = byte
    protocolOutcome(() => tnetstring.decode(wire))
  }), params())
  t.pass()
})

test('tnetstring: a stream of values, cut anywhere, decodes to the same values', (t) => {
  fc.assert(fc.property(fc.array(tnetValue, { maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (values, cuts) => {
    const stream = Buffer.concat(values.map((v) => tnetstring.encode(v)))
    assert.deepStrictEqual(decodeChunked(splitAtPoints(stream, cuts), tnetstring.decode), values)
  }), params())
  t.pass()
})

// ---- request messages -----------------------------------------------------------------------

const headerName = fc.oneof(
  fc.constantFrom('PATH', 'METHOD', 'VERSION', 'URI', 'QUERY', 'host', 'x-forwarded-for', '__proto__', 'constructor', '42'),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 12 })
)
const headerText = fc.oneof(fc.string({ unit: 'binary-ascii', maxLength: 30 }), fc.string({ unit: 'binary', maxLength: 30 }))
const headerValue = fc.oneof({ weight: 4, arbitrary: headerText }, { weight: 1, arbitrary: fc.array(headerText, { maxLength: 4 }) })
const headersArb: fc.Arbitrary<Headers> = fc.array(fc.tuple(headerName, headerValue), { maxLength: 10 }).map((pairs) => {
  const headers: Headers = {}
  for (const [k, v] of pairs) Object.defineProperty(headers, k, { value: v, enumerable: true, writable: true, configurable: true })
  return headers
})
const pathArb = fc.string({ unit: 'binary', maxLength: 60 }).map((s) => s.replaceAll(' ', '%20'))
const protocolArb = fc.constantFrom<HeaderProtocol>('json', 'tnetstring', 'msgpack')

test('request: encodeRequest → decodeRequest round-trips sender, id, path, headers and body in every protocol', (t) => {
  fc.assert(fc.property(senderArb, idArb, pathArb, headersArb, fc.uint8Array({ maxLength: 200 }), protocolArb, (sender, id, path, headers, body, protocol) => {
    const msg = encodeRequest(Buffer.from(sender), id, path, headers, body, protocol)
    const req = decodeRequest(msg)
    assert.strictEqual(req.sender, sender)
    assert.strictEqual(req.id, id)
    assert.strictEqual(req.path, path)
    assert.strictEqual(req.protocol, protocol)
    assert.deepStrictEqual(Object.entries(req.headers).sort(byKey), Object.entries(headers).sort(byKey))
    assert.ok(Buffer.from(body).equals(req.body))
    assert.ok(!isRequestBatch(msg), 'a request is never mistaken for a request batch')
  }), params())
  t.pass()
})

test('request: disconnect notices decode as disconnects in both header protocols', (t) => {
  fc.assert(fc.property(senderArb, idArb, fc.constantFrom<HeaderProtocol>('json', 'tnetstring', 'msgpack'), (sender, id, protocol) => {
    const req = decodeRequest(encodeDisconnect(Buffer.from(sender), id, protocol))
    assert.ok(isDisconnect(req))
    assert.strictEqual(req.id, id)
  }), params())
  t.pass()
})

test('request: any bytes, and damaged requests, decode or fail with a ProtocolError', (t) => {
  const damaged = fc.tuple(senderArb, idArb, pathArb, headersArb, fc.uint8Array({ maxLength: 40 }), protocolArb, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
    .map(([sender, id, path, headers, body, protocol, edits]) => {
      const msg = Buffer.from(encodeRequest(Buffer.from(sender), id, path, headers, body, protocol))
      for (const [at, byte] of edits) msg[at % msg.length] = byte
      return msg
    })
  fc.assert(fc.property(fc.oneof(anyBytes, damaged), (msg) => {
    protocolOutcome(() => {
      const req = decodeRequest(msg)
      isDisconnect(req)
    })
  }), params(params().numRuns! * 2))
  t.pass()
})

// ---- reply frames ---------------------------------------------------------------------------

const idsArb = fc.array(idArb, { minLength: 1, maxLength: 128 })

test('reply: encodeReply → parseReply round-trips sender, ids, extended flag and body', (t) => {
  fc.assert(fc.property(senderArb, idsArb, fc.uint8Array({ maxLength: 200 }), fc.boolean(), (sender, ids, body, extended) => {
    const frame = encodeReply(sender, ids, body, extended)
    const reply = parseReply(frame)
    assert.strictEqual(reply.sender.toString('latin1'), sender)
    assert.deepStrictEqual(reply.ids, ids)
    assert.strictEqual(reply.extended, extended)
    assert.ok(Buffer.from(body).equals(reply.body))
    assert.strictEqual(senderEnd(frame), sender.length)
    assert.strictEqual(replyBatchStart(frame), -1, 'a reply is never mistaken for a reply batch')
  }), params())
  t.pass()
})

test('reply: more than maxIds ids is refused with SWB_ERR_REPLY_IDS', (t) => {
  fc.assert(fc.property(senderArb, fc.array(idArb, { minLength: 2, maxLength: 40 }), (sender, ids) => {
    const code = protocolOutcome(() => parseReply(encodeReply(sender, ids, Buffer.alloc(0)), ids.length - 1))
    assert.strictEqual(code, 'SWB_ERR_REPLY_IDS')
  }), params())
  t.pass()
})

test('reply: any bytes, and damaged replies, parse or fail with a ProtocolError', (t) => {
  const damaged = fc.tuple(senderArb, idsArb, fc.uint8Array({ maxLength: 40 }), fc.boolean(), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 3 }))
    .map(([sender, ids, body, extended, edits]) => {
      const frame = Buffer.from(encodeReply(sender, ids, body, extended))
      for (const [at, byte] of edits) frame[at % frame.length] = byte
      return frame
    })
  fc.assert(fc.property(fc.oneof(anyBytes, damaged), (frame) => {
    const code = protocolOutcome(() => {
      const reply = parseReply(frame)
      // What parses obeys the grammar's promises.
      if (reply.ids.length === 0 || reply.ids.length > 128) throw new Error(`${reply.ids.length} ids`)
      for (const id of reply.ids) if ((id >>> 0) !== id) throw new Error(`id ${id}`)
      if (reply.sender.length === 0) throw new Error('empty sender')
    })
    if (code !== 'ok' && !code.startsWith('SWB_ERR_REPLY_')) throw new Error(`unexpected code ${code}`)
  }), params(params().numRuns! * 2))
  t.pass()
})

// ---- batch frames ---------------------------------------------------------------------------

const framesArb = fc.array(fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a)), { minLength: 1, maxLength: 10 })

test('batch: request and reply batches split back into their frames', (t) => {
  fc.assert(fc.property(framesArb, senderArb, (frames, sender) => {
    const req = encodeRequestBatch(frames)
    assert.ok(isRequestBatch(req))
    assert.ok(arraysEqual(splitBatch(req), frames))
    const rep = encodeReplyBatch(Buffer.from(sender), frames)
    const start = replyBatchStart(rep)
    assert.strictEqual(start, sender.length + 2)
    assert.ok(arraysEqual(splitBatch(rep, start), frames))
  }), params())
  t.pass()
})

test('batch: any bytes split or fail with a ProtocolError (all or nothing)', (t) => {
  fc.assert(fc.property(anyBytes, (frame) => {
    isRequestBatch(frame)
    const start = replyBatchStart(frame)
    const code = protocolOutcome(() => splitBatch(frame, start < 0 ? 0 : start))
    if (code !== 'ok' && !code.startsWith('SWB_ERR_BATCH_')) throw new Error(`unexpected code ${code}`)
  }), params(params().numRuns! * 2))
  t.pass()
})

// ---- helpers --------------------------------------------------------------------------------

function byKey (a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0
}

function arraysEqual (a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => Buffer.from(x).equals(b[i]!))
}

// Found by the round-trip property: msgpackr renames a '__proto__' map key to '__proto_'.
test('request: a header named __proto__ reaches a msgpack handler under its own name', (t) => {
  const headers: Headers = { host: 'x' }
  Object.defineProperty(headers, '__proto__', { value: 'p', enumerable: true, writable: true, configurable: true })
  for (const protocol of ['json', 'tnetstring', 'msgpack'] as const) {
    const req = decodeRequest(encodeRequest(Buffer.from('S'), 1, '/', headers, Buffer.alloc(0), protocol))
    t.deepEqual(Object.entries(req.headers).sort(byKey), [['__proto__', 'p'], ['host', 'x']], protocol)
    t.is(Object.getPrototypeOf(req.headers), Object.prototype, `${protocol}: the key did not set the prototype`)
  }
})

// ---- published item frames (broker → acceptors) ----------------------------------------

// Plain objects, as decodeItem makes (deepEqual compares prototypes).
const kPlain = { noNullPrototype: true }
const textArb = fc.string({ maxLength: 40, unit: 'grapheme' })
const bytesArb = fc.uint8Array({ maxLength: 80 }).map((a) => Buffer.from(a))
const itemArb: fc.Arbitrary<PublishItem> = fc.record({
  channel: fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
  id: fc.option(textArb, { nil: null }),
  prevId: fc.option(textArb, { nil: null }),
  httpResponse: fc.option(fc.record({
    code: fc.integer({ min: 100, max: 599 }),
    reason: textArb,
    headers: fc.array(fc.tuple(textArb, textArb), { maxLength: 6 }),
    body: bytesArb
  }, kPlain), { nil: null }),
  httpStream: fc.option(fc.record({ content: bytesArb, close: fc.boolean() }, kPlain), { nil: null }),
  wsMessage: fc.option(fc.record({ content: bytesArb, binary: fc.boolean(), close: fc.boolean(), code: fc.integer({ min: 0, max: 4999 }) }, kPlain), { nil: null })
}, kPlain)

test('item frame: any bytes decode or fail with a ProtocolError', (t) => {
  fc.assert(fc.property(anyBytes, (buf) => { protocolOutcome(() => decodeItem(buf)) }), params())
  t.pass()
})

test('item frame: every item decodes back to itself; any cut or changed byte decodes or fails with a ProtocolError', (t) => {
  fc.assert(fc.property(itemArb, fc.nat(), fc.integer({ min: 0, max: 255 }), (item, at, byte) => {
    const frame = encodeItem(item)
    assert.deepEqual(decodeItem(frame), item)
    protocolOutcome(() => decodeItem(frame.subarray(0, at % frame.length)))
    const changed = Buffer.from(frame)
    changed[at % frame.length] = byte
    protocolOutcome(() => decodeItem(changed))
  }), params())
  t.pass()
})
