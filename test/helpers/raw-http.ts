/**
 * A raw TCP client for wire-level tests: writes exact bytes, collects what comes back,
 * and reports whether the server closed the connection.
 */
import { connect, type Socket } from 'node:net'

export interface RawResult { data: string; closed: boolean }

export class RawClient {
  readonly socket: Socket
  data = ''
  closed = false
  readonly ready: Promise<void>
  #listeners: Array<() => void> = []

  constructor (port: number) {
    this.socket = connect(port, '127.0.0.1')
    this.ready = new Promise((resolve, reject) => {
      this.socket.once('connect', () => resolve())
      this.socket.once('error', reject)
    })
    this.socket.on('data', (d) => { this.data += d.toString('latin1'); this.#notify() })
    this.socket.on('close', () => { this.closed = true; this.#notify() })
    this.socket.on('error', () => {})
  }

  #notify (): void { for (const l of this.#listeners) l() }

  async write (bytes: string | Buffer): Promise<void> {
    await this.ready
    this.socket.write(bytes)
  }

  /** Waits until `check(data)` holds or the socket closes or `ms` pass. */
  until (check: (data: string, closed: boolean) => boolean, ms = 5000): Promise<RawResult> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer)
        this.#listeners = this.#listeners.filter((l) => l !== listener)
        resolve({ data: this.data, closed: this.closed })
      }
      const listener = () => { if (check(this.data, this.closed) || this.closed) done() }
      const timer = setTimeout(done, ms)
      this.#listeners.push(listener)
      listener()
    })
  }

  destroy (): void { this.socket.destroy() }
}

/** Sends one raw request on a new connection and returns what came back within `ms`. */
export async function rawRequest (port: number, bytes: string, until: (data: string) => boolean, ms = 5000): Promise<RawResult> {
  const c = new RawClient(port)
  try {
    await c.write(bytes)
    return await c.until((d) => until(d), ms)
  } finally {
    c.destroy()
  }
}
