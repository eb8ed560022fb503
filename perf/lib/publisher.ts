/**
 * The benchmark's publisher: one keep-alive HTTP/1.1 connection to a `POST /publish/`
 * endpoint, each publish written as one prebuilt request and its answer read with a minimal
 * parser (status line, Content-Length, body).
 *
 * Why not node:http's client: it ran cold in the bench process (a few publishes per server)
 * and took 3-12 ms of CPU per publish on this 2-core machine, inside the 20 ms window it was
 * measuring. A raw socket costs the harness a write and a read. A GRIP publisher keeps its
 * connection open the same way (a keep-alive agent), so the measured time starts at the
 * request's write, not at a TCP handshake.
 */
import { connect, type Socket } from 'node:net'

export interface Published {
  /** The shared clock (performance.timeOrigin + now(), ms) just before the request was written. */
  at: number
  status: number
  body: string
}

/** The clock held-client.ts stamps receipts with, shared by all processes (ms): publish times are on it too. */
export const clock = (): number => performance.timeOrigin + performance.now()
const kHeadEnd = Buffer.from('\r\n\r\n')

export class Publisher {
  readonly #host: string
  readonly #port: number
  readonly #path: string
  #socket: Socket | null = null
  #buf: Buffer = Buffer.alloc(0)
  /** The publish written and not yet answered (its clock), its answer once read, who waits for it. */
  #sentAt = Number.NaN
  #result: Published | Error | null = null
  #waiter: { resolve: (p: Published) => void, reject: (e: Error) => void } | null = null
  /** Reads land here (net's `onread`): with it, pause() stops reading at the socket (readStop), so a quiet publish does not wake this process. */
  readonly #readBuffer = Buffer.allocUnsafe(16_384)

  constructor (url: string) {
    const u = new URL(url)
    this.#host = u.hostname
    this.#port = Number(u.port)
    this.#path = u.pathname
  }

  get connected (): boolean { return this.#socket !== null && !this.#socket.destroyed }

  /** Opens the connection (again, if the server closed it) once it is up; false if it was open already. */
  async open (): Promise<boolean> {
    if (this.connected) return false
    // A socket given up (Connection: close) may report its close after the next one opened:
    // only the current one's events count.
    const s: Socket = connect({
      host: this.#host,
      port: this.#port,
      noDelay: true,
      onread: { buffer: this.#readBuffer, callback: (n: number, buf: Uint8Array): boolean => { if (this.#socket === s) this.#read(Buffer.from(buf.subarray(0, n))); return true } }
    })
    this.#socket = s
    this.#buf = Buffer.alloc(0)
    s.on('close', () => { if (this.#socket === s) this.#fail(new Error('publisher: the server closed the connection before answering')) })
    s.on('error', (err) => { if (this.#socket === s) this.#fail(err) })
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve)
      s.once('close', () => { reject(new Error(`publisher: could not connect to ${this.#host}:${this.#port}`)) })
    })
    return true
  }

  /**
   * Writes one publish of a Pushpin JSON body and returns the clock just before the write. With
   * `quiet`, nothing is read until answer(): the answer waits in the kernel instead of waking this
   * process while the subscribers are being served (on a 2-core machine the harness's own
   * wake-up competes with them; a real publisher runs elsewhere).
   */
  send (json: string, quiet = false): number {
    const s = this.#socket
    if (s === null || s.destroyed) throw new Error('publisher: not connected (call open() first)')
    if (!Number.isNaN(this.#sentAt)) throw new Error('publisher: one publish at a time')
    const body = Buffer.from(json)
    const request = Buffer.concat([Buffer.from(`POST ${this.#path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body])
    this.#result = null
    if (quiet) s.pause()
    this.#sentAt = clock()
    s.write(request)
    return this.#sentAt
  }

  /** The answer to the last send(); rejects after `timeoutMs` without one. */
  answer (timeoutMs = 30_000): Promise<Published> {
    const result = this.#result
    if (result !== null) {
      this.#result = null
      return result instanceof Error ? Promise.reject(result) : Promise.resolve(result)
    }
    if (Number.isNaN(this.#sentAt)) return Promise.reject(new Error('publisher: nothing was sent'))
    return new Promise<Published>((resolve, reject) => {
      const timer = setTimeout(() => { this.#fail(new Error(`publisher: no answer within ${timeoutMs} ms`)) }, timeoutMs)
      this.#waiter = {
        resolve: (p) => { clearTimeout(timer); resolve(p) },
        reject: (e) => { clearTimeout(timer); reject(e) }
      }
      this.#socket?.resume()
    })
  }

  /** send() and answer() at once. */
  async publish (json: string, timeoutMs = 30_000): Promise<Published> {
    this.send(json)
    return await this.answer(timeoutMs)
  }

  close (): void {
    this.#socket?.destroy()
    this.#socket = null
  }

  #read (chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    if (Number.isNaN(this.#sentAt)) return
    const end = this.#buf.indexOf(kHeadEnd)
    if (end < 0) return
    const head = this.#buf.toString('latin1', 0, end)
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? -1)
    if (length < 0) { this.#fail(new Error(`publisher: an answer without Content-Length: ${head.split('\r\n', 1)[0]}`)); return }
    if (this.#buf.length < end + 4 + length) return
    const body = this.#buf.toString('utf8', end + 4, end + 4 + length)
    this.#buf = this.#buf.subarray(end + 4 + length)
    // Pushpin answers every publish `Connection: close`: the next publish needs a new connection
    // (open() makes it), not a write racing the server's close.
    if (/\r\nconnection:\s*close/i.test(head) || head.startsWith('HTTP/1.0')) {
      this.#socket?.destroy()
      this.#socket = null
    }
    this.#settle({ at: this.#sentAt, status, body })
  }

  #fail (err: Error): void {
    this.#socket?.destroy()
    this.#socket = null
    if (!Number.isNaN(this.#sentAt)) this.#settle(err)
  }

  #settle (result: Published | Error): void {
    this.#sentAt = Number.NaN
    const w = this.#waiter
    this.#waiter = null
    if (w === null) this.#result = result
    else if (result instanceof Error) w.reject(result)
    else w.resolve(result)
  }
}
