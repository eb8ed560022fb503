/**
 * Turns repeated samples into the one table issue 3 asks for: medians, spread, per-process
 * CPU and the ratio of each row's req/s to each anchor's at the same connection count.
 */
import { median, spreadPct } from './stats.js'

/** One timed wrk run of one contender. */
export interface Sample {
  contender: string
  conns: number
  round: number
  rps: number
  p50Ms: number
  p99Ms: number
  errors: number
  /** role → CPU% (100 = one core) over the run. */
  cpu: Record<string, number>
  wrkCpu: number
}

export interface Row {
  contender: string
  conns: number
  runs: number
  rps: number
  spreadPct: number
  p50Ms: number
  p99Ms: number
  cpu: Record<string, number>
  wrkCpu: number
  errors: number
}

/** Ratio columns: req/s of the row ÷ req/s of this contender at the same conns. */
export interface Anchor { name: string; label: string }

export const kAnchors: readonly Anchor[] = [
  { name: 'uws-raw', label: 'x uWS' },
  { name: 'node-http', label: 'x node' },
  { name: 'mongrel2', label: 'x m2' }
]

export function aggregate (samples: readonly Sample[], order: readonly string[]): Row[] {
  const groups = new Map<string, Sample[]>()
  for (const s of samples) {
    const key = `${s.conns}\0${s.contender}`
    const g = groups.get(key)
    if (g === undefined) groups.set(key, [s]); else g.push(s)
  }
  const rows: Row[] = []
  for (const g of groups.values()) {
    const first = g[0] as Sample
    const cpu: Record<string, number> = {}
    for (const role of Object.keys(first.cpu)) cpu[role] = median(g.map((s) => s.cpu[role] ?? Number.NaN))
    rows.push({
      contender: first.contender,
      conns: first.conns,
      runs: g.length,
      rps: median(g.map((s) => s.rps)),
      spreadPct: spreadPct(g.map((s) => s.rps)),
      p50Ms: median(g.map((s) => s.p50Ms)),
      p99Ms: median(g.map((s) => s.p99Ms)),
      cpu,
      wrkCpu: median(g.map((s) => s.wrkCpu)),
      errors: g.reduce((n, s) => n + s.errors, 0)
    })
  }
  return rows.sort((a, b) => a.conns - b.conns || order.indexOf(a.contender) - order.indexOf(b.contender))
}

function fmtInt (x: number): string {
  return Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '-'
}
/** Milliseconds with 3 significant digits at most ('-' when unmeasured). */
export function fmtMs (x: number): string {
  if (!Number.isFinite(x)) return '-'
  return x < 10 ? x.toFixed(2) : x < 100 ? x.toFixed(1) : x.toFixed(0)
}
function fmtPct (x: number): string {
  return Number.isFinite(x) ? x.toFixed(1) : '-'
}
function fmtRatio (x: number): string {
  return Number.isFinite(x) ? `${x.toFixed(2)}x` : '-'
}
function fmtCpu (cpu: Record<string, number>): string {
  return Object.entries(cpu).map(([role, v]) => `${role} ${Number.isFinite(v) ? Math.round(v) : '?'}%`).join(', ')
}

/** Table cells, header first; `!` after req/s marks runs that saw errors or non-2xx answers. */
export function tableCells (rows: readonly Row[], anchors: readonly Anchor[] = kAnchors): string[][] {
  const header = ['contender', 'conns', 'req/s', 'spread %', 'p50 ms', 'p99 ms', 'CPU per process', 'wrk CPU',
    ...anchors.map((a) => a.label)]
  const out = [header]
  for (const r of rows) {
    const ratios = anchors.map((a) => {
      const ref = rows.find((x) => x.contender === a.name && x.conns === r.conns)
      return fmtRatio(ref === undefined ? Number.NaN : r.rps / ref.rps)
    })
    out.push([r.contender, String(r.conns), fmtInt(r.rps) + (r.errors > 0 ? '!' : ''), fmtPct(r.spreadPct),
      fmtMs(r.p50Ms), fmtMs(r.p99Ms), fmtCpu(r.cpu), `${Math.round(r.wrkCpu)}%`, ...ratios])
  }
  return out
}

const kRightAligned = new Set([1, 2, 3, 4, 5, 7])
/** Which columns of tableCells' table are numbers (right-aligned): all but names and CPU. */
const kBenchNumbers = (i: number): boolean => kRightAligned.has(i) || i >= 8

/** Aligned plain text, for the terminal; `isNumber(i)` columns are right-aligned. */
export function formatText (cells: readonly string[][], isNumber = kBenchNumbers): string {
  const widths = (cells[0] ?? []).map((_, i) => Math.max(...cells.map((row) => (row[i] ?? '').length)))
  return cells.map((row) => row.map((c, i) => {
    const w = widths[i] ?? 0
    return isNumber(i) ? c.padStart(w) : c.padEnd(w)
  }).join('  ').trimEnd()).join('\n')
}

/** GitHub markdown, for the README's Performance section; `isNumber(i)` columns right-aligned. */
export function formatMarkdown (cells: readonly string[][], isNumber = kBenchNumbers): string {
  const [header = [], ...body] = cells
  const align = header.map((_, i) => (isNumber(i) ? '---:' : '---'))
  return [header, align, ...body].map((row) => `| ${row.join(' | ')} |`).join('\n')
}
