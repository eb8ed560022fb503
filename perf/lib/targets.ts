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

/** One line per (target, contender) found in `rows`, then the p50 at 1 connection of each contender. */
export function formatTargets (rows: readonly Row[]): string {
  const lines: string[] = ['targets (req/s ratio to the anchor at the same conns; judged at conns >= 50):']
  const names = [...new Set(rows.map((r) => r.contender))]
  const connsList = [...new Set(rows.map((r) => r.conns))].filter((c) => c >= kThroughputConns).sort((a, b) => a - b)
  for (const t of kTargets) {
    for (const name of names.filter((n) => (typeof t.contender === 'string' ? n === t.contender : t.contender.test(n)))) {
      const parts: string[] = []
      let met = true
      let judged = 0
      for (const conns of connsList) {
        const row = rows.find((r) => r.contender === name && r.conns === conns)
        const ref = rows.find((r) => r.contender === t.anchor && r.conns === conns)
        if (row === undefined || ref === undefined) continue
        judged++
        const ratio = row.rps / ref.rps
        let part = `c=${conns} ${ratio.toFixed(2)}x`
        if (!(ratio >= t.min)) met = false
        // A goal above raw uWS.js's own req/s is out of reach for any uWS.js front end: say so.
        const ceiling = rows.find((r) => r.contender === kCeiling && r.conns === conns)
        if (t.anchor !== kCeiling && ceiling !== undefined && t.min * ref.rps > ceiling.rps) {
          part += ` (goal ${Math.round(t.min * ref.rps)} > ${kCeiling} ${Math.round(ceiling.rps)} req/s)`
        }
        if (t.p99NoWorse === true) {
          part += ` (p99 ${fmtMs(row.p99Ms)} vs ${fmtMs(ref.p99Ms)} ms)`
          if (!(row.p99Ms <= ref.p99Ms)) met = false
        }
        parts.push(part)
      }
      const goal = `${name} / ${t.anchor} >= ${t.min}x${t.p99NoWorse === true ? ', p99 no worse' : ''}`
      lines.push(`  ${goal.padEnd(44)} ${judged === 0 ? 'not measured (contender or anchor missing)' : `${parts.join(', ')}: ${met ? 'met' : 'MISSED'}`}`)
    }
  }
  const light = rows.filter((r) => r.conns === 1)
  if (light.length > 0) {
    lines.push(`p50 at 1 connection: ${light.map((r) => `${r.contender} ${fmtMs(r.p50Ms)} ms`).join(', ')}`)
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
  const saved = JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[]; knobs?: string }
  process.stdout.write(`${file}${saved.knobs === undefined ? '' : `\n${saved.knobs}`}\n${formatTargets(saved.rows)}`)
}
