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

export interface ParsedResponse {
  status: number
  /** Lower-case names; repeats joined with ', '. */
  headers: Record<string, string>
  body: string
  /** Bytes after the end of this response. */
  rest: string
}

/**
 * Strictly parses one HTTP/1.1 response from raw bytes (latin1 text), decoding
 * Content-Length and chunked bodies; null while incomplete. Throws on bad framing, so a
 * test sees a corrupt stream as an error, not as a short body.
 */
export function parseResponse (data: string): ParsedResponse | null {
  const headEnd = data.indexOf('\r\n\r\n')
  if (headEnd < 0) return null
  const lines = data.slice(0, headEnd).split('\r\n')
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0]!)
  if (!m) throw new Error(`bad status line ${JSON.stringify(lines[0])}`)
  const headers: Record<string, string> = {}
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    if (colon <= 0) throw new Error(`bad header line ${JSON.stringify(line)}`)
    const name = line.slice(0, colon).toLowerCase()
    const value = line.slice(colon + 1).trim()
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value
  }
  let p = headEnd + 4
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') {
    let body = ''
    for (;;) {
      const eol = data.indexOf('\r\n', p)
      if (eol < 0) return null
      const sizeText = data.slice(p, eol)
      if (!/^[0-9a-fA-F]+$/.test(sizeText)) throw new Error(`bad chunk size ${JSON.stringify(sizeText.slice(0, 40))} at ${p}`)
      const size = parseInt(sizeText, 16)
      const start = eol + 2
      if (data.length < start + size + 2) return null
      if (data.slice(start + size, start + size + 2) !== '\r\n') {
        throw new Error(`chunk at ${p} not followed by CRLF: ${JSON.stringify(data.slice(start + size, start + size + 40))}`)
      }
      p = start + size + 2
      if (size === 0) return { status: Number(m[1]), headers, body, rest: data.slice(p) }
      body += data.slice(start, start + size)
    }
  }
  const length = Number(headers['content-length'] ?? 0)
  if (data.length < p + length) return null
  return { status: Number(m[1]), headers, body: data.slice(p, p + length), rest: data.slice(p + length) }
}

/**
 * Decodes a chunked body that may still be arriving: the data of every chunk whose data
 * has arrived, and whether the last (zero) chunk was seen.
 */
export function dechunk (body: Buffer): { data: Buffer, complete: boolean } {
  const out: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = body.indexOf('\r\n', at)
    if (eol < 0) break
    const size = parseInt(body.toString('latin1', at, eol), 16)
    if (size === 0) return { data: Buffer.concat(out), complete: body.length >= eol + 4 }
    // uWS.js writes a chunk's closing CRLF just before the next chunk: data alone counts.
    if (body.length < eol + 2 + size) break
    out.push(body.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
  return { data: Buffer.concat(out), complete: false }
}
