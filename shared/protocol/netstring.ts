/**
 * Netstrings (D. J. Bernstein), as Mongrel2 frames request headers and bodies.
 *
 * ```
 *   "12:hello world!,"
 *    ││ └─────┬────┘└─ terminator ','
 *    ││       └────── LEN bytes of payload (any bytes)
 *    │└────────────── ':'
 *    └─────────────── LEN: 1-9 ASCII digits, no leading zero except "0" itself
 * ```
 *
 * LEN counts bytes, never UTF-16 code units. Decoding returns views into the input
 * (no copies): they stay valid only as long as the input buffer is not reused.
 * The small decimal helpers are exported for the other codecs in this folder.
 */
import { ProtocolError } from '../errors.js'

const kColon = 0x3a
const kComma = 0x2c
const kZero = 0x30
/** 9 digits: Mongrel2 and the netstring spec both bound LEN; 999,999,999 bytes is plenty. */
const kMaxDigits = 9

/** Number of ASCII digits needed to print a non-negative integer `n`. @internal */
export function decimalLength (n: number): number {
  if (n < 10) return 1
  if (n < 100) return 2
  if (n < 1000) return 3
  if (n < 10000) return 4
  if (n < 100000) return 5
  if (n < 1000000) return 6
  if (n < 10000000) return 7
  if (n < 100000000) return 8
  if (n < 1000000000) return 9
  if (n < 10000000000) return 10
  return String(n).length
}

/**
 * Write non-negative integer `n` as ASCII decimal at `offset`; returns the offset after it.
 * Writing bytes back to front avoids a `String(n)` allocation per call. @internal
 */
export function writeDecimal (target: Uint8Array, offset: number, n: number): number {
  const end = offset + decimalLength(n)
  let i = end
  do {
    const q = Math.floor(n / 10)
    target[--i] = kZero + (n - q * 10)
    n = q
  } while (n > 0)
  return end
}

/** Bytes taken by a netstring holding `payloadLength` bytes: `LEN:` + payload + `,`. */
export function encodedLength (payloadLength: number): number {
  return decimalLength(payloadLength) + payloadLength + 2
}

/**
 * Write `payload` as a netstring into `target` at `offset`; returns the offset after the ','.
 * The caller sizes `target` with {@link encodedLength}.
 * @example
 *   const buf = Buffer.allocUnsafe(encodedLength(body.length))
 *   write(buf, 0, body)
 */
export function write (target: Buffer, offset: number, payload: Uint8Array): number {
  offset = writeDecimal(target, offset, payload.length)
  target[offset++] = kColon
  target.set(payload, offset)
  offset += payload.length
  target[offset++] = kComma
  return offset
}

/** Encode `payload` as a fresh netstring Buffer. @example encode(Buffer.from('hi')) // "2:hi," */
export function encode (payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(encodedLength(payload.length))
  write(out, 0, payload)
  return out
}

/**
 * Read a length prefix `LEN:` starting at `offset`, with `end` as the bound of readable bytes.
 * Returns the payload length; the payload starts at `offset + digits + 1` (use
 * {@link decimalLength} of the result, which is exact since leading zeros are refused).
 * `area` names the codec in error codes (`SWB_ERR_<area>_LENGTH` / `_SHORT`). @internal
 */
export function readLength (buf: Uint8Array, offset: number, end: number, area: string): number {
  if (offset >= end) throw new ProtocolError(`SWB_ERR_${area}_SHORT`, `${area.toLowerCase()}: input ends before the length prefix (offset ${offset})`, offset)
  let n = 0
  let i = offset
  for (; i < end; i++) {
    const c = buf[i]!
    if (c === kColon) break
    const d = c - kZero
    if (d < 0 || d > 9) throw lengthError(area, `expected a digit or ':' but found byte 0x${hex(c)}`, i)
    if (i - offset === kMaxDigits) throw lengthError(area, `length prefix has more than ${kMaxDigits} digits`, offset)
    // n is still 0 on the second digit only if the first was '0'
    if (i === offset + 1 && n === 0) throw lengthError(area, 'length prefix has a leading zero', offset)
    n = n * 10 + d
  }
  if (i === end) throw new ProtocolError(`SWB_ERR_${area}_SHORT`, `${area.toLowerCase()}: input ends inside the length prefix (offset ${offset})`, offset)
  if (i === offset) throw lengthError(area, "length prefix is empty (':' with no digits)", offset)
  return n
}

function lengthError (area: string, what: string, offset: number): ProtocolError {
  return new ProtocolError(`SWB_ERR_${area}_LENGTH`, `${area.toLowerCase()}: ${what} (offset ${offset}); LEN must be 1-${kMaxDigits} ASCII digits without leading zeros`, offset)
}

/**
 * Node's per-encoding Buffer methods: undocumented but present since Node 0.x (undici and ws call
 * them too); they skip `write()`/`toString()` argument decoding, ~15-30% faster on short strings. @internal
 */
export interface FastBuffer extends Buffer {
  utf8Write (str: string, offset: number): number
  latin1Write (str: string, offset: number): number
  utf8Slice (start: number, end: number): string
  latin1Slice (start: number, end: number): string
}

/** @internal */
export function hex (byte: number): string {
  return byte.toString(16).padStart(2, '0')
}

/**
 * Decode one netstring at `offset`. `value` is a view into `buf`; `end` is the offset after ','.
 * Throws ProtocolError `SWB_ERR_NETSTRING_LENGTH` (bad prefix), `SWB_ERR_NETSTRING_SHORT` (input
 * ends early: feed more bytes), `SWB_ERR_NETSTRING_TERMINATOR` (no ',' after the payload).
 * @example decode(Buffer.from('2:hi,')) // { value: <Buffer 68 69>, end: 5 }
 */
export function decode (buf: Buffer, offset = 0): { value: Buffer, end: number } {
  const len = readLength(buf, offset, buf.length, 'NETSTRING')
  const start = offset + decimalLength(len) + 1
  const stop = start + len
  if (stop >= buf.length) {
    throw new ProtocolError('SWB_ERR_NETSTRING_SHORT', `netstring: length prefix says ${len} bytes + ',' but only ${buf.length - start} bytes remain (offset ${offset})`, offset)
  }
  if (buf[stop] !== kComma) {
    throw new ProtocolError('SWB_ERR_NETSTRING_TERMINATOR', `netstring: expected ',' after ${len} payload bytes but found byte 0x${hex(buf[stop]!)} (offset ${stop})`, stop)
  }
  return { value: buf.subarray(start, stop), end: stop + 1 }
}
