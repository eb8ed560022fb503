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

const clock = (): number => performance.timeOrigin + performance.now()
const kHeadEnd = Buffer.from('\r\n\r\n')

export class Publisher {
  readonly #host: string
  readonly #port: number
  readonly #path: string
  #socket: Socket | null = null
  #buf: Buffer = Buffer.alloc(0)
  #waiting: { resolve: (p: Published) => void, reject: (e: Error) => void, at: number } | null = null

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
    const s = connect({ host: this.#host, port: this.#port, noDelay: true })
    this.#socket = s
    this.#buf = Buffer.alloc(0)
    // A socket given up (Connection: close) may report its close after the next one opened:
    // only the current one's events count.
    s.on('data', (chunk: Buffer) => { if (this.#socket === s) this.#read(chunk) })
    s.on('close', () => { if (this.#socket === s) this.#fail(new Error('publisher: the server closed the connection before answering')) })
    s.on('error', (err) => { if (this.#socket === s) this.#fail(err) })
    await new Promise<void>((resolve, reject) => {
      s.once('connect', resolve)
      s.once('close', () => { reject(new Error(`publisher: could not connect to ${this.#host}:${this.#port}`)) })
    })
    return true
  }

  /** Publishes a Pushpin JSON body; rejects after `timeoutMs` without an answer. */
  publish (json: string, timeoutMs = 30_000): Promise<Published> {
    const s = this.#socket
    if (s === null || s.destroyed) return Promise.reject(new Error('publisher: not connected (call open() first)'))
    if (this.#waiting !== null) return Promise.reject(new Error('publisher: one publish at a time'))
    const body = Buffer.from(json)
    const request = Buffer.concat([Buffer.from(`POST ${this.#path} HTTP/1.1\r\nHost: ${this.#host}:${this.#port}\r\n` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`, 'latin1'), body])
    return new Promise<Published>((resolve, reject) => {
      const timer = setTimeout(() => { this.#fail(new Error(`publisher: no answer within ${timeoutMs} ms`)) }, timeoutMs)
      const done = (f: () => void): void => { clearTimeout(timer); f() }
      this.#waiting = {
        resolve: (p) => { done(() => { resolve(p) }) },
        reject: (e) => { done(() => { reject(e) }) },
        at: clock()
      }
      s.write(request)
    })
  }

  close (): void {
    this.#socket?.destroy()
    this.#socket = null
  }

  #read (chunk: Buffer): void {
    this.#buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk])
    const w = this.#waiting
    if (w === null) return
    const end = this.#buf.indexOf(kHeadEnd)
    if (end < 0) return
    const head = this.#buf.toString('latin1', 0, end)
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0)
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? -1)
    if (length < 0) { this.#fail(new Error(`publisher: an answer without Content-Length: ${head.split('\r\n', 1)[0]}`)); return }
    if (this.#buf.length < end + 4 + length) return
    const body = this.#buf.toString('utf8', end + 4, end + 4 + length)
    this.#buf = this.#buf.subarray(end + 4 + length)
    this.#waiting = null
    // Pushpin answers every publish `Connection: close`: the next publish needs a new connection
    // (open() makes it), not a write racing the server's close.
    if (/\r\nconnection:\s*close/i.test(head) || head.startsWith('HTTP/1.0')) {
      this.#socket?.destroy()
      this.#socket = null
    }
    w.resolve({ at: w.at, status, body })
  }

  #fail (err: Error): void {
    const w = this.#waiting
    this.#waiting = null
    this.#socket?.destroy()
    this.#socket = null
    w?.reject(err)
  }
}
