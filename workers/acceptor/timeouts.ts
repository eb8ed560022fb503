/**
 * Reply deadlines without a timer per request. Exchanges that share a timeout value get
 * their deadlines in arrival order, so each distinct value keeps a FIFO list and one
 * ticker pops expired heads. An entry remembers the exchange id it was armed for:
 * exchanges are pooled, so a recycled object with a new id is skipped.
 *
 *   ms=30000: [ex7@t+30000, ex9@t+30002, ...]   ← head checked every tick
 *   ms=500:   [ex8@t+500, ...]
 */
import type { Exchange } from './exchange.js'

class DeadlineList {
  exchanges: Array<Exchange | undefined> = []
  ids: number[] = []
  deadlines: number[] = []
  head = 0

  push (ex: Exchange, deadline: number): void {
    this.exchanges.push(ex)
    this.ids.push(ex.id)
    this.deadlines.push(deadline)
  }

  compact (): void {
    if (this.head === this.exchanges.length) {
      this.exchanges.length = 0
      this.ids.length = 0
      this.deadlines.length = 0
      this.head = 0
    } else if (this.head > 4096 && this.head * 2 > this.exchanges.length) {
      this.exchanges = this.exchanges.slice(this.head)
      this.ids = this.ids.slice(this.head)
      this.deadlines = this.deadlines.slice(this.head)
      this.head = 0
    }
  }
}

export class Timeouts {
  readonly #lists = new Map<number, DeadlineList>()
  readonly #timer: NodeJS.Timeout
  readonly #expire: (ex: Exchange) => void

  /** `expire` is called for each exchange whose deadline passed and still holds its id. */
  constructor (expire: (ex: Exchange) => void, tickMs = 50) {
    this.#expire = expire
    this.#timer = setInterval(() => { this.tick(Date.now()) }, tickMs)
    this.#timer.unref()
  }

  arm (ex: Exchange, ms: number): void {
    let list = this.#lists.get(ms)
    if (list === undefined) {
      list = new DeadlineList()
      this.#lists.set(ms, list)
    }
    ex.deadline = Date.now() + ms
    list.push(ex, ex.deadline)
  }

  tick (now: number): void {
    for (const list of this.#lists.values()) {
      while (list.head < list.exchanges.length && list.deadlines[list.head]! <= now) {
        const ex = list.exchanges[list.head]!
        const id = list.ids[list.head]!
        list.exchanges[list.head] = undefined
        list.head++
        if (ex.id === id && ex.deadline <= now) this.#expire(ex)
      }
      list.compact()
    }
  }

  stop (): void {
    clearInterval(this.#timer)
  }
}
