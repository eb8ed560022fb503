/**
 * Tagged netstrings (tnetstrings.info), used by Mongrel2 for `protocol='tnetstring'` request
 * headers, the control port and `X` extended replies.
 *
 * ```
 *   LEN ":" DATA TAG          LEN = byte length of DATA, 1-9 digits, no leading zeros
 *
 *   TAG  type    DATA
 *   ','  string  raw bytes (decoded as UTF-8 by decode(), kept as a Buffer view by decodeBytes())
 *   '#'  int     -?[0-9]+ within the JS safe-integer range
 *   '^'  float   decimal / exponent literal (also Python's nan, inf, -inf)
 *   '!'  bool    true | false
 *   '~'  null    empty
 *   '}'  dict    key value key value …   (keys are strings)
 *   ']'  list    value value …
 *
 *   {"a": [1, "x"]}  →  "15:1:a,8:1:1#1:x,]}"
 * ```
 *
 * encode() writes dict keys in insertion order (the spec's order). Mongrel2 renders its own
 * request headers back to front; request.ts reproduces that on its hot path, not here.
 */
import { ProtocolError, SwitchboardError } from '../errors.js'
import { decimalLength, hex, readLength, writeDecimal, type FastBuffer } from './netstring.js'

export type TnetValue = string | Buffer | number | boolean | null | TnetValue[] | { [key: string]: TnetValue }

const kColon = 0x3a
const kTagString = 0x2c // ,
const kTagInt = 0x23 // #
const kTagFloat = 0x5e // ^
const kTagBool = 0x21 // !
const kTagNull = 0x7e // ~
const kTagDict = 0x7d // }
const kTagList = 0x5d // ]
/** Bounds recursion so hostile nesting ("3:0:]]]…") fails as a ProtocolError, not a RangeError. */
const kMaxDepth = 64
const kFloat = /^-?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$/

/** Offset after the value parse() just read: a module slot instead of a {value,end} object per node. */
let gEnd = 0

/**
 * Decode one tnetstring at `offset`; `','` strings become UTF-8 JS strings.
 * Throws ProtocolError `SWB_ERR_TNETSTRING_*` (LENGTH, SHORT, TYPE, INT, FLOAT, BOOL, NULL, DICT, DEPTH).
 * @example decode(Buffer.from('5:hello,')) // { value: 'hello', end: 8 }
 */
export function decode (buf: Buffer, offset = 0): { value: TnetValue, end: number } {
  const value = parse(buf, offset, buf.length, false, 0)
  return { value, end: gEnd }
}

/** Like {@link decode}, but `','` values (not dict keys) are Buffer views into `buf`. */
export function decodeBytes (buf: Buffer, offset = 0): { value: TnetValue, end: number } {
  const value = parse(buf, offset, buf.length, true, 0)
  return { value, end: gEnd }
}

/**
 * Parse the value at `offset` that must end by `limit`; read {@link parsedEnd} right after for
 * the offset behind it. For codecs that walk a container themselves (request headers). @internal
 */
export function parseAt (buf: Buffer, offset: number, limit: number): TnetValue {
  return parse(buf, offset, limit, false, 1)
}

/** Offset after the value the last {@link parseAt} call returned. @internal */
export function parsedEnd (): number {
  return gEnd
}

function parse (buf: Buffer, offset: number, limit: number, bytes: boolean, depth: number): TnetValue {
  if (depth > kMaxDepth) throw fail('DEPTH', `nesting deeper than ${kMaxDepth} levels`, offset)
  const len = readLength(buf, offset, limit, 'TNETSTRING')
  const start = offset + decimalLength(len) + 1
  const stop = start + len
  if (stop >= limit) {
    throw fail('SHORT', `length prefix says ${len} bytes + type tag but only ${limit - start} bytes ${limit === buf.length ? 'remain' : 'fit in the enclosing value'}`, offset)
  }
  const tag = buf[stop]!
  const after = stop + 1
  let value: TnetValue
  switch (tag) {
    case kTagString:
      value = bytes ? buf.subarray(start, stop) : (buf as FastBuffer).utf8Slice(start, stop)
      break
    case kTagInt:
      value = readInt(buf, start, stop)
      break
    case kTagFloat:
      value = readFloat(buf, start, stop)
      break
    case kTagBool:
      if (len === 4 && buf[start] === 0x74 && buf[start + 1] === 0x72 && buf[start + 2] === 0x75 && buf[start + 3] === 0x65) value = true
      else if (len === 5 && (buf as FastBuffer).latin1Slice(start, stop) === 'false') value = false
      else throw fail('BOOL', `bool must be 'true' or 'false', got '${preview(buf, start, stop)}'`, start)
      break
    case kTagNull:
      if (len !== 0) throw fail('NULL', `null must be empty, got ${len} bytes`, offset)
      value = null
      break
    case kTagDict:
      value = parseDict(buf, start, stop, bytes, depth)
      break
    case kTagList: {
      const list: TnetValue[] = []
      let p = start
      while (p < stop) {
        list.push(parse(buf, p, stop, bytes, depth + 1))
        p = gEnd
      }
      value = list
      break
    }
    default:
      throw fail('TYPE', `unknown type tag 0x${hex(tag)} after ${len} bytes (expected one of , # ^ ! ~ } ])`, stop)
  }
  gEnd = after
  return value
}

function parseDict (buf: Buffer, start: number, stop: number, bytes: boolean, depth: number): { [key: string]: TnetValue } {
  const dict: { [key: string]: TnetValue } = {}
  let p = start
  while (p < stop) {
    const key = parse(buf, p, stop, false, depth + 1)
    if (typeof key !== 'string') throw fail('DICT', 'dict key is not a string', p)
    p = gEnd
    if (p >= stop) throw fail('DICT', `dict key '${key.slice(0, 40)}' has no value`, p)
    const value = parse(buf, p, stop, bytes, depth + 1)
    p = gEnd
    setKey(dict, key, value)
  }
  return dict
}

/** Own-property assignment even for "__proto__" (plain `dict[k] = v` would set the prototype). @internal */
export function setKey<T> (dict: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(dict, key, { value, enumerable: true, writable: true, configurable: true })
  else dict[key] = value
}

function readInt (buf: Buffer, start: number, stop: number): number {
  let i = start
  const negative = buf[i] === 0x2d
  if (negative) i++
  if (i === stop) throw fail('INT', `empty integer '${preview(buf, start, stop)}'`, start)
  let n = 0
  for (; i < stop; i++) {
    const d = buf[i]! - 0x30
    if (d < 0 || d > 9) throw fail('INT', `invalid integer '${preview(buf, start, stop)}'`, start)
    n = n * 10 + d
  }
  if (n > Number.MAX_SAFE_INTEGER) throw fail('INT', `integer '${preview(buf, start, stop)}' is outside the safe integer range`, start)
  return negative ? -n : n
}

function readFloat (buf: Buffer, start: number, stop: number): number {
  const text = (buf as FastBuffer).latin1Slice(start, stop)
  if (kFloat.test(text)) return Number(text)
  if (text === 'nan') return NaN
  if (text === 'inf') return Infinity
  if (text === '-inf') return -Infinity
  throw fail('FLOAT', `invalid float '${preview(buf, start, stop)}'`, start)
}

function preview (buf: Buffer, start: number, stop: number): string {
  return (buf as FastBuffer).latin1Slice(start, Math.min(stop, start + 40))
}

function fail (what: string, message: string, offset: number): ProtocolError {
  return new ProtocolError(`SWB_ERR_TNETSTRING_${what}`, `tnetstring: ${message} (offset ${offset})`, offset)
}

/**
 * Encode a value. Integers in the safe range become `#`, other numbers `^`; strings are UTF-8,
 * Buffers/Uint8Arrays raw bytes; plain objects are dicts in insertion order (undefined members
 * skipped, like JSON). Throws SwitchboardError `SWB_ERR_TNETSTRING_VALUE` for what cannot be
 * represented (NaN, Infinity, functions, cycles/too deep).
 * @example encode({ a: [1, 'x'] }).toString() // '15:1:a,8:1:1#1:x,]}'
 */
export function encode (value: TnetValue): Buffer {
  const out = Buffer.allocUnsafe(sizeOf(value, 0))
  writeValue(out, 0, value)
  return out
}

/** Payload size (without prefix and tag) of a scalar/container; strings measured as UTF-8. */
function payloadSize (value: TnetValue, depth: number): number {
  if (typeof value === 'string') return Buffer.byteLength(value)
  if (typeof value === 'number') return numberText(value).length
  if (typeof value === 'boolean') return value ? 4 : 5
  if (value === null) return 0
  if (value instanceof Uint8Array) return value.length
  if (depth >= kMaxDepth) throw new SwitchboardError('SWB_ERR_TNETSTRING_VALUE', `tnetstring: value nests deeper than ${kMaxDepth} levels (cycle?)`)
  let size = 0
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) size += sizeOf(value[i]!, depth + 1)
    return size
  }
  if (typeof value === 'object') {
    for (const key in value) {
      const member = value[key]
      if (member === undefined) continue
      const keyLen = Buffer.byteLength(key)
      size += decimalLength(keyLen) + keyLen + 2 + sizeOf(member, depth + 1)
    }
    return size
  }
  throw new SwitchboardError('SWB_ERR_TNETSTRING_VALUE', `tnetstring: cannot encode a value of type ${typeof value}`)
}

function sizeOf (value: TnetValue, depth: number): number {
  const n = payloadSize(value, depth)
  return decimalLength(n) + n + 2
}

function numberText (n: number): string {
  if (!Number.isFinite(n)) throw new SwitchboardError('SWB_ERR_TNETSTRING_VALUE', `tnetstring: cannot encode the number ${n}`)
  return String(n)
}

function writeValue (out: Buffer, offset: number, value: TnetValue): number {
  let tag: number
  let len: number
  let p: number
  if (typeof value === 'string') {
    len = Buffer.byteLength(value)
    p = writeDecimal(out, offset, len)
    out[p++] = kColon
    p += (out as FastBuffer).utf8Write(value, p)
    tag = kTagString
  } else if (typeof value === 'number') {
    const text = numberText(value)
    p = writeDecimal(out, offset, text.length)
    out[p++] = kColon
    p += (out as FastBuffer).latin1Write(text, p)
    tag = Number.isSafeInteger(value) ? kTagInt : kTagFloat
  } else if (typeof value === 'boolean') {
    p = writeDecimal(out, offset, value ? 4 : 5)
    out[p++] = kColon
    p += (out as FastBuffer).latin1Write(value ? 'true' : 'false', p)
    tag = kTagBool
  } else if (value === null) {
    out[offset] = 0x30
    out[offset + 1] = kColon
    p = offset + 2
    tag = kTagNull
  } else if (value instanceof Uint8Array) {
    p = writeDecimal(out, offset, value.length)
    out[p++] = kColon
    out.set(value, p)
    p += value.length
    tag = kTagString
  } else {
    // Containers: the size pass already validated depth and types; recompute the payload size for the prefix.
    len = payloadSize(value, 0)
    p = writeDecimal(out, offset, len)
    out[p++] = kColon
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) p = writeValue(out, p, value[i]!)
      tag = kTagList
    } else {
      for (const key in value) {
        const member = value[key]
        if (member === undefined) continue
        p = writeValue(out, p, key)
        p = writeValue(out, p, member)
      }
      tag = kTagDict
    }
  }
  out[p++] = tag
  return p
}
