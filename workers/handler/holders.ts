/**
 * Which pool worker holds which exchange, so a disconnect notice reaches the thread whose
 * code holds it (its ctx.signal aborts there and onDisconnect runs there, once), and which
 * worker is stuck.
 *
 * - A worker reports the exchanges it holds: in its task result (left held when the batch
 *   ended) or on its port (handlers still running after a turn of its event loop); it
 *   reports when one it reported ends (reply, close, limit). The map is bounded: past
 *   kMaxHeld the oldest entry is dropped (its worker told) and its notice goes to any worker.
 * - A notice for an exchange nobody reported while tasks are in flight may name a request
 *   still running: it waits until it is reported or those tasks have ended, then goes to
 *   its holder or, if none, into a batch (any worker).
 * - Every worker bumps a shared counter from an interval and before each handler call. A
 *   worker whose counter stands still for the limit is blocked (a handler that never
 *   returns): it is terminated, piscina fails its tasks (their requests get 500) and
 *   starts another.
 */
import type { MessagePort, Worker } from 'node:worker_threads'
import type { Logger } from '../../shared/log.js'
import type { HeldResult, HostOrder, WorkerHello, WorkerReport } from './task.js'

/** Entries in the registry before the oldest are dropped. */
const kMaxHeld = 100_000
/** Notices waiting for in-flight tasks, and early releases remembered, at most. */
const kMaxWaiting = 10_000

interface Link { thread: number; port: MessagePort; progress: Int32Array; seen: number; seenAt: number; killed: boolean }
interface Waiting { frame: Buffer; key: string; tag: number }

export interface HoldersHost {
  /** Reply frames a worker sent after its task returned. */
  send (frame: Buffer): void
  /** A worker's ctx.publish: an item in Pushpin's ZeroMQ encoding. */
  publish (msg: Buffer): void
  /** A notice no worker holds: run it in a batch, anywhere. */
  anywhere (frame: Buffer): void
  /** The pool's live Worker objects. */
  threads (): readonly Worker[]
}

export class Holders {
  readonly #host: HoldersHost
  readonly #log: Logger
  readonly #limitMs: number
  readonly #links = new Map<number, Link>()
  readonly #registry = new Map<string, Link>()
  /** Releases that overtook their registration (a port and the task result race). */
  readonly #early = new Set<string>()
  #waiting: Waiting[] = []
  #seq = 0
  readonly #inflight = new Set<number>()
  readonly #watch: NodeJS.Timeout

  constructor (host: HoldersHost, log: Logger, limitMs: number, beatMs: number) {
    this.#host = host
    this.#log = log
    this.#limitMs = limitMs
    this.#watch = setInterval(() => { this.#check() }, beatMs)
    this.#watch.unref()
  }

  /** piscina's `message` event: a worker's hello with its port. */
  hello (msg: unknown): void {
    if (typeof msg !== 'object' || msg === null || !('swbWorker' in msg)) return
    const { swbWorker: thread, port, progress } = msg as WorkerHello
    const link: Link = { thread, port, progress, seen: Atomics.load(progress, 0), seenAt: performance.now(), killed: false }
    this.#links.set(thread, link)
    port.on('message', (report: WorkerReport) => { this.#report(link, report) })
    port.on('close', () => { this.#gone(link) })
    port.unref()
  }

  /** A task is handed to the pool: returns its tag for taskDone. */
  taskStart (): number {
    const seq = ++this.#seq
    this.#inflight.add(seq)
    return seq
  }

  taskDone (seq: number, result: HeldResult | null): void {
    this.#inflight.delete(seq)
    if (result !== null) {
      const link = this.#links.get(result.thread)
      if (link !== undefined) for (const key of result.held) this.#hold(link, key)
    }
    if (this.#waiting.length > 0) this.#retry()
  }

  /** A disconnect notice (`key` = exchangeKey): false when it should run in a batch now. */
  notice (frame: Buffer, key: string): boolean {
    if (this.#route(frame, key)) return true
    if (this.#inflight.size === 0 || this.#waiting.length >= kMaxWaiting) return false
    this.#waiting.push({ frame, key, tag: this.#seq })
    return true
  }

  stop (): void {
    clearInterval(this.#watch)
    for (const link of this.#links.values()) link.port.close()
  }

  #route (frame: Buffer, key: string): boolean {
    const link = this.#registry.get(key)
    if (link === undefined) return false
    this.#registry.delete(key)
    this.#post(link, { disconnect: new Uint8Array(frame) })
    return true
  }

  #retry (): void {
    let oldest = Infinity
    for (const seq of this.#inflight) { oldest = seq; break }
    const still: Waiting[] = []
    for (const w of this.#waiting) {
      if (this.#route(w.frame, w.key)) continue
      if (w.tag < oldest) this.#host.anywhere(w.frame)
      else still.push(w)
    }
    this.#waiting = still
  }

  #report (link: Link, report: WorkerReport): void {
    if (report instanceof Uint8Array) {
      this.#host.send(Buffer.from(report.buffer, report.byteOffset, report.byteLength))
    } else if ('publish' in report) {
      this.#host.publish(Buffer.from(report.publish.buffer, report.publish.byteOffset, report.publish.byteLength))
    } else if ('hold' in report) {
      for (const key of report.hold) this.#hold(link, key)
      if (this.#waiting.length > 0) this.#retry()
    } else if (this.#registry.get(report.release) === link) {
      this.#registry.delete(report.release)
    } else if (!this.#registry.has(report.release)) {
      if (this.#early.size >= kMaxWaiting) this.#early.delete(this.#early.values().next().value!)
      this.#early.add(report.release)
    }
  }

  #hold (link: Link, key: string): void {
    if (this.#early.delete(key)) return
    this.#registry.set(key, link)
    if (this.#registry.size > kMaxHeld) {
      const [oldKey, oldLink] = this.#registry.entries().next().value!
      this.#registry.delete(oldKey)
      this.#post(oldLink, { forget: oldKey })
    }
  }

  #post (link: Link, order: HostOrder): void {
    try {
      link.port.postMessage(order)
    } catch {
      // The worker is gone; its exchanges went with it.
    }
  }

  /** The worker exited: its held exchanges are gone with it (their clients time out). */
  #gone (link: Link): void {
    if (this.#links.get(link.thread) === link) this.#links.delete(link.thread)
    for (const [key, l] of this.#registry) if (l === link) this.#registry.delete(key)
  }

  #check (): void {
    const now = performance.now()
    for (const link of this.#links.values()) {
      const seen = Atomics.load(link.progress, 0)
      if (seen !== link.seen) {
        link.seen = seen
        link.seenAt = now
      } else if (!link.killed && now - link.seenAt > this.#limitMs) {
        link.killed = true
        const worker = this.#host.threads().find((w) => w.threadId === link.thread)
        this.#log.error('worker blocked past the per-request limit; replaced', { thread: link.thread, limitMs: this.#limitMs })
        void worker?.terminate()
      }
    }
  }
}
