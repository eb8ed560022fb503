/**
 * The handler host: a Mongrel2 handler like any other (PULL from the service's
 * send_spec, PUB to its recv_spec) that runs a JS/TS app in a piscina pool.
 *
 *   broker PUSH ─▶ PULL ─▶ batch (one event-loop turn, ≤ maxBatch) ─▶ pool task
 *   broker XSUB ◀─ PUB  ◀─ replies grouped by sender, one message each
 *
 * Replies for one acceptor travel as one message: on a batched service (services.X.batch)
 * one reply batch frame (shared/protocol/batch.ts), otherwise one multipart message whose
 * every frame is a reply, which Mongrel2 reads too. PUB/SUB routes on the first frame.
 * Request batch frames are split here; plain request frames are taken as they are.
 * In-flight batches are bounded; past the bound the host stops reading, the PULL
 * queue fills and the broker's PUSH sends to other handlers instead.
 */
import { BroadcastChannel } from 'node:worker_threads'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import * as zmq from 'zeromq'
import type { Config } from '../../shared/config/types.js'
import type { Logger } from '../../shared/log.js'
import { batchEnd, encodeReplyBatch, isRequestBatch, splitBatch } from '../../shared/protocol/batch.js'
import { encodeReply, senderEnd } from '../../shared/protocol/reply.js'
import { immediateSends, sendNow } from '../../shared/zmq-io.js'
import { textResponse } from './api.js'
import { pack, unpack } from './frames.js'
import { Outbox, loadApp, runBatch, type App } from './runner.js'
import type { TaskInput, TaskWorkerData } from './task.js'

/** Time for subscriptions to follow the PUB handshake (they travel right behind it). */
const kSubscribeGraceMs = 50
const kTaskFile = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './task.ts' : './task.js', import.meta.url))

export class HandlerHost {
  readonly #config: Readonly<Config>
  readonly #log: Logger
  readonly #pull: zmq.Pull
  readonly #pub: zmq.Publisher
  readonly #pool: Piscina | null
  readonly #channelName = `switchboard-handler-${process.pid}`
  readonly #channel: BroadcastChannel
  readonly #maxInflight: number
  /** Send each acceptor's replies as one batch frame (the service is batched). */
  readonly #batchReplies: boolean
  #app: App | null = null
  #pending: Buffer[] = []
  #scheduled = false
  #inflight = 0
  #resume: (() => void) | null = null
  #outQueue: Array<Buffer[]> = []
  #sending = false
  #stopped = false

  constructor (config: Readonly<Config>, log: Logger) {
    this.#config = config
    this.#log = log
    const h = config.handler
    this.#pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 1000 })
    this.#pub = new zmq.Publisher({ linger: 1000, sendHighWaterMark: config.broker.hwm })
    immediateSends(this.#pub)
    this.#pool = h.threads === 0
      ? null
      : new Piscina({
        filename: kTaskFile,
        minThreads: h.threads,
        maxThreads: h.threads,
        concurrentTasksPerWorker: h.concurrentTasksPerWorker,
        idleTimeout: Infinity,
        workerData: { app: h.app } satisfies TaskWorkerData // preloaded before a worker takes tasks (task.ts)
      })
    this.#maxInflight = Math.max(2, h.threads) * h.concurrentTasksPerWorker
    this.#batchReplies = config.services[h.service]?.batch === true
    this.#channel = new BroadcastChannel(this.#channelName)
    this.#channel.onmessage = (ev) => { this.#send([Buffer.from((ev as { data: Uint8Array }).data)]) }
    this.#channel.unref()
  }

  async start (): Promise<void> {
    const h = this.#config.handler
    const svc = this.#config.services[h.service]!
    // Load the app here too: a broken module fails the start, not every request.
    this.#app = await loadApp(h.app)
    // PUB drops what is published before the broker's subscriptions (the acceptors'
    // UUIDs) arrive. Pull requests only once the reply path is up, or the first replies
    // vanish and their clients wait for the timeout.
    const events = this.#pub.events
    this.#log.info('connecting to the broker', { pub: svc.recvSpec })
    const connected = new Promise<void>((resolve) => { events.on('handshake', () => resolve()) })
    this.#pub.connect(svc.recvSpec)
    await connected
    await new Promise((resolve) => setTimeout(resolve, kSubscribeGraceMs))
    this.#pull.connect(svc.sendSpec)
    this.#log.info('handler ready', {
      service: h.service, app: h.app, threads: h.threads, pull: svc.sendSpec, pub: svc.recvSpec, pid: process.pid
    })
    void this.#receive()
  }

  /** A plain receive() loop, not for-await: see shared/zmq-io.ts. */
  async #receive (): Promise<void> {
    try {
      const pull = this.#pull
      while (!pull.closed) {
        const frames = await pull.receive()
        for (let i = 0; i < frames.length; i++) {
          const frame = frames[i]!
          if (isRequestBatch(frame)) this.#takeBatch(frame)
          else this.#pending.push(frame)
        }
        if (!this.#scheduled) {
          this.#scheduled = true
          setImmediate(() => { this.#flush() })
        }
        if (this.#inflight >= this.#maxInflight) await new Promise<void>((resolve) => { this.#resume = resolve })
      }
    } catch (err) {
      if (!this.#stopped) this.#log.error('receive loop failed', { err })
    }
  }

  #takeBatch (frame: Buffer): void {
    let requests
    try {
      requests = splitBatch(frame)
    } catch (err) {
      // Only a broken sender makes one; its clients get 504 from their acceptor.
      this.#log.warn('rejected a request batch', { bytes: frame.length, reason: (err as Error).message })
      return
    }
    for (let i = 0; i < requests.length; i++) this.#pending.push(requests[i]!)
  }

  #flush (): void {
    this.#scheduled = false
    const max = this.#config.handler.maxBatch
    while (this.#pending.length > 0) {
      const batch = this.#pending.length <= max ? this.#pending : this.#pending.splice(0, max)
      if (batch === this.#pending) this.#pending = []
      this.#inflight++
      this.#run(batch).finally(() => {
        this.#inflight--
        if (this.#resume !== null && this.#inflight < this.#maxInflight) {
          const resume = this.#resume
          this.#resume = null
          resume()
        }
      })
    }
  }

  async #run (batch: Buffer[]): Promise<void> {
    if (this.#pool === null) {
      const out = new Outbox((frame) => { this.#send([frame]) })
      // Synchronous apps: send this chunk's replies now, before the next chunk runs, so
      // the acceptor writes them while this host works on (no convoy of whole batches).
      const running = runBatch(this.#app!, batch, out)
      if (running !== undefined) await running
      const frames = out.frames!
      out.frames = null
      this.#send(frames)
      return
    }
    const packed = pack(batch)
    const input: TaskInput = { app: this.#config.handler.app, channel: this.#channelName, batch: packed }
    try {
      const result = await this.#pool.run(input, {
        transferList: [packed.buffer as ArrayBuffer],
        signal: AbortSignal.timeout(this.#config.handler.taskTimeoutMs)
      }) as Uint8Array
      this.#send(unpack(Buffer.from(result.buffer, result.byteOffset, result.byteLength)))
    } catch (err) {
      // The worker threw outside a handler, crashed, or hung past the limit: piscina has
      // replaced it. Every request of the batch gets a 500; the pool carries on.
      const aborted = (err as Error).name === 'AbortError'
      this.#log.error(aborted ? 'batch exceeded the per-request limit; worker replaced' : 'worker failed; replaced', {
        requests: batch.length, limitMs: this.#config.handler.taskTimeoutMs, err
      })
      this.#send(batch.map(failureReply).filter((f): f is Buffer => f !== null))
    }
  }

  /** Groups reply frames by sender and queues one message per sender. */
  #send (frames: Buffer[]): void {
    if (frames.length === 0 || this.#stopped) return
    if (frames.length === 1) {
      this.#outQueue.push(frames)
    } else {
      const bySender = new Map<string, Buffer[]>()
      for (const f of frames) {
        const sender = f.toString('latin1', 0, senderEnd(f))
        let group = bySender.get(sender)
        if (group === undefined) bySender.set(sender, group = [])
        group.push(f)
      }
      for (const group of bySender.values()) {
        if (this.#batchReplies && group.length > 1) this.#queueReplyBatches(group)
        else this.#outQueue.push(group)
      }
    }
    if (!this.#sending) void this.#pump()
  }

  /** One acceptor's replies as batch frames (batchEnd bounds them; a lone reply goes plain). */
  #queueReplyBatches (group: Buffer[]): void {
    const first = group[0]!
    const sender = first.subarray(0, senderEnd(first))
    let start = 0
    while (start < group.length) {
      const end = batchEnd(group, start, group.length)
      this.#outQueue.push([end - start === 1 ? group[start]! : encodeReplyBatch(sender, group.slice(start, end))])
      start = end
    }
  }

  async #pump (): Promise<void> {
    this.#sending = true
    try {
      while (this.#outQueue.length > 0) {
        const queue = this.#outQueue
        this.#outQueue = []
        for (const msg of queue) await sendNow(this.#pub, msg)
      }
    } catch (err) {
      if (!this.#stopped) this.#log.error('send failed', { err })
    } finally {
      this.#sending = false
    }
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#pull.close()
    if (this.#pool !== null) await this.#pool.destroy()
    this.#channel.close()
    this.#pub.close()
  }
}

/** A 500 reply for a request whose batch failed; null for control messages. */
function failureReply (msg: Buffer): Buffer | null {
  const s1 = msg.indexOf(0x20)
  const s2 = s1 < 0 ? -1 : msg.indexOf(0x20, s1 + 1)
  const s3 = s2 < 0 ? -1 : msg.indexOf(0x20, s2 + 1)
  if (s3 < 0 || msg[s2 + 1] === 0x40 /* '@': control message, never answered */) return null
  const id = Number(msg.toString('latin1', s1 + 1, s2))
  if (!Number.isInteger(id)) return null
  return encodeReply(msg.subarray(0, s1), [id], textResponse(500, 'the handler failed or took too long\n'))
}
