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
 *
 * ctx.publish items (already in Pushpin's encoding, made in the calling thread) go out a PUSH
 * to `broker.publishPull`, through a bounded queue: past it they are dropped and counted.
 *
 * Disconnect notices go to the worker that holds their exchange (holders.ts); the
 * per-request limit is kept by each thread's Runner (runner.ts) and, for a worker whose
 * event loop is stuck, by holders.ts.
 */
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import * as zmq from 'zeromq'
import type { Config } from '../../shared/config/types.js'
import type { Logger } from '../../shared/log.js'
import { batchEnd, encodeReplyBatch, isRequestBatch, splitBatch } from '../../shared/protocol/batch.js'
import { encodeReply, senderEnd } from '../../shared/protocol/reply.js'
import { decodeRequest, isDisconnect } from '../../shared/protocol/request.js'
import { immediateSends, sendNow } from '../../shared/zmq-io.js'
import { textResponse } from './api.js'
import { pack, unpack } from './frames.js'
import { Holders } from './holders.js'
import { Outbox, Runner, exchangeKey, loadApp } from './runner.js'
import { setPublishSink } from './publish.js'
import type { HeldResult, TaskWorkerData } from './task.js'

/** Time for subscriptions to follow the PUB handshake (they travel right behind it). */
const kSubscribeGraceMs = 50
/** A notice's last bytes as every acceptor writes it (request.ts encodeDisconnect): a cheap first test. */
const kNoticeTail = Buffer.from('21:{"type":"disconnect"},')
/**
 * piscina's default ('sync') parks an idle worker in Atomics.wait, so its timers and
 * intervals (late replies, SSE ticks, the liveness counter) never run between tasks.
 * 'async' waits with Atomics.waitAsync and leaves the event loop running.
 */
const kAtomics = 'async'
/** ctx.publish items waiting for the PUSH socket (itself bounded by broker.hwm), at most. */
const kMaxPublishQueue = 1000
const kTaskFile = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './task.ts' : './task.js', import.meta.url))

export class HandlerHost {
  readonly #config: Readonly<Config>
  readonly #log: Logger
  readonly #pull: zmq.Pull
  readonly #pub: zmq.Publisher
  readonly #pool: Piscina | null
  readonly #holders: Holders | null
  readonly #maxInflight: number
  /** Send each acceptor's replies as one batch frame (the service is batched). */
  readonly #batchReplies: boolean
  /** threads: 0: the app runs here. */
  #runner: Runner | null = null
  #pending: Buffer[] = []
  #scheduled = false
  #inflight = 0
  #resume: (() => void) | null = null
  #outQueue: Array<Buffer[]> = []
  #sending = false
  #stopped = false
  /** PUSH to broker.publishPull; null when that is off. */
  readonly #publishPush: zmq.Push | null
  #publishQueue: Buffer[] = []
  #publishing = false
  readonly publishStats = { sent: 0, dropped: 0 }

  constructor (config: Readonly<Config>, log: Logger) {
    this.#config = config
    this.#log = log
    const h = config.handler
    this.#pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 1000 })
    this.#pub = new zmq.Publisher({ linger: 1000, sendHighWaterMark: config.broker.hwm })
    immediateSends(this.#pub)
    this.#publishPush = config.broker.publishPull === '' ? null : new zmq.Push({ linger: 1000, sendHighWaterMark: config.broker.hwm })
    if (this.#publishPush !== null) immediateSends(this.#publishPush)
    // threads: 0 (and the main thread's own module loads): publish() lands here directly.
    setPublishSink((msg) => { this.#publish(msg) })
    // The liveness counter ticks a few times per limit, so a stuck worker is found within
    // about a quarter of the limit after it.
    const beatMs = Math.max(10, Math.min(1000, Math.floor(h.taskTimeoutMs / 4)))
    this.#pool = h.threads === 0
      ? null
      : new Piscina({
        filename: kTaskFile,
        minThreads: h.threads,
        maxThreads: h.threads,
        concurrentTasksPerWorker: h.concurrentTasksPerWorker,
        idleTimeout: Infinity,
        atomics: kAtomics,
        workerData: { app: h.app, limitMs: h.taskTimeoutMs, beatMs } satisfies TaskWorkerData
      })
    this.#holders = null
    if (this.#pool !== null) {
      const pool = this.#pool
      const holders = this.#holders = new Holders({
        send: (frame) => { this.#send([frame]) },
        publish: (msg) => { this.#publish(msg) },
        anywhere: (frame) => { this.#pending.push(frame); this.#schedule() },
        threads: () => pool.threads
      }, log, h.taskTimeoutMs, beatMs)
      pool.on('message', (msg: unknown) => { holders.hello(msg) })
    }
    this.#maxInflight = Math.max(2, h.threads) * h.concurrentTasksPerWorker
    this.#batchReplies = config.services[h.service]?.batch === true
  }

  async start (): Promise<void> {
    const h = this.#config.handler
    const svc = this.#config.services[h.service]!
    // Load the app here too: a broken module fails the start, not every request.
    const app = await loadApp(h.app)
    if (this.#pool === null) this.#runner = new Runner(app, h.taskTimeoutMs)
    // PUB drops what is published before the broker's subscriptions (the acceptors'
    // UUIDs) arrive. Pull requests only once the reply path is up, or the first replies
    // vanish and their clients wait for the timeout.
    const events = this.#pub.events
    this.#log.info('connecting to the broker', { pub: svc.recvSpec })
    const connected = new Promise<void>((resolve) => { events.on('handshake', () => resolve()) })
    this.#pub.connect(svc.recvSpec)
    // PUSH queues until the broker's PULL is there: nothing to wait for.
    this.#publishPush?.connect(this.#config.broker.publishPull)
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
          else this.#take(frame)
        }
        this.#schedule()
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
    for (let i = 0; i < requests.length; i++) this.#take(requests[i]!)
  }

  /** A request, or a disconnect notice for the worker that holds its exchange. */
  #take (frame: Buffer): void {
    if (this.#holders !== null && endsWith(frame, kNoticeTail)) {
      let notice
      try {
        notice = decodeRequest(frame)
      } catch {
        notice = null
      }
      if (notice !== null && isDisconnect(notice) && this.#holders.notice(frame, exchangeKey(notice.sender, notice.id))) return
    }
    this.#pending.push(frame)
  }

  #schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    setImmediate(() => { this.#flush() })
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
      const running = this.#runner!.runBatch(batch, out)
      if (running !== undefined) await running
      const frames = out.frames!
      out.frames = null
      this.#send(frames)
      return
    }
    const packed = pack(batch)
    const holders = this.#holders!
    const seq = holders.taskStart()
    let held: HeldResult | null = null
    try {
      const result = await this.#pool.run(packed, { transferList: [packed.buffer as ArrayBuffer] }) as Uint8Array | HeldResult
      let replies: Uint8Array
      if (result instanceof Uint8Array) {
        replies = result
      } else {
        held = result
        replies = result.replies
      }
      this.#send(unpack(Buffer.from(replies.buffer, replies.byteOffset, replies.byteLength)))
    } catch (err) {
      // The worker threw outside a handler, crashed, or was stuck in a handler past the
      // limit (holders.ts): piscina has replaced it. Every request of the batch gets a
      // 500; the pool carries on.
      this.#log.error('worker failed; replaced', { requests: batch.length, limitMs: this.#config.handler.taskTimeoutMs, err })
      this.#send(batch.map(failureReply).filter((f): f is Buffer => f !== null))
    } finally {
      holders.taskDone(seq, held)
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

  /** One ctx.publish item: queued for the PUSH, or dropped (counted) when the queue is full or publishing is off. */
  #publish (msg: Buffer): void {
    if (this.#stopped) return
    if (this.#publishPush === null || this.#publishQueue.length >= kMaxPublishQueue) {
      this.publishStats.dropped++
      this.#log.warn('dropped a published item', {
        reason: this.#publishPush === null ? "broker.publishPull is '' (off)" : `${kMaxPublishQueue} items wait for the broker`, dropped: this.publishStats.dropped
      })
      return
    }
    this.#publishQueue.push(msg)
    if (!this.#publishing) void this.#pumpPublish(this.#publishPush)
  }

  async #pumpPublish (push: zmq.Push): Promise<void> {
    this.#publishing = true
    try {
      while (this.#publishQueue.length > 0) {
        const queue = this.#publishQueue
        this.#publishQueue = []
        for (const msg of queue) {
          await sendNow(push, msg)
          this.publishStats.sent++
        }
      }
    } catch (err) {
      if (!this.#stopped) this.#log.error('publish send failed', { err })
    } finally {
      this.#publishing = false
    }
  }

  async stop (): Promise<void> {
    this.#stopped = true
    this.#pull.close()
    this.#holders?.stop()
    if (this.#pool !== null) await this.#pool.destroy()
    this.#pub.close()
    this.#publishPush?.close()
    if (this.publishStats.sent > 0 || this.publishStats.dropped > 0) this.#log.info('publish stats', { ...this.publishStats })
  }
}

function endsWith (frame: Buffer, tail: Buffer): boolean {
  const start = frame.length - tail.length
  if (start < 0) return false
  for (let i = tail.length - 1; i >= 0; i--) if (frame[start + i] !== tail[i]) return false
  return true
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
