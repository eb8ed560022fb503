/**
 * The wire SENDERs of one acceptor run. A configured UUID stays the same across restarts
 * and ids start again at 1, so the UUID alone could let a late reply meant for the last
 * run's id 1 reach this run's id 1. Each run therefore sends `UUID-TAG` (TAG: 8 random hex
 * digits; the reply grammar allows only [A-Za-z0-9-]), subscribes to exactly that (with
 * the trailing space: ZeroMQ SUB matches prefixes), and takes a new tag when ids wrap at
 * 2^32, keeping the old subscription until no exchange is addressed to it.
 *
 *   run 1: acc-1-3f9a2c1b  ids 1…2^32-1 ─wrap─▶ acc-1-77d0e415  ids 1…
 *   run 2: acc-1-c0ffee42  (a late reply to acc-1-3f9a2c1b reaches nobody)
 */
import { randomBytes } from 'node:crypto'

export class Sender {
  readonly name: string
  readonly wire: Buffer
  /** Exchanges sent under this sender and not yet released. */
  live = 0

  constructor (name: string) {
    this.name = name
    this.wire = Buffer.from(name, 'latin1')
  }
}

export type Subscribe = (sender: string, on: boolean) => void

export class Senders {
  readonly uuid: string
  current: Sender
  /** Earlier senders of this run that exchanges still use. */
  readonly #old: Sender[] = []
  readonly #subscribe: Subscribe

  constructor (uuid: string, subscribe: Subscribe) {
    this.uuid = uuid
    this.#subscribe = subscribe
    this.current = new Sender(this.#fresh())
    subscribe(this.current.name, true)
  }

  /** A new tag for the ids that follow (after a wrap); the old sender lives on while used. */
  renew (): Sender {
    const old = this.current
    this.current = new Sender(this.#fresh())
    this.#subscribe(this.current.name, true)
    if (old.live > 0) this.#old.push(old)
    else this.#subscribe(old.name, false)
    return this.current
  }

  /** The sender of this run whose bytes are `bytes`, or null (a reply to someone else). */
  find (bytes: Buffer): Sender | null {
    if (bytes.equals(this.current.wire)) return this.current
    for (let i = 0; i < this.#old.length; i++) if (bytes.equals(this.#old[i]!.wire)) return this.#old[i]!
    return null
  }

  /** An exchange sent under `sender` ended: drop an old sender's subscription with its last one. */
  release (sender: Sender): void {
    if (--sender.live > 0 || sender === this.current) return
    const i = this.#old.indexOf(sender)
    if (i < 0) return
    this.#old.splice(i, 1)
    this.#subscribe(sender.name, false)
  }

  /** Senders in use: the current one first. */
  get all (): Sender[] { return [this.current, ...this.#old] }

  #fresh (): string {
    let name: string
    do name = `${this.uuid}-${randomBytes(4).toString('hex')}`
    while (name === this.current?.name || this.#old.some((s) => s.name === name))
    return name
  }
}
