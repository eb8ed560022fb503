/**
 * WebSockets for TypeScript apps, on Mongrel2's protocol (MONGREL2.md §2.5) with the
 * framing hidden. An app module may export `websocket`; the host then calls it per event
 * instead of the default handler:
 *
 * ```ts
 * import type { WebSocketApp } from '../../workers/handler/websocket.js'
 * export const websocket: WebSocketApp = {
 *   open (ws) { if (ws.path !== '/chat') return false },      // nothing: accept; false: 403
 *   message (ws, msg) { ws.send(msg.binary ? msg.data : 'you said ' + msg.text()) },
 *   close (ws, code, reason) {}                                // the client's close frame
 * }
 * ```
 *
 *   WEBSOCKET_HANDSHAKE (body: accept key) ─▶ open(ws)      ─▶ 101 (or the refusal)
 *   WEBSOCKET FLAGS 0x81 / 0x82             ─▶ message(ws, msg)
 *   WEBSOCKET FLAGS 0x88                    ─▶ close(ws, code, reason)
 *   ws.send(text | bytes), ws.close(code)   ─▶ raw frames in a reply to the socket's id
 *
 * Pings are answered by the acceptor (uWS.js); 0x89/0x8A messages are not passed on. Every
 * event may run in another worker thread or process: keep no per-socket state in memory.
 * Any code can push to any socket with `socket(ctx, sender, id)`.
 */
import type { Headers, DecodedRequest } from '../../shared/protocol/request.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { encode as encodeTnet } from '../../shared/protocol/tnetstring.js'
import { closePayload, encodeFrame, Opcode } from '../../shared/protocol/ws-frame.js'
import { createLogger } from '../../shared/log.js'
import { formatResponse, textResponse, type Context, type Response } from './api.js'

const log = createLogger('handler')

export interface WebSocketMessage {
  readonly data: Buffer
  /** A binary message (FLAGS 0x82); text otherwise. */
  readonly binary: boolean
  /** The payload as UTF-8 text. */
  text (): string
}

/**
 * What `open` may return: nothing or true to accept, `{ protocol }` to accept with a
 * subprotocol the client offered, false for 403, or any Response to refuse with it.
 */
export type HandshakeResult = void | boolean | { protocol: string } | Response

export interface WebSocketApp {
  open? (ws: Socket): HandshakeResult | Promise<HandshakeResult>
  message? (ws: Socket, msg: WebSocketMessage): void | Promise<void>
  /** The client sent a close frame (code 1005 when it had none). A drop comes as onDisconnect. */
  close? (ws: Socket, code: number, reason: string): void | Promise<void>
}

/** Where frames go: the host's outbox, or `ctx.deliver`. */
type Send = (sender: string, ids: readonly number[], bytes: Uint8Array, extended?: boolean) => void

/** One WebSocket, addressed by its acceptor (sender) and id; sending needs no state. */
export class Socket {
  readonly sender: string
  readonly id: number
  /** Path, query and headers of the handshake (Mongrel2 repeats them on every message). */
  readonly path: string
  readonly query: string
  readonly headers: Readonly<Headers>
  readonly #send: Send

  constructor (send: Send, sender: string, id: number, path = '', headers: Readonly<Headers> = {}) {
    this.#send = send
    this.sender = sender
    this.id = id
    this.path = path
    this.headers = headers
    const query = headers.QUERY
    this.query = typeof query === 'string' ? query : ''
  }

  /** A text frame for a string, a binary frame for bytes. */
  send (data: string | Uint8Array): void {
    this.#send(this.sender, [this.id], encodeFrame(typeof data === 'string' ? Opcode.TEXT : Opcode.BINARY, data))
  }

  /** A close frame: the acceptor closes the socket with this code. */
  close (code = 1000, reason = ''): void {
    this.#send(this.sender, [this.id], encodeFrame(Opcode.CLOSE, closePayload(code, reason)))
  }

  /** Joins a channel: what is published there as `ws-message` reaches this socket (an `X` subscribe reply). */
  subscribe (channel: string): void {
    this.#send(this.sender, [this.id], channelControl('subscribe', channel), true)
  }

  /** Leaves a channel (an `X` unsubscribe reply). */
  unsubscribe (channel: string): void {
    this.#send(this.sender, [this.id], channelControl('unsubscribe', channel), true)
  }

  /** Another socket of the same acceptor (or of `sender`): for broadcasts. */
  to (id: number, sender = this.sender): Socket {
    return new Socket(this.#send, sender, id)
  }
}

/** A socket to push to from any handler code (an HTTP request, a timer). */
export function socket (ctx: Context, sender: string, id: number): Socket {
  return new Socket((s, ids, bytes, extended) => {
    if (extended !== true) ctx.deliver(s, ids, bytes)
    else if (isOutboxContext(ctx)) ctx.out.push(encodeReply(s, ids, bytes, true))
    else throw new TypeError('subscribe/unsubscribe need the ctx the handler host gave')
  }, sender, id)
}

function isOutboxContext (ctx: Context): ctx is Context & { out: FrameOut } {
  return typeof (ctx as { out?: FrameOut }).out?.push === 'function'
}

/** `["subscribe", {"channel": …}]` as a tnetstring (MONGREL2.md §3.2's X body). */
function channelControl (key: string, channel: string): Buffer {
  if (typeof channel !== 'string' || channel === '' || Buffer.byteLength(channel) > 255) throw new TypeError(`ws.${key}: a channel is a string of 1 to 255 bytes, got ${JSON.stringify(channel)}`)
  return encodeTnet([key, { channel }])
}

/** The 101 a Mongrel2 handler writes: Sec-WebSocket-Accept is the handshake message's body. */
export function acceptResponse (accept: string, protocol?: string): Buffer {
  let head = `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n`
  if (protocol !== undefined && protocol !== '') head += `Sec-WebSocket-Protocol: ${protocol}\r\n`
  return Buffer.from(head + '\r\n', 'latin1')
}

/** A handshake or frame message (METHOD WEBSOCKET_HANDSHAKE / WEBSOCKET). */
export function isWebSocketMessage (req: DecodedRequest): boolean {
  const method = req.headers.METHOD
  return method === 'WEBSOCKET' || method === 'WEBSOCKET_HANDSHAKE'
}

class Message implements WebSocketMessage {
  readonly data: Buffer
  readonly binary: boolean
  constructor (data: Buffer, binary: boolean) { this.data = data; this.binary = binary }
  text (): string { return this.data.toString('utf8') }
}

/** Where the runner's replies go (runner.ts Outbox). */
export interface FrameOut { push (frame: Buffer): void }

/**
 * Runs one WebSocket event of `app`. Returns a promise when the app's code is async,
 * undefined when everything ran synchronously (as runner.ts does for requests).
 */
export function runWebSocket (app: WebSocketApp, req: DecodedRequest, out: FrameOut): Promise<void> | undefined {
  const send: Send = (sender, ids, bytes, extended) => { out.push(encodeReply(sender, ids, bytes, extended)) }
  const ws = new Socket(send, req.sender, req.id, req.path, req.headers)
  if (req.headers.METHOD === 'WEBSOCKET_HANDSHAKE') {
    const accept = req.body.toString('latin1')
    return settle(() => app.open?.(ws), (result) => { send(ws.sender, [ws.id], handshakeReply(accept, result)) }, (err) => {
      log.error('websocket open threw', { path: ws.path, id: ws.id, err })
      send(ws.sender, [ws.id], textResponse(500, 'internal error in the handler\n'))
    })
  }
  const flags = req.headers.FLAGS
  const opcode = typeof flags === 'string' ? parseInt(flags, 16) & 0x0f : -1
  let run: (() => unknown) | null = null
  if ((opcode === Opcode.TEXT || opcode === Opcode.BINARY) && app.message !== undefined) {
    const msg = new Message(req.body, opcode === Opcode.BINARY)
    const handler = app.message
    run = () => handler.call(app, ws, msg)
  } else if (opcode === Opcode.CLOSE && app.close !== undefined) {
    const body = req.body
    const code = body.length >= 2 ? body.readUInt16BE(0) : 1005
    const handler = app.close
    run = () => handler.call(app, ws, code, body.length > 2 ? body.toString('utf8', 2) : '')
  }
  if (run === null) return undefined
  return settle(run, () => {}, (err) => {
    log.error('websocket handler threw', { path: ws.path, id: ws.id, flags, err })
    if (opcode !== Opcode.CLOSE) ws.close(1011, 'internal error')
  })
}

function handshakeReply (accept: string, result: HandshakeResult): Buffer {
  if (result === undefined || result === true) return acceptResponse(accept)
  if (result === false) return textResponse(403, 'websocket refused\n')
  if ('protocol' in result && !('status' in result)) return acceptResponse(accept, result.protocol)
  return formatResponse(result as Response)
}

/** Calls `fn`; `done` with its result, synchronously when it is not a promise. */
function settle<T> (fn: () => T | Promise<T>, done: (result: T) => void, failed: (err: unknown) => void): Promise<void> | undefined {
  let result: T | Promise<T>
  try {
    result = fn()
  } catch (err) {
    failed(err)
    return undefined
  }
  if (result instanceof Promise) return result.then(done, failed)
  done(result)
  return undefined
}
