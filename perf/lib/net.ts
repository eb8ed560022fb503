/**
 * Ports and the correctness gate: nothing is timed until it answers `200` with exactly
 * the 12 bytes `Hello World\n`.
 */
import { request } from 'node:http'
import { connect, createServer } from 'node:net'
import type { Proc } from './proc.js'
import { sleep } from './proc.js'

/** The body every contender must answer, byte for byte. */
export const kHelloBody = Buffer.from('Hello World\n')

/** A TCP port free on 127.0.0.1 right now (bound to port 0, read back, released). */
export function freePort (): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer()
    srv.unref()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address()
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0
      srv.close(() => { port > 0 ? resolvePort(port) : reject(new Error('perf: freePort got no port')) })
    })
  })
}

export interface HelloResult { status: number; body: Buffer }

/** One GET on a fresh connection (HTTP/1.1 with Host: uWS.js answers nothing else). */
export function getOnce (url: string, timeoutMs = 2000): Promise<HelloResult> {
  return new Promise((resolveGet, reject) => {
    const req = request(url, { method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolveGet({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end()
  })
}

/**
 * Polls `url` until it answers 200 with exactly `Hello World\n`; rejects after `timeoutMs`
 * with the last problem seen, or at once when one of `watch` exits (its log tail included).
 * A wrong answer is retried too, then reported: a contender must be right before it is timed.
 */
export async function waitForHello (url: string, timeoutMs: number, watch: readonly Proc[] = []): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last = 'no attempt'
  for (;;) {
    for (const p of watch) {
      if (p.exit !== null) throw new Error(`perf: ${p.name} (pid ${p.pid}) exited (${p.exit}) before answering ${url}\n${p.logTail()}`)
    }
    try {
      const { status, body } = await getOnce(url)
      if (status === 200 && body.equals(kHelloBody)) return
      last = `got status ${status} body ${JSON.stringify(body.toString('latin1').slice(0, 80))}`
    } catch (err) {
      last = (err as Error).message
    }
    if (Date.now() > deadline) throw new Error(`perf: ${url} did not answer 200 "Hello World\\n" within ${timeoutMs} ms: ${last}`)
    await sleep(100)
  }
}

/** Resolves once 127.0.0.1:`port` accepts a TCP connection. */
export async function waitForPort (port: number, watch: readonly Proc[]): Promise<void> {
  const deadline = Date.now() + 20_000
  for (;;) {
    for (const p of watch) {
      if (p.exit !== null) throw new Error(`perf: ${p.name} (pid ${p.pid}) exited (${p.exit})\n${p.logTail()}`)
    }
    const ok = await new Promise<boolean>((resolveTry) => {
      const s = connect({ host: '127.0.0.1', port })
      s.once('connect', () => { s.destroy(); resolveTry(true) })
      s.once('error', () => { resolveTry(false) })
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`perf: nothing listens on 127.0.0.1:${port} after 20 s`)
    await sleep(100)
  }
}
