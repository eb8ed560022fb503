/**
 * Contender 3: Debian's Mongrel2 1.12 (`mongrel2-core`) in a temp-dir chroot, with the
 * zeromq hello handler (perf/handlers/m2-hello.ts) as its own process. Two processes are
 * sampled: `mongrel2` and `handler`.
 */
import type { Contender, Started } from '../lib/contender.js'
import { freePort, waitForHello } from '../lib/net.js'
import type { Proc } from '../lib/proc.js'
import { removeTempDir, spawnProc, trackTempDir } from '../lib/proc.js'
import { ensureTool } from '../lib/tools.js'
import { setupMongrel2 } from '../m2/setup.js'
import { kNodeArgs } from './node-proc.js'

/**
 * Starts the Mongrel2-protocol hello handler against a PUSH/SUB pair (Mongrel2's or the
 * broker's); `env` adds to its environment (e.g. HOLD=1, perf/held.ts).
 */
export function startM2Handler (name: string, sendSpec: string, recvSpec: string, env: Record<string, string> = {},
  file = 'perf/handlers/m2-hello.ts'): Proc {
  return spawnProc(name, process.execPath, [...kNodeArgs, file, sendSpec, recvSpec], env)
}

export interface M2Start {
  /** Process names: `<prefix>mongrel2`, `<prefix>m2-handler`. */
  prefix?: string
  /** More Mongrel2 settings (M2Options.settings). */
  settings?: Record<string, number | string>
  /** Added to the hello handler's environment. */
  handlerEnv?: Record<string, string>
  /** The handler's file; default perf/handlers/m2-hello.ts. */
  handlerFile?: string
}

export interface RunningM2 {
  port: number
  server: Proc
  handler: Proc
  /** Both processes, for waits that watch them. */
  procs: readonly Proc[]
  stop(): Promise<void>
}

/**
 * Mongrel2 in a fresh temp-dir chroot (perf/m2/setup.ts) on free ports, with the hello
 * handler; resolves once both are spawned (callers wait for what they need).
 */
export async function startMongrel2 (opts: M2Start = {}): Promise<RunningM2> {
  ensureTool('mongrel2-core', ['mongrel2', 'm2sh'])
  const prefix = opts.prefix ?? ''
  const [port, sendPort, recvPort] = [await freePort(), await freePort(), await freePort()]
  const sendSpec = `tcp://127.0.0.1:${sendPort}`
  const recvSpec = `tcp://127.0.0.1:${recvPort}`
  const m2 = setupMongrel2({ port, sendSpec, recvSpec, accessLog: process.env.M2_ACCESS_LOG === '1', settings: opts.settings })
  trackTempDir(m2.dir)
  const procs: Proc[] = []
  const stop = async (): Promise<void> => {
    // Reverse start order; SIGINT is Mongrel2's graceful stop.
    for (const p of [...procs].reverse()) await p.stop()
    removeTempDir(m2.dir)
  }
  try {
    const server = spawnProc(`${prefix}mongrel2`, 'mongrel2', [m2.db, m2.uuid], {}, { cwd: m2.dir, stopSignal: 'SIGINT' })
    procs.push(server)
    const handler = startM2Handler(`${prefix}m2-handler`, sendSpec, recvSpec, opts.handlerEnv, opts.handlerFile)
    procs.push(handler)
    return { port, server, handler, procs, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

export const mongrel2: Contender = {
  name: 'mongrel2',
  async start (): Promise<Started> {
    const m2 = await startMongrel2()
    try {
      const url = `http://127.0.0.1:${m2.port}/`
      await waitForHello(url, 20_000, m2.procs)
      return { url, pids: { mongrel2: m2.server.pid, handler: m2.handler.pid }, stop: m2.stop }
    } catch (err) {
      await m2.stop()
      throw err
    }
  }
}
