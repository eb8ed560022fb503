/**
 * The acceptor's ZeroMQ side: per service a PUSH to the broker's `requests` endpoint
 * (behind a bounded queue with one sender loop, since zeromq.js allows one send in
 * flight per socket) and a SUB on its `replies` endpoint subscribed to this acceptor
 * run's senders (senders.ts); plus a SUB on the broker's status endpoint telling how many
 * handlers each service has, so requests for a service without handlers get 503 at once,
 * and telling when the broker restarted or a service lost a handler (`onLoss`).
 *
 *   uWS ─▶ ServiceLink.send ─▶ [queue ≤ sendQueue] ─▶ PUSH ─▶ broker ─▶ handlers
 *   uWS ◀─ onReply(link, frame) ◀─ SUB "SENDER " ◀─ broker ◀─ handlers
 */
import * as zmq from 'zeromq'
import type { Config, HeaderProtocol } from '../../shared/config/types.js'
import type { Logger } from '../../shared/log.js'
import { batchEnd, encodeRequestBatch } from '../../shared/protocol/batch.js'
import { decodeStatus } from '../../shared/protocol/status.js'
import { immediateSends, isClosed, sendNow } from '../../shared/zmq-io.js'

/** Requests per batch frame on batched links (bytes: kBatchMaxBytes). */
const kMaxFrames = 256
/**
 * Requests go to ZeroMQ at the end of the loop turn, or as soon as this many wait:
 * whole-turn batches made every stage (acceptor, handler, client) wait for the previous
 * one in turn; with 32 the handler works while the acceptor still reads (perf/README.md:
 * ~+15-25% req/s at 256 connections, same at 50).
 */
const kEagerFrames = 32

export type ReplyListener = (link: ServiceLink, frame: Buffer) => void
/**
 * What the status told: the broker restarted (its boot id changed) or the service has
 * fewer handlers. `lastHeard`: when the lost peer was last known alive (the old broker's
 * last status; now for a handler). `until`: exchanges sent from then on reached the live
 * peer (a reply came back through the broker after its silence, and the broker passes
 * requests on in order), so only earlier ones can have been lost; Infinity when unknown.
 */
export type LossListener = (link: ServiceLink, cause: 'broker restarted' | 'handler lost', lastHeard: number, until: number) => void

export class ServiceLink {
  readonly name: string
  readonly protocol: HeaderProtocol
  /** Handlers connected to this service, per the broker's last status. */
  handlers = 0
  /** Requests refused because the queue was full. */
  refused = 0
  /** Disconnect notices for replies to unknown ids dropped by the rate bound. */
  noticesDropped = 0
  readonly #push: zmq.Push
  readonly #sub: zmq.Subscriber
  readonly #limit: number
  /** Send what one event-loop turn queued as one batch frame (services.X.batch). */
  readonly #batch: boolean
  readonly #flushTurn = (): void => {
    this.#scheduled = false
    this.#flushAll = true
    if (!this.#pumping) void this.#pump()
  }
  #queue: Array<Buffer | undefined> = []
  #head = 0
  #pumping = false
  #scheduled = false
  /** Send partial batches too (set at the end of a loop turn). */
  #flushAll = false
  #closed = false
  /** Token bucket for notices answering replies to unknown ids (one second's worth of burst). */
  readonly #noticeRate: number
  #noticeTokens: number
  #noticeTime = Date.now()

  constructor (name: string, protocol: HeaderProtocol, batch: boolean, push: zmq.Push, sub: zmq.Subscriber, limit: number, noticeRate: number) {
    this.name = name
    this.protocol = protocol
    this.#batch = batch
    this.#push = push
    this.#sub = sub
    this.#limit = limit
    this.#noticeRate = noticeRate
    this.#noticeTokens = noticeRate
  }

  /**
   * May one more notice for a reply to an unknown id go out? Every reply carries the
   * acceptor's own sender, so a rogue publisher cannot be told from a handler: the bound
   * is per service. Refused ones are counted in `noticesDropped`.
   */
  takeNotice (now: number): boolean {
    if (now !== this.#noticeTime) {
      this.#noticeTokens = Math.min(this.#noticeRate, this.#noticeTokens + (now - this.#noticeTime) * this.#noticeRate / 1000)
      this.#noticeTime = now
    }
    if (this.#noticeTokens < 1) {
      this.noticesDropped++
      return false
    }
    this.#noticeTokens--
    return true
  }

  /** Subscribes to (or drops) the replies addressed to `sender`: exactly it, hence the space. */
  subscribe (sender: string, on: boolean): void {
    if (this.#closed) return
    if (on) this.#sub.subscribe(sender + ' ')
    else this.#sub.unsubscribe(sender + ' ')
  }

  /** Queues one message for the broker; false when the queue is full (the caller answers 503). */
  send (msg: Buffer): boolean {
    if (this.#closed) return false
    if (this.#queue.length - this.#head >= this.#limit) {
      this.refused++
      return false
    }
    this.#queue.push(msg)
    if (this.#queue.length - this.#head >= kEagerFrames) {
      // Enough for a batch: it goes now, so handlers start on it while this turn reads on.
      if (!this.#pumping) void this.#pump()
    } else if (!this.#scheduled) {
      // The rest waits for this loop turn's other requests (uWS runs them all in libuv's
      // poll phase, before setImmediate callbacks). Unbatched links gain too: messages
      // sent in one burst share the wake-ups of ZeroMQ's I/O thread and the broker's
      // (perf/README.md: broker CPU per request -25% with a Mongrel2 handler).
      this.#scheduled = true
      setImmediate(this.#flushTurn)
    }
    return true
  }

  /** Messages waiting to be handed to ZeroMQ. */
  get queued (): number { return this.#queue.length - this.#head }

  async #pump (): Promise<void> {
    this.#pumping = true
    try {
      while (this.#head < this.#queue.length && !this.#closed) {
        if (this.#batch) {
          if (!this.#flushAll && this.#queue.length - this.#head < kEagerFrames) break
          const queue = this.#queue
          const start = this.#head
          const end = batchEnd(queue as Buffer[], start, Math.min(queue.length, start + kMaxFrames))
          // One request goes as it is; more go in one batch frame (shared/protocol/batch.ts).
          const frame = end - start === 1 ? queue[start]! : encodeRequestBatch(queue as Buffer[], start, end)
          queue.fill(undefined, start, end)
          this.#head = end
          await sendNow(this.#push, frame)
        } else {
          // Mongrel2 handlers read one request per message: a burst of messages.
          const msg = this.#queue[this.#head]!
          this.#queue[this.#head++] = undefined
          await sendNow(this.#push, msg)
        }
      }
    } catch {
      // Socket closed during shutdown: what was queued is dropped with it.
    } finally {
      if (this.#head >= this.#queue.length) {
        this.#queue = []
        this.#head = 0
      }
      this.#flushAll = false
      this.#pumping = false
    }
  }

  /**
   * Reads replies until the link closes (a plain receive() loop: see shared/zmq-io.ts).
   * `heard` runs once per message, before its replies are handled (a reply is news from a
   * live broker too), and says whether it ends a silence of the broker's; `revived` is then
   * told after they are handled.
   */
  async readReplies (listener: ReplyListener, heard?: () => boolean, revived?: (link: ServiceLink) => void): Promise<void> {
    const sub = this.#sub
    try {
      while (!sub.closed) {
        const frames = await sub.receive()
        const back = heard?.() === true
        // Mongrel2 treats every frame of a multipart message as a message; so does this.
        // Batch frames (many replies in one) are split by the listener.
        for (let i = 0; i < frames.length; i++) listener(this, frames[i]!)
        if (back) revived?.(this)
      }
    } catch (err) {
      if (!sub.closed) throw err
    }
  }

  close (): void {
    this.#closed = true
    this.#push.close()
    this.#sub.close()
  }
}

/** How often the loop notes that it runs (see BrokerLink.#stale). */
const kTickMs = 100

export class BrokerLink {
  readonly services = new Map<string, ServiceLink>()
  readonly #status: zmq.Subscriber
  readonly #staleMs: number
  readonly #log: Logger
  #lastStatus = 0
  /** When a reply last came through the broker (it is alive, whatever its status socket says). */
  #lastReply = 0
  /** A reply after the broker was silent: when it came, and when the broker was heard before it. */
  #revivedAt = 0
  #revivedFrom = 0
  readonly #heard = (): boolean => {
    const now = Date.now()
    const back = this.#boot !== '' && this.#stale(now)
    if (back) {
      this.#revivedFrom = this.#lastHeard()
      this.#revivedAt = now
    }
    this.#lastReply = now
    return back
  }

  /**
   * The broker answers again after a silence (most likely restarted: its status will tell),
   * and the replies that came first are handled: exchanges sent before the silence and still
   * unanswered were most likely lost with it. Told now, not when the status comes: requests
   * sent since then go to the live broker, and their answers must not precede those 503s.
   */
  readonly #revive = (link: ServiceLink): void => {
    this.onLoss?.(link, 'broker restarted', this.#revivedFrom, this.#revivedAt)
  }
  /** When this process's loop last ran its timers. */
  #tickAt = Date.now()
  readonly #ticker: NodeJS.Timeout
  #boot = ''
  #firstStatus: (() => void) | null = null
  /** Told when the broker restarted or a service's handler count dropped. */
  onLoss: LossListener | null = null

  constructor (config: Readonly<Config>, log: Logger) {
    this.#log = log
    this.#staleMs = Math.max(1000, config.broker.statusIntervalMs * 4)
    this.#ticker = setInterval(() => { this.#tickAt = Date.now() }, kTickMs)
    this.#ticker.unref()
    this.#status = new zmq.Subscriber({ linger: 0 })
    this.#status.connect(config.broker.status)
    this.#status.subscribe('SWB-STATUS ')
    const hwm = config.broker.hwm
    for (const [name, svc] of Object.entries(config.services)) {
      const push = new zmq.Push({ linger: 0, sendHighWaterMark: hwm })
      push.connect(svc.requests)
      immediateSends(push)
      const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: hwm })
      sub.connect(svc.replies)
      this.services.set(name, new ServiceLink(name, svc.protocol, svc.batch, push, sub, config.acceptor.sendQueue, config.acceptor.noticeRate))
    }
  }

  /** Subscribes every service's reply socket to `sender` (or drops it). */
  subscribe (sender: string, on: boolean): void {
    for (const link of this.services.values()) link.subscribe(sender, on)
  }

  /** Starts the reply and status loops; resolves at the first status or after `waitMs`. */
  async start (listener: ReplyListener, waitMs = 1000): Promise<boolean> {
    for (const link of this.services.values()) {
      link.readReplies(listener, this.#heard, this.#revive).catch((err: unknown) => {
        if (!isClosed(err)) this.#log.error('reply loop failed', { service: link.name, err })
      })
    }
    const first = new Promise<void>((resolve) => { this.#firstStatus = resolve })
    this.#readStatus().catch((err: unknown) => {
      if (!isClosed(err)) this.#log.error('status loop failed', { err })
    })
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, waitMs) })
    await Promise.race([first, timeout])
    clearTimeout(timer)
    return this.#lastStatus !== 0
  }

  /** True when the broker spoke recently and counts at least one handler for the service. */
  available (link: ServiceLink): boolean {
    return link.handlers > 0 && !this.#stale(Date.now())
  }

  /** True when neither a status nor a reply arrived within the staleness window (broker gone or hung). */
  silent (): boolean {
    return this.#stale(Date.now())
  }

  /**
   * The last status is older than the window, not counting the time this process's own
   * loop has been too busy to read the status socket: while a burst of connections keeps
   * the loop in one long turn, the broker's messages wait unread and a live broker would
   * look silent. The loop's timer ticks tell how long the current turn has lasted.
   */
  #stale (now: number): boolean {
    const busy = now - this.#tickAt - kTickMs
    // A reply proves the broker alive as a status does: after a restart, requests queued
    // while it was down may be answered before the status socket has reconnected.
    return now - this.#lastHeard() > this.#staleMs + (busy > 0 ? busy : 0)
  }

  /** When the broker was last heard from: a status or a reply, whichever came later. */
  #lastHeard (): number {
    return this.#lastReply > this.#lastStatus ? this.#lastReply : this.#lastStatus
  }

  async #readStatus (): Promise<void> {
    for await (const [msg] of this.#status) {
      const status = msg && decodeStatus(msg)
      if (!status) {
        this.#log.warn('ignored a malformed status message')
        continue
      }
      const restarted = this.#boot !== '' && status.boot !== this.#boot
      if (restarted) this.#log.info('broker restarted', { boot: status.boot })
      this.#boot = status.boot
      const lastHeard = this.#lastStatus
      this.#lastStatus = Date.now()
      for (const [name, link] of this.services) {
        const before = link.handlers
        link.handlers = status.handlers.get(name) ?? 0
        // After a revival, the requests sent since went to the new broker: only earlier ones were lost.
        if (restarted) this.onLoss?.(link, 'broker restarted', lastHeard, this.#revivedAt > lastHeard ? this.#revivedAt : Infinity)
        else if (link.handlers < before) this.onLoss?.(link, 'handler lost', this.#lastStatus, Infinity)
      }
      if (this.#firstStatus) { this.#firstStatus(); this.#firstStatus = null }
    }
  }

  close (): void {
    clearInterval(this.#ticker)
    this.#status.close()
    for (const link of this.services.values()) link.close()
  }
}

