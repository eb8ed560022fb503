/** What the numbers were measured on: printed with every run and saved beside the results. */
import { cpus, loadavg, totalmem } from 'node:os'
import { readFileSync } from 'node:fs'
import { toolVersion } from './tools.js'

export interface MachineInfo {
  date: string
  cores: number
  cpuModel: string
  memGiB: number
  node: string
  wrk: string
  loadAvg: string
  kernel: string
}

function cpuModel (): string {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))
    if (m !== null) return (m[1] as string).trim()
  } catch { /* not Linux */ }
  return cpus()[0]?.model ?? '?'
}

function kernel (): string {
  try { return readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim() } catch { return '?' }
}

export function machineInfo (): MachineInfo {
  return {
    date: new Date().toISOString(),
    cores: cpus().length,
    cpuModel: cpuModel(),
    memGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    node: process.version,
    wrk: toolVersion('wrk', ['--version']).replace(/ Copyright.*$/, ''),
    loadAvg: loadavg().map((x) => x.toFixed(2)).join(' '),
    kernel: kernel()
  }
}

export function formatMachine (m: MachineInfo): string {
  return [
    `machine: ${m.cores} cores, ${m.cpuModel}, ${m.memGiB} GiB RAM, Linux ${m.kernel}`,
    `node ${m.node}, ${m.wrk}, date ${m.date}, load average at start ${m.loadAvg}`
  ].join('\n')
}
