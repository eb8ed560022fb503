/**
 * Issue 3's speed targets, checked against the bench table's rows (medians over rounds):
 *
 *   sb-m2   ≥ 1.25× mongrel2 req/s, p99 no worse     (same Mongrel2-protocol handler)
 *   sb-ts-N ≥ 3× mongrel2, ≥ 0.5× uws-raw, ≥ 1.5× node-http req/s
 *   and every contender's p50 at 1 connection (light-load latency)
 *
 * Throughput targets are judged at every connection count ≥ 50 present in the run
 * (1 connection measures latency, not throughput).
 *
 * ```ts
 * process.stdout.write(formatTargets(rows))   // in bench.ts, after the table
 * ```
 * CLI, on a saved run (default: the newest perf/out/bench-*.json):
 *   node --import tsx perf/lib/targets.ts [perf/out/bench-….json]
 */
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { kMachineRole } from './cpu.js'
import { kOutDir } from './proc.js'
import { fmtMs, type Row } from './report.js'

interface RatioTarget {
  contender: string | RegExp
  anchor: string
  min: number
  /** Also require p99 ≤ the anchor's p99. */
  p99NoWorse?: boolean
}

export const kTargets: readonly RatioTarget[] = [
  { contender: 'sb-m2', anchor: 'mongrel2', min: 1.25, p99NoWorse: true },
  { contender: /^sb-ts-/, anchor: 'mongrel2', min: 3 },
  { contender: /^sb-ts-/, anchor: 'uws-raw', min: 0.5 },
  { contender: /^sb-ts-/, anchor: 'node-http', min: 1.5 }
]

const kThroughputConns = 50
/** Raw uWS.js in-process: what no uWS.js front end can exceed on the same machine. */
const kCeiling = 'uws-raw'

/** One target judged for one contender at one connection count. */
export interface Verdict {
  target: RatioTarget
  contender: string
  row: Row
  anchor: Row
  ratio: number
  /** The anchor's req/s times the target's factor. */
  goalRps: number
  met: boolean
}

/** Every (target, contender, conns ≥ 50) that `rows` has both sides of, in kTargets order. */
export function judge (rows: readonly Row[]): Verdict[] {
  const names = [...new Set(rows.map((r) => r.contender))]
  const connsList = [...new Set(rows.map((r) => r.conns))].filter((c) => c >= kThroughputConns).sort((a, b) => a - b)
  const verdicts: Verdict[] = []
  for (const target of kTargets) {
    for (const name of names.filter((n) => matches(target, n))) {
      for (const conns of connsList) {
        const row = rows.find((r) => r.contender === name && r.conns === conns)
        const anchor = rows.find((r) => r.contender === target.anchor && r.conns === conns)
        if (row === undefined || anchor === undefined) continue
        const ratio = row.rps / anchor.rps
        const met = ratio >= target.min && (target.p99NoWorse !== true || row.p99Ms <= anchor.p99Ms)
        verdicts.push({ target, contender: name, row, anchor, ratio, goalRps: target.min * anchor.rps, met })
      }
    }
  }
  return verdicts
}

function matches (t: RatioTarget, name: string): boolean {
  return typeof t.contender === 'string' ? name === t.contender : t.contender.test(name)
}

/** One line per (target, contender) found in `rows`, then the p50 at 1 connection of each contender. */
export function formatTargets (rows: readonly Row[]): string {
  const lines: string[] = ['targets (req/s ratio to the anchor at the same conns; judged at conns >= 50):']
  const verdicts = judge(rows)
  const names = [...new Set(rows.map((r) => r.contender))]
  for (const t of kTargets) {
    for (const name of names.filter((n) => matches(t, n))) {
      const mine = verdicts.filter((v) => v.target === t && v.contender === name)
      const parts = mine.map((v) => {
        let part = `c=${v.row.conns} ${v.ratio.toFixed(2)}x`
        // A goal above raw uWS.js's own req/s is out of reach for any uWS.js front end: say so.
        const ceiling = rows.find((r) => r.contender === kCeiling && r.conns === v.row.conns)
        if (t.anchor !== kCeiling && ceiling !== undefined && v.goalRps > ceiling.rps) {
          part += ` (goal ${Math.round(v.goalRps)} > ${kCeiling} ${Math.round(ceiling.rps)} req/s)`
        }
        if (t.p99NoWorse === true) part += ` (p99 ${fmtMs(v.row.p99Ms)} vs ${fmtMs(v.anchor.p99Ms)} ms)`
        return part
      })
      const goal = `${name} / ${t.anchor} >= ${t.min}x${t.p99NoWorse === true ? ', p99 no worse' : ''}`
      const verdict = mine.every((v) => v.met) ? 'met' : 'MISSED'
      lines.push(`  ${goal.padEnd(44)} ${mine.length === 0 ? 'not measured (contender or anchor missing)' : `${parts.join(', ')}: ${verdict}`}`)
    }
  }
  const light = rows.filter((r) => r.conns === 1)
  if (light.length > 0) {
    lines.push(`p50 at 1 connection: ${light.map((r) => `${r.contender} ${fmtMs(r.p50Ms)} ms`).join(', ')}`)
  }
  return `${lines.join('\n')}\n`
}

/**
 * For each contender and connection count with a missed goal: the CPU it spent per
 * request (each process's CPU ÷ req/s, wrk's included) beside the most a goal allows with
 * every core busy (cores × 1 s ÷ the goal's req/s). Spent above budget: the goal needs less
 * work per request. Spent below: the cores were not kept busy (the machine column says how
 * busy they were). Empty when every goal was met.
 */
export function formatBudgets (rows: readonly Row[], cores: number): string {
  const missesByRow = new Map<Row, Verdict[]>()
  for (const v of judge(rows)) {
    if (v.ratio >= v.target.min) continue // met, or missed on p99 alone: no CPU budget to show
    const misses = missesByRow.get(v.row)
    if (misses === undefined) missesByRow.set(v.row, [v]); else misses.push(v)
  }
  if (missesByRow.size === 0) return ''
  const lines = [`CPU per request against each missed goal's budget (${cores} cores x 1 s / goal req/s; µs of CPU):`]
  for (const [row, misses] of missesByRow) {
    const perReq = (pct: number): number => pct * 1e4 / row.rps
    const procs = Object.entries(row.cpu).filter(([name]) => name !== kMachineRole)
    const spent = procs.reduce((sum, [, pct]) => sum + perReq(pct), 0) + perReq(row.wrkCpu)
    const parts = [...procs.map(([name, pct]) => `${name} ${perReq(pct).toFixed(1)}`), `wrk ${perReq(row.wrkCpu).toFixed(1)}`]
    const machine = row.cpu[kMachineRole]
    const budgets = misses.map((m) => `${(cores * 1e6 / m.goalRps).toFixed(1)} for ${m.target.min}x ${m.target.anchor}`)
    lines.push(`  ${`${row.contender} c=${row.conns}`.padEnd(14)} spent ${spent.toFixed(1)} (${parts.join(', ')})` +
      `${machine === undefined ? '' : ` at machine ${Math.round(machine)}%`}; budget ${budgets.join(', ')}`)
  }
  return `${lines.join('\n')}\n`
}

function newestBenchJson (): string {
  const files = readdirSync(kOutDir).filter((f) => /^bench-.*\.json$/.test(f)).sort()
  const last = files[files.length - 1]
  if (last === undefined) throw new Error(`perf: no bench-*.json in ${kOutDir}; run npm run bench first`)
  return join(kOutDir, last)
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const file = process.argv[2] ?? newestBenchJson()
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[]; knobs?: string; machine?: { cores?: number } }
  const budgets = saved.machine?.cores === undefined ? '' : formatBudgets(saved.rows, saved.machine.cores)
  process.stdout.write(`${file}${saved.knobs === undefined ? '' : `\n${saved.knobs}`}\n${formatTargets(saved.rows)}${budgets}`)
}
