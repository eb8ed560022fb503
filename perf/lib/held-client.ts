/**
 * One client process of the held-connections benchmark (perf/held.ts forks a few, since
 * a process may hold at most 20,000 open files): opens `count` keep-alive connections to
 * 127.0.0.1:`port`, `step` every `intervalMs`, and sends `GET <path>` on each, which the
 * server is expected to hold and never answer.
 *
 * Talks to its parent over the IPC channel: it reports `HeldProgress` every 250 ms and
 * once all are open, and on `{ type: 'stop' }` (or when the parent goes away) it resets
 * every socket (RST, so no TIME_WAIT pile-up eats the ephemeral ports of the next run)
 * and exits.
 *
 * Modes (argv[7]): `get` (default) sends a plain GET the server must never answer; `sse`
 * expects a `200` head (an event stream kept open) and `ws` sends a WebSocket upgrade and
 * expects a `101`; an answer that starts otherwise counts as `unexpected`.
 *
 * argv: port count step intervalMs path [mode]
 */
import { connect } from 'node:net'
import type { Socket } from 'node:net'

export type HeldMode = 'get' | 'sse' | 'ws'

export interface HeldProgress {
  type: 'progress'
  /** connect() calls made. */
  started: number
  /** Connections established and request written. */
  connected: number
  /** Connections on which the server sent bytes (an answer: 503, 504… — must stay 0). */
  answered: number
  /** Answers (sse/ws modes) that did not start with the expected status line. */
  unexpected: number
  /** Connections the server (or the kernel) closed. */
  closed: number
  errors: number
  firstError: string
  /** All `count` connect() calls have been made. */
  done: boolean
}

const [port, count, step, intervalMs] = process.argv.slice(2, 6).map(Number) as [number, number, number, number]
const kPath = process.argv[6] ?? '/hold'
const kMode = (process.argv[7] ?? 'get') as HeldMode
// A fixed key: the server computes the accept value; the client never checks it.
const kUpgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
const kRequest = Buffer.from(`GET ${kPath} HTTP/1.1\r\nHost: localhost\r\n${kMode === 'ws' ? kUpgrade : kMode === 'sse' ? 'Accept: text/event-stream\r\n' : ''}\r\n`, 'latin1')
const kExpected = kMode === 'ws' ? Buffer.from('HTTP/1.1 101') : kMode === 'sse' ? Buffer.from('HTTP/1.1 200') : null
const kReportMs = 250

const sockets: Socket[] = []
const progress: HeldProgress = {
  type: 'progress', started: 0, connected: 0, answered: 0, unexpected: 0, closed: 0, errors: 0, firstError: '', done: false
}
let stopping = false

function report (): void {
  if (process.connected) process.send?.(progress)
}

// One listener set shared by every socket (no per-socket closures): `this` is the socket.
function onConnect (this: Socket): void {
  progress.connected++
  this.write(kRequest)
  if (progress.connected === count) report()
}
function onData (this: Socket, chunk: Buffer): void {
  // Count a connection once, however many chunks its answer takes.
  this.removeListener('data', onData)
  progress.answered++
  if (kExpected !== null && !chunk.subarray(0, kExpected.length).equals(kExpected)) {
    progress.unexpected++
    if (progress.firstError === '') progress.firstError = `unexpected answer: ${chunk.toString('latin1', 0, Math.max(0, chunk.indexOf(13))).slice(0, 80)}`
  }
  this.resume()
}
function onClose (): void {
  if (!stopping) progress.closed++
}
function onError (err: Error): void {
  progress.errors++
  if (progress.firstError === '') progress.firstError = err.message
}

function openSome (): void {
  const end = Math.min(count, progress.started + step)
  while (progress.started < end) {
    const s = connect({ host: '127.0.0.1', port, noDelay: true })
    s.on('connect', onConnect)
    s.on('data', onData)
    s.on('close', onClose)
    s.on('error', onError)
    sockets.push(s)
    progress.started++
  }
  if (progress.started < count) {
    setTimeout(openSome, intervalMs)
  } else {
    progress.done = true
    report()
  }
}

function stop (): void {
  if (stopping) return
  stopping = true
  for (const s of sockets) {
    if (s.destroyed) continue
    // RST when connected; a socket still connecting can only be destroyed.
    if (s.readyState === 'open') s.resetAndDestroy(); else s.destroy()
  }
  report()
  process.disconnect?.()
  setImmediate(() => process.exit(0))
}

process.on('message', (msg: { type?: string }) => { if (msg.type === 'stop') stop() })
process.on('disconnect', stop)
process.on('SIGTERM', stop)
setInterval(report, kReportMs)
openSome()
