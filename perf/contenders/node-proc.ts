/**
 * Shared shape of the single-process Node contenders: one `node --import tsx <file>`
 * listening on a fresh port given as env PORT.
 */
import type { Contender, Started } from '../lib/contender.js'
import { freePort, waitForHello, waitForPort } from '../lib/net.js'
import type { Proc } from '../lib/proc.js'
import { spawnProc } from '../lib/proc.js'

export const kNodeArgs: readonly string[] = ['--import', 'tsx']

/** A contender that is one Node process running `file` (relative to the repo root). */
export function nodeServer (name: string, file: string): Contender {
  return {
    name,
    async start (): Promise<Started> {
      const port = await freePort()
      const proc = spawnProc(name, process.execPath, [...kNodeArgs, file], { PORT: String(port) })
      const url = `http://127.0.0.1:${port}/`
      try {
        await waitForHello(url, 15_000, [proc])
      } catch (err) {
        await proc.stop()
        throw err
      }
      return { url, pids: { [name]: proc.pid }, stop: () => proc.stop() }
    }
  }
}

/**
 * `node [nodeArgs] --import tsx <file> <port>` on a free port, resolved once it accepts
 * connections (stopped if it never does): the held-connection servers of perf/push.ts and
 * perf/fanout.ts (perf/servers/uws-hold.ts).
 */
export async function startPortServer (name: string, file: string, nodeArgs: readonly string[], env: Record<string, string>): Promise<{ proc: Proc; port: number }> {
  const port = await freePort()
  const proc = spawnProc(name, process.execPath, [...kNodeArgs, ...nodeArgs, file, String(port)], env)
  try {
    await waitForPort(port, [proc])
  } catch (err) {
    await proc.stop()
    throw err
  }
  return { proc, port }
}
