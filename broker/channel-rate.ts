/**
 * `broker.publishRate`: a token bucket per channel (`rate` items a second, a burst of one
 * second's worth). Buckets of channels quiet for a second are full again and forgotten, so
 * memory follows the channels published to within the last second, and at most kMaxChannels.
 */
const kMaxChannels = 100_000

interface Bucket { tokens: number, at: number }

export class ChannelRate {
  readonly #rate: number
  readonly #now: () => number
  #buckets = new Map<string, Bucket>()
  #swept = 0

  constructor (rate: number, now: () => number = () => performance.now()) {
    this.#rate = rate
    this.#now = now
  }

  /** Whether one more item on `channel` may pass now (always, when the rate is 0). */
  allow (channel: string): boolean {
    if (this.#rate === 0) return true
    const now = this.#now()
    if (now - this.#swept >= 1000 || this.#buckets.size >= kMaxChannels) this.#sweep(now)
    let b = this.#buckets.get(channel)
    if (b === undefined) {
      b = { tokens: this.#rate, at: now }
      this.#buckets.set(channel, b)
    } else {
      b.tokens = Math.min(this.#rate, b.tokens + (now - b.at) * this.#rate / 1000)
      b.at = now
    }
    if (b.tokens < 1) return false
    b.tokens--
    return true
  }

  /** Drops buckets idle for a second (full again); past the bound, all of them. */
  #sweep (now: number): void {
    this.#swept = now
    if (this.#buckets.size >= kMaxChannels) {
      this.#buckets = new Map()
      return
    }
    for (const [channel, b] of this.#buckets) if (now - b.at >= 1000) this.#buckets.delete(channel)
  }
}
