/**
 * Pushpin's GRIP instruction headers in a handler's response head (pushpin.org/docs):
 *
 *   Grip-Hold: response | stream                    hold the exchange on channels
 *   Grip-Channel: name[; prev-id=X], name2 ...      one or more headers, comma-separated lists
 *   Grip-Timeout: 55                                seconds a response hold lasts (default 55)
 *   Grip-Keep-Alive: data; format=raw|cstring|base64; timeout=N
 *                                                   bytes sent when a stream hold was idle N s (default 55)
 *
 * Every `Grip-*` header is removed from the head (none reaches the client), those not
 * listed above included. A malformed instruction is a ResponseError SWB_ERR_GRIP_HEADER:
 * the client gets 502 and the log says why.
 */
import { ResponseError } from '../../shared/errors.js'
import type { Framing, ResponseHead } from './response-parser.js'

export const kHoldResponse = 1
export const kHoldStream = 2
/** A WebSocket's channel list (`X` subscribe), no hold semantics. */
export const kHoldSocket = 3

export const kDefaultTimeoutS = 55
const kMaxTimeoutS = 86_400
const kMaxChannels = 64
const kMaxChannelBytes = 255

/**
 * A response hold's response, sent as the handler gave it on Grip-Timeout: head fields,
 * headers packed in one latin1 string (see packHeaders), body as latin1. Built while the
 * reply is read, then interned (internHeld): holds given the same response share one.
 */
export class HeldResponse {
  status: number
  reason: string
  headers: string
  body = ''
  framing: Framing
  contentLength: number
  connectionClose: boolean

  constructor (head: ResponseHead) {
    this.status = head.status
    this.reason = head.reason
    this.headers = packHeaders(head.headers)
    this.framing = head.framing
    this.contentLength = head.contentLength
    this.connectionClose = head.connectionClose
  }

  equals (o: HeldResponse): boolean {
    return this.status === o.status && this.contentLength === o.contentLength && this.framing === o.framing &&
      this.connectionClose === o.connectionClose && this.body === o.body && this.headers === o.headers && this.reason === o.reason
  }
}

/** What one exchange needs while it is held (Exchange.grip): kept small, one per hold. */
export class GripHold {
  mode: number
  /**
   * Channel names, in the order given. Shared and never changed in place once the hold
   * joined them (Channels.join interns them; a WebSocket's list is copied on change).
   */
  channels: readonly string[]
  /** Per channel, the prev-id the next item must carry (null: any); null when no channel names one. */
  prevIds: Array<string | null> | null = null
  /** Response holds: seconds until the held response goes out. */
  timeoutS = kDefaultTimeoutS
  /** Stream holds: Grip-Keep-Alive bytes and their idle interval. */
  keepAlive: Buffer | null = null
  keepAliveMs = 0
  /** Response holds: the response sent on timeout. */
  held: HeldResponse | null = null

  constructor (mode: number, channels: readonly string[]) {
    this.mode = mode
    this.channels = channels
  }
}

/** Recently held responses: a long-poll endpoint holds thousands with the same one. */
const kMaxInternBytes = 4096
const gHeld: Array<HeldResponse | undefined> = new Array(16)
let gHeldNext = 0

/**
 * The shared copy of `held` (an equal one held recently), or `held` itself, remembered.
 * Each hold's own copy (strings built by concatenation) is then garbage.
 */
export function internHeld (held: HeldResponse): HeldResponse {
  // A large one is kept by its own holds only: the cache must not pin big bodies.
  if (held.body.length + held.headers.length > kMaxInternBytes) return held
  for (let i = 0; i < gHeld.length; i++) {
    const h = gHeld[i]
    if (h !== undefined && h.equals(held)) return h
  }
  // Flat strings: concatenation left rope nodes (32 B each) that every later compare walks.
  held.headers = flat(held.headers)
  held.body = flat(held.body)
  gHeld[gHeldNext] = held
  gHeldNext = (gHeldNext + 1) % gHeld.length
  return held
}

function flat (s: string): string {
  return s.length < 2 ? s : Buffer.from(s, 'latin1').toString('latin1')
}

function bad (reason: string): ResponseError {
  return new ResponseError('SWB_ERR_GRIP_HEADER', reason)
}

/** `grip-` prefix, any case: the cheapest test first (most heads have no such header). */
function isGrip (name: string): boolean {
  if (name.length < 5) return false
  const c = name.charCodeAt(0)
  return (c === 0x67 || c === 0x47) && name.slice(0, 5).toLowerCase() === 'grip-'
}

/**
 * Removes the Grip-* headers from `headers` (in place) and reads them. Returns the hold
 * they ask for, or null when there is no Grip-Hold. Throws SWB_ERR_GRIP_HEADER.
 */
export function readGrip (headers: Array<[string, string]>): GripHold | null {
  let first = -1
  for (let i = 0; i < headers.length; i++) {
    if (isGrip(headers[i]![0])) { first = i; break }
  }
  if (first < 0) return null
  let hold = ''
  let channel = ''
  let timeout = ''
  let keepAlive = ''
  let kept = first
  for (let i = first; i < headers.length; i++) {
    const h = headers[i]!
    if (!isGrip(h[0])) { headers[kept++] = h; continue }
    const name = h[0].toLowerCase()
    const value = h[1].trim()
    if (name === 'grip-hold') hold = value
    else if (name === 'grip-channel') channel = channel === '' ? value : channel + ',' + value
    else if (name === 'grip-timeout') timeout = value
    else if (name === 'grip-keep-alive') keepAlive = value
    // Other Grip-* (Grip-Link, Grip-Status, Grip-Sig...) are dropped: not supported.
  }
  headers.length = kept
  if (hold === '') return null
  const h = hold.toLowerCase()
  if (h !== 'response' && h !== 'stream') throw bad(`Grip-Hold must be response or stream, got ${JSON.stringify(hold.slice(0, 40))}`)
  const grip = new GripHold(h === 'response' ? kHoldResponse : kHoldStream, [])
  readChannels(grip, channel)
  if (timeout !== '') {
    if (!/^\d{1,6}$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > kMaxTimeoutS) {
      throw bad(`Grip-Timeout must be whole seconds from 1 to ${kMaxTimeoutS}, got ${JSON.stringify(timeout.slice(0, 40))}`)
    }
    grip.timeoutS = Number(timeout)
  }
  if (keepAlive !== '') readKeepAlive(grip, keepAlive)
  return grip
}

function readChannels (grip: GripHold, list: string): void {
  if (list === '') throw bad('Grip-Hold without a Grip-Channel')
  const names: string[] = []
  const prevIds: Array<string | null> = []
  let anyPrevId = false
  for (const part of list.split(',')) {
    const params = part.split(';')
    const name = params[0]!.trim()
    if (name === '' || Buffer.byteLength(name) > kMaxChannelBytes) throw bad(`Grip-Channel: a channel name must be 1 to ${kMaxChannelBytes} bytes, got ${JSON.stringify(name.slice(0, 40))}`)
    if (names.includes(name)) continue
    let prevId: string | null = null
    for (let i = 1; i < params.length; i++) {
      const [key, value] = param(params[i]!)
      if (key === 'prev-id') prevId = value
    }
    names.push(name)
    prevIds.push(prevId)
    if (prevId !== null) anyPrevId = true
    if (names.length > kMaxChannels) throw bad(`Grip-Channel: more than ${kMaxChannels} channels`)
  }
  // Arrays of their exact size: one built by push() has room for 17 (V8), kept as long as the hold.
  grip.channels = names.slice()
  if (anyPrevId) grip.prevIds = prevIds.slice()
}

/** `key=value` or `key="value"`; the key lowercased. */
function param (text: string): [string, string] {
  const eq = text.indexOf('=')
  if (eq < 0) return [text.trim().toLowerCase(), '']
  let value = text.slice(eq + 1).trim()
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1)
  return [text.slice(0, eq).trim().toLowerCase(), value]
}

function readKeepAlive (grip: GripHold, value: string): void {
  const params = value.split(';')
  const data = params[0]!.trim()
  let format = 'raw'
  let timeout = String(kDefaultTimeoutS)
  for (let i = 1; i < params.length; i++) {
    const [key, v] = param(params[i]!)
    if (key === 'format') format = v
    else if (key === 'timeout') timeout = v
  }
  if (!/^\d{1,6}$/.test(timeout) || Number(timeout) < 1 || Number(timeout) > kMaxTimeoutS) {
    throw bad(`Grip-Keep-Alive: timeout must be whole seconds from 1 to ${kMaxTimeoutS}, got ${JSON.stringify(timeout.slice(0, 40))}`)
  }
  let bytes: Buffer
  if (format === 'raw') bytes = Buffer.from(data, 'latin1')
  else if (format === 'cstring') bytes = unescapeCstring(data)
  else if (format === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(data) || data.length % 4 !== 0) throw bad('Grip-Keep-Alive: data is not valid base64')
    bytes = Buffer.from(data, 'base64')
  } else {
    throw bad(`Grip-Keep-Alive: format must be raw, cstring or base64, got ${JSON.stringify(format.slice(0, 40))}`)
  }
  if (bytes.length === 0) throw bad('Grip-Keep-Alive: no data')
  grip.keepAlive = bytes
  grip.keepAliveMs = Number(timeout) * 1000
}

const kEscapes: Record<string, number> = { n: 0x0a, r: 0x0d, t: 0x09, '\\': 0x5c, '"': 0x22, '0': 0x00 }

/** Backslash escapes as Pushpin's cstring format: \n \r \t \\ \" \0. */
export function unescapeCstring (text: string): Buffer {
  const out: number[] = []
  const raw = Buffer.from(text, 'latin1')
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!
    if (c !== 0x5c) { out.push(c); continue }
    const next = String.fromCharCode(raw[++i] ?? 0)
    const byte = kEscapes[next]
    if (byte === undefined || i >= raw.length) throw bad(`Grip-Keep-Alive: bad cstring escape \\${i >= raw.length ? '' : next}`)
    out.push(byte)
  }
  return Buffer.from(out)
}

/** What holdHead needs of an exchange (exchange.ts calls it with itself). */
interface Holdable { grip: GripHold | null }

/**
 * Called with every final response head before it is written (Exchange.onHead). Strips the
 * Grip headers; when they ask for a hold, sets `ex.grip`. Returns true when nothing must be
 * written now (a response hold: its head is kept in `grip.held`, sent on timeout). A stream
 * hold's head goes out at once, chunked, so published content can follow its body.
 */
export function holdHead (ex: Holdable, head: ResponseHead): boolean {
  const grip = readGrip(head.headers)
  if (grip === null) return false
  ex.grip = grip
  if (grip.mode === kHoldResponse) {
    grip.held = new HeldResponse(head)
    head.headers = kPacked
    return true
  }
  if (head.framing === 'none') throw bad('Grip-Hold: stream on a response without a body (HEAD, 1xx, 204 or 304)')
  head.framing = 'chunked'
  head.contentLength = -1
  return false
}

/** A response hold's body bytes (a view valid only now): kept as latin1, up to `max` bytes. */
export function keepHeld (grip: GripHold, chunk: Buffer, max: number): void {
  const held = grip.held!
  if (held.body.length + chunk.length > max) throw bad(`the held response's body is over ${max} bytes`)
  held.body += chunk.toString('latin1')
}

const kPacked = Object.freeze([]) as unknown as Array<[string, string]>

/** Header names and values joined by LF (neither may hold one: the parser refuses control bytes). */
export function packHeaders (headers: Array<[string, string]>): string {
  let out = ''
  for (let i = 0; i < headers.length; i++) out += (i === 0 ? '' : '\n') + headers[i]![0] + '\n' + headers[i]![1]
  return out
}

export function unpackHeaders (packed: string): Array<[string, string]> {
  if (packed === '') return []
  const parts = packed.split('\n')
  const out: Array<[string, string]> = []
  for (let i = 0; i + 1 < parts.length; i += 2) out.push([parts[i]!, parts[i + 1]!])
  return out
}
