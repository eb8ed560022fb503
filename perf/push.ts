/**
 * `npm run bench:push`: what held pushes cost and how fast WebSocket messages go.
 *
 * 1. Held connections: the acceptor's RSS growth per idle SSE stream and per idle
 *    WebSocket, PUSH_N of each (10,000), beside raw uWS.js holding the same
 *    (perf/servers/uws-hold.ts). Switchboard runs a broker, an acceptor and the
 *    Mongrel2-protocol handler perf/handlers/m2-push.ts, which answers each `GET /sse` with
 *    a chunked `text/event-stream` head and each WebSocket handshake with its `101`, and
 *    keeps them. Clients: perf/lib/held-client.ts processes (sse / ws modes, at most
 *    PUSH_PER_CLIENT sockets each: 20,000 open files per process here), opened PUSH_RATE per
 *    50 ms (40: at 100 and 500 the loaded 2-core VM answered 0.5-8% of them 503, see perf/README.md). A fresh
 *    server per kind; RSS = VmRSS sampled until flat, before the clients and with all N answered,
 *    with V8's memory reducer off in both servers (see perf/held.ts for why);
 *    KiB per connection = (after - before) / N.
 * 2. WebSocket echo: PUSH_ECHO_CONNS WebSockets (the `ws` package, perf/lib/ws-echo-client.ts)
 *    each sending a 32-byte text message as soon as the last came back, for DURATION s,
 *    through the same m2-push.ts handler process behind Switchboard and behind Mongrel2 1.12
 *    (Debian mongrel2-core, installed with apt-get if missing).
 *
 * Prints one table: contender, metric, value, target, verdict; saves perf/out/push-latest.md
 * and a JSON file. Everything started is stopped by PID, on failure too.
 *
 * Knobs (env): PUSH_N (10000), PUSH_PER_CLIENT (5000), PUSH_RATE connections opened per
 * 50 ms (40), PUSH_SETTLE s (5), PUSH_SAMPLES (5), PUSH_ECHO_CONNS (50), DURATION s (10),
 * PUSH_ONLY (`held,echo`), PUSH_ACCEPTOR_ARGS (`--no-memory-reducer`).
 */
import { fork } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { join } from 'node:path'
import { startMongrel2 } from './contenders/mongrel2.js'
import { kNodeArgs, startPortServer } from './contenders/node-proc.js'
import { intEnv } from './lib/env.js'
import type { HeldMode } from './lib/held-client.js'
import type { Client } from './lib/held-clients.js'
import { firstError, runHeldBench, startClients, stopClients, total } from './lib/held-clients.js'
import { formatMachine, machineInfo } from './lib/machine.js'
import { waitForPort } from './lib/net.js'
import { kOutDir, kRepoRoot, makeTempDir, removeTempDir, sleep, stopAll } from './lib/proc.js'
import { formatMarkdown, formatText } from './lib/report.js'
import { rssKiB, settle } from './lib/rss.js'
import { median } from './lib/stats.js'
import { startSwitchboard } from './lib/switchboard.js'

const kN = intEnv('PUSH_N', 10_000, 1)
const kPerClient = intEnv('PUSH_PER_CLIENT', 5000, 1)
const kRate = intEnv('PUSH_RATE', 40, 1)
const kSamples = intEnv('PUSH_SAMPLES', 5, 1)
const kSettleMs = intEnv('PUSH_SETTLE', 5, 0) * 1000
const kEchoConns = intEnv('PUSH_ECHO_CONNS', 50, 1)
const kDuration = intEnv('DURATION', 10, 1)
const kOnly = (process.env.PUSH_ONLY ?? 'held,echo').split(',').map((s) => s.trim())
const kAcceptorNodeArgs = (process.env.PUSH_ACCEPTOR_ARGS ?? '--no-memory-reducer').split(' ').filter((a) => a !== '')
const kStepMs = 50
const kGapMs = 500
const kSettle = { settleMs: kSettleMs, stableN: Math.max(10, kSamples), gapMs: kGapMs }
/** How long the N connections get to be answered. */
const kAnswerMs = 60_000 + kN / kRate * kStepMs * 4
const kHandler = 'perf/handlers/m2-push.ts'
/** Longer than any run: nothing held may time out. */
const kHoldMs = 600_000
/** 20,000 open files per process: Mongrel2's fd table sized under that. */
const kM2MaxFd = 19_000

function progressLine (line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
}

/** `<sse heads> <handshakes> <echoes> <notices>` as m2-push.ts / uws-hold.ts write them. */
function readCounts (file: string): number[] {
  try { return readFileSync(file, 'latin1').trim().split(' ').map(Number) } catch { return [0, 0, 0, 0] }
}

// ---------------------------------------------------------------- servers

interface Server { pid: number; port: number; stop(): Promise<void> }

interface HeldTarget { name: string; process: string; start(countFile: string): Promise<Server> }

const switchboardHeld: HeldTarget = {
  name: 'switchboard',
  process: 'acceptor',
  async start (countFile) {
    const sb = await startSwitchboard({
      name: 'push-sb',
      handler: { kind: 'm2', file: kHandler, count: 1 },
      batch: false,
      timeoutMs: kHoldMs,
      // Idle streams and sockets are what is measured: no idle cut, no pings.
      acceptor: { sendQueue: Math.max(10_000, kN * 2), streamIdleMs: 0, wsIdleSeconds: 0 },
      handlerEnv: { PUSH_COUNT_FILE: countFile },
      acceptorNodeArgs: kAcceptorNodeArgs,
      check: 'none'
    })
    return { pid: sb.pids.acceptor as number, port: sb.port, stop: sb.stop }
  }
}

const uwsHeld: HeldTarget = {
  name: 'uws-raw',
  process: 'uws-hold',
  async start (countFile) {
    const { proc: p, port } = await startPortServer('push-uws', 'perf/servers/uws-hold.ts', kAcceptorNodeArgs, { PUSH_COUNT_FILE: countFile })
    return { pid: p.pid, port, stop: async () => { await p.stop() } }
  }
}

// ---------------------------------------------------------------- held

const kRequests: Record<'sse' | 'ws', { path: string; request: Buffer; expect: Buffer }> = {
  sse: {
    path: '/sse',
    request: Buffer.from('GET /sse HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n', 'latin1'),
    expect: Buffer.from('HTTP/1.1 200')
  },
  ws: {
    path: '/ws',
    request: Buffer.from('GET /ws HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n', 'latin1'),
    expect: Buffer.from('HTTP/1.1 101')
  }
}

/**
 * One connection of `mode` before the baseline, so its code paths are paged in and the
 * whole path is up (Switchboard answers 503 until the acceptor hears the broker): retried
 * until it is answered as expected, then closed.
 */
async function probe (port: number, mode: 'sse' | 'ws'): Promise<void> {
  const { request, expect } = kRequests[mode]
  const deadline = Date.now() + 30_000
  let last = ''
  for (;;) {
    const got = await new Promise<Buffer | null>((resolveTry) => {
      const s = connect({ host: '127.0.0.1', port })
      const timer = setTimeout(() => { s.destroy(); resolveTry(null) }, 2000)
      s.on('connect', () => { s.write(request) })
      s.once('data', (d: Buffer) => { clearTimeout(timer); s.destroy(); resolveTry(d) })
      s.on('error', () => { clearTimeout(timer); resolveTry(null) })
    })
    if (got !== null && got.subarray(0, expect.length).equals(expect)) return
    last = got === null ? 'no answer' : got.toString('latin1', 0, 60)
    if (Date.now() > deadline) throw new Error(`perf: the ${mode} probe never got ${expect.toString()} (last: ${last})`)
    await sleep(250)
  }
}

interface HeldResult {
  target: string
  mode: 'sse' | 'ws'
  answered: number
  unexpected: number
  closed: number
  errors: number
  firstError: string
  beforeKiB: number
  afterKiB: number
  /** Connections held to the end (answered as expected, not closed). */
  held: number
  kibPerConn: number
  trace: { before: number[]; after: number[] }
}

async function measureHeld (t: HeldTarget, mode: 'sse' | 'ws'): Promise<HeldResult> {
  const dir = makeTempDir('swb-push-')
  const countFile = join(dir, 'count')
  progressLine(`${t.name} ${mode}: starting`)
  const server = await t.start(countFile)
  let clients: Client[] = []
  try {
    await probe(server.port, mode)
    const beforeTrace = await settle(server.pid, t.process, kSettle)
    const before = median(beforeTrace.slice(-kSamples))
    progressLine(`${t.name} ${mode}: ${t.process} pid ${server.pid} RSS ${(before / 1024).toFixed(1)} MiB; opening ${kN}`)
    clients = startClients({ port: server.port, n: kN, perClient: kPerClient, rate: kRate, stepMs: kStepMs, path: kRequests[mode].path, mode: mode as HeldMode })
    const deadline = Date.now() + kAnswerMs
    let lastLog = 0
    for (;;) {
      await sleep(100)
      const answered = total(clients, 'answered')
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now()
        progressLine(`  ${t.name} ${mode}: connected ${total(clients, 'connected')}/${kN}, answered ${answered}, ` +
          `server counted ${readCounts(countFile).join(' ')}, RSS ${(rssKiB(server.pid) / 1024).toFixed(1)} MiB`)
      }
      if (answered >= kN) break
      if (clients.some((c) => c.exited)) throw new Error('perf: a client process exited early')
      if (Number.isNaN(rssKiB(server.pid))) throw new Error(`perf: ${t.process} (pid ${server.pid}) is gone`)
      if (Date.now() > deadline) throw new Error(`perf: only ${answered}/${kN} ${mode} connections answered in ${kAnswerMs} ms (${firstError(clients)})`)
    }
    const afterTrace = await settle(server.pid, t.process, kSettle)
    const after = median(afterTrace.slice(-kSamples))
    const unexpected = total(clients, 'unexpected')
    const closed = total(clients, 'closed')
    const held = kN - Math.max(unexpected, closed)
    const r: HeldResult = {
      target: t.name,
      mode,
      answered: total(clients, 'answered'),
      unexpected,
      closed,
      held,
      errors: total(clients, 'errors'),
      firstError: firstError(clients),
      beforeKiB: before,
      afterKiB: after,
      kibPerConn: (after - before) / held,
      trace: { before: beforeTrace, after: afterTrace }
    }
    progressLine(`${t.name} ${mode}: RSS ${(before / 1024).toFixed(1)} → ${(after / 1024).toFixed(1)} MiB, ${r.kibPerConn.toFixed(2)} KiB per connection` +
      ` (unexpected ${r.unexpected}, closed ${r.closed}, errors ${r.errors})`)
    return r
  } finally {
    await stopClients(clients)
    await server.stop()
    removeTempDir(dir)
  }
}

// ---------------------------------------------------------------- echo

interface EchoResult { target: string; opened: number; messages: number; seconds: number; errors: number; firstError: string; bad: number; msgPerSec: number }

async function runEchoClient (port: number): Promise<Omit<EchoResult, 'target' | 'msgPerSec'>> {
  const child = fork(join(kRepoRoot, 'perf', 'lib', 'ws-echo-client.ts'), [String(port), String(kEchoConns), String(kDuration), '/ws'], {
    cwd: kRepoRoot, execArgv: [...kNodeArgs], stdio: ['ignore', 'pipe', 'inherit', 'ipc']
  })
  let out = ''
  child.stdout?.on('data', (d: Buffer) => { out += d.toString() })
  const killTimer = setTimeout(() => { child.kill('SIGKILL') }, (kDuration + 40) * 1000)
  const code = await new Promise<number | null>((resolveExit) => { child.once('exit', resolveExit) })
  clearTimeout(killTimer)
  const line = out.trim().split('\n').pop() ?? ''
  try {
    return JSON.parse(line) as Omit<EchoResult, 'target' | 'msgPerSec'>
  } catch {
    throw new Error(`perf: the echo client exited ${code} without a result: ${out.slice(0, 200)}`)
  }
}

async function measureEcho (target: 'switchboard' | 'mongrel2'): Promise<EchoResult> {
  const dir = makeTempDir('swb-push-echo-')
  const countFile = join(dir, 'count')
  progressLine(`echo ${target}: starting`)
  let server: Server
  if (target === 'switchboard') {
    const sb = await startSwitchboard({
      name: 'push-echo-sb', handler: { kind: 'm2', file: kHandler, count: 1 }, batch: false, handlerEnv: { PUSH_COUNT_FILE: countFile }, check: 'none'
    })
    server = { pid: sb.pids.acceptor as number, port: sb.port, stop: sb.stop }
  } else {
    const m2 = await startMongrel2({ prefix: 'push-', settings: { 'superpoll.max_fd': kM2MaxFd }, handlerFile: kHandler, handlerEnv: { PUSH_COUNT_FILE: countFile } })
    server = { pid: m2.server.pid, port: m2.port, stop: m2.stop }
    try { await waitForPort(m2.port, m2.procs) } catch (err) { await m2.stop(); throw err }
  }
  try {
    await probe(server.port, 'ws')
    const r = await runEchoClient(server.port)
    const res: EchoResult = { target, ...r, msgPerSec: r.seconds > 0 ? r.messages / r.seconds : 0 }
    progressLine(`echo ${target}: ${r.opened} open, ${r.messages} echoes in ${r.seconds.toFixed(1)} s = ${Math.round(res.msgPerSec)}/s ` +
      `(errors ${r.errors}, bad ${r.bad}; handler counted ${readCounts(countFile).join(' ')})`)
    if (r.opened < kEchoConns || r.messages === 0) throw new Error(`perf: ${r.opened}/${kEchoConns} opened, ${r.messages} echoes (${r.firstError})`)
    return res
  } finally {
    await server.stop()
    removeTempDir(dir)
  }
}

// ---------------------------------------------------------------- report

const kHeldGoals: Record<'sse' | 'ws', { metric: string; max: number }> = {
  sse: { metric: 'RSS per idle SSE stream, KiB', max: 1.2 },
  ws: { metric: 'RSS per idle WebSocket, KiB', max: 4 }
}

async function main (): Promise<number> {
  const machine = machineInfo()
  const rows: string[][] = [['contender', 'metric', 'value', 'target', 'verdict']]
  const details: string[] = []
  const held: HeldResult[] = []
  const echo: EchoResult[] = []
  let failed = false
  if (kOnly.includes('held')) {
    for (const mode of ['sse', 'ws'] as const) {
      const goal = kHeldGoals[mode]
      for (const t of [switchboardHeld, uwsHeld]) {
        const label = `${t.name} (${t.process})`
        try {
          const r = await measureHeld(t, mode)
          held.push(r)
          const isSb = t.name === 'switchboard'
          const refused = r.held < kN ? `; only ${r.held}/${kN} held` : ''
          if (r.held < kN) failed = true
          rows.push([label, `${goal.metric} (${r.held} held)`, r.kibPerConn.toFixed(2), isSb ? `<= ${goal.max}` : 'baseline',
            (isSb ? (r.kibPerConn <= goal.max ? 'met' : 'MISSED') : '-') + refused])
          details.push(`${t.name} ${mode}: RSS ${(r.beforeKiB / 1024).toFixed(1)} -> ${(r.afterKiB / 1024).toFixed(1)} MiB, ${r.answered}/${kN} answered, ` +
            `${r.unexpected} unexpected, ${r.closed} closed, ${r.errors} errors${r.firstError !== '' ? ` (first: ${r.firstError})` : ''}`)
        } catch (err) {
          failed = true
          rows.push([label, `${goal.metric} (${kN} held)`, 'failed', t.name === 'switchboard' ? `<= ${goal.max}` : 'baseline', 'FAILED'])
          details.push(`FAILED ${t.name} ${mode}: ${(err as Error).message}`)
          progressLine(`FAILED ${t.name} ${mode}: ${(err as Error).message}`)
        }
        await stopAll()
        await sleep(500)
      }
    }
  }
  if (kOnly.includes('echo')) {
    for (const target of ['switchboard', 'mongrel2'] as const) {
      try {
        echo.push(await measureEcho(target))
      } catch (err) {
        failed = true
        details.push(`FAILED echo ${target}: ${(err as Error).message}`)
        progressLine(`FAILED echo ${target}: ${(err as Error).message}`)
      }
      await stopAll()
      await sleep(500)
    }
    const m2 = echo.find((e) => e.target === 'mongrel2')
    for (const target of ['switchboard', 'mongrel2'] as const) {
      const r = echo.find((e) => e.target === target)
      const metric = `WebSocket echo msg/s (${kEchoConns} conns, ${kDuration} s)`
      const label = target === 'switchboard' ? 'switchboard (m2-push handler)' : 'mongrel2 1.12 (same handler)'
      if (r === undefined) { rows.push([label, metric, 'failed', target === 'switchboard' ? 'beside Mongrel2' : 'reference', 'FAILED']); continue }
      const ratio = target === 'switchboard' && m2 !== undefined ? `${(r.msgPerSec / m2.msgPerSec).toFixed(2)} x Mongrel2` : '-'
      rows.push([label, metric, String(Math.round(r.msgPerSec)), target === 'switchboard' ? 'beside Mongrel2' : 'reference', ratio])
      details.push(`echo ${target}: ${r.opened}/${kEchoConns} open, ${r.messages} echoes in ${r.seconds.toFixed(1)} s, ${r.errors} errors, ${r.bad} bad`)
    }
  }
  const knobs = `PUSH_N=${kN} held per server and kind from ${Math.ceil(kN / kPerClient)} client process(es), opened ${kRate} per ${kStepMs} ms; ` +
    `RSS = VmRSS sampled 500 ms apart until flat, median of the last ${kSamples}; KiB per connection = (after - before) / N; ` +
    `server node options: ${kAcceptorNodeArgs.join(' ') || 'none'}; echo: ${kEchoConns} ws clients, 32-byte text, DURATION=${kDuration}`
  const isNumber = (i: number): boolean => i === 2
  process.stdout.write(`\n${formatMachine(machine)}\n${knobs}\n\n${formatText(rows, isNumber)}\n\n${details.join('\n')}\n`)
  mkdirSync(kOutDir, { recursive: true })
  const stamp = machine.date.replace(/[:.]/g, '-')
  writeFileSync(join(kOutDir, `push-${stamp}.json`), JSON.stringify({ machine, knobs, held, echo, details }, null, 2))
  writeFileSync(join(kOutDir, 'push-latest.md'),
    `${formatMachine(machine).split('\n').join('  \n')}  \n${knobs}\n\n${formatMarkdown(rows, isNumber)}\n\n${details.map((d) => `- ${d}`).join('\n')}\n`)
  process.stdout.write(`\nsaved perf/out/push-${stamp}.json and perf/out/push-latest.md (logs in perf/out/logs/)\n`)
  return failed ? 1 : 0
}

runHeldBench(main, progressLine)
