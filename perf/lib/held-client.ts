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
 * With a marker (argv[8], perf/fanout.ts) every socket also watches its bytes for that
 * string (a published item): the first chunk holding it counts the socket `received` and
 * stamps the time on a clock shared by all processes (performance.timeOrigin + now(), ms).
 * In `get` mode the published item is the answer, so `answered` then counts it too.
 * A subscriber refused in that mode (an answer other than the expected head, or than a 200
 * in `get` mode: a 502/503 in a burst) is counted `refused` and opened again 0.25-1.25 s
 * later, so the run measures the fan-out to N and reports the refusals beside it.
 *
 * argv: port count step intervalMs path [mode] [marker]
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
  /** Sockets that got the marker (argv[8]); 0 without one. */
  received: number
  /** Shared-clock ms of the first and the last socket that got the marker; NaN before any. */
  firstAt: number
  lastAt: number
  /** Subscribers refused and opened again (marker mode only). */
  refused: number
  /** Connections held right now: open and answered as expected (`get`: open and not answered). */
  holding: number
}

const [port, count, step, intervalMs] = process.argv.slice(2, 6).map(Number) as [number, number, number, number]
const kPath = process.argv[6] ?? '/hold'
const kMode = (process.argv[7] ?? 'get') as HeldMode
// A fixed key: the server computes the accept value; the client never checks it.
const kUpgrade = 'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n'
const kRequest = Buffer.from(`GET ${kPath} HTTP/1.1\r\nHost: localhost\r\n${kMode === 'ws' ? kUpgrade : kMode === 'sse' ? 'Accept: text/event-stream\r\n' : ''}\r\n`, 'latin1')
const kExpected = kMode === 'ws' ? Buffer.from('HTTP/1.1 101') : kMode === 'sse' ? Buffer.from('HTTP/1.1 200') : null
const kMarker = process.argv[8] !== undefined && process.argv[8] !== '' ? Buffer.from(process.argv[8], 'latin1') : null
/** In marker mode, the answer of a subscriber taken (a long-poll's is the published item's 200). */
const kSubscribed = kExpected ?? Buffer.from('HTTP/1.1 200')
const kReportMs = 250
/** performance.now() is per process; with timeOrigin it is one clock for every process (ms). */
const now = (): number => performance.timeOrigin + performance.now()

/** Per-socket state, one integer on the socket itself (no WeakSet lookups on the hot path). */
interface HeldSocket extends Socket { swb: number }
/** The answer (or, for a long-poll, the published item) was seen: checked once. */
const S_ANSWERED = 1
/** Counted in `holding`. */
const S_HELD = 2
/** Got the marker. */
const S_MARKER = 4
/** Refused and replaced by a new socket: its close is not counted. */
const S_REPLACED = 8

const sockets: Socket[] = []
const progress: HeldProgress = {
  type: 'progress', started: 0, connected: 0, answered: 0, unexpected: 0, closed: 0, errors: 0, firstError: '', done: false,
  received: 0, firstAt: Number.NaN, lastAt: Number.NaN, refused: 0, holding: 0
}
function hold (s: HeldSocket): void {
  s.swb |= S_HELD
  progress.holding++
}
function release (s: HeldSocket): void {
  if ((s.swb & S_HELD) === 0) return
  s.swb &= ~S_HELD
  progress.holding--
}
/** Refused subscribers come back 250-1250 ms later: spread, not in a second burst. */
const kRetryMs = 250
let stopping = false
/**
 * Every socket reads into this one buffer (net's `onread`): reads allocate nothing, so 10,000
 * answers at once cost no garbage collection (with 'data' events each read was a new Buffer,
 * and the clients, which share the two cores with the server, spent more CPU than it did).
 */
const gReadBuffer = Buffer.allocUnsafe(65536)

function report (): void {
  if (process.connected) process.send?.(progress)
}

/** Does `buf[0, n)` start with `want` (as far as both go)? */
function startsWith (buf: Buffer, n: number, want: Buffer): boolean {
  const m = Math.min(n, want.length)
  for (let i = 0; i < m; i++) if (buf[i] !== want[i]) return false
  return true
}

/** The first line of `buf[0, n)`, for an error message. */
function firstLine (buf: Buffer, n: number): string {
  const cr = buf.subarray(0, n).indexOf(13)
  return buf.toString('latin1', 0, cr < 0 ? Math.min(n, 80) : cr).slice(0, 80)
}

// One set of callbacks shared by every socket (no per-socket closures): `this` is the socket.
function onConnect (this: HeldSocket): void {
  progress.connected++
  if (kMode === 'get') hold(this)
  this.write(kRequest)
  if (progress.connected === count) report()
}
function onRead (this: HeldSocket, n: number, buf: Buffer): void {
  if ((this.swb & S_ANSWERED) === 0) {
    // Count a connection once, however many reads its answer takes.
    this.swb |= S_ANSWERED
    // A head may arrive cut (a loaded machine): only the bytes there are compared.
    if (kMarker !== null && !startsWith(buf, n, kSubscribed)) {
      progress.refused++
      progress.connected--
      if (progress.firstError === '') progress.firstError = `refused (opened again): ${firstLine(buf, n)}`
      this.swb |= S_REPLACED
      release(this)
      this.destroy()
      setTimeout(openOne, kRetryMs + Math.random() * kRetryMs * 4)
      return
    }
    progress.answered++
    if (kExpected !== null && (n < kExpected.length || !startsWith(buf, n, kExpected))) {
      progress.unexpected++
      if (progress.firstError === '') progress.firstError = `unexpected answer: ${firstLine(buf, n)}`
    } else if (kMode !== 'get') {
      hold(this)
    }
    if (kMode === 'get') release(this)
  }
  if (kMarker === null || (this.swb & S_MARKER) !== 0 || buf.subarray(0, n).indexOf(kMarker) === -1) return
  const at = now()
  this.swb |= S_MARKER
  if (progress.received++ === 0) progress.firstAt = at
  progress.lastAt = at
  if (progress.received === count) report()
}
function onClose (this: HeldSocket): void {
  release(this)
  if (!stopping && (this.swb & S_REPLACED) === 0) progress.closed++
}
function onError (err: Error): void {
  progress.errors++
  if (progress.firstError === '') progress.firstError = err.message
}

function openOne (): void {
  if (stopping) return
  const s = connect({ host: '127.0.0.1', port, noDelay: true, onread: { buffer: gReadBuffer, callback: onRead as (n: number, buf: Uint8Array) => boolean } }) as HeldSocket
  s.swb = 0
  s.on('connect', onConnect)
  s.on('close', onClose)
  s.on('error', onError)
  sockets.push(s)
}

function openSome (): void {
  const end = Math.min(count, progress.started + step)
  while (progress.started < end) {
    openOne()
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
  // Exit once the last report is out: disconnecting with it still queued makes Node throw
  // (node:internal/child_process, channel already null) as the process ends.
  const exit = (): void => { process.exit(0) }
  if (process.connected) process.send?.(progress, exit); else setImmediate(exit)
  setTimeout(exit, 1000)
}

process.on('message', (msg: { type?: string }) => { if (msg.type === 'stop') stop() })
process.on('disconnect', stop)
process.on('SIGTERM', stop)
setInterval(report, kReportMs)
openSome()
