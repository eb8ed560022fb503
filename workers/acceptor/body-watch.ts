/**
 * Stalled request bodies. uWS.js waits for a body as long as the client keeps the socket
 * (then its ~10 s idle timer closes it without a word); the acceptor answers 408 first.
 * The few exchanges reading a body sit in one set that a ticker scans: progress is seen
 * as a change of `bodyLength`, so the data path pays nothing, and a body is cut
 * `ms` (plus at most one tick) after its last byte.
 */
import type { Exchange } from './exchange.js'
import { St } from './exchange-fsm.js'

export class BodyWatch {
  readonly ms: number
  readonly #reading = new Set<Exchange>()
  readonly #stalled: (ex: Exchange) => void
  readonly #timer: NodeJS.Timeout

  /** `stalled` is called once for an exchange still receiving that sent no byte for `ms`. */
  constructor (ms: number, stalled: (ex: Exchange) => void, tickMs = Math.min(250, Math.max(10, ms >> 2))) {
    this.ms = ms
    this.#stalled = stalled
    this.#timer = setInterval(() => { this.tick(Date.now()) }, tickMs)
    this.#timer.unref()
  }

  watch (ex: Exchange): void {
    ex.bodySeen = ex.bodyLength
    ex.bodySince = Date.now()
    this.#reading.add(ex)
  }

  tick (now: number): void {
    for (const ex of this.#reading) {
      // Pooled objects: one that left Receiving (maybe for a new request) is dropped here.
      if (ex.state !== St.Receiving || ex.res === null) {
        this.#reading.delete(ex)
      } else if (ex.bodyLength !== ex.bodySeen) {
        ex.bodySeen = ex.bodyLength
        ex.bodySince = now
      } else if (now - ex.bodySince >= this.ms) {
        this.#reading.delete(ex)
        this.#stalled(ex)
      }
    }
  }

  stop (): void {
    clearInterval(this.#timer)
  }
}
