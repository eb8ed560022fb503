/**
 * Contender 3: Debian's Mongrel2 1.12 (`mongrel2-core`) in a temp-dir chroot, with the
 * zeromq hello handler (perf/handlers/m2-hello.ts) as its own process. Two processes are
 * sampled: `mongrel2` and `handler`.
 */
import type { Contender, Started } from '../lib/contender.js'
import { freePort, waitForHello } from '../lib/net.js'
import type { Proc } from '../lib/proc.js'
import { spawnProc } from '../lib/proc.js'
import { ensureTool } from '../lib/tools.js'
import { setupMongrel2 } from '../m2/setup.js'
import { kNodeArgs } from './node-proc.js'

/** Starts the Mongrel2-protocol hello handler against a PUSH/SUB pair (Mongrel2's or the broker's). */
export function startM2Handler (name: string, sendSpec: string, recvSpec: string): Proc {
  return spawnProc(name, process.execPath, [...kNodeArgs, 'perf/handlers/m2-hello.ts', sendSpec, recvSpec])
}

export const mongrel2: Contender = {
  name: 'mongrel2',
  async start (): Promise<Started> {
    ensureTool('mongrel2-core', ['mongrel2', 'm2sh'])
    const [port, sendPort, recvPort] = [await freePort(), await freePort(), await freePort()]
    const sendSpec = `tcp://127.0.0.1:${sendPort}`
    const recvSpec = `tcp://127.0.0.1:${recvPort}`
    const m2 = setupMongrel2({ port, sendSpec, recvSpec, accessLog: process.env.M2_ACCESS_LOG === '1' })
    const procs: Proc[] = []
    const stop = async (): Promise<void> => {
      // Reverse start order; SIGINT is Mongrel2's graceful stop.
      for (const p of procs.reverse()) await p.stop()
      m2.cleanup()
    }
    try {
      procs.push(spawnProc('mongrel2', 'mongrel2', [m2.db, m2.uuid], {}, { cwd: m2.dir, stopSignal: 'SIGINT' }))
      procs.push(startM2Handler('m2-handler', sendSpec, recvSpec))
      const url = `http://127.0.0.1:${port}/`
      await waitForHello(url, 20_000, procs)
      return { url, pids: { mongrel2: (procs[0] as Proc).pid, handler: (procs[1] as Proc).pid }, stop }
    } catch (err) {
      await stop()
      throw err
    }
  }
}
