/**
 * `ctx.publish(channel, item)` and its module-level twin `publish()`: any handler code (a
 * request, a WebSocket event, a timer) sends an item to every subscriber of `channel` on
 * every acceptor. The item is encoded here, in the calling thread, in Pushpin's ZeroMQ
 * format (shared/protocol/pushpin.ts) and handed to the thread's sink: a pool worker posts
 * it to the host, the host (and threads: 0) queues it on a PUSH socket connected to
 * `broker.publishPull`. Fire and forget: the host's queue is bounded and drops (counted).
 */
import { SwitchboardError } from '../../shared/errors.js'
import type { HttpResponseFormat, PublishItem } from '../../shared/protocol/publish.js'
import { encodeZmqItem } from '../../shared/protocol/pushpin.js'
import type { HeaderValue, Response } from './api.js'

/**
 * What to publish. Each format present reaches that kind of subscriber: `httpResponse` a held
 * long-poll (its whole response), `httpStream` a held stream (bytes appended, or `close`),
 * `wsMessage` a subscribed WebSocket (a text frame for a string, binary for bytes, or `close`).
 * `id`/`prevId` are Pushpin's ordering ids.
 */
export interface PublishInput {
  id?: string
  prevId?: string
  httpResponse?: Response | string
  httpStream?: string | Uint8Array | { close: true }
  wsMessage?: string | Uint8Array | { close: true, code?: number }
}

/**
 * Where this thread's encoded items go (set by the handler host or the pool worker). On
 * globalThis, not in this module: tsx's tsImport loads the app's copy of this module apart
 * from the host's, and both must reach the same sink.
 */
const kSink = Symbol.for('switchboard.publishSink')
type Sink = (msg: Buffer) => void

/** @internal the host / worker wiring */
export function setPublishSink (sink: Sink): void {
  (globalThis as { [kSink]?: Sink })[kSink] = sink
}

/**
 * Publishes `item` on `channel` (see {@link PublishInput}); a bare string or bytes is the
 * same content for all three formats. Throws SwitchboardError `SWB_ERR_PUBLISH_INPUT` for
 * an argument that cannot be an item; otherwise returns at once.
 */
export function publish (channel: string, item: string | Uint8Array | PublishInput): void {
  const msg = encodeZmqItem(toItem(channel, item))
  const sink = (globalThis as { [kSink]?: Sink })[kSink]
  if (sink === undefined) throw new SwitchboardError('SWB_ERR_PUBLISH_INPUT', 'publish() runs only inside the handler host')
  sink(msg)
}

function fail (message: string): SwitchboardError {
  return new SwitchboardError('SWB_ERR_PUBLISH_INPUT', `publish: ${message}`)
}

/** The item `publish` sends. @internal exported for tests */
export function toItem (channel: string, input: string | Uint8Array | PublishInput): PublishItem {
  if (typeof channel !== 'string' || channel === '') throw fail('the channel must be a non-empty string')
  if (typeof input === 'string' || input instanceof Uint8Array) {
    const content = bytes(input)
    return {
      channel, id: null, prevId: null,
      httpResponse: response(input),
      httpStream: { content, close: false },
      wsMessage: { content, binary: typeof input !== 'string', close: false, code: 0 }
    }
  }
  if (typeof input !== 'object' || input === null) throw fail(`the item must be a string, bytes or { httpResponse, httpStream, wsMessage }, got ${typeof input}`)
  const item: PublishItem = {
    channel,
    id: optId(input.id, 'id'),
    prevId: optId(input.prevId, 'prevId'),
    httpResponse: input.httpResponse === undefined ? null : response(input.httpResponse),
    httpStream: null,
    wsMessage: null
  }
  const s = input.httpStream
  if (s !== undefined) item.httpStream = isClose(s) ? { content: kEmpty, close: true } : { content: bytes(s, 'httpStream'), close: false }
  const w = input.wsMessage
  if (w !== undefined) {
    if (isClose(w)) {
      const code = w.code ?? 0
      if (!Number.isInteger(code) || code < 0 || code > 4999) throw fail(`wsMessage.code must be an integer from 0 to 4999, got ${String(code)}`)
      item.wsMessage = { content: kEmpty, binary: false, close: true, code }
    } else {
      item.wsMessage = { content: bytes(w, 'wsMessage'), binary: typeof w !== 'string', close: false, code: 0 }
    }
  }
  if (item.httpResponse === null && item.httpStream === null && item.wsMessage === null) {
    throw fail('the item has none of httpResponse, httpStream, wsMessage')
  }
  return item
}

const kEmpty = Buffer.alloc(0)
const kTextType = 'text/plain; charset=utf-8'

function isClose (v: unknown): v is { close: true, code?: number } {
  return typeof v === 'object' && v !== null && !(v instanceof Uint8Array) && (v as { close?: unknown }).close === true
}

function optId (v: unknown, what: string): string | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'string') throw fail(`${what} must be a string, got ${typeof v}`)
  return v
}

function bytes (v: unknown, what = 'item'): Buffer {
  if (typeof v === 'string') return Buffer.from(v)
  if (v instanceof Uint8Array) return Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength)
  throw fail(`${what} must be a string, bytes or { close: true }, got ${typeof v}`)
}

/** A Response as the long-poll subscriber will get it: the same Content-Type defaults as ctx.reply. */
function response (res: Response | string | Uint8Array): HttpResponseFormat {
  if (typeof res === 'string' || res instanceof Uint8Array) {
    return { code: 200, reason: '', headers: [['Content-Type', typeof res === 'string' ? kTextType : 'application/octet-stream']], body: bytes(res) }
  }
  if (typeof res !== 'object' || res === null) throw fail(`httpResponse must be a Response or a string, got ${typeof res}`)
  const code = res.status ?? 200
  if (!Number.isInteger(code) || code < 100 || code > 999) throw fail(`httpResponse.status must be an integer from 100 to 999, got ${String(code)}`)
  const headers: Array<[string, string]> = []
  let hasType = false
  for (const [name, value] of Object.entries(res.headers ?? {}) as Array<[string, HeaderValue]>) {
    const lower = name.toLowerCase()
    if (lower === 'content-length') continue
    if (lower === 'content-type') hasType = true
    for (const v of Array.isArray(value) ? value : [value]) {
      if (/[\r\n\0]/.test(name + v)) throw fail(`httpResponse header ${JSON.stringify(name)} has CR, LF or NUL`)
      headers.push([name, v])
    }
  }
  let body: Buffer
  let type: string | null = null
  if (res.body === undefined || res.body === null) body = kEmpty
  else if (typeof res.body === 'string') { body = Buffer.from(res.body); type = kTextType }
  else if (res.body instanceof Uint8Array) { body = bytes(res.body); type = 'application/octet-stream' }
  else { body = Buffer.from(JSON.stringify(res.body)); type = 'application/json' }
  if (!hasType && type !== null) headers.push(['Content-Type', type])
  return { code, reason: '', headers, body }
}
