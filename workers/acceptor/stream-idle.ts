/**
 * Started streams (a response whose head went out and whose body is not complete): the
 * route's reply timeout no longer applies to them, so this is what ends one its handler
 * forgot. One ticker scans them all, as Mongrel2's reaper does with `limits.min_ping`:
 *
 *   no handler message (reply, or `X` ctl keep-alive) for `idleMs` → `onIdle(ex)` (cut, notice)
 *   nothing written for the route's `keepAliveMs`                  → `onKeepAlive(ex)` (bytes)
 *
 * A scan costs a few comparisons per stream; streams live long and are few next to the
 * requests, so a Set beats a timer each. Exchanges are pooled: the acceptor untracks one
 * when it releases it.
 */
import type { Exchange } from './exchange.js'

export class StreamIdle {
  readonly #streams = new Set<Exchange>()
  readonly #idleMs: number
  readonly #onIdle: (ex: Exchange) => void
  readonly #onKeepAlive: (ex: Exchange) => void
  readonly #timer: NodeJS.Timeout | null

  /**
   * `idleMs` 0 = never cut; `keepAliveMs` = the smallest route keep-alive interval (0 = none).
   * The scan runs at a quarter of the shorter one, between 50 ms and 1 s.
   */
  constructor (idleMs: number, keepAliveMs: number, onIdle: (ex: Exchange) => void, onKeepAlive: (ex: Exchange) => void) {
    this.#idleMs = idleMs
    this.#onIdle = onIdle
    this.#onKeepAlive = onKeepAlive
    const shortest = Math.min(idleMs > 0 ? idleMs : Infinity, keepAliveMs > 0 ? keepAliveMs : Infinity)
    if (shortest === Infinity) {
      this.#timer = null
    } else {
      this.#timer = setInterval(() => { this.tick(Date.now()) }, Math.min(1000, Math.max(50, Math.floor(shortest / 4))))
      this.#timer.unref()
    }
  }

  get size (): number { return this.#streams.size }

  /** A handler message reached a started stream: its idle clock restarts. */
  touch (ex: Exchange, now = Date.now()): void {
    ex.lastMessage = now
    ex.lastWrite = now
    // No idle cut and no keep-alive: nothing scans the set, so a stream costs no entry in it.
    if (this.#timer === null) return
    if (!ex.streaming) {
      ex.streaming = true
      this.#streams.add(ex)
    }
  }

  untrack (ex: Exchange): void {
    if (!ex.streaming) return
    ex.streaming = false
    this.#streams.delete(ex)
  }

  tick (now: number): void {
    const idleMs = this.#idleMs
    for (const ex of this.#streams) {
      if (ex.res === null || ex.complete) {
        this.untrack(ex)
      } else if (idleMs > 0 && now - ex.lastMessage >= idleMs) {
        this.untrack(ex)
        this.#onIdle(ex)
      } else {
        const every = ex.route?.keepAliveMs ?? 0
        if (every > 0 && now - ex.lastWrite >= every) {
          ex.lastWrite = now
          this.#onKeepAlive(ex)
        }
      }
    }
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
  }
}
