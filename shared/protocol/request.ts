/**
 * Mongrel2 request messages (acceptor → handler), byte-exact with Mongrel2 1.12 (MONGREL2.md §2).
 *
 * ```
 *   SENDER SP CONN_ID SP PATH SP HEADERS BODY
 *
 *   json        HEADERS = netstring of a JSON object       237:{"PATH":"/hello/world",…},
 *   tnetstring  HEADERS = tnetstring dict                  205:11:REMOTE_ADDR,9:127.0.0.1,…}
 *   msgpack     HEADERS = netstring of a msgpack map       (Switchboard only, never sent to Mongrel2 handlers)
 *   BODY        = netstring (same bytes in every mode)     0:,
 * ```
 *
 * Header maps keep insertion order. JSON and msgpack write it as is. tnetstring writes it
 * REVERSED, as Mongrel2 does (it renders back to front), and decoding reverses it again, so
 * encode → decode round-trips the order in every mode. Repeated headers are string arrays
 * (JSON array / tnetstring list). JS objects list integer-like keys ("42") first whatever the
 * insertion order; HTTP header names practically never are.
 */
import { pack, unpack, Unpackr } from 'msgpackr'
import { ProtocolError, SwitchboardError } from '../errors.js'
import { decimalLength, encodedLength, hex, readLength, write as writeNetstring, writeDecimal, type FastBuffer } from './netstring.js'
import { parseAt, parsedEnd, setKey } from './tnetstring.js'

export type HeaderProtocol = 'json' | 'tnetstring' | 'msgpack'
export type HeaderValue = string | string[]
/** Insertion order is the wire order (reversed on the wire for tnetstring, see above). */
export type Headers = Record<string, HeaderValue>

export interface DecodedRequest {
  sender: string
  id: number
  path: string
  headers: Headers
  /** View into the message buffer. */
  body: Buffer
  protocol: HeaderProtocol
}

const kSpace = 0x20
const kColon = 0x3a
const kComma = 0x2c
const kOpenBrace = 0x7b
const kCloseBrace = 0x7d
const kOpenBracket = 0x5b
const kCloseBracket = 0x5d
const kQuote = 0x22
const kBackslash = 0x5c
const kMaxId = 0xffffffff

// Captured from Mongrel2 1.12.2 (MONGREL2.md §2.3); the body is JSON text in both modes.
const kDisconnectBody = Buffer.from('{"type":"disconnect"}')
const kDisconnectJsonTail = Buffer.from(' @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},')
const kDisconnectTnetTail = Buffer.from(' @* 16:6:METHOD,4:JSON,}21:{"type":"disconnect"},')

/*
 * Headers are serialised into a module-level scratch buffer, then copied once into the exactly
 * sized message. Strings are copied by a JS loop while they are plain ASCII: cheaper than the
 * byteLength + write native calls for header-sized strings. Anything else takes the slow path
 * (JSON.stringify for JSON, utf8Write for tnetstring), so the bytes are always what
 * JSON.stringify(headers) / a tnetstring encoder would produce.
 * tnetstring pairs are written back to front (as Mongrel2 does); a string's bytes go after a
 * guessed length prefix (exact for ASCII) and are moved only when UTF-8 changes the digit count.
 */
let gScratch = Buffer.allocUnsafe(16 * 1024) as FastBuffer
let gKeys: string[] = new Array<string>(64).fill('')

/**
 * Encode one request message into a single exactly-sized Buffer.
 * `path` must not contain a space (handlers split the envelope on spaces); `id` is a uint32.
 * @example
 *   encodeRequest(Buffer.from(uuid), 2, '/hello', { PATH: '/hello', METHOD: 'GET' }, Buffer.alloc(0), 'json')
 *   // `${uuid} 2 /hello 32:{"PATH":"/hello","METHOD":"GET"},0:,`
 */
export function encodeRequest (sender: Buffer, id: number, path: string, headers: Headers, body: Uint8Array, protocol: HeaderProtocol): Buffer {
  if ((id >>> 0) !== id) throw new SwitchboardError('SWB_ERR_REQUEST_ID', `request id must be an integer in 0..${kMaxId}, got ${id}`)
  if (path.indexOf(' ') !== -1) throw new SwitchboardError('SWB_ERR_REQUEST_PATH', `request path must not contain a space (handlers split on spaces), got ${JSON.stringify(path)}`)
  const pathLen = Buffer.byteLength(path)
  const envelope = sender.length + decimalLength(id) + pathLen + 3
  const bodyLen = encodedLength(body.length)
  let out: Buffer
  let p: number
  if (protocol === 'json' || protocol === 'tnetstring') {
    const json = protocol === 'json'
    const len = json ? writeJsonHeaders(headers) : writeTnetHeaders(headers)
    out = Buffer.allocUnsafe(envelope + encodedLength(len) + bodyLen)
    p = writeEnvelope(out, sender, id, path)
    p = writeDecimal(out, p, len)
    out[p++] = kColon
    gScratch.copy(out, p, 0, len)
    p += len
    out[p++] = json ? kComma : kCloseBrace
  } else if (protocol === 'msgpack') {
    // pack() returns a view into msgpackr's shared buffer: copy it before the next pack().
    const packed = pack(headers)
    out = Buffer.allocUnsafe(envelope + encodedLength(packed.length) + bodyLen)
    p = writeEnvelope(out, sender, id, path)
    p = writeNetstring(out, p, packed)
  } else {
    throw new SwitchboardError('SWB_ERR_REQUEST_PROTOCOL', `header protocol must be 'json', 'tnetstring' or 'msgpack', got ${JSON.stringify(protocol)}`)
  }
  writeNetstring(out, p, body)
  return out
}

function writeEnvelope (out: Buffer, sender: Buffer, id: number, path: string): number {
  out.set(sender, 0)
  let p = sender.length
  out[p++] = kSpace
  p = writeDecimal(out, p, id)
  out[p++] = kSpace
  p += (out as FastBuffer).utf8Write(path, p)
  out[p++] = kSpace
  return p
}

/** Writes the JSON object text into gScratch; returns its length. Same bytes as JSON.stringify. */
function writeJsonHeaders (headers: Headers): number {
  let p = 0
  gScratch[p++] = kOpenBrace
  for (const key in headers) {
    const value = headers[key]
    if (p > 1) gScratch[p++] = kComma
    p = writeJsonString(p, key)
    gScratch[p++] = kColon
    if (typeof value === 'string') {
      p = writeJsonString(p, value)
    } else if (Array.isArray(value)) {
      reserve(p, 1)
      gScratch[p++] = kOpenBracket
      for (let j = 0; j < value.length; j++) {
        const item = value[j]
        if (typeof item !== 'string') throw badValue(key, value)
        if (j > 0) gScratch[p++] = kComma
        p = writeJsonString(p, item)
      }
      reserve(p, 2)
      gScratch[p++] = kCloseBracket
    } else {
      throw badValue(key, value)
    }
  }
  reserve(p, 1)
  gScratch[p++] = kCloseBrace
  return p
}

/** Write `"str"` at `p` in gScratch; returns the offset after it. Reserves room for one more byte. */
function writeJsonString (p: number, str: string): number {
  const len = str.length
  // JSON.stringify's worst case is 6 bytes per UTF-16 unit (\uXXXX), plus quotes and a spare byte
  reserve(p, len * 6 + 3)
  const out = gScratch
  out[p] = kQuote
  const start = p + 1
  for (let i = 0; i < len; i++) {
    const c = str.charCodeAt(i)
    if (c < 0x20 || c > 0x7e || c === kQuote || c === kBackslash) return p + out.utf8Write(JSON.stringify(str), p)
    out[start + i] = c
  }
  out[start + len] = kQuote
  return start + len + 1
}

/** Writes the dict payload (pairs in reverse insertion order) into gScratch; returns its length. */
function writeTnetHeaders (headers: Headers): number {
  let count = 0
  for (const key in headers) {
    if (count === gKeys.length) gKeys = gKeys.concat(new Array<string>(count).fill(''))
    gKeys[count++] = key
  }
  let p = 0
  for (let i = count - 1; i >= 0; i--) {
    const key = gKeys[i]!
    const value = headers[key]
    gKeys[i] = '' // drop the reference: header names should not outlive the request
    p = writeTnetString(p, key)
    if (typeof value === 'string') {
      p = writeTnetString(p, value)
    } else if (Array.isArray(value)) {
      // Same trick one level up: guess the list's prefix width, move the items if it was wrong.
      const guess = 3
      const itemsStart = p + guess + 1
      let q = itemsStart
      for (let j = 0; j < value.length; j++) {
        const item = value[j]
        if (typeof item !== 'string') {
          gKeys.fill('', 0, i)
          throw badValue(key, value)
        }
        q = writeTnetString(q, item)
      }
      const n = q - itemsStart
      const digits = decimalLength(n)
      if (digits !== guess) {
        reserve(q, digits)
        gScratch.copyWithin(p + digits + 1, itemsStart, q)
      }
      p = writeDecimal(gScratch, p, n)
      gScratch[p++] = kColon
      p += n
      gScratch[p++] = kCloseBracket
    } else {
      gKeys.fill('', 0, i)
      throw badValue(key, value)
    }
  }
  return p
}

function badValue (key: string, value: unknown): SwitchboardError {
  return new SwitchboardError('SWB_ERR_REQUEST_HEADERS', `header '${key}' must be a string or an array of strings, got ${value === null ? 'null' : Array.isArray(value) ? 'an array with a non-string' : typeof value}`)
}

/** Write `LEN:bytes,` for a string at `p` in gScratch; returns the offset after it. */
function writeTnetString (p: number, str: string): number {
  const len = str.length
  reserve(p, len * 3 + 12)
  const out = gScratch
  const guess = decimalLength(len)
  const start = p + guess + 1
  let n = len
  for (let i = 0; i < len; i++) {
    const c = str.charCodeAt(i)
    if (c >= 0x80) {
      n = out.utf8Write(str, start)
      const digits = decimalLength(n)
      if (digits !== guess) out.copyWithin(p + digits + 1, start, start + n)
      break
    }
    out[start + i] = c
  }
  p = writeDecimal(out, p, n)
  out[p++] = kColon
  p += n
  out[p++] = kComma
  return p
}

/** Make sure gScratch has `extra` bytes after `p`, keeping bytes [0, p). */
function reserve (p: number, extra: number): void {
  if (p + extra <= gScratch.length) return
  const bigger = Buffer.allocUnsafe(Math.max(gScratch.length * 2, p + extra + 1024)) as FastBuffer
  gScratch.copy(bigger, 0, 0, p)
  gScratch = bigger
}

/**
 * Encode a disconnect notice exactly as Mongrel2 sends it (msgpack uses the JSON form: handlers
 * must recognise it whatever they asked for).
 * @example encodeDisconnect(Buffer.from('UUID'), 2, 'json') // 'UUID 2 @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},'
 */
export function encodeDisconnect (sender: Buffer, id: number, protocol: HeaderProtocol): Buffer {
  if ((id >>> 0) !== id) throw new SwitchboardError('SWB_ERR_REQUEST_ID', `request id must be an integer in 0..${kMaxId}, got ${id}`)
  const tail = protocol === 'tnetstring' ? kDisconnectTnetTail : kDisconnectJsonTail
  const out = Buffer.allocUnsafe(sender.length + 1 + decimalLength(id) + tail.length)
  out.set(sender, 0)
  let p = sender.length
  out[p++] = kSpace
  p = writeDecimal(out, p, id)
  out.set(tail, p)
  return out
}

/** True for Mongrel2's disconnect notice: METHOD `JSON` and a JSON body whose `type` is `disconnect`. */
export function isDisconnect (req: DecodedRequest): boolean {
  if (req.headers.METHOD !== 'JSON') return false
  const body = req.body
  if (body.equals(kDisconnectBody)) return true
  // Other senders may space or reorder the JSON; only parse what can be a small object.
  if (body.length === 0 || body.length > 4096 || body[0] !== kOpenBrace) return false
  try {
    const parsed: unknown = JSON.parse((body as FastBuffer).utf8Slice(0, body.length))
    return typeof parsed === 'object' && parsed !== null && (parsed as { type?: unknown }).type === 'disconnect'
  } catch {
    return false
  }
}

/**
 * Decode a request message, detecting the header encoding: a netstring whose payload starts with
 * '{' is JSON, any other netstring payload msgpack, a '}'-tagged tnetstring dict tnetstring.
 * `body` is a view into `msg`. Throws ProtocolError `SWB_ERR_REQUEST_SENDER | _ID | _PATH |
 * _HEADERS | _BODY`.
 */
export function decodeRequest (msg: Buffer): DecodedRequest {
  const fast = msg as FastBuffer
  const end = msg.length
  const senderEnd = msg.indexOf(kSpace)
  if (senderEnd <= 0) throw fail('SENDER', senderEnd === 0 ? 'message starts with a space: empty sender' : 'no space after the sender', 0)

  let p = senderEnd + 1
  const idStart = p
  let id = 0
  for (; p < end; p++) {
    const d = msg[p]! - 0x30
    if (d < 0 || d > 9) break
    id = id * 10 + d
  }
  if (p === idStart || p - idStart > 10 || id > kMaxId) throw fail('ID', `connection id must be 1-10 digits within uint32, got '${preview(msg, idStart, p + 1)}'`, idStart)
  if (p === end || msg[p] !== kSpace) throw fail('ID', p === end ? 'message ends after the connection id' : `expected a space after the connection id, found byte 0x${hex(msg[p]!)}`, p)

  const pathStart = p + 1
  const pathEnd = msg.indexOf(kSpace, pathStart)
  if (pathEnd === -1) throw fail('PATH', 'no space after the path', pathStart)

  // Headers: netstring (json/msgpack) or tnetstring dict; both start with LEN ':'.
  const h = pathEnd + 1
  const hLen = readPrefix(msg, h, 'HEADERS')
  const hStart = h + decimalLength(hLen) + 1
  const hStop = hStart + hLen
  if (hStop >= end) throw fail('HEADERS', `header length prefix says ${hLen} bytes + terminator but only ${end - hStart} bytes remain`, h)
  const terminator = msg[hStop]
  let headers: Headers
  let protocol: HeaderProtocol
  if (terminator === kComma) {
    if (hLen > 0 && msg[hStart] === kOpenBrace) {
      headers = checkHeaders(parseJson(fast.utf8Slice(hStart, hStop), hStart), hStart)
      protocol = 'json'
    } else {
      let value: unknown
      try {
        value = unpack(msg.subarray(hStart, hStop))
        // msgpackr renames a '__proto__' key to '__proto_': decode such maps again keeping every key.
        if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto_')) value = exactMap(msg.subarray(hStart, hStop))
      } catch (err) {
        throw fail('HEADERS', `headers are neither JSON nor valid msgpack: ${(err as Error).message}`, hStart)
      }
      headers = checkHeaders(value, hStart)
      protocol = 'msgpack'
    }
  } else if (terminator === kCloseBrace) {
    headers = parseTnetHeaders(msg, hStart, hStop)
    protocol = 'tnetstring'
  } else {
    throw fail('HEADERS', `expected ',' (netstring) or '}' (tnetstring dict) after ${hLen} header bytes, found byte 0x${hex(terminator!)}`, hStop)
  }

  const b = hStop + 1
  const bLen = readPrefix(msg, b, 'BODY')
  const bStart = b + decimalLength(bLen) + 1
  const bStop = bStart + bLen
  if (bStop >= end) throw fail('BODY', `body length prefix says ${bLen} bytes + ',' but only ${end - bStart} bytes remain`, b)
  if (msg[bStop] !== kComma) throw fail('BODY', `expected ',' after ${bLen} body bytes, found byte 0x${hex(msg[bStop]!)}`, bStop)
  if (bStop + 1 !== end) throw fail('BODY', `${end - bStop - 1} unexpected bytes after the body netstring`, bStop + 1)

  return {
    sender: fast.utf8Slice(0, senderEnd),
    id,
    path: fast.utf8Slice(pathStart, pathEnd),
    headers,
    body: msg.subarray(bStart, bStop),
    protocol
  }
}

const kMapUnpackr = new Unpackr({ mapsAsObjects: false })

/** A msgpack map decoded as a Map, then copied to a plain object with every key as sent (setKey).
 *  Nested maps stay Maps: checkHeaders refuses them as it refuses nested objects. */
function exactMap (bytes: Buffer): unknown {
  const map: unknown = kMapUnpackr.unpack(bytes)
  if (!(map instanceof Map)) return map
  const out: Record<string, unknown> = {}
  for (const [key, value] of map) {
    if (typeof key !== 'string') return map // checkHeaders refuses it
    setKey(out, key, value)
  }
  return out
}

function readPrefix (msg: Buffer, offset: number, what: 'HEADERS' | 'BODY'): number {
  try {
    return readLength(msg, offset, msg.length, 'NETSTRING')
  } catch (err) {
    throw fail(what, (err as Error).message, offset)
  }
}

const kControlChars = /[\u0000-\u001f]/g // eslint-disable-line no-control-regex

function escapeControl (c: string): string {
  return '\\u00' + hex(c.charCodeAt(0))
}

function parseJson (text: string, offset: number): unknown {
  try {
    return JSON.parse(text)
  } catch {}
  // Mongrel2 escapes only '\' and '"': a raw control byte in a header value makes its JSON invalid.
  // Control characters can only occur inside its strings, so escaping them all is safe.
  try {
    return JSON.parse(text.replace(kControlChars, escapeControl))
  } catch (err) {
    throw fail('HEADERS', `header JSON does not parse: ${(err as Error).message}`, offset)
  }
}

function checkHeaders (value: unknown, offset: number): Headers {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) {
    throw fail('HEADERS', `headers must be a map, got ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`, offset)
  }
  const headers = value as Record<string, unknown>
  for (const key in headers) {
    if (!isHeaderValue(headers[key])) throw fail('HEADERS', `header '${key}' must be a string or a list of strings`, offset)
  }
  return headers as Headers
}

function isHeaderValue (value: unknown): value is HeaderValue {
  if (typeof value === 'string') return true
  if (!Array.isArray(value)) return false
  for (let i = 0; i < value.length; i++) if (typeof value[i] !== 'string') return false
  return true
}

function parseTnetHeaders (msg: Buffer, start: number, stop: number): Headers {
  const pairs: unknown[] = []
  let p = start
  try {
    while (p < stop) {
      const key = parseAt(msg, p, stop)
      if (typeof key !== 'string') throw fail('HEADERS', 'tnetstring header key is not a string', p)
      p = parsedEnd()
      if (p >= stop) throw fail('HEADERS', `tnetstring header '${key}' has no value`, p)
      const value = parseAt(msg, p, stop)
      if (!isHeaderValue(value)) throw fail('HEADERS', `tnetstring header '${key}' must be a string or a list of strings`, p)
      p = parsedEnd()
      pairs.push(key, value)
    }
  } catch (err) {
    if (err instanceof ProtocolError && err.code !== 'SWB_ERR_REQUEST_HEADERS') throw fail('HEADERS', err.message, err.offset)
    throw err
  }
  // Undo Mongrel2's back-to-front rendering: the last pair on the wire was inserted first.
  const headers: Headers = {}
  for (let i = pairs.length - 2; i >= 0; i -= 2) setKey(headers, pairs[i] as string, pairs[i + 1] as HeaderValue)
  return headers
}

function preview (msg: Buffer, start: number, stop: number): string {
  return (msg as FastBuffer).latin1Slice(start, Math.min(stop, msg.length, start + 20))
}

function fail (what: string, message: string, offset: number): ProtocolError {
  return new ProtocolError(`SWB_ERR_REQUEST_${what}`, `request: ${message} (offset ${offset})`, offset)
}
