/**
 * Per-process CPU from /proc/<pid>/stat: utime + stime (all threads of the process) in
 * clock ticks, sampled before and after a run. 100% = one core busy for the whole run.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

function clockTicks (): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim())
    return n > 0 ? n : 100
  } catch { return 100 }
}
const kTicksPerSec = clockTicks()

/** CPU time used so far by `pid`, in seconds; NaN if the process is gone. */
export function cpuSeconds (pid: number): number {
  let stat: string
  try { stat = readFileSync(`/proc/${pid}/stat`, 'latin1') } catch { return Number.NaN }
  // comm (field 2) may hold spaces and parens: fields resume after the last ')'.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  // rest[0] is field 3 (state); utime and stime are fields 14 and 15.
  return (Number(rest[11]) + Number(rest[12])) / kTicksPerSec
}

/**
 * Busy CPU time of the whole machine so far, in seconds summed over cores, from the first
 * line of /proc/stat: user + nice + system + irq + softirq (not idle, iowait or steal).
 * It shows whether the cores were full, and includes what no process is charged for
 * (softirq work such as loopback delivery). NaN when /proc/stat is unreadable.
 */
export function machineBusySeconds (): number {
  let line: string
  try { line = readFileSync('/proc/stat', 'latin1').split('\n', 1)[0]! } catch { return Number.NaN }
  const f = line.trim().split(/\s+/).slice(1).map(Number)
  return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0)) / kTicksPerSec
}

export interface CpuSample { at: number; secs: Record<string, number> }

/** The pseudo-role of the whole machine's busy CPU in samples (100% = one core). */
export const kMachineRole = 'machine'

/** Samples every pid in `pids` (role → pid), then the whole machine as `machine`. */
export function sampleCpu (pids: Record<string, number>): CpuSample {
  const secs: Record<string, number> = {}
  for (const role in pids) secs[role] = cpuSeconds(pids[role] as number)
  secs[kMachineRole] = machineBusySeconds()
  return { at: performance.now(), secs }
}

/** role → CPU% between two samples (NaN for a process that vanished). */
export function cpuPercent (before: CpuSample, after: CpuSample): Record<string, number> {
  const wall = (after.at - before.at) / 1000
  const out: Record<string, number> = {}
  for (const role in before.secs) {
    out[role] = wall > 0 ? ((after.secs[role] ?? Number.NaN) - (before.secs[role] as number)) / wall * 100 : Number.NaN
  }
  return out
}
