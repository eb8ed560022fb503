/**
 * Streams and Server-Sent Events for TypeScript handlers, on top of `ctx.deliver`: the
 * bytes on the wire are exactly what a Mongrel2 handler in any language would send (a
 * chunked HTTP/1.1 head, then one message per chunk, `0\r\n\r\n` to end), so any handler
 * process may go on writing to the same stream by id.
 *
 * ```ts
 * const app: Handler = (req, ctx) => {
 *   const sse = openSse(req, ctx, { retry: 2000, keepAliveMs: 15000, signal: ctx.signal })
 *   let n = Number(sse.lastEventId) || 0                  // resume after Last-Event-ID
 *   const tick = setInterval(() => { if (!sse.send({ id: String(++n), data: `tick ${n}` })) clearInterval(tick) }, 1000)
 * }
 * ```
 *
 * `signal` (default: `ctx.signal` when the context has one): when it aborts (the exchange
 * ended: client gone, idle cut, shutdown), the stream is closed without sending anything
 * and its keep-alive timer stops; writes then return false. Without a signal, the app
 * learns of the end from `onDisconnect`.
 */
import { STATUS_CODES } from 'node:http'
import { SwitchboardError } from '../../shared/errors.js'
import type { Context, HeaderValue, Request } from './api.js'

/** What the helpers use of a handler's `ctx` (any object with these works, e.g. in tests). */
export type StreamContext = Pick<Context, 'deliver' | 'close'> & { readonly signal?: AbortSignal }

export interface StreamOptions {
  /** Default 200. */
  status?: number
  /** Extra response headers (`Content-Length` and `Transfer-Encoding` are the stream's own). */
  headers?: Record<string, HeaderValue>
  /** Ends the stream silently when it aborts; default `ctx.signal` if the context has one. */
  signal?: AbortSignal
}

export interface SseOptions extends StreamOptions {
  /** Sent once as `retry:` first: the client's reconnection delay in ms. */
  retry?: number
  /** Writes a comment line (`:\n\n`) when nothing was sent for this long; 0/absent = off. */
  keepAliveMs?: number
}

export interface SseEvent {
  /** Text; each line becomes a `data:` line (a JSON value: JSON.stringify it first). */
  data: string
  event?: string
  id?: string
  retry?: number
}

const kEnd = Buffer.from('0\r\n\r\n', 'latin1')
const kCrlf = Buffer.from('\r\n', 'latin1')
const kNewline = /\r\n|\r|\n/

/** A chunked response to one exchange; `write` sends one chunk per call. */
export class ChunkedStream {
  readonly sender: string
  readonly id: number
  readonly #ctx: StreamContext
  readonly #signal: AbortSignal | undefined
  readonly #onAbort: () => void
  #closed = false

  constructor (req: Pick<Request, 'sender' | 'id'>, ctx: StreamContext, head: string, signal = ctx.signal) {
    this.sender = req.sender
    this.id = req.id
    this.#ctx = ctx
    this.#signal = signal
    this.#onAbort = () => { this.#finish() }
    if (signal?.aborted === true) {
      this.#closed = true
      return
    }
    signal?.addEventListener('abort', this.#onAbort, { once: true })
    ctx.deliver(this.sender, [this.id], head)
  }

  /** False once the stream ended (end(), abort(), or the signal). */
  get open (): boolean { return !this.#closed }

  /** Sends `data` as one chunk (nothing for empty data); false when the stream is closed. */
  write (data: string | Uint8Array): boolean {
    if (this.#closed) return false
    const body = typeof data === 'string' ? Buffer.from(data) : data
    if (body.length === 0) return true
    this.#ctx.deliver(this.sender, [this.id], Buffer.concat([Buffer.from(body.length.toString(16) + '\r\n', 'latin1'), body, kCrlf]))
    return true
  }

  /** Ends the response (last chunk); the client's connection stays usable. */
  end (): void {
    if (this.#closed) return
    this.#ctx.deliver(this.sender, [this.id], kEnd)
    this.#finish()
  }

  /** Cuts the stream (Mongrel2's empty message): the acceptor ends it and closes the connection. */
  abort (): void {
    if (this.#closed) return
    this.#ctx.close(this.sender, [this.id])
    this.#finish()
  }

  /** @internal Subclasses stop their timers here. */
  protected onFinish (): void {}

  #finish (): void {
    if (this.#closed) return
    this.#closed = true
    this.#signal?.removeEventListener('abort', this.#onAbort)
    this.onFinish()
  }
}

/** Starts a chunked response: `HTTP/1.1 <status>` with `Transfer-Encoding: chunked`. */
export function openStream (req: Pick<Request, 'sender' | 'id'>, ctx: StreamContext, opts: StreamOptions = {}): ChunkedStream {
  return new ChunkedStream(req, ctx, streamHead(opts, 'application/octet-stream'), opts.signal)
}

/** A Server-Sent Events stream (`text/event-stream`, chunked). */
export class SseStream extends ChunkedStream {
  /** The client's `Last-Event-ID` (sent by EventSource on reconnect), '' when none. */
  readonly lastEventId: string
  readonly #keepAliveMs: number
  #timer: NodeJS.Timeout | null = null
  #lastSend = Date.now()

  constructor (req: Pick<Request, 'sender' | 'id' | 'headers'>, ctx: StreamContext, opts: SseOptions = {}) {
    super(req, ctx, streamHead({ ...opts, headers: { 'Cache-Control': 'no-cache', ...opts.headers } }, 'text/event-stream; charset=utf-8'), opts.signal)
    const last = req.headers['last-event-id']
    this.lastEventId = typeof last === 'string' ? last : Array.isArray(last) ? last[0] ?? '' : ''
    this.#keepAliveMs = opts.keepAliveMs ?? 0
    if (!this.open) return
    if (opts.retry !== undefined) this.write(formatSseRetry(opts.retry))
    if (this.#keepAliveMs > 0) {
      this.#timer = setInterval(() => {
        if (Date.now() - this.#lastSend >= this.#keepAliveMs) this.comment()
      }, Math.max(10, Math.floor(this.#keepAliveMs / 2)))
      this.#timer.unref()
    }
  }

  /** Sends one event (a string is its data); false when the stream is closed. */
  send (event: SseEvent | string): boolean {
    return this.#send(formatSseEvent(typeof event === 'string' ? { data: event } : event))
  }

  /** A comment line (`: text`), ignored by clients: a keep-alive through proxies. */
  comment (text = ''): boolean {
    return this.#send(formatSseComment(text))
  }

  #send (bytes: string): boolean {
    this.#lastSend = Date.now()
    return this.write(bytes)
  }

  protected override onFinish (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
  }
}

/** Starts a Server-Sent Events stream on this exchange. */
export function openSse (req: Pick<Request, 'sender' | 'id' | 'headers'>, ctx: StreamContext, opts: SseOptions = {}): SseStream {
  return new SseStream(req, ctx, opts)
}

/**
 * One event in the `text/event-stream` format. Throws SwitchboardError
 * `SWB_ERR_SSE_FIELD` for an `event`/`id` with a line break (or an id with NUL), which
 * would split the event.
 * @example formatSseEvent({ id: '7', event: 'tick', data: 'a\nb' }) // 'id: 7\nevent: tick\ndata: a\ndata: b\n\n'
 */
export function formatSseEvent (ev: SseEvent): string {
  let out = ''
  if (ev.id !== undefined) {
    checkField('id', ev.id)
    if (ev.id.includes('\0')) throw new SwitchboardError('SWB_ERR_SSE_FIELD', 'an SSE id may not contain NUL')
    out += `id: ${ev.id}\n`
  }
  if (ev.event !== undefined) {
    checkField('event', ev.event)
    out += `event: ${ev.event}\n`
  }
  if (ev.retry !== undefined) out += formatSseRetry(ev.retry).slice(0, -1)
  for (const line of ev.data.split(kNewline)) out += `data: ${line}\n`
  return out + '\n'
}

/** `retry: N` (the reconnection delay) as its own block. */
export function formatSseRetry (ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new SwitchboardError('SWB_ERR_SSE_FIELD', `SSE retry must be a non-negative integer, got ${ms}`)
  return `retry: ${ms}\n\n`
}

/** A comment block; line breaks in `text` become separate comment lines. */
export function formatSseComment (text = ''): string {
  return text.split(kNewline).map((line) => line === '' ? ':' : `: ${line}`).join('\n') + '\n\n'
}

function checkField (name: string, value: string): void {
  if (kNewline.test(value)) throw new SwitchboardError('SWB_ERR_SSE_FIELD', `an SSE ${name} may not contain a line break`)
}

function streamHead (opts: StreamOptions, type: string): string {
  const status = opts.status ?? 200
  let head = `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Status'}\r\n`
  let hasType = false
  for (const name in opts.headers) {
    const lower = name.toLowerCase()
    if (lower === 'content-length' || lower === 'transfer-encoding') continue
    if (lower === 'content-type') hasType = true
    const value = opts.headers[name]!
    for (const v of Array.isArray(value) ? value : [value]) head += `${name}: ${v}\r\n`
  }
  if (!hasType) head += `Content-Type: ${type}\r\n`
  return head + 'Transfer-Encoding: chunked\r\n\r\n'
}
