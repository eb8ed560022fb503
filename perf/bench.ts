/**
 * `npm run bench`: every contender in fresh processes, checked before it is timed, driven
 * by wrk at each connection count, repeated in rounds (A B C, A B C …) so machine noise
 * shows as spread rather than as a wrong ratio. Prints the machine and one table; saves
 * JSON and markdown under perf/out/.
 *
 * Knobs (env): DURATION seconds per wrk run (10), REPEATS rounds (2), CONNS (`1,50,256`),
 * ONLY comma-separated contender names, WARMUP seconds of untimed load after start (2),
 * M2_ACCESS_LOG=1 to give Mongrel2 its access log back.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { contenders } from './contenders/index.js'
import type { Contender, Started } from './lib/contender.js'
import { cpuPercent, sampleCpu } from './lib/cpu.js'
import type { CpuSample } from './lib/cpu.js'
import { formatMachine, machineInfo } from './lib/machine.js'
import { waitForHello } from './lib/net.js'
import { kLogDir, kOutDir, killAllNow, sleep, stopAll } from './lib/proc.js'
import { aggregate, formatMarkdown, formatText, tableCells } from './lib/report.js'
import type { Sample } from './lib/report.js'
import { ensureTool } from './lib/tools.js'
import { runWrk } from './lib/wrk.js'
import { formatBudgets, formatTargets } from './lib/targets.js'
import { intEnv } from './lib/env.js'
import { parseArgs } from './lib/cli.js'

parseArgs(`usage: npm run bench            (no arguments; knobs are env variables)
  DURATION=10        seconds of each timed wrk run
  REPEATS=2          rounds; each runs every contender once, in order
  CONNS=1,50,256     wrk keep-alive connection counts
  ONLY=a,b           only these contenders: ${contenders.map((c) => c.name).join(', ')}
  WARMUP=2           seconds of untimed load after each start
  M2_ACCESS_LOG=1    give Mongrel2 its access log back
  SB_THREADS=0       handler host threads for sb-ts-* (0, 1, 2, 4)
  SB_PROTOCOL=json   header encoding (json, tnetstring, msgpack)
  SB_TRANSPORT=tcp   handler endpoints (tcp, ipc); SB_LINK=ipc acceptor-broker links (ipc, tcp)
e.g. DURATION=5 REPEATS=3 ONLY=uws-raw,sb-ts-1 npm run bench
Prints one table; saves perf/out/bench-<date>.json and .md. Details: perf/README.md
`)

const kDuration = intEnv('DURATION', 10, 1)
const kRepeats = intEnv('REPEATS', 2, 1)
const kWarmup = intEnv('WARMUP', 2, 0)
const kConns = (process.env.CONNS ?? '1,50,256').split(',').map((s) => {
  const n = Number(s.trim())
  if (!Number.isInteger(n) || n < 1) throw new Error(`perf: CONNS must be comma-separated positive integers, got '${process.env.CONNS}'`)
  return n
})

function selected (): Contender[] {
  const only = process.env.ONLY?.split(',').map((s) => s.trim()).filter((s) => s !== '')
  if (only === undefined || only.length === 0) return [...contenders]
  const known = contenders.map((c) => c.name)
  const unknown = only.filter((n) => !known.includes(n))
  if (unknown.length > 0) throw new Error(`perf: ONLY names unknown contender(s) ${unknown.join(', ')}; known: ${known.join(', ')}`)
  return contenders.filter((c) => only.includes(c.name))
}

function progress (line: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`)
}

/** One contender, one round: start, check, warm up, time each connection count, stop. */
async function runOnce (c: Contender, round: number, samples: Sample[]): Promise<void> {
  progress(`round ${round}: starting ${c.name}`)
  const s: Started = await c.start()
  try {
    if (kWarmup > 0) await runWrk({ url: s.url, connections: Math.max(...kConns), seconds: kWarmup })
    for (const conns of kConns) {
      let before: CpuSample | undefined
      let after: CpuSample | undefined
      const r = await runWrk({
        url: s.url,
        connections: conns,
        seconds: kDuration,
        onStart: () => { before = sampleCpu(s.pids) },
        onEnd: () => { after = sampleCpu(s.pids) }
      })
      const cpu = before !== undefined && after !== undefined ? cpuPercent(before, after) : {}
      // Still right after the load? A contender that broke mid-run must not score.
      await waitForHello(s.url, 5000)
      samples.push({ contender: c.name, conns, round, rps: r.rps, p50Ms: r.p50Ms, p99Ms: r.p99Ms, errors: r.errors, cpu, wrkCpu: r.wrkCpu })
      const cpuText = Object.entries(cpu).map(([k, v]) => `${k} ${Math.round(v)}%`).join(' ')
      progress(`  ${c.name} c=${conns}: ${Math.round(r.rps)} req/s p50 ${r.p50Ms.toFixed(2)} ms p99 ${r.p99Ms.toFixed(2)} ms` +
        ` cpu ${cpuText} wrk ${Math.round(r.wrkCpu)}%${r.errors > 0 ? ` ERRORS ${r.errors}` : ''}`)
    }
  } finally {
    await s.stop()
    await stopAll()
  }
}

async function main (): Promise<number> {
  const list = selected()
  ensureTool('wrk', ['wrk'])
  rmSync(kLogDir, { recursive: true, force: true })
  mkdirSync(kOutDir, { recursive: true })
  const machine = machineInfo()
  const perStart = 3 + kWarmup + kConns.length * (kDuration + 0.5)
  progress(`${list.length} contenders x ${kRepeats} rounds x conns ${kConns.join(',')} x ${kDuration}s: about ` +
    `${Math.ceil(list.length * kRepeats * perStart / 60)} min`)

  const samples: Sample[] = []
  const failures: string[] = []
  for (let round = 1; round <= kRepeats; round++) {
    for (const c of list) {
      try {
        await runOnce(c, round, samples)
      } catch (err) {
        const msg = `${c.name} round ${round}: ${(err as Error).message}`
        failures.push(msg)
        progress(`FAILED ${msg}`)
      }
      await sleep(500) // let sockets in TIME_WAIT and CPU settle between contenders
    }
  }

  const rows = aggregate(samples, list.map((c) => c.name))
  const cells = tableCells(rows)
  const knobs = `DURATION=${kDuration}s REPEATS=${kRepeats} CONNS=${kConns.join(',')} WARMUP=${kWarmup}s, wrk -t2 (1 thread at 1 conn), keep-alive`
  const text = formatText(cells)
  process.stdout.write(`\n${formatMachine(machine)}\n${knobs}\n` +
    'req/s, p50, p99 and CPU are medians over the rounds; spread = (max-min)/median of req/s; ' +
    'CPU 100% = one core; ratios = req/s / anchor req/s at the same conns; ! = errors or non-2xx seen\n\n' +
    `${text}\n`)
  process.stdout.write(formatTargets(rows) + formatBudgets(rows, machine.cores))
  for (const f of failures) process.stdout.write(`FAILED: ${f}\n`)

  const stamp = machine.date.replace(/[:.]/g, '-')
  const md = `${formatMachine(machine).split('\n').join('  \n')}  \n${knobs}\n\n${formatMarkdown(cells)}\n`
  writeFileSync(join(kOutDir, `bench-${stamp}.json`), JSON.stringify({ machine, knobs, samples, rows, failures }, null, 2))
  writeFileSync(join(kOutDir, `bench-${stamp}.md`), md)
  writeFileSync(join(kOutDir, 'bench-latest.md'), md)
  process.stdout.write(`\nsaved perf/out/bench-${stamp}.json and .md (logs in perf/out/logs/)\n`)
  return failures.length > 0 || samples.length === 0 ? 1 : 0
}

process.on('exit', killAllNow)
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    progress(`${sig}: stopping every process started`)
    void stopAll().finally(() => process.exit(130))
  })
}

main().then((code) => { process.exitCode = code }, async (err: Error) => {
  process.stderr.write(`${err.message}\n`)
  await stopAll()
  process.exitCode = 1
})
