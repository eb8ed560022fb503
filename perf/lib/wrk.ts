/**
 * Drives load with wrk (keep-alive HTTP/1.1, the client uWS.js serves; `ab` speaks 1.0)
 * and parses its `--latency` report. Latencies are normalised to milliseconds.
 */
import { spawn } from 'node:child_process'

export interface WrkResult {
  rps: number
  p50Ms: number
  p99Ms: number
  requests: number
  /** connect + read + write + timeout socket errors, plus non-2xx/3xx responses. */
  errors: number
  /** wrk's own CPU (user + system) over its run, in % of one core: it shares the machine. */
  wrkCpu: number
  raw: string
}

const kUnitMs: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

/** `569.00us` / `1.50ms` / `2.00s` → milliseconds; NaN if unparseable. */
export function parseDurationMs (text: string): number {
  const m = /^([\d.]+)(us|ms|s|m|h)$/.exec(text.trim())
  if (m === null) return Number.NaN
  return Number(m[1]) * (kUnitMs[m[2] as string] ?? Number.NaN)
}

/** Parses wrk 4.x output (run with `--latency`). Throws if the report is incomplete. */
export function parseWrk (raw: string): Omit<WrkResult, 'wrkCpu'> {
  const rps = /^Requests\/sec:\s+([\d.]+)/m.exec(raw)
  const p50 = /^\s+50%\s+(\S+)/m.exec(raw)
  const p99 = /^\s+99%\s+(\S+)/m.exec(raw)
  const total = /^\s+(\d+) requests in /m.exec(raw)
  if (rps === null || p50 === null || p99 === null || total === null) {
    throw new Error(`perf: cannot parse wrk output (was --latency given?):\n${raw}`)
  }
  let errors = 0
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(raw)
  if (sock !== null) errors += Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4])
  const non2xx = /Non-2xx or 3xx responses: (\d+)/.exec(raw)
  if (non2xx !== null) errors += Number(non2xx[1])
  return {
    rps: Number(rps[1]),
    p50Ms: parseDurationMs(p50[1] as string),
    p99Ms: parseDurationMs(p99[1] as string),
    requests: Number(total[1]),
    errors,
    raw
  }
}

export interface WrkOptions {
  url: string
  connections: number
  seconds: number
  /** Default 2, capped at `connections` (wrk refuses more threads than connections). */
  threads?: number
  /** Called right after wrk is spawned (take the "before" CPU sample of the contender here). */
  onStart?: () => void
  /** Called as soon as wrk has exited (take the "after" sample here). */
  onEnd?: () => void
}

/** `0m1.230000s` (sh `times`) → seconds. */
function parseTimes (text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text)
  return m === null ? Number.NaN : Number(m[1]) * 60 + Number(m[2])
}

/**
 * Runs `wrk -t<T> -c<N> -d<S>s --latency <url>` and parses the result. wrk runs under
 * `sh -c '…; times'` because its CPU can only be read once it has exited, and the shell's
 * `times` builtin reports exactly that: the user and system time of its finished children.
 */
export function runWrk (opts: WrkOptions): Promise<WrkResult> {
  const threads = Math.max(1, Math.min(opts.threads ?? 2, opts.connections))
  const args = [`-t${threads}`, `-c${opts.connections}`, `-d${opts.seconds}s`, '--latency',
    '--timeout', `${Math.max(2, opts.seconds)}s`, opts.url]
  return new Promise((resolveRun, reject) => {
    const child = spawn('sh', ['-c', 'wrk "$@"; rc=$?; times; exit $rc', 'sh', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    const t0 = performance.now()
    const out: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => out.push(c))
    child.once('error', reject)
    opts.onStart?.()
    child.once('exit', () => opts.onEnd?.())
    child.once('close', (code) => {
      const wall = (performance.now() - t0) / 1000
      const raw = Buffer.concat(out).toString('utf8')
      if (code !== 0) { reject(new Error(`perf: wrk ${args.join(' ')} exited ${code}:\n${raw}`)); return }
      // The last line of `times` is the children's "user system".
      const lines = raw.trimEnd().split('\n')
      const [user = '', sys = ''] = (lines[lines.length - 1] ?? '').trim().split(/\s+/)
      const wrkCpu = (parseTimes(user) + parseTimes(sys)) / wall * 100
      try {
        resolveRun({ ...parseWrk(lines.slice(0, -2).join('\n')), wrkCpu })
      } catch (err) { reject(err) }
    })
  })
}
