/**
 * Contenders 4 and 5: Switchboard (acceptor + broker + handlers), fresh processes and a
 * fresh config per start (perf/lib/switchboard.ts).
 *
 * - `sb-m2`: the same Mongrel2-protocol hello handler as the `mongrel2` contender
 *   (perf/handlers/m2-hello.ts) on tcp send/recv specs, as behind Mongrel2. Not batched:
 *   a Mongrel2 handler reads one frame per message.
 * - `sb-ts-1`, `sb-ts-2`: Switchboard's TypeScript handler host with perf/apps/hello.ts,
 *   1 or 2 host processes, batched links. `threads: 0` (the app inline in the host's main
 *   thread) measured faster than a 1-thread piscina pool for this trivial app (README).
 */
import type { Contender, Started } from '../lib/contender.js'
import { startSwitchboard } from '../lib/switchboard.js'
import type { SwitchboardOptions } from '../lib/switchboard.js'

/** Handler-host threads of the sb-ts contenders; env SB_THREADS overrides (to compare). */
const kHostThreads = Number(process.env.SB_THREADS ?? 0)
/** Request header encoding of the sb-ts contenders; env SB_PROTOCOL overrides (to compare). */
const kHostProtocol = (process.env.SB_PROTOCOL ?? 'json') as 'json' | 'tnetstring' | 'msgpack'
/** Handler-facing endpoints of the sb-ts contenders; env SB_TRANSPORT=ipc overrides (to compare). */
const kHostTransport = process.env.SB_TRANSPORT === 'ipc' ? 'ipc' : 'tcp'

function switchboard (name: string, opts: SwitchboardOptions): Contender {
  return {
    name,
    async start (): Promise<Started> {
      const sb = await startSwitchboard({ ...opts, name })
      return { url: sb.url, pids: sb.pids, stop: sb.stop }
    }
  }
}

export const sbM2 = switchboard('sb-m2', {
  handler: { kind: 'm2', file: 'perf/handlers/m2-hello.ts', count: 1 },
  batch: false,
  handlerTransport: 'tcp'
})

function sbTs (count: number): Contender {
  return switchboard(`sb-ts-${count}`, {
    handler: { kind: 'host', app: 'perf/apps/hello.ts', count, threads: kHostThreads },
    batch: true,
    protocol: kHostProtocol,
    handlerTransport: kHostTransport
  })
}

export const sbTs1 = sbTs(1)
export const sbTs2 = sbTs(2)
