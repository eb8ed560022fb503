/**
 * `npm run soak [-- minutes]`: the real system, started as `npm start` starts it (the
 * Procfile's commands, the default configuration but for private ports and endpoints, the
 * demo app, handler hosts with their default 2 threads, one run directory for the demo's
 * waiters), under mixed load for N minutes (default 10):
 *
 *   keep-alive /echo loops ── every reply checked against its own request's token
 *   long-polls /wait ◀── answered by a /post loop; every message checked against those posted
 *   client aborts ── /echo and /wait requests cut after 0–50 ms
 *   handler restarts ── every SOAK_RESTART_S seconds the oldest host gets SIGTERM or SIGKILL
 *                        (alternately) and a new one starts
 *
 * Prints a row every SOAK_ROW_S seconds with the RSS of every process and the counts so
 * far, then a verdict: zero wrong replies, and flat memory (the broker's and the
 * acceptor's largest RSS in the second half no more than 20% above the first half's,
 * after the first row). Exit 0 when both hold. Lost replies (errors, 5xx) are counted and
 * shown, not judged: a killed handler loses what it held.
 */
import { Agent, request, type IncomingMessage } from 'node:http'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadConfig } from '../shared/config/index.js'
import { bindTargets, checkBinds } from '../shared/preflight.js'
import { kNodeArgs } from './contenders/node-proc.js'
import { parseArgs } from './lib/cli.js'
import { intEnv } from './lib/env.js'
import { freePort } from './lib/net.js'
import { killAllNow, makeTempDir, removeTempDir, sleep, spawnProc, stopAll, type Proc } from './lib/proc.js'
import { blankSwitchboardEnv, waitForLog } from './lib/switchboard.js'

const kUsage = `usage: npm run soak [-- minutes]     (default SOAK_MINUTES or 10; not part of npm test)
  SOAK_ECHO=8         keep-alive /echo loops, each on its own connection
  SOAK_WAITS=8        concurrent /wait long-polls
  SOAK_POST_MS=1000   ms between /post messages
  SOAK_ABORTS=5       aborted requests a second
  SOAK_RESTART_S=20   seconds between handler restarts (0: none)
  SOAK_ROW_S=30       seconds between table rows
Processes log to perf/out/logs/soak-*.log. Exit 0: no wrong reply and flat memory.
`
const args = parseArgs(kUsage, process.argv.slice(2), (a) => /^\d+(\.\d+)?$/.test(a))
const kMinutes = args.length > 0 ? Number(args[0]) : intEnv('SOAK_MINUTES', 10, 1)
const kEchoLoops = intEnv('SOAK_ECHO', 8, 1)
const kWaits = intEnv('SOAK_WAITS', 8, 0)
const kPostMs = intEnv('SOAK_POST_MS', 1000, 50)
const kAbortsPerS = intEnv('SOAK_ABORTS', 5, 0)
const kRestartS = intEnv('SOAK_RESTART_S', 20, 0)
const kRowS = intEnv('SOAK_ROW_S', 30, 1)
/** Longer than the route's 30 s reply timeout: the system answers before the client gives up. */
const kClientTimeoutMs = 35_000
const kHandlers = 2

interface Counts {
  echoOk: number, waitOk: number, posts: number, delivered: number,
  wrong: number, errors: number, aborted: number, restarts: number,
  status: Map<number, number>
}
const counts: Counts = { echoOk: 0, waitOk: 0, posts: 0, delivered: 0, wrong: 0, errors: 0, aborted: 0, restarts: 0, status: new Map() }
const wrongSamples: string[] = []
let running = true

function wrong (what: string): void {
  counts.wrong++
  if (wrongSamples.length < 10) wrongSamples.push(what)
}

function lost (status: number): void {
  if (!running) return   // cut by the soak's own stop
  counts.status.set(status, (counts.status.get(status) ?? 0) + 1)
}

interface Reply { status: number, body: string }

function send (url: string, method: string, body: string | null, agent: Agent | false,
  onRequest?: (cut: () => void) => void): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, {
      method, agent, timeout: kClientTimeoutMs,
      headers: body === null ? {} : { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(body) }
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }))
      res.on('error', reject)
    })
    req.on('timeout', () => req.destroy(new Error('client timeout')))
    req.on('error', reject)
    req.end(body ?? undefined)
    onRequest?.(() => req.destroy(new Error('aborted by the soak')))
  })
}

let gToken = 0
function token (): string { return `${process.pid}-${++gToken}-${Math.random().toString(36).slice(2, 10)}` }

/** One keep-alive connection: /echo with a unique token in the query and the body, checked. */
async function echoLoop (base: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  while (running) {
    const t = token()
    try {
      const r = await send(`${base}/echo?t=${t}`, 'POST', t, agent)
      if (r.status !== 200) { lost(r.status); continue }
      let echoed: { query?: unknown, body?: unknown }
      try { echoed = JSON.parse(r.body) as typeof echoed } catch { wrong(`echo ${t}: not JSON: ${r.body.slice(0, 80)}`); continue }
      if (echoed.query === `t=${t}` && echoed.body === t) counts.echoOk++
      else wrong(`echo ${t}: got query ${String(echoed.query)} body ${String(echoed.body)}`)
    } catch {
      if (running) counts.errors++
      await sleep(50)
    }
  }
  agent.destroy()
}

const posted = new Set<string>()

/** A long-poll: answered by a /post with a message this soak posted (or 204/504 by time). */
async function waitLoop (base: string): Promise<void> {
  while (running) {
    try {
      const r = await send(`${base}/wait`, 'GET', null, false)
      if (r.status === 200) {
        let message: unknown
        try { message = (JSON.parse(r.body) as { message?: unknown }).message } catch {}
        if (typeof message === 'string' && posted.has(message)) counts.waitOk++
        else wrong(`wait: got ${r.body.slice(0, 80)}`)
      } else if (r.status !== 204) {
        lost(r.status)
      }
    } catch {
      if (running) counts.errors++
      await sleep(50)
    }
  }
}

async function postLoop (base: string): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 })
  while (running) {
    await sleep(kPostMs)
    const m = `m-${token()}`
    posted.add(m)
    try {
      const r = await send(`${base}/post`, 'POST', m, agent)
      if (r.status !== 200) { lost(r.status); continue }
      const d = (JSON.parse(r.body) as { delivered?: unknown }).delivered
      if (typeof d !== 'number') wrong(`post: got ${r.body.slice(0, 80)}`)
      else { counts.posts++; counts.delivered += d }
    } catch {
      if (running) counts.errors++
    }
  }
  agent.destroy()
}

/** Requests cut by the client after 0–50 ms, on fresh connections, half /echo, half /wait. */
async function abortLoop (base: string): Promise<void> {
  if (kAbortsPerS === 0) return
  let n = 0
  while (running) {
    await sleep(1000 / kAbortsPerS)
    const path = n++ % 2 === 0 ? `/echo?t=${token()}` : '/wait'
    send(base + path, 'GET', null, false, (cut) => { setTimeout(cut, Math.random() * 50) })
      .then(() => {}, () => {})
      .finally(() => { counts.aborted++ })
  }
}

// ---- processes ---------------------------------------------------------------

interface System { broker: Proc, acceptor: Proc, handlers: Proc[], env: Record<string, string>, url: string, dir: string }

let gHandlerSeq = 0

async function startHandler (sys: System): Promise<Proc> {
  const p = spawnProc(`soak-handler${++gHandlerSeq}`, process.execPath, [...kNodeArgs, 'workers/handler/main.ts'], sys.env)
  await waitForLog(p, `handler ${p.name} ready`, (log) => log.includes('handler ready'), [p])
  return p
}

async function start (): Promise<System> {
  const dir = makeTempDir('swb-soak-')
  const ipc = (name: string): string => `ipc://${join(dir, name)}`
  const port = await freePort()
  // The defaults but for private addresses: the soak must not collide with tests or npm start.
  const config = {
    acceptor: { port },
    broker: { status: ipc('status'), publishOut: ipc('publish-out'), publishPull: ipc('publish-pull'), publishHttp: '' },
    services: { demo: { sendSpec: ipc('send'), recvSpec: ipc('recv'), requests: ipc('requests'), replies: ipc('replies') } }
  }
  const configFile = join(dir, 'switchboard.json')
  writeFileSync(configFile, JSON.stringify(config, null, 2))
  const env = { ...blankSwitchboardEnv(), SWITCHBOARD_CONFIG: configFile, SWITCHBOARD_DEMO_DIR: join(dir, 'demo') }
  // npm start's preflight: the same loader, the same bind checks.
  const problems = await checkBinds(bindTargets(await loadConfig({ env, argv: [] }), { broker: true, acceptor: true }))
  if (problems.length > 0) throw new Error(`soak: cannot bind:\n  ${problems.join('\n  ')}`)

  const node = (name: string, file: string, extra: Record<string, string> = {}): Proc =>
    spawnProc(name, process.execPath, [...kNodeArgs, file], { ...env, ...extra })
  const broker = node('soak-broker', 'broker/main.ts', { UV_THREADPOOL_SIZE: '16' })   // as the Procfile
  await waitForLog(broker, 'broker ready', (log) => log.includes('broker: ready'), [broker])
  const sys: System = { broker, acceptor: broker, handlers: [], env, url: `http://127.0.0.1:${port}`, dir }
  for (let i = 0; i < kHandlers; i++) sys.handlers.push(await startHandler(sys))
  sys.acceptor = node('soak-acceptor', 'workers/acceptor/main.ts')
  await waitForLog(sys.acceptor, 'acceptor listening', (log) => log.includes('listening url='), [sys.acceptor])
  for (let i = 0; ; i++) {
    const r = await send(`${sys.url}/hello`, 'GET', null, false).catch(() => null)
    if (r?.status === 200) break
    if (i > 100) throw new Error(`soak: ${sys.url}/hello does not answer 200`)
    await sleep(100)
  }
  return sys
}

/** The oldest handler host goes (SIGTERM and SIGKILL in turn); a new one takes its place. */
async function restartLoop (sys: System): Promise<void> {
  if (kRestartS === 0) return
  let kill = false
  while (running) {
    await sleep(kRestartS * 1000)
    if (!running) break
    const old = sys.handlers.shift()!
    try { process.kill(old.pid, kill ? 'SIGKILL' : 'SIGTERM') } catch {}
    kill = !kill
    await old.exited
    sys.handlers.push(await startHandler(sys))
    counts.restarts++
  }
}

// ---- the table -----------------------------------------------------------------

function rssMb (pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
    return m === null ? NaN : Number(m[1]) / 1024
  } catch {
    return NaN
  }
}

interface Row { t: number, broker: number, acceptor: number, handlers: number[], cells: string[] }
const rows: Row[] = []
const kHeader = ['t', 'broker MB', 'acceptor MB', 'handler A MB', 'handler B MB', 'soak MB', 'echo ok', 'wait ok', 'posts', 'delivered',
  'aborted', 'restarts', 'lost', 'errors', 'wrong']

function lostText (): string {
  const parts = [...counts.status.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}:${n}`)
  return parts.length === 0 ? '0' : parts.join(' ')
}

function row (sys: System, startedAt: number): Row {
  const t = Math.round((Date.now() - startedAt) / 1000)
  const broker = rssMb(sys.broker.pid)
  const acceptor = rssMb(sys.acceptor.pid)
  const handlers = sys.handlers.map((h) => rssMb(h.pid))
  const mb = (x: number | undefined): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(1))
  const cells = [`${t}s`, mb(broker), mb(acceptor), mb(handlers[0]), mb(handlers[1]), mb(process.memoryUsage.rss() / 1048576),
    String(counts.echoOk), String(counts.waitOk), String(counts.posts), String(counts.delivered), String(counts.aborted),
    String(counts.restarts), lostText(), String(counts.errors), String(counts.wrong)]
  return { t, broker, acceptor, handlers, cells }
}

function printRow (cells: string[]): void {
  process.stdout.write(`| ${cells.join(' | ')} |\n`)
}

/** Flat: the largest RSS of the second half at most 20% above the first half's (first row left out: warm-up). */
function flat (values: number[]): { ok: boolean, text: string } {
  const xs = values.slice(1).filter((x) => !Number.isNaN(x))
  if (xs.length < 2) return { ok: true, text: 'too few rows to judge' }
  const half = Math.floor(xs.length / 2)
  const first = Math.max(...xs.slice(0, half))
  const second = Math.max(...xs.slice(half))
  return { ok: second <= first * 1.2, text: `max ${first.toFixed(1)} MB then ${second.toFixed(1)} MB (${((second / first - 1) * 100).toFixed(1)}%)` }
}

async function main (): Promise<number> {
  process.stderr.write(`soak: ${kMinutes} min, ${kEchoLoops} echo loops, ${kWaits} waits, a post every ${kPostMs} ms, ` +
    `${kAbortsPerS} aborts/s, a handler restart every ${kRestartS} s\n`)
  const sys = await start()
  process.stderr.write(`soak: system up at ${sys.url} (logs in perf/out/logs/soak-*.log)\n`)
  const startedAt = Date.now()
  const loops: Array<Promise<void>> = []
  for (let i = 0; i < kEchoLoops; i++) loops.push(echoLoop(sys.url))
  for (let i = 0; i < kWaits; i++) loops.push(waitLoop(sys.url))
  loops.push(postLoop(sys.url), abortLoop(sys.url))
  const restarts = restartLoop(sys)

  process.stdout.write(`\n| ${kHeader.join(' | ')} |\n|${kHeader.map(() => ' ---: ').join('|')}|\n`)
  const endAt = startedAt + kMinutes * 60_000
  while (Date.now() < endAt) {
    await sleep(Math.min(kRowS * 1000, endAt - Date.now()))
    const r = row(sys, startedAt)
    rows.push(r)
    printRow(r.cells)
  }
  running = false
  // Let the loops see `running` (a held /wait ends with the next post or its timeout; don't wait for it).
  await Promise.race([Promise.all(loops), sleep(5000)])
  await restarts.catch(() => {})
  await stopAll()
  removeTempDir(sys.dir)

  const b = flat(rows.map((r) => r.broker))
  const a = flat(rows.map((r) => r.acceptor))
  process.stdout.write(`\nwrong replies: ${counts.wrong}${counts.wrong === 0 ? ' (OK)' : ' (FAIL)'}\n`)
  for (const w of wrongSamples) process.stdout.write(`  ${w}\n`)
  process.stdout.write(`lost replies by status: ${lostText()}; client errors (socket closed, timeouts): ${counts.errors}\n`)
  process.stdout.write(`waits answered with a posted message: ${counts.waitOk}; delivered counted by /post: ${counts.delivered}\n`)
  process.stdout.write(`broker RSS: ${b.text}${b.ok ? ' (flat)' : ' (GREW)'}\nacceptor RSS: ${a.text}${a.ok ? ' (flat)' : ' (GREW)'}\n`)
  return counts.wrong === 0 && a.ok && b.ok ? 0 : 1
}

process.on('exit', killAllNow)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    running = false
    void stopAll().finally(() => process.exit(130))
  })
}

main().then((code) => { process.exitCode = code }, async (err: Error) => {
  process.stderr.write(`${err.message}\n`)
  running = false
  await stopAll()
  process.exitCode = 1
})
