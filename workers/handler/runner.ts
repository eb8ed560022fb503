/**
 * Runs app code on batches of Mongrel2 request messages and produces reply frames. One
 * Runner per thread: in a piscina worker (task.ts) or inline in the host (threads: 0).
 *
 * Replies made while a batch runs travel back with it; replies made later (a held long-poll
 * answered from a timer, SSE ticks from an interval) go out through `late`.
 *
 * The Runner knows the exchanges this thread holds: a handler still running (its promise
 * pending) or one that returned without ending its exchange. Each has an AbortSignal
 * (`ctx.signal`, made on first use) that aborts when the exchange ends: a disconnect notice,
 * the per-request limit, or this thread ending it (reply, close, a thrown error).
 *
 * The per-request limit (handler.taskTimeoutMs) runs from the handler call until its
 * promise settles: the request alone then gets a 500. Pending handlers sit in one list in
 * call order, so every deadline is later than the one before it and one timer serves all.
 * A synchronous handler cannot be stopped from inside its thread: the host replaces a
 * worker whose event loop makes no progress for the limit (host.ts).
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { createLogger } from '../../shared/log.js'
import { decodeRequest, isDisconnect, type DecodedRequest } from '../../shared/protocol/request.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { holdResponse, type HoldChannels, type HoldOptions } from './grip.js'
import { formatResponse, textResponse, type Context, type DisconnectHandler, type Handler, type HandlerResult, type Request, type Response } from './api.js'
import { decodePath } from './api.js'
import { isWebSocketMessage, runWebSocket, type WebSocketApp } from './websocket.js'
import { publish, type PublishInput } from './publish.js'

const log = createLogger('handler')
const kEmpty = Buffer.alloc(0)
/**
 * Held exchanges one thread keeps, at most. An exchange another process answered with
 * deliver never ends here, so past this the oldest are forgotten (no signal, and their
 * notices run onDisconnect with an ended ctx).
 */
const kMaxHeld = 50_000

export interface App { handler: Handler; onDisconnect: DisconnectHandler | null; websocket: WebSocketApp | null }

const gApps = new Map<string, Promise<App>>()

/** Loads (once per thread) the app module: default export = Handler, optional onDisconnect. */
export function loadApp (path: string): Promise<App> {
  let app = gApps.get(path)
  if (app === undefined) {
    app = importModule(path).then((mod: { default?: unknown, onDisconnect?: unknown, websocket?: unknown }) => {
      if (typeof mod.default !== 'function') {
        throw new TypeError(`app module ${path} must default-export a handler function (req, ctx) => response; got ${typeof mod.default}`)
      }
      return {
        handler: mod.default as Handler,
        onDisconnect: typeof mod.onDisconnect === 'function' ? mod.onDisconnect as DisconnectHandler : null,
        // Optional named export `websocket` (websocket.ts): WebSocket events go there.
        websocket: typeof mod.websocket === 'object' && mod.websocket !== null ? mod.websocket as WebSocketApp : null
      }
    })
    gApps.set(path, app)
  }
  return app
}

/**
 * tsx's loader hooks do not reach piscina's worker threads for dynamic imports, so a
 * TypeScript app is loaded through tsx's API explicitly; JavaScript apps import plainly.
 */
async function importModule (path: string): Promise<{ default?: unknown, onDisconnect?: unknown, websocket?: unknown }> {
  const url = pathToFileURL(resolve(path)).href
  if (!/\.[mc]?ts$/.test(path)) return import(url)
  const { tsImport } = await import('tsx/esm/api')
  return tsImport(url, import.meta.url) as Promise<{ default?: unknown, onDisconnect?: unknown, websocket?: unknown }>
}

/** How a thread's held exchanges are known to the host (pool mode; null inline). */
export interface HoldReports {
  /** These exchanges are held here (handler still running after a turn of the event loop). */
  hold (keys: string[]): void
  /** An exchange reported held (here or in a task result) has ended in this thread. */
  release (key: string): void
}

/** The registry key of an exchange: `SENDER ID`. */
export function exchangeKey (sender: string, id: number): string { return sender + ' ' + id }

class BadBody extends Error {}

class AppRequest implements Request {
  readonly sender: string
  readonly id: number
  readonly path: string
  readonly decodedPath: string
  readonly method: string
  readonly query: string
  readonly headers: DecodedRequest['headers']
  readonly body: Buffer
  constructor (req: DecodedRequest) {
    this.sender = req.sender
    this.id = req.id
    this.path = req.path
    this.decodedPath = decodePath(req.path)
    this.headers = req.headers
    this.body = req.body
    const method = req.headers.METHOD
    this.method = typeof method === 'string' ? method : 'GET'
    const query = req.headers.QUERY
    this.query = typeof query === 'string' ? query : ''
  }

  text (): string { return this.body.toString('utf8') }
  json<T> (): T {
    try {
      return JSON.parse(this.text()) as T
    } catch (err) {
      throw new BadBody(`request body is not valid JSON: ${(err as Error).message}`)
    }
  }
}

/** Where reply frames go: into the running batch, or straight out once it has returned. */
export class Outbox {
  frames: Buffer[] | null = []
  /** Exchanges of this batch left held when their handler settled (reported with the batch). */
  held: AppContext[] | null = null
  readonly late: (frame: Buffer) => void
  constructor (late: (frame: Buffer) => void) { this.late = late }
  push (frame: Buffer): void {
    if (this.frames !== null) this.frames.push(frame)
    else this.late(frame)
  }
}

/** A batch with handlers still running: resolves when the last one settles or times out. */
class Batch {
  remaining = 0
  readonly pending: AppContext[] = []
  resolve: (() => void) | null = null
}

const enum State { Running, Held, Ended }
/** Why an exchange ended: the signal's reason. */
const kReplied = 'replied'
const kClosed = 'closed'
const kFailed = 'failed'
const kDisconnected = 'disconnected'

class AppContext implements Context {
  readonly #runner: Runner
  readonly out: Outbox
  readonly sender: string
  readonly id: number
  readonly #head: boolean
  #controller: AbortController | null = null
  state = State.Running
  /** Ended by the limit, a failure or a disconnect: later replies to it are dropped. */
  dead = false
  /** The signal's reason, once ended (the signal may be made later). */
  endReason: unknown = undefined
  /** The host's registry names this thread as the holder. */
  reported = false
  /** Pending-list links and deadline, while the handler's promise is pending. */
  prev: AppContext | null = null
  next: AppContext | null = null
  deadline = 0
  batch: Batch | null = null
  constructor (runner: Runner, out: Outbox, sender: string, id: number, head = false) {
    this.#runner = runner
    this.out = out
    this.sender = sender
    this.id = id
    this.#head = head
  }

  get signal (): AbortSignal {
    if (this.#controller === null) {
      this.#controller = new AbortController()
      if (this.state === State.Ended) this.#controller.abort(this.endReason)
    }
    return this.#controller.signal
  }

  abortSignal (reason: unknown): void { this.#controller?.abort(reason) }

  reply (res: Response | string | Uint8Array): void {
    if (this.dead) return
    let bytes = formatResponse(res)
    if (this.#head && !(res instanceof Uint8Array)) {
      // HEAD: the head only, Content-Length still telling what a GET would get.
      const end = bytes.indexOf('\r\n\r\n')
      if (end >= 0) bytes = bytes.subarray(0, end + 4)
    }
    this.out.push(encodeReply(this.sender, [this.id], bytes))
    this.#runner.end(this, kReplied)
  }

  hold (channels: HoldChannels, opts?: HoldOptions): void {
    this.reply(holdResponse(channels, opts))
  }

  deliver (sender: string, ids: readonly number[], bytes: Uint8Array | string): void {
    if (ids.length === 0) return
    const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
    // Mongrel2 takes at most 128 ids per message.
    for (let i = 0; i < ids.length; i += 128) this.out.push(encodeReply(sender, ids.slice(i, i + 128), body))
  }

  close (sender: string, ids: readonly number[]): void {
    for (let i = 0; i < ids.length; i += 128) this.out.push(encodeReply(sender, ids.slice(i, i + 128), kEmpty))
    if (sender === this.sender && ids.includes(this.id)) this.#runner.end(this, kClosed)
    this.#runner.closed(sender, ids)
  }

  publish (channel: string, item: string | Uint8Array | PublishInput): void {
    publish(channel, item)
  }
}

export class Runner {
  readonly #app: App
  readonly #limitMs: number
  readonly #reports: HoldReports | null
  /** Bumped before every handler call: the host's evidence that this thread is not stuck. */
  readonly #progress: Int32Array | null
  /** Exchanges whose handler returned without ending them, by exchangeKey. */
  readonly #held = new Map<string, AppContext>()
  /** Handlers whose promise is pending, oldest (earliest deadline) first. */
  #first: AppContext | null = null
  #last: AppContext | null = null
  #timer: NodeJS.Timeout | null = null

  constructor (app: App, limitMs: number, reports: HoldReports | null = null, progress: Int32Array | null = null) {
    this.#app = app
    this.#limitMs = limitMs
    this.#reports = reports
    this.#progress = progress
  }

  /** How many exchanges this thread holds (returned without ending them). */
  get heldCount (): number { return this.#held.size }

  /**
   * Runs every request of a batch. Returns undefined when every handler answered
   * synchronously (the replies are in `out` already, and the caller can send them without
   * waiting for a microtask), else a promise that resolves when all of them settled or ran
   * past the limit.
   */
  runBatch (messages: readonly Buffer[], out: Outbox): Promise<void> | undefined {
    let batch: Batch | null = null
    for (let i = 0; i < messages.length; i++) {
      const ctx = this.#runOne(messages[i]!, out)
      if (ctx === null) continue
      batch ??= new Batch()
      batch.remaining++
      batch.pending.push(ctx)
      ctx.batch = batch
    }
    if (batch === null) return undefined
    // Handlers still running after a turn of the event loop wait on I/O: tell the host this
    // thread holds them, so a disconnect notice reaches their signal while they run.
    if (this.#reports !== null) setImmediate(reportPending, this, batch)
    const b = batch
    return new Promise((resolve) => { if (b.remaining === 0) resolve(); else b.resolve = resolve })
  }

  /** Keys of this batch's exchanges left held, now reported to the host (pool mode). */
  takeHeld (out: Outbox): string[] | null {
    const list = out.held
    out.held = null
    if (list === null) return null
    const keys: string[] = []
    for (const ctx of list) {
      if (ctx.state !== State.Held || ctx.reported) continue
      ctx.reported = true
      keys.push(exchangeKey(ctx.sender, ctx.id))
    }
    return keys.length === 0 ? null : keys
  }

  /** @internal see runBatch */
  reportPending (batch: Batch): void {
    let keys: string[] | null = null
    for (const ctx of batch.pending) {
      if (ctx.state === State.Ended || ctx.reported || ctx.batch === null) continue
      ctx.reported = true
      ;(keys ??= []).push(exchangeKey(ctx.sender, ctx.id))
    }
    if (keys !== null) this.#reports!.hold(keys)
  }

  /**
   * A disconnect notice. `routed`: the host sent it here because its registry names this
   * thread the holder (and has dropped the entry); otherwise it came in a batch, to any
   * thread. The holder's signal aborts, and onDisconnect runs once, here.
   */
  disconnect (sender: string, id: number, out: Outbox, routed: boolean): Promise<void> | undefined {
    const ctx = this.#find(sender, id)
    if (ctx !== null) {
      if (routed) ctx.reported = false
      ctx.dead = true
      this.end(ctx, kDisconnected)
    }
    const onDisconnect = this.#app.onDisconnect
    if (onDisconnect === null) return undefined
    try {
      const r = onDisconnect(sender, id, ctx ?? endedContext(this, out, sender, id))
      if (r instanceof Promise) return r.catch((err: unknown) => { log.error('onDisconnect threw', { err }) })
    } catch (err) {
      log.error('onDisconnect threw', { err })
    }
    return undefined
  }

  /** The host dropped this exchange from its registry (bounded): keep it, unreported. */
  forget (key: string): void {
    const ctx = this.#held.get(key)
    if (ctx !== undefined) {
      ctx.reported = false
      this.#held.delete(key)
    }
  }

  #evictOldest (): void {
    const [key, old] = this.#held.entries().next().value!
    this.#held.delete(key)
    if (old.reported) {
      old.reported = false
      this.#reports!.release(key)
    }
  }

  #find (sender: string, id: number): AppContext | null {
    const held = this.#held.get(exchangeKey(sender, id))
    if (held !== undefined) return held
    for (let c = this.#first; c !== null; c = c.next) if (c.id === id && c.sender === sender && c.state !== State.Ended) return c
    return null
  }

  /** The exchange ended in this thread: abort its signal, forget it, tell the host. */
  end (ctx: AppContext, reason: unknown): void {
    if (ctx.state === State.Ended) return
    if (ctx.state === State.Held) this.#held.delete(exchangeKey(ctx.sender, ctx.id))
    ctx.state = State.Ended
    ctx.endReason = reason
    ctx.abortSignal(reason)
    if (ctx.reported) {
      ctx.reported = false
      this.#reports!.release(exchangeKey(ctx.sender, ctx.id))
    }
  }

  /** ctx.close(): exchanges this thread holds end (their signals abort). */
  closed (sender: string, ids: readonly number[]): void {
    if (this.#held.size === 0 && this.#first === null) return
    for (const id of ids) {
      const ctx = this.#find(sender, id)
      if (ctx !== null) this.end(ctx, kClosed)
    }
  }

  /** Returns the context of a handler whose promise is pending, else null. */
  #runOne (msg: Buffer, out: Outbox): AppContext | null {
    let decoded: DecodedRequest
    try {
      decoded = decodeRequest(msg)
    } catch (err) {
      log.warn('dropped a malformed request message', { reason: (err as Error).message, bytes: msg.length })
      return null
    }
    if (isDisconnect(decoded)) return this.#untracked(this.disconnect(decoded.sender, decoded.id, out, false), decoded, out)
    const websocket = this.#app.websocket
    if (websocket !== null && isWebSocketMessage(decoded)) {
      if (this.#progress !== null) Atomics.add(this.#progress, 0, 1)
      return this.#untracked(runWebSocket(websocket, decoded, out), decoded, out)
    }
    const req = new AppRequest(decoded)
    const ctx = new AppContext(this, out, req.sender, req.id, req.method === 'HEAD')
    if (this.#progress !== null) Atomics.add(this.#progress, 0, 1)
    let result: HandlerResult | Promise<HandlerResult>
    try {
      result = this.#app.handler(req, ctx)
    } catch (err) {
      this.#failed(ctx, req, err)
      return null
    }
    if (result instanceof Promise) {
      this.#pend(ctx)
      result.then((r) => { this.#settled(ctx, r) }, (err: unknown) => { this.#rejected(ctx, req, err) })
      return ctx
    }
    this.#result(ctx, result)
    return null
  }

  /**
   * Async app code that holds no exchange here (an onDisconnect, a WebSocket event): it keeps
   * the batch open, like a handler, but has no limit and no signal.
   */
  #untracked (p: Promise<void> | undefined, decoded: DecodedRequest, out: Outbox): AppContext | null {
    if (p === undefined) return null
    const ctx = new AppContext(this, out, decoded.sender, decoded.id)
    ctx.state = State.Ended
    p.then(() => { this.#batchDone(ctx) }, () => { this.#batchDone(ctx) })
    return ctx
  }

  /** A handler returned: its value is the reply; nothing (and no reply yet) holds the exchange. */
  #result (ctx: AppContext, result: HandlerResult): void {
    if (result !== undefined) ctx.reply(result)
    else if (ctx.state === State.Running) {
      ctx.state = State.Held
      this.#held.set(exchangeKey(ctx.sender, ctx.id), ctx)
      if (this.#held.size > kMaxHeld) this.#evictOldest()
      if (this.#reports !== null && ctx.out.frames !== null) (ctx.out.held ??= []).push(ctx)
    }
  }

  #settled (ctx: AppContext, result: HandlerResult): void {
    // Past the limit (answered 500) or disconnected: the exchange is gone, drop the value.
    if (this.#unpend(ctx) && !ctx.dead) this.#result(ctx, result)
    this.#batchDone(ctx)
  }

  #rejected (ctx: AppContext, req: AppRequest, err: unknown): void {
    if (this.#unpend(ctx)) this.#failed(ctx, req, err)
    this.#batchDone(ctx)
  }

  #failed (ctx: AppContext, req: AppRequest, err: unknown): void {
    if (ctx.state === State.Ended) {
      // Already answered, closed or disconnected: nobody to send a 500 to.
      log.error('handler threw after its exchange ended', { method: req.method, path: req.path, id: req.id, err })
      return
    }
    if (err instanceof BadBody) {
      ctx.out.push(encodeReply(req.sender, [req.id], textResponse(400, err.message + '\n')))
    } else {
      log.error('handler threw', { method: req.method, path: req.path, id: req.id, err, stack: (err as Error)?.stack?.split('\n')[1]?.trim() })
      ctx.out.push(encodeReply(req.sender, [req.id], textResponse(500, 'internal error in the handler\n')))
    }
    ctx.dead = true
    this.end(ctx, kFailed)
  }

  #batchDone (ctx: AppContext): void {
    const batch = ctx.batch
    if (batch === null) return
    ctx.batch = null
    if (--batch.remaining === 0 && batch.resolve !== null) batch.resolve()
  }

  #pend (ctx: AppContext): void {
    ctx.deadline = performance.now() + this.#limitMs
    ctx.prev = this.#last
    if (this.#last === null) this.#first = ctx
    else this.#last.next = ctx
    this.#last = ctx
    if (this.#timer === null) this.#arm(ctx.deadline)
  }

  /** Takes ctx off the pending list; false when it was not on it (it timed out). */
  #unpend (ctx: AppContext): boolean {
    if (ctx.prev === null && this.#first !== ctx) return false
    if (ctx.prev !== null) ctx.prev.next = ctx.next
    else this.#first = ctx.next
    if (ctx.next !== null) ctx.next.prev = ctx.prev
    else this.#last = ctx.prev
    ctx.prev = null
    ctx.next = null
    if (this.#first === null && this.#timer !== null) {
      clearTimeout(this.#timer)
      this.#timer = null
    }
    return true
  }

  #arm (at: number): void {
    this.#timer = setTimeout(expire, Math.max(0, at - performance.now()) + 1, this)
    this.#timer.unref()
  }

  /** @internal the limit timer: every pending handler past its deadline gets a 500. */
  expire (): void {
    this.#timer = null
    const now = performance.now()
    let ctx = this.#first
    while (ctx !== null && ctx.deadline <= now) {
      const next = ctx.next
      this.#unpend(ctx)
      // A handler that replied (or was disconnected) but has not settled has nobody to answer.
      if (ctx.state !== State.Ended) {
        log.error('handler ran past the per-request limit', { id: ctx.id, limitMs: this.#limitMs })
        ctx.out.push(encodeReply(ctx.sender, [ctx.id], textResponse(500, 'the handler failed or took too long\n')))
        ctx.dead = true
        this.end(ctx, new DOMException(`the handler ran past handler.taskTimeoutMs (${this.#limitMs} ms)`, 'TimeoutError'))
      }
      this.#batchDone(ctx)
      ctx = next
    }
    if (this.#first !== null && this.#timer === null) this.#arm(this.#first.deadline)
  }
}

/** The context onDisconnect gets for an exchange this thread did not hold: already ended. */
function endedContext (runner: Runner, out: Outbox, sender: string, id: number): AppContext {
  const ctx = new AppContext(runner, out, sender, id)
  ctx.state = State.Ended
  ctx.dead = true
  ctx.endReason = kDisconnected
  return ctx
}

function reportPending (runner: Runner, batch: Batch): void { runner.reportPending(batch) }
function expire (runner: Runner): void { runner.expire() }
