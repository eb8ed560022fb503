/**
 * Promise helpers around the `ws` package's client for WebSocket e2e tests: open (or be
 * refused), read the next message, wait for the close.
 */
import WebSocket from 'ws'

export interface Refusal { status: number, headers: Record<string, string | string[] | undefined>, body: string }
export interface Received { data: Buffer, binary: boolean }
export interface Closed { code: number, reason: string }

/** A client whose messages and close are recorded from the start (none is missed between awaits). */
export class Client {
  readonly ws: WebSocket
  readonly messages: Received[] = []
  readonly pongs: Buffer[] = []
  readonly pings: Buffer[] = []
  readonly closed: Promise<Closed>
  #waiters: Array<() => void> = []

  constructor (ws: WebSocket) {
    this.ws = ws
    const wake = (): void => { const w = this.#waiters; this.#waiters = []; for (const f of w) f() }
    ws.on('message', (data: Buffer, binary: boolean) => { this.messages.push({ data: Buffer.from(data), binary }); wake() })
    ws.on('pong', (data: Buffer) => { this.pongs.push(data); wake() })
    ws.on('ping', (data: Buffer) => { this.pings.push(data); wake() })
    this.closed = new Promise((resolve) => ws.on('close', (code, reason) => { resolve({ code, reason: reason.toString() }); wake() }))
  }

  /** Resolves once `check` holds (checked at every event), rejects after `ms`. */
  async until (check: () => boolean, ms = 5000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + ms
    while (!check()) {
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`ws client: no ${what} within ${ms} ms; got ${this.messages.length} messages: ${this.messages.map((m) => m.data.toString('latin1', 0, 80)).join(' | ')}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** The next `n` messages after the ones already taken. */
  #taken = 0
  async next (n = 1, ms = 5000): Promise<Received[]> {
    await this.until(() => this.messages.length >= this.#taken + n, ms, `${n} message(s)`)
    const out = this.messages.slice(this.#taken, this.#taken + n)
    this.#taken += n
    return out
  }

  async text (ms = 5000): Promise<string> {
    const [m] = await this.next(1, ms)
    return m!.data.toString()
  }
}

/** Opens a WebSocket; rejects with the refusal (status, headers, body) or the error. */
export function open (url: string, protocols?: string | string[], headers?: Record<string, string>): Promise<Client> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, protocols, { headers })
    const client = new Client(ws)
    ws.once('open', () => resolve(client))
    let refusing = false
    ws.once('unexpected-response', (_req, res) => {
      refusing = true
      let body = ''
      res.on('data', (d: Buffer) => { body += d.toString() })
      res.on('end', () => {
        reject(Object.assign(new Error(`refused: ${res.statusCode} ${body}`), { refusal: { status: res.statusCode ?? 0, headers: res.headers, body } }))
        res.destroy()
      })
    })
    ws.on('error', (err) => { if (!refusing) reject(err) })
  })
}

/** The refusal a rejected `open` carries. */
export async function refused (url: string, protocols?: string | string[]): Promise<Refusal> {
  try {
    const c = await open(url, protocols)
    c.ws.terminate()
  } catch (err) {
    const r = (err as { refusal?: Refusal }).refusal
    if (r !== undefined) return r
    throw err
  }
  throw new Error(`${url} was accepted`)
}
