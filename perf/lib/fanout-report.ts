/**
 * The tables of `npm run bench:fanout` (perf/fanout.ts): per kind, N and contender the
 * median time from the publish to the last subscriber, its ratio to raw uWS.js and
 * Pushpin's to it, the RSS per held subscriber, and the verdicts on issue 10's targets.
 */
import { fmtMs } from './report.js'
import { median, spreadPct } from './stats.js'

export const kContenderNames = ['switchboard', 'uws-raw', 'pushpin'] as const
export type ContenderName = typeof kContenderNames[number]
export const kKindNames = ['ws', 'sse', 'lp'] as const
export type Kind = typeof kKindNames[number]

/** One publish to N subscribers of one kind, on one contender's fresh server. */
export interface RunResult {
  contender: ContenderName
  kind: Kind
  n: number
  round: number
  /** Subscribers held when the publish went out. */
  held: number
  received: number
  /** ms from the publish call to the first and the last subscriber's receipt; NaN if none. */
  firstMs: number
  lastMs: number
  /** Seconds to open all N (until the barrier's counts were reached). */
  openSecs: number
  publishStatus: number
  /** Subscribers refused while opening (and opened again: held-client.ts). */
  refused: number
  errors: number
  firstError: string
  /** CPU the contender's processes and the client processes used from the publish until all had it (or the timeout), ms. */
  cpuMs?: { server: number; clients: number }
  /**
   * VmRSS (KiB) after the warm-up, with `midHeld` (about N/2) held and with all held; per held
   * subscriber over all (kibPerSub) and over the second half (kibSecondHalf).
   */
  rss?: {
    label: string; beforeKiB: number; midKiB: number; afterKiB: number; midHeld: number; kibPerSub: number; kibSecondHalf: number
    trace: { before: number[]; mid: number[]; after: number[] }
  }
  failure?: string
  /** What ran (versions, files). */
  note?: string
}

export interface Row {
  contender: ContenderName
  kind: Kind
  n: number
  runs: RunResult[]
  lastMs: number
  firstMs: number
  spread: number
  minHeld: number
  missed: number
  /** Medians of the complete runs' cpuMs. */
  serverCpuMs: number
  clientCpuMs: number
}

/** A run counts when every subscriber it held got the item. */
export const complete = (r: RunResult): boolean => r.failure === undefined && r.held > 0 && r.received >= r.held

/** One row per kind, N and contender (in the order given), medians over the complete runs. */
export function aggregateRuns (results: readonly RunResult[], kinds: readonly Kind[], sizes: readonly number[], contenders: readonly ContenderName[]): Row[] {
  const rows: Row[] = []
  for (const kind of kinds) {
    for (const n of sizes) {
      for (const contender of contenders) {
        const runs = results.filter((r) => r.kind === kind && r.n === n && r.contender === contender)
        if (runs.length === 0) continue
        const good = runs.filter(complete)
        rows.push({
          contender, kind, n, runs,
          lastMs: median(good.map((r) => r.lastMs)),
          firstMs: median(good.map((r) => r.firstMs)),
          spread: spreadPct(good.map((r) => r.lastMs)),
          minHeld: Math.min(...runs.map((r) => r.held)),
          missed: runs.reduce((s, r) => s + Math.max(0, r.held - r.received), 0),
          serverCpuMs: median(good.map((r) => r.cpuMs?.server ?? Number.NaN)),
          clientCpuMs: median(good.map((r) => r.cpuMs?.clients ?? Number.NaN))
        })
      }
    }
  }
  return rows
}

const kKindLabel: Record<Kind, string> = { ws: 'WebSocket', sse: 'SSE', lp: 'long-poll' }
const ratio = (x: number): string => (Number.isFinite(x) ? `${x.toFixed(2)}x` : '-')

export function timeTable (rows: readonly Row[]): string[][] {
  const out = [['kind', 'N', 'contender', 'held', 'last ms', 'first ms', 'spread %', 'runs ok', 'x uWS', 'Pushpin ÷ this', 'CPU ms server/clients']]
  for (const r of rows) {
    const uws = rows.find((x) => x.contender === 'uws-raw' && x.kind === r.kind && x.n === r.n)
    const pp = rows.find((x) => x.contender === 'pushpin' && x.kind === r.kind && x.n === r.n)
    const ok = r.runs.filter(complete).length
    const held = r.minHeld >= r.n ? String(r.n) : `${r.minHeld}/${r.n}`
    out.push([kKindLabel[r.kind], String(r.n), r.contender, held, fmtMs(r.lastMs), fmtMs(r.firstMs),
      Number.isFinite(r.spread) ? r.spread.toFixed(0) : '-', `${ok}/${r.runs.length}${r.missed > 0 ? ` (${r.missed} missed)` : ''}`,
      ratio(uws === undefined ? Number.NaN : r.lastMs / uws.lastMs), ratio(pp === undefined ? Number.NaN : pp.lastMs / r.lastMs),
      Number.isFinite(r.serverCpuMs) ? `${Math.round(r.serverCpuMs)}/${Math.round(r.clientCpuMs)}` : '-'])
  }
  return out
}

const kRssTargets: Partial<Record<Kind, number>> = { lp: 1.2, sse: 1.2 }

/**
 * RSS per held subscriber: over all N (what the warm-up left may be reused by the first ones:
 * too low then) and over the second half (the marginal cost); the larger is judged.
 */
export function rssTable (results: readonly RunResult[]): string[][] {
  const out = [['kind', 'N', 'contender', 'process', 'RSS warm MiB', 'N/2 held MiB', 'N held MiB', 'KiB per subscriber: all', 'second half', 'target']]
  const mib = (kib: number): string => (kib / 1024).toFixed(1)
  for (const r of results) {
    if (r.rss === undefined) continue
    const goal = kRssTargets[r.kind]
    const judged = Math.max(r.rss.kibPerSub, r.rss.kibSecondHalf)
    // Per held subscriber means little when the server held only some: said so instead of a verdict.
    const verdict = r.held < r.n ? `only ${r.held}/${r.n} held`
      : r.contender !== 'switchboard' ? 'reference' : goal === undefined ? '-' : `<= ${goal}: ${judged <= goal ? 'met' : 'MISSED'}`
    out.push([kKindLabel[r.kind], String(r.n), r.contender, r.rss.label, mib(r.rss.beforeKiB), mib(r.rss.midKiB), mib(r.rss.afterKiB),
      r.rss.kibPerSub.toFixed(2), r.rss.kibSecondHalf.toFixed(2), verdict])
  }
  return out
}

/** The issue's goals, judged on the medians: within 1.2x of raw uWS.js; at least 4x faster than Pushpin's best at that N. */
export function targetLines (rows: readonly Row[], sizes: readonly number[]): string[] {
  const lines: string[] = []
  for (const n of sizes) {
    const sb = rows.filter((r) => r.contender === 'switchboard' && r.n === n && Number.isFinite(r.lastMs))
    if (sb.length === 0) continue
    const uwsPart = sb.map((r) => {
      const uws = rows.find((x) => x.contender === 'uws-raw' && x.kind === r.kind && x.n === n)
      const x = uws === undefined ? Number.NaN : r.lastMs / uws.lastMs
      return `${kKindLabel[r.kind]} ${ratio(x)}${Number.isFinite(x) ? (x <= 1.2 ? ' met' : ' MISSED') : ''}`
    })
    lines.push(`N=${n}: Switchboard last delivery / raw uWS.js <= 1.2x: ${uwsPart.join(', ')}`)
    const pp = rows.filter((r) => r.contender === 'pushpin' && r.n === n && Number.isFinite(r.lastMs))
    if (pp.length > 0) {
      const best = pp.reduce((a, b) => (b.lastMs < a.lastMs ? b : a))
      const ppPart = sb.map((r) => {
        const x = best.lastMs / r.lastMs
        return `${kKindLabel[r.kind]} ${ratio(x)}${x >= 4 ? ' met' : ' MISSED'}`
      })
      lines.push(`N=${n}: Pushpin's best (${kKindLabel[best.kind]} ${fmtMs(best.lastMs)} ms${best.minHeld < n ? `, ${best.minHeld} held` : ''}) / Switchboard >= 4x: ${ppPart.join(', ')}`)
    }
  }
  return lines
}
