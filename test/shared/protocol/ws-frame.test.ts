import test from 'ava'
import { acceptKey, closePayload, encodeFrame, flagsText, Opcode, readFrames } from '../../../shared/protocol/ws-frame.js'

function collect (buf: Buffer, max = 1 << 20): { used: number, frames: Array<[boolean, number, string]> } {
  const frames: Array<[boolean, number, string]> = []
  const used = readFrames(buf, max, (fin, op, payload) => { frames.push([fin, op, payload.toString('latin1')]); return op !== Opcode.CLOSE })
  return { used, frames }
}

test('acceptKey: RFC 6455 §1.3 and Mongrel2\'s captured handshake body', t => {
  t.is(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=')
})

test('flagsText prints byte 0 as Mongrel2\'s "0x%X"', t => {
  t.deepEqual([0x81, 0x82, 0x88, 0x89, 0x8a].map(flagsText), ['0x81', '0x82', '0x88', '0x89', '0x8A'])
})

test('encodeFrame: the three length forms, unmasked, FIN', t => {
  t.deepEqual([...encodeFrame(Opcode.TEXT, 'hi')], [0x81, 2, 0x68, 0x69])
  t.deepEqual([...encodeFrame(Opcode.CONTINUATION, 'x', false)], [0x00, 1, 0x78])
  const mid = encodeFrame(Opcode.BINARY, Buffer.alloc(300))
  t.deepEqual([...mid.subarray(0, 4)], [0x82, 126, 1, 44])
  t.is(mid.length, 304)
  const big = encodeFrame(Opcode.BINARY, Buffer.alloc(70_000))
  t.deepEqual([...big.subarray(0, 10)], [0x82, 127, 0, 0, 0, 0, 0, 1, 0x11, 0x70])
  t.deepEqual([...closePayload(1000, 'ok')], [0x03, 0xe8, 0x6f, 0x6b])
  t.is(closePayload(1005).length, 0)
})

test('readFrames: several frames, each length form, round trip', t => {
  const buf = Buffer.concat([encodeFrame(Opcode.TEXT, 'a'), encodeFrame(Opcode.BINARY, 'b'.repeat(300)), encodeFrame(Opcode.TEXT, 'c'.repeat(70_000)), encodeFrame(Opcode.PING, 'p')])
  const { used, frames } = collect(buf)
  t.is(used, buf.length)
  t.deepEqual(frames.map(([fin, op, p]) => [fin, op, p.length]), [[true, 1, 1], [true, 2, 300], [true, 1, 70_000], [true, 9, 1]])
})

test('readFrames leaves a cut frame for later, at every cut point', t => {
  const whole = Buffer.concat([encodeFrame(Opcode.TEXT, 'first'), encodeFrame(Opcode.BINARY, 'z'.repeat(200))])
  const firstLen = 7
  for (let cut = 0; cut < whole.length; cut++) {
    const { used, frames } = collect(whole.subarray(0, cut))
    t.is(used, cut >= firstLen ? firstLen : 0, `cut ${cut}`)
    t.is(frames.length, cut >= firstLen ? 1 : 0)
  }
})

test('readFrames unmasks masked frames and stops after the sink says so', t => {
  const key = [1, 2, 3, 4]
  const payload = Buffer.from('masked!')
  const masked = Buffer.from([0x81, 0x80 | payload.length, ...key, ...payload.map((b, i) => b ^ key[i % 4]!)])
  const buf = Buffer.concat([masked, encodeFrame(Opcode.CLOSE, closePayload(1000)), encodeFrame(Opcode.TEXT, 'never')])
  const { used, frames } = collect(buf)
  t.deepEqual(frames, [[true, 1, 'masked!'], [true, 8, '\x03\xe8']])
  t.is(used, masked.length + 4)
})

test('readFrames rejects what no negotiated extension or RFC 6455 allows, with codes', t => {
  const cases: Array<[string, Buffer]> = [
    ['SWB_ERR_WS_RSV', Buffer.from([0xc1, 0x00])],
    ['SWB_ERR_WS_OPCODE', Buffer.from([0x83, 0x00])],
    ['SWB_ERR_WS_OPCODE', Buffer.from([0x8b, 0x00])],
    ['SWB_ERR_WS_CONTROL', Buffer.from([0x09, 0x00])],
    ['SWB_ERR_WS_CONTROL', Buffer.from([0x89, 126, 0, 126])],
    ['SWB_ERR_WS_LENGTH', Buffer.from([0x82, 127, 0x80, 0, 0, 0, 0, 0, 0, 1])],
    ['SWB_ERR_WS_LENGTH', encodeFrame(Opcode.BINARY, Buffer.alloc(101)).subarray(0, 2)]
  ]
  for (const [code, buf] of cases) t.throws(() => readFrames(buf, 100, () => true), { code }, code)
})
