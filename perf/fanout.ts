/**
 * `npm run bench:fanout`: one publish to N held subscribers, the time until the last one has
 * it (issue 10), for each kind of subscriber apart (WebSocket, SSE stream, long-poll), beside
 * raw uWS.js and Pushpin 1.36 in the same run; and the front end's RSS per held subscriber.
 *
 * For each kind, each N and each round, every contender in turn (A B C, A B C: drift on the
 * machine shows as spread, not as a wrong ratio) gets a fresh server and:
 * 1. one probe subscriber (held-client.ts, retried while the server refuses), then closed;
 * 2. N subscribers from child processes (held-client.ts, at most FANOUT_PER_CLIENT each and
 *    at least two processes: a process may hold 20,000 open files here), opened
 *    FANOUT_RATE per 50 ms (FANOUT_PUSHPIN_RATE for Pushpin; a refused one is opened again),
 *    each watching its bytes for this round's marker;
 * 3. the barrier: every client connected, every stream/WebSocket answered with its 200/101
 *    (a long-poll answered by nothing), the server's own count of subscribers given at N (or
 *    the counts stalled 5 s: it then publishes to those held), then its processes and the
 *    clients idle (CPU below 5% of a core for two 200 ms windows);
 * 4. one `POST /publish/` in Pushpin's JSON format (the same publisher for all three: one
 *    prebuilt request on a keep-alive connection opened before the idle check, perf/lib/publisher.ts;
 *    its answer read once the subscribers had it), the clock read just before the request is
 *    written; each client stamps when each socket got the
 *    marker on a clock shared by all processes (performance.timeOrigin + performance.now());
 *    the result is the last stamp minus the publish time.
 * Before step 2, the server is warmed: FANOUT_WARMUP_ROUNDS publishes, each to fresh
 * subscribers (the per-subscriber path), then FANOUT_WARMUP_PUBLISHES to a channel no one
 * holds (the per-publish path: the publish endpoint, the item's way to the subscribers).
 * At the largest N of round 1, the front end's VmRSS is read after the warm-up (before step 2),
 * with N/2 held (step 2 then opens them in two halves) and with all N held (each sampled until
 * flat, as perf/held.ts does): KiB per held subscriber over all N and over the second half, the
 * larger judged.
 *
 * Contenders:
 * - switchboard: broker + acceptor + perf/handlers/m2-grip.ts (Grip-Hold headers, X
 *   subscribe replies), published through the broker's `POST /publish/`;
 * - uws-raw: perf/servers/uws-hold.ts (held responses written in one cork each, WebSockets
 *   through `app.publish`), published through its own `POST /publish/`;
 * - pushpin: Debian's Pushpin 1.36 (perf/contenders/pushpin.ts) with its rate limit off, in
 *   front of perf/servers/grip-origin.ts.
 *
 * Every process started is stopped by PID, on failure and interruption too.
 */
import { randomBytes } from 'node:crypto'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startPortServer } from './contenders/node-proc.js'
import { startPushpin } from './contenders/pushpin.js'
import { parseArgs } from './lib/cli.js'
import { cpuSeconds } from './lib/cpu.js'
import { intEnv } from './lib/env.js'
import type { HeldMode } from './lib/held-client.js'
import type { Client } from './lib/held-clients.js'
import { firstError, receivedSpan, runHeldBench, startClients, stopClients, total } from './lib/held-clients.js'
import { formatMachine, machineInfo } from './lib/machine.js'
import { kOutDir, makeTempDir, removeTempDir, sleep, stopAll } from './lib/proc.js'
import { aggregateRuns, complete, kContenderNames, kKindNames, rssTable, targetLines, timeTable } from './lib/fanout-report.js'
import type { ContenderName, Kind, RunResult } from './lib/fanout-report.js'
import { fmtMs, formatMarkdown, formatText } from './lib/report.js'
import { settle } from './lib/rss.js'
import { median } from './lib/stats.js'
import { clock, Publisher } from './lib/publisher.js'
import { startSwitchboard } from './lib/switchboard.js'


parseArgs(`usage: npm run bench:fanout     (no arguments; knobs are env variables)
  FANOUT_N=1000,10000        held subscribers per run (each size in turn)
  FANOUT_KINDS=ws,sse,lp     kinds of subscriber, each measured apart
  FANOUT_ONLY=switchboard,uws-raw,pushpin   which contenders
  REPEATS=3                  rounds; each runs every contender once, in order; the table shows medians
  FANOUT_PER_CLIENT=2500     sockets per client process (at least 2 processes)
  FANOUT_RATE=50             connections opened per 50 ms, all clients together
  FANOUT_PUSHPIN_RATE=10     the same for Pushpin (faster, it answers many 502 on this machine)
  FANOUT_PUSHPIN_REPEATS=1   Pushpin's rounds at the largest N (each takes minutes to open); all rounds below it
  FANOUT_SMALL_FACTOR=3      below the largest N, Switchboard and raw uWS.js run REPEATS x this rounds (the 1.2x target's pair: cheap there, and noisy)
  FANOUT_TIMEOUT=20          seconds every subscriber gets to receive the publish
  FANOUT_WARMUP=1000         before each measured publish, untimed publishes to this many (at most N) subscribers of the same server (0: none)
  FANOUT_WARMUP_ROUNDS=3     how many such warm-up publishes, each to fresh subscribers
  FANOUT_WARMUP_PUBLISHES=100  then untimed publishes to a channel no one holds (the per-publish path)
  FANOUT_RSS=1               RSS per held subscriber at the largest N in round 1 (0: off)
  FANOUT_SETTLE=5            seconds of RSS sampling at least, per reading; FANOUT_SAMPLES=5 samples per reading
  FANOUT_SERVER_ARGS=--no-memory-reducer   node options of the acceptor and of uws-hold
e.g. FANOUT_N=1000 REPEATS=1 FANOUT_ONLY=uws-raw,pushpin npm run bench:fanout
Pushpin is the Debian package pushpin 1.36 (installed with apt-get install -y pushpin when missing; needs root).
Prints the tables; saves perf/out/fanout-<date>.json and perf/out/fanout-latest.md. Details: perf/README.md
`)

function listEnv<T extends string> (name: string, allowed: readonly T[], fallback: readonly T[]): T[] {
  const raw = process.env[name]
  if (raw === undefined || raw.trim() === '') return [...fallback]
  const items = raw.split(',').map((s) => s.trim()).filter((s) => s !== '')
  const bad = items.filter((s) => !(allowed as readonly string[]).includes(s))
  if (bad.length > 0) throw new Error(`perf: ${name} names unknown ${bad.join(', ')}; known: ${allowed.join(', ')}`)
  return items as T[]
}

function sizesEnv (): number[] {
  const raw = process.env.FANOUT_N ?? '1000,10000'
  return raw.split(',').map((s) => {
    const n = Number(s.trim())
    if (!Number.isInteger(n) || n < 1) throw new Error(`perf: FANOUT_N must be comma-separated positive integers, got '${raw}'`)
    return n
  })
}

const kSizes = sizesEnv()
const kKinds = listEnv('FANOUT_KINDS', kKindNames, kKindNames)
const kOnly = listEnv('FANOUT_ONLY', kContenderNames, kContenderNames)
const kRepeats = intEnv('REPEATS', 3, 1)
const kPerClient = intEnv('FANOUT_PER_CLIENT', 2500, 1)
const kRate = intEnv('FANOUT_RATE', 50, 1)
/** Pushpin answers 502 to many subscribers opened faster (its zurl hop to the origin): its own pace. */
const kPushpinRate = intEnv('FANOUT_PUSHPIN_RATE', 10, 1)
/** Rounds Pushpin runs at the largest N (opening 10,000 at its pace takes minutes); every round below. */
const kPushpinRepeats = intEnv('FANOUT_PUSHPIN_REPEATS', 1, 1)
/**
 * At 1,000 one late thread wake-up is a tenth of the whole delivery: five rounds of the same
 * code gave 1.13x, 1.20x, 1.25x and 1.35x of raw uWS.js (perf/README.md). The pair the 1.2x
 * target compares runs more rounds there, where a round takes seconds, so the median moves less.
 */
const kSmallFactor = intEnv('FANOUT_SMALL_FACTOR', 3, 1)
const kTimeoutMs = intEnv('FANOUT_TIMEOUT', 20, 1) * 1000
const kWarmup = intEnv('FANOUT_WARMUP', 1000, 0)
/** One round left V8 still optimizing the delivery path during the measured publish (perf/README.md). */
const kWarmupRounds = intEnv('FANOUT_WARMUP_ROUNDS', 3, 1)
const kWarmupPublishes = intEnv('FANOUT_WARMUP_PUBLISHES', 100, 0)
const kRss = intEnv('FANOUT_RSS', 1, 0) > 0
const kSamples = intEnv('FANOUT_SAMPLES', 5, 1)
const kSettle = { settleMs: intEnv('FANOUT_SETTLE', 5, 0) * 1000, stableN: Math.max(10, kSamples), gapMs: 500 }
const kServerNodeArgs = (process.env.FANOUT_SERVER_ARGS ?? '--no-memory-reducer').split(' ').filter((a) => a !== '')
const kStepMs = 50
const kChannelPaths: Record<Kind, string> = { ws: '/fanout/ws', sse: '/fanout/sse', lp: '/fanout/lp' }
const kModes: Record<Kind, HeldMode> = { ws: 'ws', sse: 'sse', lp: 'get' }
/** Subscribers must all be held within this long after the clients start. */
const openDeadlineMs = (n: number, rate: number): number => 60_000 + n / rate * kStepMs * 4
/** The counts stop moving this long: the server holds all it will. */
const kStallMs = 5000
/** CPU (% of one core, all processes of the contender) under which it counts as idle. */
const kIdlePct = 5

function progressLine (line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
}

// ---------------------------------------------------------------- contenders

interface Server {
  /** Processes whose RSS is the front end's (summed) and whose CPU must be idle before a publish. */
  rssPids: number[]
  rssLabel: string
  /** Every process, for the idle check. */
  pids: number[]
  port: number
  publishUrl: string
  /** Subscribers of `kind` the server side has accepted so far (its count file). */
  held(kind: Kind): number
  /** Version/notes printed with the results. */
  note: string
  stop(): Promise<void>
}

/**
 * A server's count file, field `field`: the last good reading when the file is missing or
 * caught empty (a writer truncates it before writing).
 */
function counter (file: string, fields: Record<Kind, number>): (kind: Kind) => number {
  const last: Record<string, number> = {}
  return (kind) => {
    let n = Number.NaN
    try { n = Number(readFileSync(file, 'latin1').trim().split(' ')[fields[kind]]) } catch { /* not written yet */ }
    if (Number.isFinite(n)) last[kind] = n
    return last[kind] ?? 0
  }
}

/** Count file fields (lp, sse, ws) of m2-grip.ts and grip-origin.ts. */
const kGripFields: Record<Kind, number> = { lp: 0, sse: 1, ws: 2 }
/** uws-hold.ts writes `<sse> <websockets> 0 0 <long-polls>`. */
const kUwsFields: Record<Kind, number> = { sse: 0, ws: 1, lp: 4 }

const starters: Record<ContenderName, (countFile: string, n: number) => Promise<Server>> = {
  async switchboard (countFile, n) {
    const sb = await startSwitchboard({
      name: 'fanout-sb',
      handler: { kind: 'm2', file: 'perf/handlers/m2-grip.ts', count: 1 },
      batch: false,
      timeoutMs: 600_000,
      // Held subscribers are what is measured: no idle cut, no pings; a burst never meets 503.
      acceptor: { sendQueue: Math.max(10_000, n * 2), streamIdleMs: 0, wsIdleSeconds: 0 },
      handlerEnv: { FANOUT_COUNT_FILE: countFile },
      acceptorNodeArgs: kServerNodeArgs,
      check: 'none'
    })
    return {
      rssPids: [sb.pids.acceptor as number],
      rssLabel: 'acceptor',
      pids: Object.values(sb.pids),
      port: sb.port,
      publishUrl: sb.publishUrl,
      held: counter(countFile, kGripFields),
      note: 'switchboard: broker + acceptor + perf/handlers/m2-grip.ts',
      stop: sb.stop
    }
  },
  async 'uws-raw' (countFile) {
    const { proc: p, port } = await startPortServer('fanout-uws', 'perf/servers/uws-hold.ts', kServerNodeArgs, { PUSH_COUNT_FILE: countFile })
    return {
      rssPids: [p.pid],
      rssLabel: 'uws-hold',
      pids: [p.pid],
      port,
      publishUrl: `http://127.0.0.1:${port}/publish/`,
      held: counter(countFile, kUwsFields),
      note: 'uws-raw: perf/servers/uws-hold.ts',
      stop: async () => { await p.stop() }
    }
  },
  async pushpin (countFile) {
    const pp = await startPushpin({ countFile, name: 'fanout-pushpin' })
    const services = Object.entries(pp.pids).filter(([name]) => name !== 'pushpin')
    return {
      rssPids: services.map(([, pid]) => pid),
      rssLabel: services.map(([name]) => name).join('+'),
      pids: [...Object.values(pp.pids), pp.origin.pid],
      port: pp.port,
      publishUrl: pp.publishUrl,
      held: counter(countFile, kGripFields),
      note: `pushpin: ${pp.version}, message_rate=0 (rate limit off), origin perf/servers/grip-origin.ts`,
      stop: pp.stop
    }
  }
}

// ---------------------------------------------------------------- one run


/** Subscribers held by the clients' reckoning: open, and answered as expected (a long-poll: not answered at all). */
const clientHeld = (clients: readonly Client[]): number => total(clients, 'holding')

/** One subscriber until the server counts it (and, for streams and WebSockets, answers it right): the path is up. */
async function probe (server: Server, kind: Kind): Promise<void> {
  const deadline = Date.now() + 60_000
  for (;;) {
    const base = server.held(kind)
    const clients = startClients({ port: server.port, n: 1, perClient: 1, rate: 1, stepMs: kStepMs, path: kChannelPaths[kind], mode: kModes[kind] })
    let ok = false
    try {
      // A client process may take seconds to start on a loaded machine: 3 s from its connect.
      while (total(clients, 'connected') === 0 && !clients.some((c) => c.exited) && Date.now() < deadline) await sleep(50)
      const until = Date.now() + 3000
      while (Date.now() < until) {
        await sleep(50)
        if (server.held(kind) > base && clientHeld(clients) === 1) { ok = true; break }
        if (total(clients, 'unexpected') > 0 || (kind === 'lp' && total(clients, 'answered') > 0)) break
      }
    } finally {
      await stopClients(clients)
    }
    if (ok) return
    if (Date.now() > deadline) throw new Error(`perf: the ${kind} probe was never held (${firstError(clients) || 'no answer'})`)
    await sleep(250)
  }
}

/** Waits until every process of `pids` together uses under kIdlePct of a core for two 200 ms windows (at most 15 s). */
async function untilIdle (pids: readonly number[]): Promise<void> {
  const deadline = Date.now() + 15_000
  let quiet = 0
  let last = cpuMs(pids)
  while (quiet < 2 && Date.now() < deadline) {
    await sleep(200)
    const now = cpuMs(pids)
    quiet = (now - last) / 200 * 100 < kIdlePct ? quiet + 1 : 0
    last = now
  }
}

/** CPU time used so far by all of `pids`, ms (a process gone counts 0). */
const cpuMs = (pids: readonly number[]): number => pids.reduce((sum, pid) => sum + (cpuSeconds(pid) || 0), 0) * 1000


/** Pushpin's JSON for one item with `marker` on `channel` in all three formats (each kind of subscriber takes its own). */
function itemJson (channel: string, marker: string): string {
  return JSON.stringify({
    items: [{
      channel,
      formats: {
        'http-response': { body: `${marker}\n` },
        'http-stream': { content: `data: ${marker}\n\n` },
        'ws-message': { content: marker }
      }
    }]
  })
}

/**
 * Writes the publish of `marker` to the channel `fanout` on the publisher's keep-alive connection,
 * opened (again, if the server closed it while idle) before the processes are seen idle; returns
 * the clock just before the write. Its answer is left unread until answered() (Publisher.send):
 * on these two cores the bench's own wake-up for it competed with the subscribers' delivery.
 */
async function publish (publisher: Publisher, pids: readonly number[], marker: string, beforeWrite?: () => void): Promise<number> {
  const json = itemJson('fanout', marker)
  do {
    await publisher.open()
    await untilIdle(pids)
  } while (!publisher.connected)
  beforeWrite?.()
  return publisher.send(json, true)
}

/** The answer to the last publish, once its subscribers had it: anything but a 200 is an error. */
async function answered (publisher: Publisher, what: string): Promise<number> {
  const a = await publisher.answer()
  if (a.status !== 200) throw new Error(`${what} answered ${a.status}: ${a.body.slice(0, 200)}`)
  return a.status
}

/**
 * Opens `n` subscribers from client processes and waits for the barrier: all held by both
 * reckonings (the clients' and the server's count), or the counts stalled (the server holds
 * no more), or the deadline. The clients are returned also on failure, to be stopped.
 */
async function openSubscribers (server: Server, name: ContenderName, kind: Kind, n: number, marker: string, tag: string): Promise<{ clients: Client[]; held: number }> {
  const base = server.held(kind)
  const processes = Math.max(2, Math.ceil(n / kPerClient))
  const rate = name === 'pushpin' ? kPushpinRate : kRate
  const t0 = Date.now()
  const clients = startClients({
    port: server.port, n, perClient: Math.ceil(n / processes), rate, stepMs: kStepMs, path: kChannelPaths[kind], mode: kModes[kind], marker
  })
  const deadline = t0 + openDeadlineMs(n, rate)
  let lastChange = Date.now()
  let lastSeen = ''
  let lastLog = 0
  let held = 0
  try {
    for (;;) {
      await sleep(100)
      const serverHeld = server.held(kind) - base
      held = Math.min(serverHeld, clientHeld(clients))
      const seen = `${serverHeld} ${held} ${total(clients, 'connected')} ${total(clients, 'answered')} ${total(clients, 'refused')}`
      if (seen !== lastSeen) { lastSeen = seen; lastChange = Date.now() }
      if (Date.now() - lastLog > 2000) {
        lastLog = Date.now()
        progressLine(`  ${tag}: connected ${total(clients, 'connected')}/${n}, held ${held} (server ${serverHeld}), answered ${total(clients, 'answered')}, refused ${total(clients, 'refused')}, closed ${total(clients, 'closed')}`)
      }
      if (held >= n) break
      if (clients.some((c) => c.exited)) throw new Error('perf: a client process exited early')
      const allStarted = clients.every((c) => c.progress?.done === true)
      if (allStarted && Date.now() - lastChange > kStallMs) break
      if (Date.now() > deadline) break
    }
  } catch (err) {
    await stopClients(clients)
    throw err
  }
  return { clients, held }
}

/** The untimed warm-up publish: `n` subscribers opened, published to, given kTimeoutMs to receive it, closed. */
async function warmUp (server: Server, publisher: Publisher, name: ContenderName, kind: Kind, n: number, tag: string): Promise<void> {
  const marker = `warmup-${randomBytes(6).toString('hex')}`
  const { clients, held } = await openSubscribers(server, name, kind, n, marker, `${tag} warm-up`)
  try {
    if (held <= 0) throw new Error(`warm-up: no subscriber held (${firstError(clients) || 'no client error'})`)
    const at = await publish(publisher, [...server.pids, ...clients.map((c) => c.child.pid as number)], marker)
    const until = at + kTimeoutMs
    while (total(clients, 'received') < held && clock() < until) await sleep(20)
    await answered(publisher, 'warm-up publish')
    progressLine(`${tag}: warm-up publish to ${held} subscribers, ${total(clients, 'received')} received`)
  } finally {
    await stopClients(clients)
  }
  // The server sees the warm-up clients go (RST) and forgets them before the measured run.
  await untilIdle(server.pids)
}

async function runOnce (name: ContenderName, kind: Kind, n: number, round: number, measureRss: boolean): Promise<RunResult> {
  const dir = makeTempDir('swb-fanout-')
  const countFile = join(dir, 'count')
  const tag = `${name} ${kind} N=${n} round ${round}`
  progressLine(`${tag}: starting`)
  const server = await starters[name](countFile, n)
  const publisher = new Publisher(server.publishUrl)
  let clients: Client[] = []
  const r: RunResult = {
    contender: name, kind, n, round, held: 0, received: 0, firstMs: Number.NaN, lastMs: Number.NaN, openSecs: Number.NaN,
    publishStatus: 0, refused: 0, errors: 0, firstError: '', note: server.note
  }
  try {
    await probe(server, kind)
    // Steady state, not a cold process: untimed publishes to a first batch of subscribers
    // (JIT-compiled paths, grown tables), as `npm run bench` warms up each contender.
    if (kWarmup > 0) for (let w = 0; w < kWarmupRounds; w++) await warmUp(server, publisher, name, kind, Math.min(n, kWarmup), tag)
    // Those ran the per-subscriber path thousands of times but the per-publish path (the
    // publish endpoint, the item's way to the subscribers) a few times: a publisher that has
    // been publishing a while, to a channel no one holds.
    if (kWarmupPublishes > 0) {
      const json = itemJson('warmup', 'warm-up')
      for (let i = 0; i < kWarmupPublishes; i++) {
        await publisher.open()
        publisher.send(json)
        await answered(publisher, 'warm-up publish')
      }
    }
    // RSS before the subscribers, after the warm-up: what the warm-up leaves is the compilers'
    // memory (+1.6 MiB after the publishes in perf/README.md's split), not the subscribers'.
    let before: number[] = []
    if (measureRss) before = await settle(server.rssPids, server.rssLabel, kSettle)
    const marker = `fanout-${round}-${randomBytes(6).toString('hex')}`
    const t0 = Date.now()
    // With an RSS reading, in two halves: the second half's growth is what one more subscriber
    // costs, whatever the warm-up left behind for the first half to reuse.
    const half = measureRss ? Math.floor(n / 2) : 0
    let mid: number[] = []
    let midHeld = 0
    if (half > 0) {
      const first = await openSubscribers(server, name, kind, half, marker, `${tag} first half`)
      clients = first.clients
      midHeld = first.held
      mid = await settle(server.rssPids, server.rssLabel, kSettle)
    }
    const opened = await openSubscribers(server, name, kind, n - half, marker, tag)
    clients = clients.concat(opened.clients)
    r.held = midHeld + opened.held
    r.openSecs = (Date.now() - t0) / 1000
    r.refused = total(clients, 'refused')
    if (r.held < n) progressLine(`${tag}: only ${r.held}/${n} held (${firstError(clients) || 'no client error'}); publishing to those`)
    if (r.held <= 0) throw new Error(`no subscriber held (${firstError(clients) || 'no client error'})`)
    if (measureRss) {
      const after = await settle(server.rssPids, server.rssLabel, kSettle)
      const [b, m, a] = [before, mid, after].map((trace) => median(trace.slice(-kSamples))) as [number, number, number]
      r.rss = {
        label: server.rssLabel, beforeKiB: b, midKiB: m, afterKiB: a, midHeld,
        kibPerSub: (a - b) / r.held, kibSecondHalf: (a - m) / (r.held - midHeld), trace: { before, mid, after }
      }
      progressLine(`${tag}: ${server.rssLabel} RSS ${(b / 1024).toFixed(1)} -> ${(m / 1024).toFixed(1)} (${midHeld} held) -> ${(a / 1024).toFixed(1)} MiB (${r.held}), ` +
        `${r.rss.kibPerSub.toFixed(2)} KiB per held subscriber, ${r.rss.kibSecondHalf.toFixed(2)} in the second half`)
    }
    const clientPids = clients.map((c) => c.child.pid as number)
    const cpu0: number[] = []
    const at = await publish(publisher, [...server.pids, ...clientPids], marker, () => { cpu0.push(cpuMs(server.pids), cpuMs(clientPids)) })
    const until = at + kTimeoutMs
    while (total(clients, 'received') < r.held && clock() < until) await sleep(20)
    r.cpuMs = { server: cpuMs(server.pids) - cpu0[0]!, clients: cpuMs(clientPids) - cpu0[1]! }
    r.publishStatus = await answered(publisher, 'publish')
    await sleep(300) // the last progress reports (every 250 ms) carry the final stamps
    r.received = total(clients, 'received')
    const span = receivedSpan(clients)
    r.firstMs = span.firstAt - at
    r.lastMs = span.lastAt - at
    r.errors = total(clients, 'errors')
    r.firstError = firstError(clients)
    progressLine(`${tag}: ${r.received}/${r.held} received (${total(clients, 'refused')} refused in all, ${total(clients, 'closed')} closed), first ${fmtMs(r.firstMs)} ms, last ${fmtMs(r.lastMs)} ms after the publish`)
    return r
  } catch (err) {
    r.failure = (err as Error).message
    progressLine(`FAILED ${tag}: ${r.failure}`)
    return r
  } finally {
    publisher.close()
    await stopClients(clients)
    await server.stop()
    removeTempDir(dir)
  }
}

// ---------------------------------------------------------------- main

async function main (): Promise<number> {
  const machine = machineInfo()
  const results: RunResult[] = []
  const notes = new Set<string>()
  const biggest = Math.max(...kSizes)
  for (const kind of kKinds) {
    for (const n of kSizes) {
      const rounds = (name: ContenderName): number => name === 'pushpin' ? (n === biggest ? kPushpinRepeats : kRepeats) : (n === biggest ? kRepeats : kRepeats * kSmallFactor)
      const most = Math.max(...kOnly.map(rounds))
      for (let round = 1; round <= most; round++) {
        for (const name of kOnly) {
          if (round > rounds(name)) continue
          try {
            results.push(await runOnce(name, kind, n, round, kRss && round === 1 && n === biggest))
          } catch (err) {
            // The server did not start.
            const failure = (err as Error).message
            progressLine(`FAILED ${name} ${kind} N=${n} round ${round}: ${failure}`)
            results.push({ contender: name, kind, n, round, held: 0, received: 0, firstMs: Number.NaN, lastMs: Number.NaN, openSecs: Number.NaN, publishStatus: 0, refused: 0, errors: 0, firstError: '', failure })
          }
          await stopAll()
          await sleep(500)
        }
      }
    }
  }
  const rows = aggregateRuns(results, kKinds, kSizes, kOnly)
  const times = timeTable(rows)
  const rss = rssTable(results)
  const targets = targetLines(rows, kSizes)
  const details: string[] = []
  for (const r of results) {
    if (r.failure !== undefined) details.push(`FAILED ${r.contender} ${r.kind} N=${r.n} round ${r.round}: ${r.failure.split('\n')[0]}`)
    else if (r.held < r.n || r.received < r.held || r.errors > 0 || r.refused > 0) {
      details.push(`${r.contender} ${r.kind} N=${r.n} round ${r.round}: ${r.held}/${r.n} held (opened in ${r.openSecs.toFixed(1)} s, ${r.refused} refused and opened again), ` +
        `${r.received} received, ${r.errors} client errors${r.firstError !== '' ? ` (first: ${r.firstError})` : ''}`)
    }
  }
  for (const r of results) if (r.note !== undefined) notes.add(r.note)
  const knobs = `one publish to N held subscribers; last ms = from the publish call (POST /publish/, Pushpin's JSON) to the last subscriber's receipt, ` +
    `median of REPEATS=${kRepeats} rounds (${kRepeats * kSmallFactor} for Switchboard and raw uWS.js below N=${biggest}; each a fresh server, warmed by ${kWarmupRounds} untimed publish(es) to ${kWarmup} subscribers, then ${kWarmupPublishes} to a channel no one holds; the publisher's keep-alive connection open before); clients: >= 2 processes of <= ${kPerClient} sockets, opened ${kRate} per ${kStepMs} ms (Pushpin ${kPushpinRate}, and ${kPushpinRepeats} round(s) at N=${biggest}); ` +
    `x uWS = this ÷ raw uWS.js (target for Switchboard <= 1.2x); Pushpin ÷ this = Pushpin's time ÷ this row's (target >= 4x of Pushpin's best); ` +
    `RSS at N=${biggest}, round 1: VmRSS sampled 500 ms apart until flat, per held subscriber over all N (N held - after the warm-up) and over the second half (N - N/2 held), the larger judged; server node options: ${kServerNodeArgs.join(' ') || 'none'}`
  const timeNumbers = (i: number): boolean => i === 1 || (i >= 4 && i <= 6) || i >= 8
  const rssNumbers = (i: number): boolean => i === 1 || (i >= 4 && i <= 8)
  const ran = [...notes].join('; ')
  process.stdout.write(`\n${formatMachine(machine)}\n${ran}\n${knobs}\n\n${formatText(times, timeNumbers)}\n\n` +
    (rss.length > 1 ? `${formatText(rss, rssNumbers)}\n\n` : '') + `${targets.join('\n')}\n${details.length > 0 ? `\n${details.join('\n')}\n` : ''}`)
  mkdirSync(kOutDir, { recursive: true })
  const stamp = machine.date.replace(/[:.]/g, '-')
  writeFileSync(join(kOutDir, `fanout-${stamp}.json`), JSON.stringify({ machine, knobs, results }, null, 2))
  writeFileSync(join(kOutDir, 'fanout-latest.md'),
    `${formatMachine(machine).split('\n').join('  \n')}  \n${ran}  \n${knobs}\n\n${formatMarkdown(times, timeNumbers)}\n\n` +
    (rss.length > 1 ? `${formatMarkdown(rss, rssNumbers)}\n\n` : '') + `${targets.map((l) => `- ${l}`).join('\n')}\n` +
    (details.length > 0 ? `\n${details.map((d) => `- ${d}`).join('\n')}\n` : ''))
  process.stdout.write(`\nsaved perf/out/fanout-${stamp}.json and perf/out/fanout-latest.md (logs in perf/out/logs/)\n`)
  return results.some((r) => !complete(r) && r.contender !== 'pushpin') ? 1 : 0
}

runHeldBench(main, progressLine)
