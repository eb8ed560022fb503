/**
 * The acceptor: uWS.js in front, ZeroMQ behind. Each HTTP request becomes an exchange
 * with a fresh id, driven through the exchange state machine (exchange-fsm.ts) by the
 * actions in actions.ts; replies from handlers are parsed here and handed to the
 * exchanges they name.
 */
import { randomUUID } from 'node:crypto'
import type { Config } from '../../shared/config/types.js'
import { createLogger, type Logger } from '../../shared/log.js'
import { replyBatchStart, splitBatch } from '../../shared/protocol/batch.js'
import { encodeDisconnect } from '../../shared/protocol/request.js'
import { parseReply, senderEnd } from '../../shared/protocol/reply.js'
import { uws, type HttpRequest, type HttpResponse, type ListenableApp, type TemplatedApp, type us_listen_socket } from '../../shared/uws.js'
import { createActions } from './actions.js'
import { BrokerLink, type ServiceLink } from './broker-link.js'
import { BodyWatch } from './body-watch.js'
import { Exchange, type ExchangeOwner } from './exchange.js'
import { createExchangeMachine, Ev, St, type ExchangeActions, type ExchangeMachine } from './exchange-fsm.js'
import { maintenanceFilter } from './filters.js'
import { buildHeaders } from './request-head.js'
import { Router } from './router.js'
import { Timeouts } from './timeouts.js'
import { StreamIdle } from './stream-idle.js'
import { kCancel, kCredits, kPing, parseExtended } from './extended.js'

/** Counters a user of Mongrel2's control port would ask for. */
export interface AcceptorStats {
  requests: number
  /** Replies naming an id that is gone (answered with a disconnect notice). */
  gone: number
  /** Reply frames rejected by the reply grammar. */
  badReplies: number
  /** Handler responses that could not be written (502 or cut). */
  badResponses: number
  timeouts: number
  unavailable: number
  /** Clients cut because more than maxQueuedBytes piled up for them. */
  slowClients: number
  /** Started streams cut after streamIdleMs without a handler message. */
  idleStreams: number
  /** `X` extended replies that were malformed or named an unknown key (their exchanges closed). */
  badExtended: number
}

const kPoolMax = 4096
const kMaxId = 0xffffffff

export class Acceptor implements ExchangeOwner {
  readonly config: Readonly<Config>
  readonly uuid: string
  readonly sender: Buffer
  readonly log: Logger
  readonly router: Router
  readonly link: BrokerLink
  readonly fsm: ExchangeMachine<Exchange>
  readonly exchanges = new Map<number, Exchange>()
  readonly timeouts: Timeouts
  readonly bodies: BodyWatch
  readonly stats: AcceptorStats = {
    requests: 0, gone: 0, badReplies: 0, badResponses: 0, timeouts: 0, unavailable: 0, slowClients: 0, idleStreams: 0, badExtended: 0
  }
  readonly streams: StreamIdle
  readonly maxQueuedBytes: number
  readonly bodyLimit: number
  readonly maxIds: number
  draining = false
  port = 0
  readonly #actions: ExchangeActions<Exchange>
  readonly #pool: Exchange[] = []
  readonly #app: TemplatedApp
  #listen: us_listen_socket | null = null
  #nextId = 0
  /** Exchanges in Closing, answered once the current turn (uWS's parse of this read) ends. */
  #closing: Exchange[] = []
  #closingSpare: Exchange[] = []
  readonly #flushClosing = (): void => { this.#flushAnswers() }

  constructor (config: Readonly<Config>, log = createLogger('acceptor')) {
    this.config = config
    this.log = log
    this.uuid = config.acceptor.uuid ?? randomUUID()
    this.sender = Buffer.from(this.uuid, 'latin1')
    this.maxQueuedBytes = config.acceptor.maxQueuedBytes
    this.bodyLimit = config.acceptor.bodyLimit
    this.maxIds = config.acceptor.maxIds
    this.router = new Router(config)
    this.link = new BrokerLink(config, this.uuid, log)
    this.fsm = createExchangeMachine<Exchange>()
    if (config.acceptor.maintenance) this.fsm.addFilter(maintenanceFilter)
    if (config.acceptor.trace) this.fsm.tracer = this.fsm.lineTracer((line) => { log.info(line) })
    this.timeouts = new Timeouts((ex) => { this.#expire(ex) })
    // Its ticker is unref'd and checks only exchanges reading a body: nothing to stop.
    this.bodies = new BodyWatch(config.acceptor.bodyTimeoutMs, (ex) => { ex.res!.cork(ex.corkedTimeout) })
    this.streams = new StreamIdle(config.acceptor.streamIdleMs, shortestKeepAlive(config),
      (ex) => { this.#idle(ex) }, (ex) => { ex.res?.cork(ex.corkedKeepAlive) })
    this.#actions = createActions(this)
    this.#app = uws.App()
    this.#app.any('/*', (res, req) => { this.#onRequest(res, req) })
  }

  /** Connects to the broker (waiting up to 1 s for its first status), then listens. */
  async start (): Promise<number> {
    const heard = await this.link.start((link, frame) => { this.#onReply(link, frame) })
    if (!heard) this.log.warn('no status from the broker yet: answering 503 until it speaks', { status: this.config.broker.status })
    const { host, port, sharePort } = this.config.acceptor
    const options = sharePort ? 0 : uws.LIBUS_LISTEN_EXCLUSIVE_PORT
    const socket = port === 0 ? await this.#listenAnyPort(host, options) : await this.#listenOn(host, port, options)
    if (!socket) {
      this.link.close()
      this.timeouts.stop()
      throw new Error(`cannot listen on ${host}:${port}${sharePort ? '' : ' (in use? set acceptor.sharePort to share a port between acceptors)'}`)
    }
    this.#listen = socket
    this.port = uws.us_socket_local_port(socket)
    this.log.info('listening', { url: `http://${host}:${this.port}/`, uuid: this.uuid })
    return this.port
  }

  #listenOn (host: string, port: number, options: number): Promise<us_listen_socket | false> {
    return new Promise((resolve) => { (this.#app as unknown as ListenableApp).listen(host, port, options, resolve) })
  }

  /**
   * Port 0: uSockets sets SO_REUSEADDR only when given a port number (strace), and the
   * connections a socket without it accepts leave TIME_WAIT sockets that keep a restarted
   * acceptor off that port for 60 s. So take a free port from the kernel, close it, and
   * listen on it by number (exclusivity holds: the kernel still refuses a port another
   * socket listens on). Another process may take the port in between: try another.
   */
  async #listenAnyPort (host: string, options: number): Promise<us_listen_socket | false> {
    for (let attempt = 0; attempt < 8; attempt++) {
      const probe = await this.#listenOn(host, 0, options)
      if (!probe) return false
      const free = uws.us_socket_local_port(probe)
      uws.us_listen_socket_close(probe)
      const socket = await this.#listenOn(host, free, options)
      if (socket) return socket
    }
    return false
  }

  run (ex: Exchange, ev: number): void {
    try {
      this.fsm.run(ex, ev, this.#actions)
    } catch (err) {
      // A bug in an action must cost one exchange, never the process.
      this.log.error('exchange action threw', { id: ex.id, err, stack: (err as Error).stack })
      ex.state = St.Error
      this.#actions.error(ex, ev, 0)
    }
  }

  /** The exchange left the machine: forget it and recycle the object if nothing holds it. */
  release (ex: Exchange): void {
    if (ex.sent) this.exchanges.delete(ex.id)
    this.streams.untrack(ex)
    if (ex.res !== null || ex.pending !== null || ex.closeAfterDrain) return
    ex.clear()
    if (this.#pool.length < kPoolMax) this.#pool.push(ex)
  }

  /**
   * Queues an exchange in Closing for FLUSH on the next turn. uWS.js parses every request
   * in a read before returning: an answer ended now with `Connection: close` would still
   * let a pipelined request behind it through to JavaScript. While the answer is pending,
   * uWS.js closes the connection at that request instead (REMOTE_CLOSE) and never hands it over.
   */
  closeLater (ex: Exchange): void {
    if (this.#closing.push(ex) === 1) setImmediate(this.#flushClosing)
  }

  #flushAnswers (): void {
    const list = this.#closing
    this.#closing = this.#closingSpare
    this.#closingSpare = list
    for (let i = 0; i < list.length; i++) {
      const ex = list[i]!
      // A pooled object aborted meanwhile (maybe reused, then listed again) is skipped here.
      if (ex.state === St.Closing && ex.res !== null) ex.res.cork(ex.corkedFlush)
    }
    list.length = 0
  }

  /** Tells the service's handlers that this exchange ended without them (Mongrel2's notice). */
  notifyDisconnect (link: ServiceLink, id: number): void {
    link.send(encodeDisconnect(this.sender, id, link.protocol))
  }

  #onRequest (res: HttpResponse, req: HttpRequest): void {
    this.stats.requests++
    const ex = this.#pool.pop() ?? new Exchange(this)
    ex.res = res
    ex.id = this.#allocateId()
    ex.method = req.getCaseSensitiveMethod()
    ex.isHead = ex.method === 'HEAD'
    buildHeaders(ex, req, res, this.config.acceptor.noClobberXff)
    res.onAborted(ex.onAborted)
    if (this.draining) {
      res.writeStatus('503 Service Unavailable').end('shutting down\n', true)
      ex.res = null
      this.release(ex)
      return
    }
    this.fsm.reset(ex)
    this.run(ex, Ev.OPEN)
  }

  /** Ids are uint32 like Mongrel2's; on wrap-around an id still in use is skipped. */
  #allocateId (): number {
    do {
      this.#nextId = this.#nextId >= kMaxId ? 1 : this.#nextId + 1
    } while (this.exchanges.has(this.#nextId))
    return this.#nextId
  }

  #onReply (link: ServiceLink, frame: Buffer): void {
    const items = replyBatchStart(frame)
    if (items < 0) {
      this.#onReplyFrame(link, frame)
      return
    }
    let replies
    try {
      replies = splitBatch(frame, items)
    } catch (err) {
      this.stats.badReplies++
      this.log.warn('rejected a reply batch', { service: link.name, sender: senderOf(frame), reason: (err as Error).message })
      return
    }
    for (let i = 0; i < replies.length; i++) this.#onReplyFrame(link, replies[i]!)
  }

  #onReplyFrame (link: ServiceLink, frame: Buffer): void {
    let reply
    try {
      reply = parseReply(frame, this.maxIds)
    } catch (err) {
      // Log and drop; unlike Mongrel2 this never stalls the other replies.
      this.stats.badReplies++
      this.log.warn('rejected a reply', { service: link.name, sender: senderOf(frame), reason: (err as Error).message })
      return
    }
    if (reply.extended) {
      this.#onExtended(link, reply.ids, reply.body)
      return
    }
    const ids = reply.ids
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const ex = this.exchanges.get(id)
      if (ex === undefined || ex.res === null || (ex.state !== St.Waiting && ex.state !== St.Responding)) {
        this.stats.gone++
        this.notifyDisconnect(link, id)
        continue
      }
      ex.reply = reply.body
      ex.res.cork(ex.corkedReply)
    }
  }

  /** Mongrel2's `X` replies: `ctl` keep-alive and cancel; anything else closes the exchanges it names. */
  #onExtended (link: ServiceLink, ids: readonly number[], body: Buffer): void {
    const control = parseExtended(body)
    let ev: number = Ev.CANCEL
    if (typeof control === 'string') {
      this.stats.badExtended++
      this.log.warn('bad extended (X) reply: closing its connections', { service: link.name, ids: ids.join(','), reason: control })
    } else if (control === kPing) {
      ev = Ev.PING
    }
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const ex = this.exchanges.get(id)
      if (ex === undefined || ex.res === null || (ex.state !== St.Waiting && ex.state !== St.Responding)) {
        // As Mongrel2 (MONGREL2.md §2.3): a notice for a gone id, except for a cancel.
        if (control === kCancel) continue
        this.stats.gone++
        this.notifyDisconnect(link, id)
        continue
      }
      if (control !== kCredits) this.run(ex, ev)
    }
  }

  #idle (ex: Exchange): void {
    if (ex.res === null) return
    this.stats.idleStreams++
    ex.res.cork(ex.corkedTimeout)
  }

  #expire (ex: Exchange): void {
    if (ex.res === null || ex.written) return
    if (ex.state !== St.Waiting && ex.state !== St.Responding) return
    this.stats.timeouts++
    ex.res.cork(ex.corkedTimeout)
  }

  /**
   * Graceful stop: refuse new connections and requests, let exchanges in flight finish
   * until `drainMs`, then cut the rest (their handlers get disconnect notices).
   */
  async stop (): Promise<void> {
    if (this.draining) return
    this.draining = true
    if (this.#listen) uws.us_listen_socket_close(this.#listen)
    this.#listen = null
    const deadline = Date.now() + this.config.acceptor.drainMs
    while (this.exchanges.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    for (const ex of [...this.exchanges.values()]) {
      if (ex.res !== null) ex.res.cork(ex.corkedTimeout)
    }
    // Let the disconnect notices reach the broker before the sockets close.
    await new Promise((resolve) => setTimeout(resolve, 50))
    this.timeouts.stop()
    this.streams.stop()
    this.link.close()
    ;(this.#app as unknown as ListenableApp).close()
    this.log.info('stopped', { ...this.stats })
  }
}

function shortestKeepAlive (config: Readonly<Config>): number {
  let ms = 0
  for (const host of config.hosts) {
    for (const route of Object.values(host.routes)) {
      if (route.keepAliveMs > 0 && (ms === 0 || route.keepAliveMs < ms)) ms = route.keepAliveMs
    }
  }
  return ms
}

function senderOf (frame: Buffer): string {
  return frame.toString('latin1', 0, Math.min(senderEnd(frame), 64))
}
