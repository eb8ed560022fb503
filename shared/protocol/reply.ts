/**
 * Mongrel2 reply messages (handler → acceptor), parsed as Mongrel2 1.12's handler_parser.rl does.
 *
 * ```
 *   UUID SP LEN ":" ["X" SP] ID (SP ID)* [SP] "," SP BODY
 *   │       │      │                            │     └─ every remaining byte of the frame (may be empty = close)
 *   │       │      │                            └─ the space after ',' is mandatory
 *   │       │      └─ "X " marks an extended reply (BODY is a tnetstring [key, args])
 *   │       └─ exact byte length of everything between ':' and ',' ("X " included)
 *   └─ [A-Za-z0-9-]+
 *
 *   "54c6755b-… 7:1 22 333, HTTP/1.1 200 OK\r\n…"  → ids [1, 22, 333]
 * ```
 *
 * Parsing scans bytes only (no toString of the frame); `sender` and `body` are views into it.
 */
import { ProtocolError, SwitchboardError } from '../errors.js'
import { decimalLength, hex, writeDecimal, type FastBuffer } from './netstring.js'

export interface Reply {
  /** View into the message. */
  sender: Buffer
  ids: number[]
  extended: boolean
  /** View into the message, may be empty (empty = close the connection). */
  body: Buffer
}

const kSpace = 0x20
const kColon = 0x3a
const kComma = 0x2c
const kX = 0x58
const kMaxId = 0xffffffff
/** Mongrel2's `limits.handler_targets` default. */
const kDefaultMaxIds = 128

/** 1 for bytes allowed in a reply UUID: [A-Za-z0-9-]. */
const kUuidByte = new Uint8Array(256)
for (let c = 0x30; c <= 0x39; c++) kUuidByte[c] = 1
for (let c = 0x41; c <= 0x5a; c++) kUuidByte[c] = 1
for (let c = 0x61; c <= 0x7a; c++) kUuidByte[c] = 1
kUuidByte[0x2d] = 1

/**
 * Parse one reply frame. At most `maxIds` ids (Mongrel2 rejects the whole message beyond it).
 * Throws ProtocolError `SWB_ERR_REPLY_SENDER | _LENGTH | _IDS | _FORMAT`.
 * @example parseReply(Buffer.from('UUID 5:12 34, hi')) // { sender: 'UUID', ids: [12, 34], extended: false, body: 'hi' }
 */
export function parseReply (msg: Buffer, maxIds = kDefaultMaxIds): Reply {
  const end = msg.length
  let p = 0
  while (p < end && kUuidByte[msg[p]!] === 1) p++
  if (p === end) throw fail('SENDER', end === 0 ? 'empty message' : 'no space after the sender UUID', p)
  if (msg[p] !== kSpace || p === 0) {
    throw fail('SENDER', p === 0 && msg[0] === kSpace ? 'missing sender UUID' : `sender UUID may contain only A-Z a-z 0-9 '-', found byte 0x${hex(msg[p]!)}`, p)
  }
  const senderLen = p++

  const lenStart = p
  let len = 0
  for (; p < end; p++) {
    const d = msg[p]! - 0x30
    if (d < 0 || d > 9) break
    len = len * 10 + d
  }
  if (p === lenStart) throw fail('LENGTH', 'id list length must start with a digit', p)
  if (p - lenStart > 9) throw fail('LENGTH', 'id list length has more than 9 digits', lenStart)
  if (p === end || msg[p] !== kColon) throw fail('LENGTH', "expected ':' after the id list length", p)

  const start = p + 1
  const stop = start + len
  if (stop >= end || msg[stop] !== kComma) {
    // Error path only: find where the list really ends to say what was wrong.
    const comma = msg.indexOf(kComma, start)
    if (comma === -1) throw fail('FORMAT', "no ',' after the id list", start)
    throw fail('LENGTH', `id list length says ${len} bytes but the list is ${comma - start} bytes (length too ${len > comma - start ? 'long' : 'short'})`, lenStart)
  }
  if (stop + 1 === end || msg[stop + 1] !== kSpace) throw fail('FORMAT', "expected a space after the ',' that ends the id list", stop + 1)

  p = start
  let extended = false
  if (len >= 2 && msg[p] === kX && msg[p + 1] === kSpace) {
    extended = true
    p += 2
  }
  const ids: number[] = []
  while (p < stop) {
    const idStart = p
    let id = 0
    for (; p < stop; p++) {
      const d = msg[p]! - 0x30
      if (d < 0 || d > 9) break
      id = id * 10 + d
    }
    if (p === idStart) throw fail('IDS', `expected a digit in the id list, found byte 0x${hex(msg[p]!)}`, p)
    if (p - idStart > 10 || id > kMaxId) throw fail('IDS', 'id is out of the uint32 range', idStart)
    if (ids.length === maxIds) throw fail('IDS', `more than ${maxIds} ids in one reply`, idStart)
    ids.push(id)
    if (p < stop) {
      if (msg[p] !== kSpace) throw fail('IDS', `ids are digits separated by single spaces, found byte 0x${hex(msg[p]!)}`, p)
      p++
    }
  }
  if (ids.length === 0) throw fail('IDS', 'reply names no ids', start)

  return { sender: msg.subarray(0, senderLen), ids, extended, body: msg.subarray(stop + 2) }
}

/** Where a reply frame's sender UUID ends, unvalidated: its first space (the frame's length if none). */
export function senderEnd (frame: Uint8Array): number {
  const space = frame.indexOf(kSpace)
  return space < 0 ? frame.length : space
}

/**
 * Encode a reply frame (what a handler sends). `extended` adds the `X ` marker (BODY must then be
 * a tnetstring `[key, args]`). The sender is not validated: it must match [A-Za-z0-9-]+.
 * @example encodeReply('UUID', [12, 34], Buffer.from('hi')).toString() // 'UUID 5:12 34, hi'
 */
export function encodeReply (sender: string | Buffer, ids: readonly number[], body: Uint8Array, extended = false): Buffer {
  if (ids.length === 0) throw new SwitchboardError('SWB_ERR_REPLY_IDS', 'a reply needs at least one id')
  let listLen = extended ? ids.length + 1 : ids.length - 1
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i]!
    if ((id >>> 0) !== id) throw new SwitchboardError('SWB_ERR_REPLY_IDS', `reply ids must be integers in 0..${kMaxId}, got ${id}`)
    listLen += decimalLength(id)
  }
  const senderLen = typeof sender === 'string' ? Buffer.byteLength(sender) : sender.length
  const out = Buffer.allocUnsafe(senderLen + decimalLength(listLen) + listLen + 4 + body.length)
  let p: number
  if (typeof sender === 'string') {
    p = (out as FastBuffer).utf8Write(sender, 0)
  } else {
    out.set(sender, 0)
    p = senderLen
  }
  out[p++] = kSpace
  p = writeDecimal(out, p, listLen)
  out[p++] = kColon
  if (extended) {
    out[p++] = kX
    out[p++] = kSpace
  }
  for (let i = 0; i < ids.length; i++) {
    if (i > 0) out[p++] = kSpace
    p = writeDecimal(out, p, ids[i]!)
  }
  out[p++] = kComma
  out[p++] = kSpace
  out.set(body, p)
  return out
}

function fail (what: string, message: string, offset: number): ProtocolError {
  return new ProtocolError(`SWB_ERR_REPLY_${what}`, `reply: ${message} (offset ${offset})`, offset)
}
