/**
 * The handler API for TypeScript/JavaScript apps. An app module default-exports one
 * function; the handler host runs it (in a piscina worker thread, or inline) for every
 * request of its service:
 *
 * ```ts
 * import type { Handler } from '../../workers/handler/api.js'
 * const app: Handler = (req, ctx) => {
 *   if (req.path === '/hello') return 'Hello World\n'           // 200 text/plain
 *   if (req.method === 'POST') return { status: 201, body: req.json() }  // JSON
 *   // return nothing and call nothing: the exchange is held (long-poll); any handler
 *   // process may answer it later with ctx.deliver(req.sender, [req.id], bytes)
 * }
 * export default app
 * ```
 *
 * Replies go to a connection id, so code anywhere can answer or push to any exchange:
 * a target is always a sender (the acceptor's UUID) and its ids.
 */

import type { PublishInput } from './publish.js'
import type { HoldChannels, HoldOptions } from './grip.js'

export type HeaderValue = string | string[]

export { holdResponse, type HoldChannels, type HoldOptions } from './grip.js'

// Streams and Server-Sent Events (chunked responses over many messages): see sse.ts.
// Publishing to channels (Pushpin's items): see publish.ts.
export { publish, type PublishInput } from './publish.js'

export {
  openStream, openSse, ChunkedStream, SseStream, formatSseEvent, formatSseComment, formatSseRetry,
  type StreamOptions, type SseOptions, type SseEvent, type StreamContext
} from './sse.js'

export interface Request {
  /** The acceptor's UUID: with `id`, the address to reply to. */
  readonly sender: string
  readonly id: number
  /**
   * The path exactly as the client sent it, percent-escapes kept, without the query:
   * Mongrel2's PATH (`/a%20b`, `/a%2Fb`). Routes match on these bytes.
   */
  readonly path: string
  /**
   * `path` with its percent-escapes decoded as UTF-8 (`/a b`, `/a/b`: beware that `%2F`
   * becomes a separator). Escapes that would make a control character (`%00`–`%1F`,
   * `%7F`) and malformed ones (`%zz`, bad UTF-8) stay as sent, so no NUL reaches an app.
   */
  readonly decodedPath: string
  readonly method: string
  /** Raw query string without '?', '' when none. */
  readonly query: string
  /** Client headers (lower-case names, repeats as arrays) plus Mongrel2's upper-case keys. */
  readonly headers: Readonly<Record<string, HeaderValue>>
  readonly body: Buffer
  /** The body as UTF-8 text. */
  text (): string
  /** The body parsed as JSON; throws a SyntaxError on bad JSON (the host answers 400). */
  json<T = unknown> (): T
}

/** A response the host turns into HTTP/1.1 bytes with a Content-Length. */
export interface Response {
  status?: number
  headers?: Record<string, HeaderValue>
  /** A string or bytes as is; anything else is sent as JSON. */
  body?: string | Uint8Array | unknown
}

export type HandlerResult = Response | string | Uint8Array | undefined | void

export interface Context {
  /**
   * Aborts, in the thread that ran this request, when its exchange ends: the client left or
   * the route timed out (the acceptor's disconnect notice; the handler host sends it to
   * the thread holding the exchange), the handler ran past `handler.taskTimeoutMs` (reason:
   * a TimeoutError; the client got a 500), or this thread ended it (`reply`, `close` of its
   * id, a throw). Stop timers and streams on it; pass it to fetch(). It does not abort when
   * another thread or process answers the exchange with `deliver`, so a thread forgets its
   * oldest held exchanges past 50,000 (their signals then never abort).
   */
  readonly signal: AbortSignal
  /**
   * Answer this request: a Response, text (200 text/plain) or raw HTTP bytes (Uint8Array).
   * Ends the exchange (the signal aborts); dropped once the exchange is gone (disconnect,
   * limit). Callable after the handler returned, from a timer, say.
   */
  reply (res: Response | string | Uint8Array): void
  /** Send raw bytes (an HTTP response, a chunk of a stream) to any exchanges of one acceptor. */
  deliver (sender: string, ids: readonly number[], bytes: Uint8Array | string): void
  /** Close exchanges (Mongrel2's empty reply): the acceptor ends them and their connections. */
  close (sender: string, ids: readonly number[]): void
  /**
   * Publish to every subscriber of `channel` on every acceptor (held long-polls and streams,
   * WebSockets): a string or bytes goes to all three kinds, a PublishInput names each format.
   * Fire and forget (a bounded queue in the host; past it, items are dropped and counted).
   */
  publish (channel: string, item: string | Uint8Array | PublishInput): void
  /**
   * Answer with a GRIP hold (grip.ts): the client waits on `channels` until something is
   * published there (or `timeoutS` passes: it then gets `response`). Ends this exchange
   * for the handler, as reply() does.
   */
  hold (channels: HoldChannels, opts?: HoldOptions): void
}

export type Handler = (req: Request, ctx: Context) => HandlerResult | Promise<HandlerResult>

/**
 * Optional named export `onDisconnect`: an exchange the app saw ended without its reply.
 * Runs once per disconnect notice: in the thread holding the exchange (whose `ctx` it gets,
 * signal already aborted), else in any one thread.
 */
export type DisconnectHandler = (sender: string, id: number, ctx: Context) => void | Promise<void>

// A run of escapes splits around control-character escapes, which are kept as sent.
const kEscapeRun = /(?:%[0-9A-Fa-f]{2})+/g
const kControlEscape = /(%(?:[01][0-9A-Fa-f]|7[Ff]))/

/** `Request.decodedPath` from a raw path (see there). */
export function decodePath (raw: string): string {
  if (raw.indexOf('%') === -1) return raw
  return raw.replace(kEscapeRun, (run) => {
    const parts = run.split(kControlEscape)
    // split() with a capture group: odd indexes are the control escapes themselves.
    for (let i = 0; i < parts.length; i += 2) {
      try {
        parts[i] = decodeURIComponent(parts[i]!)
      } catch {} // bad UTF-8: kept as sent
    }
    return parts.join('')
  })
}

const kReasons: Record<number, string> = {
  200: 'OK', 201: 'Created', 202: 'Accepted', 204: 'No Content', 301: 'Moved Permanently', 302: 'Found',
  304: 'Not Modified', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 409: 'Conflict', 413: 'Payload Too Large', 429: 'Too Many Requests',
  500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable', 504: 'Gateway Timeout'
}

const kTextType = 'text/plain; charset=utf-8'
const kJsonType = 'application/json'

/** HTTP/1.1 bytes for a Response, text or raw bytes (raw bytes pass through unchanged). */
export function formatResponse (res: Response | string | Uint8Array): Buffer {
  if (res instanceof Uint8Array) return Buffer.isBuffer(res) ? res : Buffer.from(res.buffer, res.byteOffset, res.byteLength)
  if (typeof res === 'string') return textResponse(200, res)
  const status = res.status ?? 200
  let body: Buffer
  let type: string | undefined
  if (res.body === undefined || res.body === null) body = kNoBody
  else if (typeof res.body === 'string') { body = Buffer.from(res.body); type = kTextType }
  else if (res.body instanceof Uint8Array) { body = Buffer.from(res.body.buffer, res.body.byteOffset, res.body.byteLength); type = 'application/octet-stream' }
  else { body = Buffer.from(JSON.stringify(res.body)); type = kJsonType }
  let head = `HTTP/1.1 ${status} ${kReasons[status] ?? 'Status'}\r\n`
  let hasType = false
  if (res.headers) {
    for (const name in res.headers) {
      const lower = name.toLowerCase()
      if (lower === 'content-length') continue
      if (lower === 'content-type') hasType = true
      const value = res.headers[name]!
      if (Array.isArray(value)) for (const v of value) head += `${name}: ${v}\r\n`
      else head += `${name}: ${value}\r\n`
    }
  }
  if (!hasType && type !== undefined) head += `Content-Type: ${type}\r\n`
  const noBody = status === 204 || status === 304
  if (!noBody) head += `Content-Length: ${body.length}\r\n`
  head += '\r\n'
  return noBody || body.length === 0 ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body])
}

const kNoBody = Buffer.alloc(0)

export function textResponse (status: number, text: string): Buffer {
  const body = Buffer.from(text)
  const head = `HTTP/1.1 ${status} ${kReasons[status] ?? 'Status'}\r\nContent-Type: ${kTextType}\r\nContent-Length: ${body.length}\r\n\r\n`
  return Buffer.concat([Buffer.from(head, 'latin1'), body])
}
