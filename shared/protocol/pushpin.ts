/**
 * Pushpin's publish item format, on the broker's two publish inputs, as Pushpin reads it
 * (facts from Pushpin's handler: publishitem.cpp, publishformat.cpp, handlerengine.cpp):
 *
 * ```
 * HTTP  POST /publish/   {"items": [ITEM, …]}            (JSON; all items valid or none published)
 * ZMQ   PULL, one frame:  'J' + JSON ITEM | 'T' + tnetstring ITEM | tnetstring ITEM
 *                         (Debian's pushpin-publish 1.36 sends the bare tnetstring)
 *
 * ITEM  {channel, id?, prev-id?, formats: {http-response?, http-stream?, ws-message?}}
 *       (the formats may also sit at the top level when `formats` is absent)
 * http-response  {code? (200), reason?, headers? ([[n, v]] or {n: v}), body | body-bin}
 * http-stream    {content | content-bin} | {action: "close"}
 * ws-message     {content | content-bin, type? ("text"|"binary")} | {action: "close", code?}
 * ```
 *
 * `body-bin`/`content-bin` are base64 in JSON; in a tnetstring every string is bytes
 * already, and there `content-bin` only marks a ws-message binary. Pushpin's `hint` and
 * `refresh` actions, `body-patch`, content filters and ping/pong messages need an origin
 * or state Switchboard does not keep: they are refused by name. `meta`, `size` and
 * `no-seq` are accepted and ignored.
 *
 * Errors are ProtocolError `SWB_ERR_PUSHPIN_ITEM` (a field), `SWB_ERR_PUSHPIN_JSON` (not
 * JSON) or `SWB_ERR_PUSHPIN_MESSAGE` (a ZeroMQ message of the wrong shape), naming the field.
 */
import { ProtocolError } from '../errors.js'
import type { HttpResponseFormat, HttpStreamFormat, PublishItem, WsMessageFormat } from './publish.js'
import { decodeBytes, encode, type TnetValue } from './tnetstring.js'

type Obj = Record<string, unknown>

const kEmpty = Buffer.alloc(0)
const kJ = 0x4a // 'J'
const kT = 0x54 // 'T'

function bad (path: string, message: string): ProtocolError {
  return new ProtocolError('SWB_ERR_PUSHPIN_ITEM', `${path} ${message}`)
}

function isObj (v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v)
}

function has (o: Obj, key: string): boolean {
  return Object.hasOwn(o, key) && o[key] !== undefined
}

function show (v: unknown): string {
  if (Buffer.isBuffer(v)) return `bytes (${v.length})`
  if (Array.isArray(v)) return 'a list'
  if (v === null) return 'null'
  if (typeof v === 'object') return 'an object'
  const text = JSON.stringify(v) ?? String(v)
  return text.length > 40 ? text.slice(0, 37) + '...' : text
}

/** A text field: a JSON string, or tnetstring bytes (UTF-8). null/absent → null. */
function optText (o: Obj, key: string, path: string): string | null {
  if (!has(o, key) || o[key] === null) return null
  const v = o[key]
  if (typeof v === 'string') return v
  if (Buffer.isBuffer(v)) return v.toString('utf8')
  throw bad(`${path}.${key}`, `must be a string, got ${show(v)}`)
}

/** Bytes of a `body`/`content`: a JSON string as UTF-8, tnetstring bytes as they are. */
function bytesOf (v: unknown, path: string): Buffer {
  if (typeof v === 'string') return Buffer.from(v)
  if (Buffer.isBuffer(v)) return v
  throw bad(path, `must be a string, got ${show(v)}`)
}

const kBase64 = /^[A-Za-z0-9+/\s]*={0,2}\s*$/

function base64Of (v: unknown, path: string): Buffer {
  if (typeof v !== 'string') throw bad(path, `must be a base64 string, got ${show(v)}`)
  if (!kBase64.test(v)) throw bad(path, 'is not valid base64')
  return Buffer.from(v, 'base64')
}

function intOf (v: unknown, path: string, min: number, max: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(path, `must be an integer, got ${show(v)}`)
  if (v < min || v > max) throw bad(path, `must be from ${min} to ${max}, got ${v}`)
  return v
}

/** `action`: send (default) or close; Pushpin's other actions are refused by name. */
function actionOf (f: Obj, path: string, closable: boolean): 'send' | 'close' {
  const action = optText(f, 'action', path)
  if (action === null || action === 'send') return 'send'
  if (action === 'close' && closable) return 'close'
  if (action === 'hint' || action === 'refresh' || action === 'close') {
    throw bad(`${path}.action`, `"${action}" is not supported by Switchboard (it keeps no origin to fetch from)`)
  }
  throw bad(`${path}.action`, `must be "send" or "close", got ${show(f.action)}`)
}

function refuseFilters (f: Obj, path: string): void {
  const filters = f['content-filters']
  if (filters === undefined || filters === null || (Array.isArray(filters) && filters.length === 0)) return
  throw bad(`${path}.content-filters`, 'are not supported by Switchboard')
}

function httpResponse (f: unknown, path: string, json: boolean): HttpResponseFormat {
  if (!isObj(f)) throw bad(path, `must be an object, got ${show(f)}`)
  actionOf(f, path, false)
  refuseFilters(f, path)
  const code = has(f, 'code') ? intOf(f.code, `${path}.code`, 0, 999) : 200
  const reason = optText(f, 'reason', path) ?? ''
  const headers: Array<[string, string]> = []
  if (has(f, 'headers')) {
    const h = f.headers
    if (Array.isArray(h)) {
      for (let i = 0; i < h.length; i++) {
        const pair = h[i]
        const at = `${path}.headers[${i}]`
        if (!Array.isArray(pair) || pair.length !== 2) throw bad(at, `must be a [name, value] pair, got ${show(pair)}`)
        headers.push([headerText(pair[0], `${at}[0]`, true), headerText(pair[1], `${at}[1]`, false)])
      }
    } else if (isObj(h)) {
      for (const name of Object.keys(h)) {
        headers.push([headerText(name, `${path}.headers`, true), headerText(h[name], `${path}.headers.${name}`, false)])
      }
    } else {
      throw bad(`${path}.headers`, `must be a list of [name, value] pairs or an object, got ${show(h)}`)
    }
  }
  let body: Buffer
  if (json && has(f, 'body-bin')) body = base64Of(f['body-bin'], `${path}.body-bin`)
  else if (has(f, 'body')) body = bytesOf(f.body, `${path}.body`)
  else if (has(f, 'body-patch')) throw bad(`${path}.body-patch`, 'is not supported by Switchboard')
  else throw bad(path, json ? "has no 'body' or 'body-bin'" : "has no 'body'")
  return { code, reason, headers, body }
}

const kToken = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

/** A header name (an HTTP token) or value (no CR, LF or NUL: it must not split the response head). */
function headerText (v: unknown, path: string, name: boolean): string {
  const text = typeof v === 'string' ? v : Buffer.isBuffer(v) ? v.toString('latin1') : null
  if (text === null) throw bad(path, `must be a string, got ${show(v)}`)
  if (name ? !kToken.test(text) : /[\r\n\0]/.test(text)) throw bad(path, `has an invalid header ${name ? 'name' : 'value'} ${show(text)}`)
  return text
}

function httpStream (f: unknown, path: string, json: boolean): HttpStreamFormat {
  if (!isObj(f)) throw bad(path, `must be an object, got ${show(f)}`)
  if (actionOf(f, path, true) === 'close') return { content: kEmpty, close: true }
  refuseFilters(f, path)
  if (json && has(f, 'content-bin')) return { content: base64Of(f['content-bin'], `${path}.content-bin`), close: false }
  if (has(f, 'content')) return { content: bytesOf(f.content, `${path}.content`), close: false }
  throw bad(path, json ? "has no 'content' or 'content-bin' (or action \"close\")" : "has no 'content' (or action \"close\")")
}

function wsMessage (f: unknown, path: string, json: boolean): WsMessageFormat {
  if (!isObj(f)) throw bad(path, `must be an object, got ${show(f)}`)
  if (actionOf(f, path, true) === 'close') {
    const code = has(f, 'code') ? intOf(f.code, `${path}.code`, 0, 4999) : 0
    return { content: kEmpty, binary: false, close: true, code }
  }
  refuseFilters(f, path)
  const type = optText(f, 'type', path)
  if (type !== null && type !== 'text' && type !== 'binary') {
    throw bad(`${path}.type`, type === 'ping' || type === 'pong' ? `"${type}" is not supported by Switchboard (the acceptor pings by itself)` : `must be "text" or "binary", got ${show(type)}`)
  }
  let content: Buffer
  let binary: boolean
  if (has(f, 'content-bin')) {
    const v = f['content-bin']
    content = json ? base64Of(v, `${path}.content-bin`) : bytesOf(v, `${path}.content-bin`)
    binary = type !== 'text'
  } else if (has(f, 'content')) {
    content = bytesOf(f.content, `${path}.content`)
    binary = type === 'binary'
  } else {
    throw bad(path, "has no 'content' or 'content-bin' (or action \"close\")")
  }
  return { content, binary, close: false, code: 0 }
}

/**
 * One item, from parsed JSON (`json`: strings are text, `*-bin` base64) or a decoded
 * tnetstring (strings are bytes). `path` names it in errors (`items[2]`).
 */
export function parseItem (v: unknown, json: boolean, path = 'item'): PublishItem {
  if (!isObj(v)) throw bad(path, `must be an object, got ${show(v)}`)
  const channel = optText(v, 'channel', path)
  if (channel === null || channel === '') throw bad(`${path}.channel`, has(v, 'channel') ? 'must be a non-empty string' : 'is required')
  const id = optText(v, 'id', path)
  const prevId = optText(v, 'prev-id', path)
  let formats: Obj = v
  let at = path
  if (has(v, 'formats') && v.formats !== null) {
    if (!isObj(v.formats)) throw bad(`${path}.formats`, `must be an object, got ${show(v.formats)}`)
    formats = v.formats
    at = `${path}.formats`
  }
  const item: PublishItem = {
    channel,
    id,
    prevId,
    httpResponse: has(formats, 'http-response') ? httpResponse(formats['http-response'], `${at}.http-response`, json) : null,
    httpStream: has(formats, 'http-stream') ? httpStream(formats['http-stream'], `${at}.http-stream`, json) : null,
    wsMessage: has(formats, 'ws-message') ? wsMessage(formats['ws-message'], `${at}.ws-message`, json) : null
  }
  if (item.httpResponse === null && item.httpStream === null && item.wsMessage === null) {
    throw bad(`${path}.formats`, "has none of 'http-response', 'http-stream', 'ws-message'")
  }
  return item
}

/** The body of `POST /publish/`: `{"items": [...]}`; every item valid, or a ProtocolError naming the first bad one. */
export function parseHttpBody (body: Buffer): PublishItem[] {
  let doc: unknown
  try {
    doc = JSON.parse(body.toString('utf8'))
  } catch (err) {
    throw new ProtocolError('SWB_ERR_PUSHPIN_JSON', `body is not valid JSON: ${(err as Error).message}`)
  }
  if (!isObj(doc)) throw bad('body', `must be a JSON object with "items", got ${show(doc)}`)
  if (!has(doc, 'items')) throw bad('body', "has no 'items'")
  const list = doc.items
  if (!Array.isArray(list)) throw bad('items', `must be a list, got ${show(list)}`)
  const items: PublishItem[] = []
  for (let i = 0; i < list.length; i++) items.push(parseItem(list[i], true, `items[${i}]`))
  return items
}

/** One message from the ZeroMQ PULL input (see the header for the three encodings). */
export function parseZmqMessage (frames: readonly Buffer[]): PublishItem {
  if (frames.length !== 1) throw new ProtocolError('SWB_ERR_PUSHPIN_MESSAGE', `message has ${frames.length} frames; Pushpin's publish input takes one`)
  const msg = frames[0]!
  if (msg.length === 0) throw new ProtocolError('SWB_ERR_PUSHPIN_MESSAGE', 'empty message')
  if (msg[0] === kJ) {
    let doc: unknown
    try {
      doc = JSON.parse(msg.toString('utf8', 1))
    } catch (err) {
      throw new ProtocolError('SWB_ERR_PUSHPIN_JSON', `'J' message is not valid JSON: ${(err as Error).message}`)
    }
    return parseItem(doc, true)
  }
  const offset = msg[0] === kT ? 1 : 0
  let value: TnetValue
  try {
    value = decodeBytes(msg, offset).value
  } catch (err) {
    throw new ProtocolError('SWB_ERR_PUSHPIN_MESSAGE', `neither 'J' + JSON nor a tnetstring: ${(err as Error).message}`)
  }
  return parseItem(value, false)
}

/**
 * An item in Pushpin's ZeroMQ encoding: a bare tnetstring, as Debian's pushpin-publish
 * sends it (Pushpin's PULL input and Switchboard's broker both read it).
 */
export function encodeZmqItem (item: PublishItem): Buffer {
  const formats: { [key: string]: TnetValue } = {}
  const r = item.httpResponse
  if (r !== null) {
    const f: { [key: string]: TnetValue } = { code: r.code }
    if (r.reason !== '') f.reason = r.reason
    if (r.headers.length > 0) f.headers = r.headers
    f.body = r.body
    formats['http-response'] = f
  }
  const s = item.httpStream
  if (s !== null) formats['http-stream'] = s.close ? { action: 'close' } : { content: s.content }
  const w = item.wsMessage
  if (w !== null) {
    if (w.close) formats['ws-message'] = w.code > 0 ? { action: 'close', code: w.code } : { action: 'close' }
    else formats['ws-message'] = w.binary ? { 'content-bin': w.content } : { content: w.content }
  }
  const out: { [key: string]: TnetValue } = { channel: item.channel }
  if (item.id !== null) out.id = item.id
  if (item.prevId !== null) out['prev-id'] = item.prevId
  out.formats = formats
  return encode(out)
}
