/**
 * Resident memory of a process for the held-connection benchmarks (perf/held.ts,
 * perf/push.ts): VmRSS from /proc/<pid>/status, sampled until it is flat.
 */
import { readFileSync } from 'node:fs'
import { sleep } from './proc.js'

/** VmRSS of `pid` in KiB; NaN once the process is gone. */
export function rssKiB (pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
    return m === null ? Number.NaN : Number(m[1])
  } catch { return Number.NaN }
}

/** Summed VmRSS of `pids` in KiB (one front end made of several processes); NaN once one is gone. */
export function rssSumKiB (pids: number | readonly number[]): number {
  if (typeof pids === 'number') return rssKiB(pids)
  let sum = 0
  for (const pid of pids) sum += rssKiB(pid)
  return sum
}

export interface SettleOptions {
  /** Sample for at least this long. */
  settleMs: number
  /** Settled = the last `stableN` samples within 1% (or 3 × settleMs elapsed). */
  stableN: number
  gapMs: number
}

/**
 * Samples `pid`'s RSS (the sum, for several) every `gapMs` for at least `settleMs`, then until
 * the last `stableN` samples lie within 1% of each other (at most 3 × settleMs); returns every sample.
 */
export async function settle (pid: number | readonly number[], what: string, o: SettleOptions): Promise<number[]> {
  const trace: number[] = []
  const t0 = Date.now()
  for (;;) {
    const rss = rssSumKiB(pid)
    if (Number.isNaN(rss)) throw new Error(`perf: ${what} (pid ${pid}) is gone`)
    trace.push(rss)
    const elapsed = Date.now() - t0
    if (elapsed >= o.settleMs && trace.length >= o.stableN) {
      const tail = trace.slice(-o.stableN)
      const hi = Math.max(...tail)
      if ((hi - Math.min(...tail)) / hi <= 0.01 || elapsed >= 3 * o.settleMs) return trace
    }
    await sleep(o.gapMs)
  }
}

/** `n` RSS samples of `pid`, `gapMs` apart. */
export async function sampleRss (pid: number, n: number, gapMs: number): Promise<number[]> {
  const out: number[] = []
  for (let i = 0; i < n; i++) {
    if (i > 0) await sleep(gapMs)
    out.push(rssKiB(pid))
  }
  return out
}
