/**
 * Contenders 4 and 5: Switchboard (acceptor + broker + handlers), fresh processes and a
 * fresh config per start (perf/lib/switchboard.ts).
 *
 * - `sb-m2`: the same Mongrel2-protocol hello handler as the `mongrel2` contender
 *   (perf/handlers/m2-hello.ts) on tcp send/recv specs, as behind Mongrel2. Not batched:
 *   a Mongrel2 handler reads one frame per message.
 * - `sb-ts-1`, `sb-ts-2`: Switchboard's TypeScript handler host with perf/apps/hello.ts,
 *   1 or 2 host processes, batched links. `threads: 0` (the app inline in the host's main
 *   thread): for this trivial app a 1-thread piscina pool gave the same req/s for ~20%
 *   more handler CPU and a higher p50 at 1 connection (README).
 */
import type { Contender, Started } from '../lib/contender.js'
import { choiceEnv } from '../lib/env.js'
import { startM2Handler } from './mongrel2.js'
import { startSwitchboard } from '../lib/switchboard.js'
import type { SwitchboardOptions } from '../lib/switchboard.js'

// Knobs to compare configurations (README); the defaults are what measured best here.
/** handler.threads of the sb-ts hosts: 0 runs the app inline; 1 is a one-thread piscina pool. */
const kHostThreads = Number(choiceEnv('SB_THREADS', ['0', '1', '2', '4'], '0'))
/** Request header encoding of the sb-ts service. */
const kHostProtocol = choiceEnv('SB_PROTOCOL', ['json', 'tnetstring', 'msgpack'], 'json')
/** sb-ts handler-facing endpoints (sendSpec/recvSpec). */
const kHostTransport = choiceEnv('SB_TRANSPORT', ['tcp', 'ipc'], 'tcp')
/** Acceptor-broker links and the status PUB, every Switchboard contender. */
const kLinkTransport = choiceEnv('SB_LINK', ['ipc', 'tcp'], 'ipc')

function switchboard (name: string, opts: SwitchboardOptions): Contender {
  return {
    name,
    async start (): Promise<Started> {
      const sb = await startSwitchboard({ linkTransport: kLinkTransport, ...opts, name })
      return { url: sb.url, pids: sb.pids, stop: sb.stop }
    }
  }
}

export const sbM2 = switchboard('sb-m2', {
  handler: { kind: 'm2', file: 'perf/handlers/m2-hello.ts', count: 1, spawn: startM2Handler },
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
