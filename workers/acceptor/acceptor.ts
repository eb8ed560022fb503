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
import { Cause, createActions, kCauses, kRetryAfter } from './actions.js'
import { BrokerLink, type ServiceLink } from './broker-link.js'
import { BodyWatch } from './body-watch.js'
import { Exchange, type ExchangeOwner } from './exchange.js'
import { createExchangeMachine, Ev, St, type ExchangeActions, type ExchangeMachine } from './exchange-fsm.js'
import { maintenanceFilter } from './filters.js'
import { buildHeaders } from './request-head.js'
import { Router } from './router.js'
import { Senders, type Sender } from './senders.js'
import { Timeouts } from './timeouts.js'
import { StreamIdle } from './stream-idle.js'
import { kCancel, kCredits, kPing, parseExtended, type ChannelControl } from './extended.js'
import { closeWebSockets, createWsActions, readUpgrade, wsBehavior } from './websocket.js'
import { Channels, type ChannelsOwner } from './channels.js'
import { createGripActions } from './grip.js'

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
  /** Replies (or batch items) naming a sender that is not this acceptor run's: dropped. */
  foreignReplies: number
  /** Exchanges answered 503 because their handler or the broker was lost right after they were sent. */
  lost: number
  /** Published items received from the broker (channels.ts). */
  published: number
  /** Frames from the broker's publish endpoint that were not items: dropped. */
  badItems: number
  /** Items delivered after waiting in vain for their prev-id, and holds recovered for a gap (grip.ts). */
  gaps: number
}

export interface AcceptorOptions {
  /** The first connection id minus one (tests of the id wrap only; default 0). */
  lastId?: number
}

/** Exchanges sent this recently when a handler or the broker is lost get 503 (older ones may be long-polls). */
const kLostWindowMs = 1000
/** At most one log line per 503 cause per this many ms (with the count since the last). */
const kNoteEveryMs = 1000

const kPoolMax = 4096
const kMaxId = 0xffffffff

export class Acceptor implements ExchangeOwner, ChannelsOwner {
  readonly config: Readonly<Config>
  readonly uuid: string
  /** This run's wire senders (the UUID plus a per-run tag, renewed when ids wrap). */
  readonly senders: Senders
  readonly log: Logger
  readonly router: Router
  readonly link: BrokerLink
  readonly fsm: ExchangeMachine<Exchange>
  readonly exchanges = new Map<number, Exchange>()
  readonly timeouts: Timeouts
  readonly bodies: BodyWatch
  readonly stats: AcceptorStats = {
    requests: 0, gone: 0, badReplies: 0, badResponses: 0, timeouts: 0, unavailable: 0, slowClients: 0, idleStreams: 0, badExtended: 0,
    foreignReplies: 0, lost: 0, published: 0, badItems: 0, gaps: 0
  }
  /** GRIP channels: held exchanges and WebSockets by channel, published items in (channels.ts). */
  readonly channels: Channels
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
  /** Per 503 cause: when it was last logged and how many since. */
  readonly #noted = kCauses.map(() => ({ at: 0, count: 0 }))
  #foreignNoted = 0
  /** Exchanges in Closing, answered once the current turn (uWS's parse of this read) ends. */
  #closing: Exchange[] = []
  #closingSpare: Exchange[] = []
  readonly #flushClosing = (): void => { this.#flushAnswers() }
  /** The held exchange a published item is being delivered to (inside its cork). */
  #publishTo: Exchange | null = null
  readonly #runPublish = (): void => { this.run(this.#publishTo!, Ev.PUBLISH) }
  readonly #runKeepAlive = (): void => { this.#publishTo!.keepAlive() }

  constructor (config: Readonly<Config>, log = createLogger('acceptor'), opts: AcceptorOptions = {}) {
    this.config = config
    this.log = log
    this.uuid = config.acceptor.uuid ?? randomUUID()
    this.#nextId = opts.lastId ?? 0
    this.maxQueuedBytes = config.acceptor.maxQueuedBytes
    this.bodyLimit = config.acceptor.bodyLimit
    this.maxIds = config.acceptor.maxIds
    this.router = new Router(config)
    this.link = new BrokerLink(config, log)
    this.link.onLoss = (link, cause, lastHeard, until) => { this.#onLoss(link, cause === 'broker restarted' ? Cause.BrokerRestarted : Cause.HandlerLost, lastHeard, until) }
    this.senders = new Senders(this.uuid, (sender, on) => {
      this.link.subscribe(sender, on)
      if (this.port !== 0) this.log.info(on ? 'new sender' : 'sender retired', { sender })
    })
    this.fsm = createExchangeMachine<Exchange>()
    if (config.acceptor.maintenance) this.fsm.addFilter(maintenanceFilter)
    if (config.acceptor.trace) this.fsm.tracer = this.fsm.lineTracer((line) => { log.info(line) })
    this.timeouts = new Timeouts((ex) => { this.#expire(ex) })
    // Its ticker is unref'd and checks only exchanges reading a body: nothing to stop.
    this.bodies = new BodyWatch(config.acceptor.bodyTimeoutMs, (ex) => { ex.res!.cork(ex.corkedTimeout) })
    this.streams = new StreamIdle(config.acceptor.streamIdleMs, shortestKeepAlive(config),
      (ex) => { this.#idle(ex) }, (ex) => { ex.res?.cork(ex.corkedKeepAlive) })
    this.channels = new Channels(this)
    const http = createActions(this)
    this.#actions = { ...http, ...createWsActions(this, http), ...createGripActions(this) }
    this.#app = uws.App()
    // Upgrade requests (a Sec-WebSocket-Key) come here first; the rest go to any().
    this.#app.ws('/*', wsBehavior(this, (res, req, context) => { this.#onRequest(res, req, context) }))
    this.#app.any('/*', (res, req) => { this.#onRequest(res, req) })
  }

  /** Connects to the broker (waiting up to 1 s for its first status), then listens. */
  async start (): Promise<number> {
    const heard = await this.link.start((link, frame) => { this.#onReply(link, frame) })
    this.channels.start(this.config.broker.publishOut, this.config.broker.hwm)
    if (!heard) this.log.warn('no status from the broker yet: answering 503 until it speaks', { status: this.config.broker.status })
    const { host, port, sharePort } = this.config.acceptor
    const options = sharePort ? 0 : uws.LIBUS_LISTEN_EXCLUSIVE_PORT
    const socket = port === 0 ? await this.#listenAnyPort(host, options) : await this.#listenOn(host, port, options)
    if (!socket) {
      this.channels.stop()
      this.link.close()
      this.timeouts.stop()
      throw new Error(`cannot listen on ${host}:${port}${sharePort ? '' : ' (in use? set acceptor.sharePort to share a port between acceptors)'}`)
    }
    this.#listen = socket
    this.port = uws.us_socket_local_port(socket)
    this.log.info('listening', { url: `http://${host}:${this.port}/`, uuid: this.uuid, sender: this.senders.current.name })
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
    if (ex.grip !== null) {
      this.channels.leave(ex, ex.grip)
      ex.grip = null
    }
    this.streams.untrack(ex)
    if (ex.sender !== null) {
      this.senders.release(ex.sender)
      ex.sender = null
    }
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

  // ChannelsOwner (channels.ts): writes happen corked, through the machine.

  deliver (ex: Exchange): void {
    if (ex.res === null || ex.state !== St.Holding) return
    this.#publishTo = ex
    ex.res.cork(this.#runPublish)
  }

  keepAlive (ex: Exchange): void {
    if (ex.res === null) return
    this.#publishTo = ex
    ex.res.cork(this.#runKeepAlive)
  }

  publishWs (topic: string, content: Buffer, binary: boolean): void {
    this.#app.publish(topic, content, binary)
  }

  closeWs (ex: Exchange, code: number): void {
    const wsx = ex.wsx
    if (wsx === null || wsx.ws === null || ex.state !== St.Open) return
    wsx.endCode = code === 0 ? 1005 : code
    this.run(ex, Ev.CLOSE)
  }

  /** Tells the service's handlers that this exchange ended without them (Mongrel2's notice). */
  notifyDisconnect (link: ServiceLink, id: number, sender: Buffer): void {
    link.send(encodeDisconnect(sender, id, link.protocol))
  }

  /** A 503 was answered: one log line per cause per second, with how many since the last. */
  noteUnavailable (cause: number, service: string | undefined): void {
    const noted = this.#noted[cause]!
    noted.count++
    const now = Date.now()
    if (now - noted.at < kNoteEveryMs) return
    this.log.warn('answered 503', { cause: kCauses[cause]![0], service, count: noted.count })
    noted.at = now
    noted.count = 0
  }

  /**
   * The broker restarted or the service lost a handler: exchanges sent to it within the
   * second before the peer was last known alive (or since), with no response byte yet,
   * were most likely lost with it, so they get 503 now rather than 504 at the route
   * timeout. Older ones stay held: they may be long-polls. Those sent at `until` or later
   * reached the live peer (BrokerLink's LossListener).
   */
  #onLoss (link: ServiceLink, cause: number, lastHeard: number, until: number): void {
    const since = lastHeard - kLostWindowMs
    let cut = 0
    for (const ex of this.exchanges.values()) {
      if (ex.link !== link || ex.state !== St.Waiting || ex.written || ex.res === null) continue
      const sentAt = ex.deadline - ex.route!.timeoutMs
      if (sentAt < since || sentAt >= until) continue
      ex.cause = cause
      ex.res.cork(ex.corkedUnavailable)
      cut++
    }
    // Logged by noteUnavailable, once a second at most (a peer can make counts drop).
    this.stats.lost += cut
  }

  #onRequest (res: HttpResponse, req: HttpRequest, upgrade?: Parameters<typeof readUpgrade>[2]): void {
    this.stats.requests++
    const ex = this.#pool.pop() ?? new Exchange(this)
    ex.res = res
    ex.id = this.#allocateId()
    ex.method = req.getCaseSensitiveMethod()
    ex.isHead = ex.method === 'HEAD'
    buildHeaders(ex, req, res, this.config.acceptor.noClobberXff)
    if (upgrade !== undefined) readUpgrade(ex, req, upgrade)
    res.onAborted(ex.onAborted)
    if (this.draining) {
      this.noteUnavailable(Cause.ShuttingDown, undefined)
      res.writeStatus('503 Service Unavailable').writeHeader('Retry-After', kRetryAfter).end(kCauses[Cause.ShuttingDown]![1], true)
      ex.res = null
      this.release(ex)
      return
    }
    this.fsm.reset(ex)
    this.run(ex, Ev.OPEN)
  }

  /**
   * Ids are uint32 like Mongrel2's. At the wrap a new sender tag starts, so an id of the
   * old tag is never named again; ids of the old tag still in use are skipped.
   */
  #allocateId (): number {
    do {
      if (this.#nextId >= kMaxId) {
        this.#nextId = 0
        this.senders.renew()
      }
      this.#nextId++
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
    const sender = this.senders.find(reply.sender)
    if (sender === null) {
      // Not this run's: a late reply to an earlier run (or another acceptor) must not
      // reach this run's exchanges. The subscription filters most; items of a batch and
      // prefix matches are checked here.
      this.stats.foreignReplies++
      const now = Date.now()
      if (now - this.#foreignNoted >= kNoteEveryMs) {
        this.#foreignNoted = now
        this.log.warn('dropped replies to a sender that is not this run\'s', { service: link.name, sender: senderOf(reply.sender), total: this.stats.foreignReplies })
      }
      return
    }
    if (reply.extended) {
      this.#onExtended(link, sender, reply.ids, reply.body)
      return
    }
    const ids = reply.ids
    let now = 0
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const ex = this.exchanges.get(id)
      const ws = ex?.wsx?.ws
      if (ws != null && ex!.sender === sender) { // an open WebSocket: the body is frames
        ex!.reply = reply.body
        ws.cork(ex!.corkedReply)
        continue
      }
      if (ex === undefined || ex.sender !== sender || !controllable(ex)) {
        if (now === 0) now = Date.now()
        this.#gone(link, sender, id, now)
        continue
      }
      ex.reply = reply.body
      ex.res!.cork(ex.corkedReply)
    }
  }

  /** Mongrel2's `X` replies: `ctl` keep-alive and cancel; anything else closes the exchanges it names. */
  #onExtended (link: ServiceLink, sender: Sender, ids: readonly number[], body: Buffer): void {
    const control = parseExtended(body)
    if (typeof control === 'object') {
      this.#onChannelControl(link, sender, ids, control)
      return
    }
    let ev: number = Ev.CANCEL
    if (typeof control === 'string') {
      this.stats.badExtended++
      this.log.warn('bad extended (X) reply: closing its connections', { service: link.name, ids: ids.join(','), reason: control })
    } else if (control === kPing) {
      ev = Ev.PING
    }
    let now = 0
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const ex = this.exchanges.get(id)
      if (ex === undefined || ex.sender !== sender || !controllable(ex)) {
        // As Mongrel2 (MONGREL2.md §2.3): a notice for a gone id, except for a cancel.
        if (control === kCancel) continue
        if (now === 0) now = Date.now()
        this.#gone(link, sender, id, now)
        continue
      }
      if (control !== kCredits) this.run(ex, ev)
    }
  }

  /** `X` subscribe/unsubscribe: open WebSockets join or leave a channel; any other exchange is closed (as an unknown key). */
  #onChannelControl (link: ServiceLink, sender: Sender, ids: readonly number[], control: ChannelControl): void {
    let now = 0
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!
      const ex = this.exchanges.get(id)
      if (ex === undefined || ex.sender !== sender || !controllable(ex)) {
        if (now === 0) now = Date.now()
        this.#gone(link, sender, id, now)
        continue
      }
      if (ex.state === St.Open && ex.wsx?.ws != null) {
        if (!this.channels.socket(ex, control.channel, control.subscribe)) {
          this.log.warn('websocket at its channel limit: subscribe ignored', { service: link.name, id, channel: control.channel })
        }
        continue
      }
      if (ex.state === St.Upgrading && ex.wsx !== null) {
        // Sent with (before) the handler's 101: applied once the socket is open.
        const wsx = ex.wsx
        const list = (wsx.pendingChannels ??= [])
        const at = list.indexOf(control.channel)
        if (control.subscribe && at < 0) list.push(control.channel)
        else if (!control.subscribe && at >= 0) list.splice(at, 1)
        continue
      }
      this.stats.badExtended++
      this.log.warn('bad extended (X) reply: closing its connections', { service: link.name, ids: String(id), reason: `${control.subscribe ? '' : 'un'}subscribe on an exchange that is not an open WebSocket` })
      this.run(ex, Ev.CANCEL)
    }
  }

  /**
   * A reply named an id that is gone (or not this sender's): count it and send Mongrel2's
   * notice back, within the service's bucket: one reply may name 128 ids, and anyone can publish.
   */
  #gone (link: ServiceLink, sender: Sender, id: number, now: number): void {
    this.stats.gone++
    if (link.takeNotice(now)) this.notifyDisconnect(link, id, sender.wire)
  }

  #idle (ex: Exchange): void {
    if (ex.res === null) return
    this.stats.idleStreams++
    ex.res.cork(ex.corkedTimeout)
  }

  #expire (ex: Exchange): void {
    if (ex.res === null || ex.written) return
    if (ex.state !== St.Waiting && ex.state !== St.Responding && ex.state !== St.Upgrading && ex.state !== St.Holding) return
    this.stats.timeouts++
    ex.res.cork(ex.corkedTimeout)
  }

  /**
   * Graceful stop: refuse new connections and requests, let exchanges in flight finish
   * until `drainMs`, then cut the rest: 503 with Retry-After to those with no response
   * byte yet, the last chunk to started streams (their handlers get disconnect notices).
   */
  async stop (): Promise<void> {
    if (this.draining) return
    this.draining = true
    if (this.#listen) uws.us_listen_socket_close(this.#listen)
    this.#listen = null
    closeWebSockets(this) // held open indefinitely: no point waiting for them
    const deadline = Date.now() + this.config.acceptor.drainMs
    while (this.exchanges.size > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    for (const ex of [...this.exchanges.values()]) {
      if (ex.res === null || (ex.state !== St.Waiting && ex.state !== St.Responding && ex.state !== St.Holding)) continue
      ex.cause = Cause.ShuttingDown
      ex.res.cork(ex.corkedUnavailable)
    }
    // Let the disconnect notices reach the broker before the sockets close.
    await new Promise((resolve) => setTimeout(resolve, 50))
    this.timeouts.stop()
    this.streams.stop()
    this.channels.stop()
    this.link.close()
    ;(this.#app as unknown as ListenableApp).close()
    let noticesDropped = 0
    for (const link of this.link.services.values()) noticesDropped += link.noticesDropped
    this.log.info('stopped', { ...this.stats, noticesDropped })
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

/** An exchange an `X` ctl reply can reach: awaiting or writing a reply, or an open WebSocket. */
function controllable (ex: Exchange): boolean {
  if (ex.state === St.Open) return ex.wsx?.ws != null
  return ex.res !== null && (ex.state === St.Waiting || ex.state === St.Responding || ex.state === St.Upgrading || ex.state === St.Holding)
}

function senderOf (frame: Buffer): string {
  // Up to the first space, at most 64 bytes (log lines stay short).
  return frame.toString('latin1', 0, Math.min(senderEnd(frame), 64))
}
