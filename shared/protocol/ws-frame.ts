/**
 * RFC 6455 frames as Mongrel2 handlers write them (MONGREL2.md §2.5): the handler builds
 * every outbound frame itself (unmasked) and sends the raw bytes as a reply BODY; a reply
 * may hold several frames, and a frame may be cut across replies.
 *
 *   byte 0: FIN | RSV1-3 | opcode      byte 1: MASK | len7  [len16 | len64] [mask key] payload
 *
 * `readFrames` parses them for the acceptor (which sends each through uWS.js);
 * `encodeFrame` builds them for handlers (the TypeScript handler API, tests).
 * Inbound messages reach handlers with `FLAGS` = `0x` + byte 0 in upper-case hex, as
 * Mongrel2 prints it (`"0x%X"`): 0x81 text, 0x82 binary, 0x88 close, 0x89 ping, 0x8A pong.
 */
import { createHash } from 'node:crypto'
import { ProtocolError } from '../errors.js'

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa
} as const

/** RFC 6455 §1.3 */
const kGuid = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11'
const kEmpty = Buffer.alloc(0)

/** `Sec-WebSocket-Accept` for a client's `Sec-WebSocket-Key`: the body of Mongrel2's handshake message. */
export function acceptKey (key: string): string {
  return createHash('sha1').update(key + kGuid, 'latin1').digest('base64')
}

/** The FLAGS header value for a frame's first byte: always 4 characters for FIN frames (`0x81`…`0x8A`). */
export function flagsText (byte0: number): string {
  return '0x' + (byte0 & 0xff).toString(16).toUpperCase()
}

/** One unmasked frame (what a server sends). `payload` may be text (UTF-8). */
export function encodeFrame (opcode: number, payload: Uint8Array | string = kEmpty, fin = true): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  const len = data.length
  const head = len < 126 ? 2 : len < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(head + len)
  out[0] = (fin ? 0x80 : 0) | (opcode & 0x0f)
  if (len < 126) {
    out[1] = len
  } else if (len < 65536) {
    out[1] = 126
    out.writeUInt16BE(len, 2)
  } else {
    out[1] = 127
    out.writeUInt32BE(Math.floor(len / 0x100000000), 2)
    out.writeUInt32BE(len >>> 0, 6)
  }
  out.set(data, head)
  return out
}

/** A close frame's payload: the 2-byte code and a UTF-8 reason (none for code 0 or 1005). */
export function closePayload (code: number, reason = ''): Buffer {
  if (code === 0 || code === 1005) return kEmpty
  const text = Buffer.from(reason)
  const out = Buffer.allocUnsafe(2 + text.length)
  out.writeUInt16BE(code, 0)
  out.set(text, 2)
  return out
}

/** Called per frame; return false to stop reading (after a close frame). `payload` is valid during the call. */
export type FrameSink = (fin: boolean, opcode: number, payload: Buffer) => boolean

function fail (what: string, message: string, offset: number): ProtocolError {
  return new ProtocolError(`SWB_ERR_WS_${what}`, `websocket frame: ${message} (offset ${offset})`, offset)
}

/**
 * Parses the whole frames at the start of `buf`, handing each to `sink`. Returns the bytes
 * consumed: a frame cut at the end of `buf` is left for the caller to complete. Masked
 * frames are unmasked (a copy). Throws ProtocolError `SWB_ERR_WS_RSV` (reserved bits: no
 * extension is negotiated), `_OPCODE`, `_CONTROL` (control frame fragmented or over 125
 * bytes), `_LENGTH` (over `maxPayload`, or a 64-bit length with the top bit set).
 */
export function readFrames (buf: Buffer, maxPayload: number, sink: FrameSink): number {
  let p = 0
  const end = buf.length
  while (end - p >= 2) {
    const b0 = buf[p]!
    const b1 = buf[p + 1]!
    if ((b0 & 0x70) !== 0) throw fail('RSV', `reserved bits set in byte 0x${b0.toString(16)}`, p)
    const opcode = b0 & 0x0f
    const fin = (b0 & 0x80) !== 0
    if (opcode >= 0x8) {
      if (opcode > 0xa) throw fail('OPCODE', `unknown control opcode 0x${opcode.toString(16)}`, p)
      if (!fin) throw fail('CONTROL', 'a control frame must not be fragmented', p)
      if ((b1 & 0x7f) > 125) throw fail('CONTROL', 'a control frame payload must be at most 125 bytes', p)
    } else if (opcode > 0x2) {
      throw fail('OPCODE', `unknown data opcode 0x${opcode.toString(16)}`, p)
    }
    const masked = (b1 & 0x80) !== 0
    let len = b1 & 0x7f
    let q = p + 2
    if (len === 126) {
      if (end - q < 2) break
      len = buf.readUInt16BE(q)
      q += 2
    } else if (len === 127) {
      if (end - q < 8) break
      const hi = buf.readUInt32BE(q)
      if (hi >= 0x80000000) throw fail('LENGTH', 'a 64-bit length with the top bit set', p)
      len = hi * 0x100000000 + buf.readUInt32BE(q + 4)
      q += 8
    }
    if (len > maxPayload) throw fail('LENGTH', `payload of ${len} bytes is over the limit of ${maxPayload}`, p)
    const keyAt = q
    if (masked) q += 4
    if (end - q < len) break
    let payload = buf.subarray(q, q + len)
    if (masked) {
      const unmasked = Buffer.allocUnsafe(len)
      for (let i = 0; i < len; i++) unmasked[i] = payload[i]! ^ buf[keyAt + (i & 3)]!
      payload = unmasked
    }
    p = q + len
    if (!sink(fin, opcode, payload)) break
  }
  return p
}
