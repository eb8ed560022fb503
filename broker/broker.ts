/**
 * The broker: a ZeroMQ device between acceptors and handlers that never parses a message.
 *
 *   acceptor PUSH ──▶ [PULL  services.X.requests │ PUSH services.X.sendSpec] ──▶ handler PULL
 *   acceptor SUB  ◀── [XPUB  services.X.replies  │ XSUB services.X.recvSpec] ◀── handler PUB
 *   acceptor SUB  ◀── [XPUB  broker.status]  handler counts per service, also sent to
 *                                            every acceptor the moment it subscribes
 *   acceptor SUB  ◀── [PUB   broker.publishOut] ◀── Pushpin-style publishers (publish.ts)
 *
 * Each pair runs as a native zmq_proxy in a libuv pool thread, so forwarding costs no
 * JavaScript per message. XPUB/XSUB forward the acceptors' subscriptions (their sender
 * UUIDs) to the handlers' PUB sockets, so every reply reaches only the acceptor it names.
 * Handler counts come from the PUSH socket's monitor events.
 */
import { randomBytes } from 'node:crypto'
import * as zmq from 'zeromq'
import type { Config } from '../shared/config/types.js'
import { createLogger, type Logger } from '../shared/log.js'
import { encodeStatus } from '../shared/protocol/status.js'
import { PublishService } from './publish.js'

// Exiting (clinic's samplers call process.exit) must not wait for queued messages.
zmq.context.blocky = false

export class Broker {
  readonly #config: Readonly<Config>
  readonly #log: Logger
  readonly #proxies: zmq.Proxy[] = []
  readonly #runs: Promise<void>[] = []
  readonly #handlers = new Map<string, number>()
  readonly #boot = randomBytes(4).toString('hex')
  #status: zmq.XPublisher | null = null
  #publishing: PublishService | null = null
  #timer: NodeJS.Timeout | null = null
  #sending = false
  #dirty = false

  constructor (config: Readonly<Config>, log = createLogger('broker')) {
    this.#config = config
    this.#log = log
  }

  /** Number of native proxy threads this config needs (two per service). */
  static threadsNeeded (config: Readonly<Config>): number {
    return Object.keys(config.services).length * 2
  }

  async start (): Promise<void> {
    const { broker, services } = this.#config
    const hwm = broker.hwm
    try {
      // XPUB: an acceptor (re)connecting hears the counts at once instead of at the next
      // tick (after a broker restart it would otherwise answer 503 until then, with
      // handlers already back). Verbose: every acceptor's subscription, not just the first.
      this.#status = new zmq.XPublisher({ linger: 0, sendHighWaterMark: 100, verbosity: 'allSubs' })
      await this.#status.bind(broker.status)
      this.#greetSubscribers(this.#status)
      this.#log.info('status endpoint bound', { status: broker.status })
      for (const [name, svc] of Object.entries(services)) {
        this.#handlers.set(name, 0)
        const requests = new zmq.Proxy(
          new zmq.Pull({ linger: 0, receiveHighWaterMark: hwm }),
          new zmq.Push({ linger: 0, sendHighWaterMark: hwm })
        )
        this.#watchHandlers(name, requests.backEnd)
        await requests.frontEnd.bind(svc.requests)
        await requests.backEnd.bind(svc.sendSpec)
        const replies = new zmq.Proxy(
          new zmq.XSubscriber({ linger: 0, receiveHighWaterMark: hwm, sendHighWaterMark: hwm }),
          new zmq.XPublisher({ linger: 0, sendHighWaterMark: hwm, receiveHighWaterMark: hwm })
        )
        await replies.frontEnd.bind(svc.recvSpec)
        await replies.backEnd.bind(svc.replies)
        for (const proxy of [requests, replies]) {
          this.#proxies.push(proxy)
          this.#runs.push(proxy.run().catch((err: unknown) => this.#log.error('proxy stopped', { service: name, err })))
        }
        this.#log.info('service bound', {
          service: name, sendSpec: svc.sendSpec, recvSpec: svc.recvSpec, requests: svc.requests, replies: svc.replies
        })
      }
      this.#publishing = new PublishService(this.#config, this.#log)
      await this.#publishing.start()
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#timer = setInterval(() => { this.#publish() }, broker.statusIntervalMs)
    this.#publish()
  }

  /** Handlers connected per service, as last counted. */
  handlers (): ReadonlyMap<string, number> {
    return this.#handlers
  }

  #watchHandlers (service: string, push: zmq.Push): void {
    // Every accepted TCP/IPC peer ends with exactly one disconnect, so +1/-1 stays balanced
    // even for peers that never complete the ZMTP handshake.
    const change = (delta: number) => {
      const count = Math.max(0, (this.#handlers.get(service) ?? 0) + delta)
      this.#handlers.set(service, count)
      this.#log.info(delta > 0 ? 'handler connected' : 'handler disconnected', { service, handlers: count })
      this.#publish()
    }
    push.events.on('accept', () => change(1))
    push.events.on('disconnect', () => change(-1))
  }

  #greetSubscribers (status: zmq.XPublisher): void {
    void (async () => {
      try {
        // Subscription messages: 1 = subscribe, 0 = unsubscribe, then the topic.
        for await (const [msg] of status) if (msg?.[0] === 1) this.#publish()
      } catch {
        // Closed at stop.
      }
    })()
  }

  #publish (): void {
    if (!this.#status) return
    if (this.#sending) { this.#dirty = true; return }
    this.#sending = true
    const msg = encodeStatus(this.#boot, this.#handlers)
    this.#status.send(msg).catch(() => {}).finally(() => {
      this.#sending = false
      if (this.#dirty) { this.#dirty = false; this.#publish() }
    })
  }

  async stop (): Promise<void> {
    if (this.#timer) clearInterval(this.#timer)
    this.#timer = null
    for (const proxy of this.#proxies) proxy.terminate()
    await Promise.all(this.#runs)
    this.#proxies.length = 0
    this.#status?.close()
    this.#status = null
    await this.#publishing?.stop()
    this.#publishing = null
  }
}
