/**
 * Child processes for benchmarks: spawned detached from our stdio (output goes to a log
 * file under perf/out/logs/), tracked in one registry so a failed or interrupted run
 * still kills everything it started, and always stopped by PID, never by name.
 */
import { spawn } from 'node:child_process'
import { closeSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/** Repository root (perf/..): child processes run here so `--import tsx` resolves. */
export const kRepoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..')
export const kOutDir = join(kRepoRoot, 'perf', 'out')
export const kLogDir = join(kOutDir, 'logs')

/** How long a process gets to exit after its stop signal before SIGKILL. */
const kStopGraceMs = 3000

export interface ProcOptions {
  /** Working directory; default: the repository root. */
  cwd?: string
  /** First signal sent by stop(); default SIGTERM (Mongrel2 wants SIGINT for a graceful stop). */
  stopSignal?: NodeJS.Signals
}

export interface Proc {
  readonly name: string
  readonly pid: number
  readonly logPath: string
  /** Exit code or signal name once the process has exited, else null. */
  readonly exit: string | null
  /** Resolves when the process exits (never rejects). */
  readonly exited: Promise<string>
  /** Sends the stop signal, waits, then SIGKILL; resolves once the process is gone. */
  stop(): Promise<void>
  /** The last `lines` lines of the log file, for error messages. */
  logTail(lines?: number): string
}

const kLive = new Set<Proc>()

/**
 * Spawns `cmd args` with `env` added to this process's environment. stdout and stderr are
 * appended to `perf/out/logs/<name>.log` (one header line per start).
 *
 * ```ts
 * const p = spawnProc('uws', process.execPath, ['--import', 'tsx', 'perf/servers/uws-hello.ts'], { PORT: '3000' })
 * await p.stop()
 * ```
 */
export function spawnProc (name: string, cmd: string, args: readonly string[],
  env: Record<string, string> = {}, options: ProcOptions = {}): Proc {
  mkdirSync(kLogDir, { recursive: true })
  const logPath = join(kLogDir, `${name}.log`)
  const fd = openSync(logPath, 'a')
  writeSync(fd, `\n=== ${new Date().toISOString()} ${cmd} ${args.join(' ')}\n`)
  const child = spawn(cmd, args, {
    cwd: options.cwd ?? kRepoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', fd, fd]
  })
  closeSync(fd)
  if (child.pid === undefined) throw new Error(`perf: could not spawn ${name} (${cmd}); see ${logPath}`)
  const pid = child.pid
  const stopSignal = options.stopSignal ?? 'SIGTERM'
  let exit: string | null = null
  const exited = new Promise<string>((resolveExit) => {
    child.once('exit', (code, signal) => {
      exit = signal ?? String(code)
      kLive.delete(proc)
      resolveExit(exit)
    })
    child.once('error', (err) => {
      exit = `error: ${err.message}`
      kLive.delete(proc)
      resolveExit(exit)
    })
  })
  let stopping: Promise<void> | null = null
  const proc: Proc = {
    name,
    pid,
    logPath,
    get exit () { return exit },
    exited,
    stop () {
      stopping ??= stopByPid(pid, stopSignal, () => exit !== null, exited)
      return stopping
    },
    logTail (lines = 15) {
      try {
        return readFileSync(logPath, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
      } catch { return '' }
    }
  }
  kLive.add(proc)
  return proc
}

async function stopByPid (pid: number, signal: NodeJS.Signals, gone: () => boolean, exited: Promise<string>): Promise<void> {
  if (gone()) return
  try { process.kill(pid, signal) } catch { return }
  const timer = sleep(kStopGraceMs)
  if (await Promise.race([exited.then(() => true), timer.then(() => false)])) return
  try { process.kill(pid, 'SIGKILL') } catch { return }
  await exited
}

/** Stops every process spawned here that is still running (safety net after a failure). */
export async function stopAll (): Promise<void> {
  await Promise.all([...kLive].map(async (p) => { await p.stop() }))
}

/** Synchronous last resort for `process.on('exit')`: SIGKILL whatever is still alive. */
export function killAllNow (): void {
  for (const p of kLive) {
    try { process.kill(p.pid, 'SIGKILL') } catch { /* already gone */ }
  }
}

/** Temp dirs not yet removed: an interrupted run (SIGINT exits without any stop()) removes them at exit. */
const kTempDirs = new Set<string>()
process.once('exit', () => { for (const d of kTempDirs) rmSync(d, { recursive: true, force: true }) })

/** A fresh dir under the OS temp dir, removed by removeTempDir() or else when this process exits. */
export function makeTempDir (prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  kTempDirs.add(dir)
  return dir
}

/** Puts a dir made elsewhere (e.g. by setupMongrel2) under the same exit-time removal. */
export function trackTempDir (dir: string): void {
  kTempDirs.add(dir)
}

export function removeTempDir (dir: string): void {
  rmSync(dir, { recursive: true, force: true })
  kTempDirs.delete(dir)
}

export function sleep (ms: number): Promise<void> {
  return new Promise((resolveSleep) => { setTimeout(resolveSleep, ms) })
}
