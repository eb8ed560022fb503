/**
 * Runs app code on a batch of Mongrel2 request messages and produces reply frames.
 * The same code runs in a piscina worker (task.ts) or inline in the host (threads: 0).
 * Replies made while the batch runs travel back with it; replies made later (a held
 * long-poll answered from a timer, say) go through `late`.
 */
import { pathToFileURL } from 'node:url'
import { resolve } from 'node:path'
import { createLogger } from '../../shared/log.js'
import { decodeRequest, isDisconnect, type DecodedRequest } from '../../shared/protocol/request.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { formatResponse, textResponse, type Context, type DisconnectHandler, type Handler, type HandlerResult, type Request, type Response } from './api.js'
import { decodePath } from './api.js'
import { isWebSocketMessage, runWebSocket, type WebSocketApp } from './websocket.js'

const log = createLogger('handler')
const kEmpty = Buffer.alloc(0)

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
  readonly late: (frame: Buffer) => void
  constructor (late: (frame: Buffer) => void) { this.late = late }
  push (frame: Buffer): void {
    if (this.frames !== null) this.frames.push(frame)
    else this.late(frame)
  }
}

class AppContext implements Context {
  readonly #out: Outbox
  readonly #sender: string
  readonly #id: number
  readonly #head: boolean
  constructor (out: Outbox, sender: string, id: number, head = false) {
    this.#out = out
    this.#sender = sender
    this.#id = id
    this.#head = head
  }

  reply (res: Response | string | Uint8Array): void {
    let bytes = formatResponse(res)
    if (this.#head && !(res instanceof Uint8Array)) {
      // HEAD: the head only, Content-Length still telling what a GET would get.
      const end = bytes.indexOf('\r\n\r\n')
      if (end >= 0) bytes = bytes.subarray(0, end + 4)
    }
    this.#out.push(encodeReply(this.#sender, [this.#id], bytes))
  }

  deliver (sender: string, ids: readonly number[], bytes: Uint8Array | string): void {
    if (ids.length === 0) return
    const body = typeof bytes === 'string' ? Buffer.from(bytes) : bytes
    // Mongrel2 takes at most 128 ids per message.
    for (let i = 0; i < ids.length; i += 128) this.#out.push(encodeReply(sender, ids.slice(i, i + 128), body))
  }

  close (sender: string, ids: readonly number[]): void {
    for (let i = 0; i < ids.length; i += 128) this.#out.push(encodeReply(sender, ids.slice(i, i + 128), kEmpty))
  }
}

/**
 * Runs every request of a batch. Returns undefined when every handler answered
 * synchronously (the replies are in `out` already, and the caller can send them without
 * waiting for a microtask), else a promise that resolves when all of them settled.
 */
export function runBatch (app: App, messages: readonly Buffer[], out: Outbox): Promise<void> | undefined {
  let running: Array<Promise<void>> | null = null
  for (const msg of messages) {
    const p = runOne(app, msg, out)
    if (p !== undefined) (running ??= []).push(p)
  }
  return running === null ? undefined : Promise.all(running).then(() => undefined)
}

function runOne (app: App, msg: Buffer, out: Outbox): Promise<void> | undefined {
  let decoded: DecodedRequest
  try {
    decoded = decodeRequest(msg)
  } catch (err) {
    log.warn('dropped a malformed request message', { reason: (err as Error).message, bytes: msg.length })
    return undefined
  }
  if (isDisconnect(decoded)) {
    if (app.onDisconnect === null) return undefined
    try {
      const r = app.onDisconnect(decoded.sender, decoded.id, new AppContext(out, decoded.sender, decoded.id))
      if (r instanceof Promise) return r.catch((err: unknown) => { log.error('onDisconnect threw', { err }) })
    } catch (err) {
      log.error('onDisconnect threw', { err })
    }
    return undefined
  }
  if (app.websocket !== null && isWebSocketMessage(decoded)) return runWebSocket(app.websocket, decoded, out)
  const req = new AppRequest(decoded)
  const ctx = new AppContext(out, req.sender, req.id, req.method === 'HEAD')
  let result: HandlerResult | Promise<HandlerResult>
  try {
    result = app.handler(req, ctx)
  } catch (err) {
    failed(req, out, err)
    return undefined
  }
  if (result instanceof Promise) {
    return result.then((r) => { settled(ctx, r) }, (err: unknown) => { failed(req, out, err) })
  }
  settled(ctx, result)
  return undefined
}

function settled (ctx: AppContext, result: HandlerResult): void {
  if (result !== undefined) ctx.reply(result)
}

function failed (req: AppRequest, out: Outbox, err: unknown): void {
  if (err instanceof BadBody) {
    out.push(encodeReply(req.sender, [req.id], textResponse(400, err.message + '\n')))
    return
  }
  log.error('handler threw', { method: req.method, path: req.path, id: req.id, err, stack: (err as Error)?.stack?.split('\n')[1]?.trim() })
  out.push(encodeReply(req.sender, [req.id], textResponse(500, 'internal error in the handler\n')))
}
