/**
 * The client processes of the held-connection benchmarks (perf/held.ts, perf/push.ts):
 * each runs perf/lib/held-client.ts with at most `perClient` sockets (a process may hold
 * 20,000 open files here), and every one started is tracked so the bench can stop it by
 * PID, even on failure.
 */
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { kNodeArgs } from '../contenders/node-proc.js'
import type { HeldMode, HeldProgress } from './held-client.js'
import { kRepoRoot, killAllNow, stopAll } from './proc.js'

const kClientFile = join(kRepoRoot, 'perf', 'lib', 'held-client.ts')

export interface Client { child: ChildProcess; progress: HeldProgress | null; exited: boolean }

/** Every client process still running. */
export const gClients = new Set<Client>()

export interface ClientsOptions {
  port: number
  n: number
  perClient: number
  /** Connections opened per `stepMs`, over all clients. */
  rate: number
  stepMs: number
  path: string
  mode?: HeldMode
  /** A string each socket watches for (held-client.ts): counted as `received`, with times. */
  marker?: string
}

/** Forks ceil(n / perClient) clients sharing `n` connections. */
export function startClients (o: ClientsOptions): Client[] {
  const k = Math.ceil(o.n / o.perClient)
  const step = Math.max(1, Math.ceil(o.rate / k))
  const clients: Client[] = []
  for (let i = 0; i < k; i++) {
    const count = Math.floor(o.n / k) + (i < o.n % k ? 1 : 0)
    const child = fork(kClientFile, [String(o.port), String(count), String(step), String(o.stepMs), o.path, o.mode ?? 'get', o.marker ?? ''], {
      cwd: kRepoRoot, execArgv: [...kNodeArgs], stdio: ['ignore', 'inherit', 'inherit', 'ipc']
    })
    const c: Client = { child, progress: null, exited: false }
    child.on('message', (m: HeldProgress) => { c.progress = m })
    child.once('exit', () => { c.exited = true; gClients.delete(c) })
    gClients.add(c)
    clients.push(c)
  }
  return clients
}

export function total (clients: readonly Client[], key: 'started' | 'connected' | 'answered' | 'unexpected' | 'closed' | 'errors' | 'received' | 'refused' | 'holding'): number {
  return clients.reduce((n, c) => n + (c.progress?.[key] ?? 0), 0)
}

/** When the first and the last socket of all clients got the marker (shared-clock ms; NaN if none). */
export function receivedSpan (clients: readonly Client[]): { firstAt: number; lastAt: number } {
  let firstAt = Number.NaN
  let lastAt = Number.NaN
  for (const c of clients) {
    const p = c.progress
    if (p === null || p.received === 0) continue
    if (!(p.firstAt >= firstAt)) firstAt = p.firstAt
    if (!(p.lastAt <= lastAt)) lastAt = p.lastAt
  }
  return { firstAt, lastAt }
}

export function firstError (clients: readonly Client[]): string {
  return clients.map((c) => c.progress?.firstError ?? '').find((e) => e !== '') ?? ''
}

/** Asks each client to reset its sockets and exit; SIGKILL by PID after 5 s. */
export async function stopClients (clients: readonly Client[]): Promise<void> {
  await Promise.all(clients.map(async (c) => {
    if (c.exited) return
    const exited = new Promise<void>((resolveExit) => { c.child.once('exit', () => resolveExit()) })
    if (c.child.connected) c.child.send({ type: 'stop' })
    else c.child.kill('SIGTERM')
    const timer = setTimeout(() => { if (!c.exited) c.child.kill('SIGKILL') }, 5000)
    await exited
    clearTimeout(timer)
  }))
}

/** SIGKILL by PID, synchronously (for process.on('exit')). */
export function killClientsNow (): void {
  for (const c of gClients) {
    try { process.kill(c.child.pid as number, 'SIGKILL') } catch { /* already gone */ }
  }
}

/**
 * Runs a held bench's `main`: servers (proc.ts registry) and client processes are stopped
 * by PID when it ends, fails, is interrupted, or the process exits; its code is the exit code.
 */
export function runHeldBench (main: () => Promise<number>, log: (line: string) => void): void {
  process.on('exit', () => {
    killAllNow()
    killClientsNow()
  })
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      log(`${sig}: stopping every process started`)
      void Promise.all([stopClients([...gClients]), stopAll()]).finally(() => process.exit(130))
    })
  }
  main().then((code) => { process.exitCode = code }, async (err: Error) => {
    process.stderr.write(`${err.message}\n`)
    await stopClients([...gClients])
    await stopAll()
    process.exitCode = 1
  })
}
