/**
 * `npm run bench:held`: memory per held long-poll. For Switchboard (broker + acceptor +
 * a handler host whose app, perf/apps/hold.ts, never answers) and for Mongrel2 (with
 * perf/handlers/m2-hello.ts in HOLD=1 mode), it measures the front end's RSS (VmRSS from
 * /proc/<pid>/status) before and after N clients each leave a `GET /hold` pending, and
 * prints KiB per held connection with the machine it ran on.
 *
 * The clients run in child processes (perf/lib/held-client.ts, at most HELD_PER_CLIENT
 * sockets each: a process may hold 20,000 open files here) and open their sockets
 * gradually. The count is taken once the handler has seen all N requests (so each one
 * crossed the whole front end), or, failing that, once the RSS is stable. Both readings
 * wait until the RSS is flat (settle()); the acceptor runs without V8's memory reducer
 * (kAcceptorNodeArgs), whose idle-time page release would otherwise land at random.
 *
 * Knobs (env): HELD_N connections per server (10000), HELD_PER_CLIENT sockets per client
 * process (5000), HELD_RATE connections opened per 50 ms in all (500), HELD_ONLY
 * (`switchboard,mongrel2`), HELD_SETTLE seconds of sampling at least per RSS reading (5),
 * HELD_SAMPLES samples in a settled reading (5, 500 ms apart), HELD_M2_MAX_FD,
 * HELD_ACCEPTOR_ARGS node options of the acceptor (`--no-memory-reducer`).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { join } from 'node:path'
import { startMongrel2 } from './contenders/mongrel2.js'
import type { Client } from './lib/held-clients.js'
import { firstError, runHeldBench, startClients, stopClients, total } from './lib/held-clients.js'
import { formatMachine, machineInfo } from './lib/machine.js'
import type { Proc } from './lib/proc.js'
import { kOutDir, makeTempDir, removeTempDir, sleep, stopAll } from './lib/proc.js'
import { formatMarkdown, formatText } from './lib/report.js'
import { rssKiB, sampleRss, settle as settleRss } from './lib/rss.js'
import { median } from './lib/stats.js'
import { startSwitchboard } from './lib/switchboard.js'
import { intEnv } from './lib/env.js'
import { waitForPort } from './lib/net.js'

const kN = intEnv('HELD_N', 10_000, 1)
const kPerClient = intEnv('HELD_PER_CLIENT', 5000, 1)
const kRate = intEnv('HELD_RATE', 500, 1)
const kSamples = intEnv('HELD_SAMPLES', 5, 1)
const kSettleMs = intEnv('HELD_SETTLE', 5, 0) * 1000
const kStepMs = 50
const kSampleGapMs = 500
/** Settled = the last kStableN samples (5 s) within 1%. */
const kStableN = Math.max(10, kSamples)
/** How long the handler gets to see all N before the RSS-stable fallback decides. */
const kSeeAllMs = 60_000 + kN / kRate * kStepMs * 4
/**
 * Mongrel2's superpoll.max_fd: room for N connections + a margin, under the 20,000 open
 * files. HELD_M2_MAX_FD overrides; 0 leaves Mongrel2's default.
 */
const kM2MaxFd = intEnv('HELD_M2_MAX_FD', Math.min(19_000, Math.max(16_384, kN + 1024)), 0)
/**
 * V8's memory reducer gives pages back some seconds after the process goes idle, or
 * later, or not at all: the idle acceptor drops ~10 MiB at a random moment, as much as
 * 10,000 held connections take. Off, the RSS only grows and both readings are stable
 * (an upper bound of what the acceptor keeps). HELD_ACCEPTOR_ARGS='' measures it as run.
 */
const kAcceptorNodeArgs = (process.env.HELD_ACCEPTOR_ARGS ?? '--no-memory-reducer').split(' ').filter((a) => a !== '')
/** Exceeds any measurement: nothing may time out while held. */
const kHoldTimeoutMs = 600_000

const settle = async (server: HeldServer, what: string): Promise<number[]> =>
  await settleRss(server.pid, what, { settleMs: kSettleMs, stableN: kStableN, gapMs: kSampleGapMs })

function progressLine (line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
}

// ---------------------------------------------------------------- servers

interface HeldServer {
  /** The front-end process whose RSS is measured. */
  pid: number
  port: number
  stop(): Promise<void>
}

interface Target {
  name: string
  /** Label of the measured process. */
  process: string
  /** Starts the server with a handler that counts requests into `countFile` and answers none. */
  start(countFile: string): Promise<HeldServer>
}

const switchboard: Target = {
  name: 'switchboard',
  process: 'acceptor',
  async start (countFile) {
    const sb = await startSwitchboard({
      name: 'held-sb',
      // Inline (threads: 0): one counter sees every request.
      handler: { kind: 'host', app: 'perf/apps/hold.ts', count: 1, threads: 0 },
      batch: true,
      timeoutMs: kHoldTimeoutMs,
      // Opening thousands of connections at once must never meet a full send queue (503).
      acceptor: { sendQueue: Math.max(10_000, kN * 2) },
      handlerEnv: { HOLD_COUNT_FILE: countFile },
      acceptorNodeArgs: kAcceptorNodeArgs,
      check: 'none'
    })
    return { pid: sb.pids.acceptor as number, port: sb.port, stop: sb.stop }
  }
}

const mongrel2: Target = {
  name: 'mongrel2',
  process: 'mongrel2',
  async start (countFile) {
    const m2 = await startMongrel2({
      prefix: 'held-',
      settings: kM2MaxFd > 0 ? { 'superpoll.max_fd': kM2MaxFd } : {},
      handlerEnv: { HOLD: '1', HOLD_COUNT_FILE: countFile }
    })
    try {
      await waitForPort(m2.port, m2.procs)
    } catch (err) {
      await m2.stop()
      throw err
    }
    return { pid: m2.server.pid, port: m2.port, stop: m2.stop }
  }
}

const kTargets: readonly Target[] = [switchboard, mongrel2]

// ---------------------------------------------------------------- measures

/** What the handler counted: requests seen, and disconnect notices (JSON messages). */
function readCount (file: string): { requests: number; gone: number } {
  try {
    const [requests = 0, gone = 0] = readFileSync(file, 'latin1').trim().split(' ').map(Number)
    return { requests, gone }
  } catch { return { requests: 0, gone: 0 } }
}

/**
 * One held request before the baseline, so the code paths it touches are already paged
 * in and compiled, and so we know the whole path (acceptor, broker, handler) is up: it is
 * retried while the server answers (503 until the acceptor hears the broker's status).
 */
async function probe (port: number, countFile: string): Promise<void> {
  const deadline = Date.now() + 30_000
  const request = Buffer.from('GET /hold HTTP/1.1\r\nHost: localhost\r\n\r\n', 'latin1')
  for (;;) {
    let answered = false
    const s: Socket = connect({ host: '127.0.0.1', port })
    s.on('connect', () => { s.write(request) })
    s.on('data', () => { answered = true })
    s.on('error', () => { answered = true })
    const until = Date.now() + 2000
    while (!answered && readCount(countFile).requests < 1 && Date.now() < until) await sleep(50)
    const seen = readCount(countFile).requests >= 1
    s.destroy()
    if (seen && !answered) return
    if (Date.now() > deadline) throw new Error(`perf: the probe GET /hold never reached the handler (count file ${countFile})`)
    await sleep(250)
  }
}

// ---------------------------------------------------------------- clients

// ---------------------------------------------------------------- one run

interface Result {
  target: string
  process: string
  seen: number
  connected: number
  answered: number
  closed: number
  errors: number
  firstError: string
  openSecs: number
  how: 'all seen' | 'RSS stable' | 'timeout'
  /** Settled RSS with the probe's exchange done, before any client, KiB. */
  beforeKiB: number
  /** RSS 0.5-1.5 s after the handler saw the last request, KiB. */
  burstKiB: number
  /** Settled RSS with N held, KiB. */
  afterKiB: number
  kibPerConn: number
  burstKibPerConn: number
  /** Every VmRSS sample, 500 ms apart, KiB (kept in the JSON). */
  traceKiB: { before: number[]; after: number[] }
}

async function measure (t: Target): Promise<Result> {
  const dir = makeTempDir('swb-held-')
  const countFile = join(dir, 'count')
  progressLine(`${t.name}: starting`)
  const server = await t.start(countFile)
  let clients: Client[] = []
  try {
    await probe(server.port, countFile)
    progressLine(`${t.name}: ${t.process} pid ${server.pid} up; letting its RSS settle (>= ${kSettleMs / 1000} s)`)
    const beforeTrace = await settle(server, t.process)
    const before = median(beforeTrace.slice(-kSamples))
    const base = readCount(countFile).requests
    progressLine(`${t.name}: RSS ${(before / 1024).toFixed(1)} MiB; opening ${kN} held connections`)

    const t0 = performance.now()
    clients = startClients({ port: server.port, n: kN, perClient: kPerClient, rate: kRate, stepMs: kStepMs, path: '/hold' })
    let openSecs = Number.NaN
    let how: Result['how'] = 'timeout'
    const deadline = Date.now() + kSeeAllMs
    const recent: number[] = []
    let lastLog = 0
    for (;;) {
      await sleep(100)
      const connected = total(clients, 'connected')
      if (Number.isNaN(openSecs) && connected >= kN) openSecs = (performance.now() - t0) / 1000
      const seen = readCount(countFile).requests - base
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now()
        progressLine(`  ${t.name}: connected ${connected}/${kN}, handler saw ${seen}, RSS ${(rssKiB(server.pid) / 1024).toFixed(1)} MiB`)
      }
      if (seen >= kN && connected >= kN) { how = 'all seen'; break }
      if (clients.some((c) => c.exited)) throw new Error('perf: a client process exited early')
      if (Number.isNaN(rssKiB(server.pid))) throw new Error(`perf: ${t.process} (pid ${server.pid}) is gone`)
      // Fallback: every client done, and the RSS flat (within 0.5%) for the last 5 s.
      const allStarted = clients.every((c) => c.progress?.done === true)
      recent.push(rssKiB(server.pid))
      if (recent.length > 50) recent.shift()
      if (allStarted && recent.length === 50 && (Math.max(...recent) - Math.min(...recent)) / Math.max(...recent) < 0.005) {
        how = 'RSS stable'
        break
      }
      if (Date.now() > deadline) break
    }
    progressLine(`${t.name}: all held; letting the RSS settle (>= ${kSettleMs / 1000} s)`)
    // 0.5-1.5 s after the last request: what a reading right after the burst says.
    await sleep(kSampleGapMs)
    const burst = median(await sampleRss(server.pid, 3, kSampleGapMs))
    const afterTrace = await settle(server, t.process)
    const after = median(afterTrace.slice(-kSamples))
    const r: Result = {
      target: t.name,
      process: t.process,
      seen: readCount(countFile).requests - base,
      connected: total(clients, 'connected'),
      answered: total(clients, 'answered'),
      closed: total(clients, 'closed'),
      errors: total(clients, 'errors'),
      firstError: firstError(clients),
      openSecs,
      how,
      beforeKiB: before,
      burstKiB: burst,
      afterKiB: after,
      kibPerConn: (after - before) / kN,
      burstKibPerConn: (burst - before) / kN,
      traceKiB: { before: beforeTrace, after: afterTrace }
    }
    progressLine(`${t.name}: ${r.seen} held, RSS ${(before / 1024).toFixed(1)} → ${(after / 1024).toFixed(1)} MiB settled, ` +
      `${r.kibPerConn.toFixed(2)} KiB per held connection (${r.burstKibPerConn.toFixed(2)} right after the burst; ${how})`)
    return r
  } finally {
    await stopClients(clients)
    await server.stop()
    await stopAll()
    removeTempDir(dir)
  }
}

// ---------------------------------------------------------------- report

const kTargetsKiB: Record<string, { max: number; note: string }> = {
  switchboard: { max: 2, note: 'target <= 2 KiB' },
  mongrel2: { max: Number.POSITIVE_INFINITY, note: 'reference: about 70 KiB' }
}

function table (results: readonly Result[]): string[][] {
  const rows = [['server', 'process', 'held (handler saw)', 'client conns', 'open s', 'RSS before MiB', 'RSS after MiB',
    'KiB per held conn', 'right after burst', 'answered/closed/errors', 'counted when', 'target']]
  for (const r of results) {
    const goal = kTargetsKiB[r.target]
    const verdict = goal === undefined ? '' : Number.isFinite(goal.max) ? `${goal.note}: ${r.kibPerConn <= goal.max ? 'met' : 'MISSED'}` : goal.note
    rows.push([r.target, r.process, `${r.seen}/${kN}`, String(r.connected), Number.isFinite(r.openSecs) ? r.openSecs.toFixed(1) : '-',
      (r.beforeKiB / 1024).toFixed(1), (r.afterKiB / 1024).toFixed(1), r.kibPerConn.toFixed(2), r.burstKibPerConn.toFixed(2),
      `${r.answered}/${r.closed}/${r.errors}`, r.how, verdict])
  }
  return rows
}

/** Columns of table() that are numbers: right-aligned. */
const isNumberColumn = (i: number): boolean => i >= 2 && i <= 8

function openFilesLimit (): string {
  try {
    const m = /^Max open files\s+(\d+|unlimited)\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'latin1'))
    return m === null ? '?' : `${m[1]} (hard ${m[2]})`
  } catch { return '?' }
}

// ---------------------------------------------------------------- main

function selected (): Target[] {
  const only = process.env.HELD_ONLY?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (only === undefined || only.length === 0) return [...kTargets]
  const unknown = only.filter((n) => !kTargets.some((t) => t.name === n))
  if (unknown.length > 0) throw new Error(`perf: HELD_ONLY names unknown server(s) ${unknown.join(', ')}; known: ${kTargets.map((t) => t.name).join(', ')}`)
  return kTargets.filter((t) => only.includes(t.name))
}

async function main (): Promise<number> {
  const list = selected()
  const machine = machineInfo()
  const clientsPer = Math.ceil(kN / kPerClient)
  const knobs = `HELD_N=${kN} held GET /hold per server, from ${clientsPer} client process(es) of <= ${kPerClient} sockets, ` +
    `opened ${kRate} per ${kStepMs} ms; open files per process ${openFilesLimit()}\n` +
    'RSS = VmRSS of the front end before the clients and with all N held, sampled 500 ms apart ' +
    `for >= ${kSettleMs / 1000} s until 5 s flat within 1%, median of the last ${kSamples}; ` +
    `KiB per held conn = (after - before) / N; "right after burst" uses the RSS 0.5-1.5 s after the last request; ` +
    `acceptor node options: ${kAcceptorNodeArgs.length > 0 ? kAcceptorNodeArgs.join(' ') : 'none'}`
  const results: Result[] = []
  const failures: string[] = []
  for (const t of list) {
    try {
      results.push(await measure(t))
    } catch (err) {
      failures.push(`${t.name}: ${(err as Error).message}`)
      progressLine(`FAILED ${t.name}: ${(err as Error).message}`)
    }
    await sleep(500)
  }
  const cells = table(results)
  process.stdout.write(`\n${formatMachine(machine)}\n${knobs}\n\n${formatText(cells, isNumberColumn)}\n`)
  for (const r of results) {
    if (r.firstError !== '') process.stdout.write(`${r.target}: first client error: ${r.firstError}\n`)
  }
  for (const f of failures) process.stdout.write(`FAILED: ${f}\n`)
  mkdirSync(kOutDir, { recursive: true })
  const stamp = machine.date.replace(/[:.]/g, '-')
  const md = `${formatMachine(machine).split('\n').join('  \n')}  \n${knobs.split('\n').join('  \n')}\n\n${formatMarkdown(cells, isNumberColumn)}\n`
  writeFileSync(join(kOutDir, `held-${stamp}.json`), JSON.stringify({ machine, knobs, results, failures }, null, 2))
  writeFileSync(join(kOutDir, 'held-latest.md'), md)
  process.stdout.write(`\nsaved perf/out/held-${stamp}.json and perf/out/held-latest.md (logs in perf/out/logs/)\n`)
  const incomplete = results.some((r) => r.seen < kN || r.answered > 0 || r.closed > 0)
  return failures.length > 0 || results.length === 0 || incomplete ? 1 : 0
}

// Servers die with the bench (proc.ts registry); so do the client processes, by PID.
runHeldBench(main, progressLine)
