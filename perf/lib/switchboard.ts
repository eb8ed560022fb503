/**
 * Starts Switchboard for a benchmark: a broker, an acceptor and some handlers, in fresh
 * processes, with a config file written into a fresh temp dir. Nothing uses the default
 * endpoints (6767, 9993-9997 may be taken): the acceptor listens on a free port, the
 * acceptor-broker links and the status PUB are ipc:// sockets in the temp dir, and the
 * handler-facing endpoints are free tcp ports (as Mongrel2's) or ipc sockets. The broker's
 * publishing: `POST /publish/` on a free port (`publishUrl`), the fan-out PUB (publishOut)
 * on the link transport, the ZeroMQ PULL input an ipc socket in the temp dir.
 *
 * ```ts
 * const sb = await startSwitchboard({ handler: { kind: 'host', app: 'perf/apps/hello.ts', count: 2, threads: 0 }, batch: true })
 * // sb.url answers; sb.pids = { acceptor, broker, handler1, handler2 }
 * await sb.stop()
 * ```
 */
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { kNodeArgs } from '../contenders/node-proc.js'
import { freePort, waitForHello } from './net.js'
import type { Proc } from './proc.js'
import { makeTempDir, removeTempDir, sleep, spawnProc } from './proc.js'

/** Switchboard's own TypeScript handler host (workers/handler/main.ts) running `app`. */
export interface HostHandlers {
  kind: 'host'
  app: string
  count: number
  /** handler.threads: 0 runs the app inline in the host's main thread. */
  threads: number
}

/**
 * A Mongrel2-protocol handler: `spawn(name, sendSpec, recvSpec)` (e.g. `startM2Handler`,
 * which the `mongrel2` contender uses too), or else `node --import tsx <file> <send_spec> <recv_spec>`.
 */
export interface M2Handlers {
  kind: 'm2'
  file: string
  count: number
  spawn?: (name: string, sendSpec: string, recvSpec: string) => Proc
}

export interface SwitchboardOptions {
  handler: HostHandlers | M2Handlers
  /** services.bench.batch: many requests per ZeroMQ message (Switchboard handler hosts only). */
  batch: boolean
  /** Handler-facing endpoints (sendSpec/recvSpec): free tcp ports (default) or ipc sockets. */
  handlerTransport?: 'tcp' | 'ipc'
  /** Acceptor-broker links (requests/replies) and the status PUB: ipc sockets (default) or free tcp ports. */
  linkTransport?: 'tcp' | 'ipc'
  protocol?: 'json' | 'tnetstring' | 'msgpack'
  /** The route's reply timeout; default 30 s. */
  timeoutMs?: number
  /** Extra `acceptor` config keys (e.g. sendQueue). */
  acceptor?: Record<string, unknown>
  /** Extra `broker` config keys. */
  broker?: Record<string, unknown>
  /** Extra env for the handler processes. */
  handlerEnv?: Record<string, string>
  /** Node options put before the acceptor's entry (e.g. `--no-memory-reducer`). */
  acceptorNodeArgs?: string[]
  /** Node options put before a handler host's entry (e.g. `--cpu-prof`). */
  handlerNodeArgs?: string[]
  /** Acceptor processes sharing the HTTP port (acceptor.sharePort); default 1. */
  acceptors?: number
  /** Prefix of the process (and log file) names; default `sb`. */
  name?: string
  /**
   * How to know the system is up. `hello` (default): GET / answers `Hello World\n`.
   * `none`: only wait for the acceptor to listen and the broker to count every handler.
   */
  check?: 'hello' | 'none'
}

export interface RunningSwitchboard {
  url: string
  port: number
  /** The broker's Pushpin-compatible publish endpoint, `http://127.0.0.1:PORT/publish/`. */
  publishUrl: string
  /** The temp dir with the config file and the ipc sockets. */
  dir: string
  /** acceptor, broker, handler (one handler) or handler1..N. */
  pids: Record<string, number>
  acceptor: Proc
  stop(): Promise<void>
}

const kStartTimeoutMs = 30_000

/** Env overrides that would silently change the generated config: blanked (empty = unset). */
export function blankSwitchboardEnv (): Record<string, string> {
  const env: Record<string, string> = {}
  for (const key of Object.keys(process.env)) if (key.startsWith('SWITCHBOARD_')) env[key] = ''
  return env
}

/** The log of `proc`'s latest start (spawnProc appends one `=== …` header per start). */
function currentLog (proc: Proc): string {
  let text: string
  try { text = readFileSync(proc.logPath, 'utf8') } catch { return '' }
  const at = text.lastIndexOf('\n=== ')
  return at < 0 ? text : text.slice(at)
}

/** Polls `proc`'s log until `test` holds; rejects on timeout or when a watched process exits. */
export async function waitForLog (proc: Proc, what: string, test: (log: string) => boolean, watch: readonly Proc[]): Promise<void> {
  const deadline = Date.now() + kStartTimeoutMs
  for (;;) {
    if (test(currentLog(proc))) return
    for (const p of watch) {
      if (p.exit !== null) throw new Error(`perf: ${p.name} (pid ${p.pid}) exited (${p.exit}) before ${what}\n${p.logTail()}`)
    }
    if (Date.now() > deadline) throw new Error(`perf: no ${what} within ${kStartTimeoutMs} ms\n${proc.logTail()}`)
    await sleep(50)
  }
}

/** The broker's latest handler count for the service, from its `handlers=N` log lines. */
function lastHandlerCount (log: string): number {
  let count = -1
  for (const m of log.matchAll(/handler (?:connected|disconnected) service=bench handlers=(\d+)/g)) count = Number(m[1])
  return count
}

export async function startSwitchboard (opts: SwitchboardOptions): Promise<RunningSwitchboard> {
  const prefix = opts.name ?? 'sb'
  const dir = makeTempDir('swb-bench-')
  const procs: Proc[] = []
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => p.stop()))
    removeTempDir(dir)
  }
  try {
    const port = await freePort()
    const ipc = (name: string): string => `ipc://${join(dir, name)}`
    const tcp = async (): Promise<string> => `tcp://127.0.0.1:${await freePort()}`
    const ipcHandlers = opts.handlerTransport === 'ipc'
    const link = async (name: string): Promise<string> => (opts.linkTransport === 'tcp' ? await tcp() : ipc(name))
    const sendSpec = ipcHandlers ? ipc('send') : await tcp()
    const recvSpec = ipcHandlers ? ipc('recv') : await tcp()
    const h = opts.handler
    const nAcceptors = opts.acceptors ?? 1
    const publishPort = await freePort()
    const config = {
      acceptor: { host: '127.0.0.1', port, drainMs: 500, ...(nAcceptors > 1 ? { sharePort: true } : {}), ...opts.acceptor },
      broker: {
        status: await link('status'),
        publishOut: await link('publish-out'),
        publishPull: ipc('publish-pull'),
        publishHttp: `127.0.0.1:${publishPort}`,
        ...opts.broker
      },
      services: {
        bench: {
          sendSpec,
          recvSpec,
          requests: await link('requests'),
          replies: await link('replies'),
          protocol: opts.protocol ?? 'json',
          batch: opts.batch
        }
      },
      hosts: [{ name: 'localhost', matching: '', routes: { '/': { service: 'bench', timeoutMs: opts.timeoutMs ?? 30_000 } } }],
      handler: {
        service: 'bench',
        app: h.kind === 'host' ? h.app : 'perf/apps/hello.ts',
        threads: h.kind === 'host' ? h.threads : 0
      }
    }
    const configFile = join(dir, 'switchboard.json')
    writeFileSync(configFile, JSON.stringify(config, null, 2))
    const env = { ...blankSwitchboardEnv(), SWITCHBOARD_CONFIG: configFile }

    const node = (name: string, args: string[], extra: Record<string, string> = {}): Proc => {
      const p = spawnProc(name, process.execPath, [...kNodeArgs, ...args], { ...env, ...extra })
      procs.push(p)
      return p
    }
    // The Procfile's pool size: one native proxy per libuv thread (broker/main.ts).
    const broker = node(`${prefix}-broker`, ['broker/main.ts'], { UV_THREADPOOL_SIZE: '16' })
    const acceptors: Proc[] = []
    for (let i = 1; i <= nAcceptors; i++) {
      acceptors.push(node(`${prefix}-acceptor${nAcceptors > 1 ? i : ''}`, [...(opts.acceptorNodeArgs ?? []), 'workers/acceptor/main.ts']))
    }
    const acceptor = acceptors[0]!
    const handlers: Proc[] = []
    for (let i = 1; i <= h.count; i++) {
      const name = `${prefix}-handler${h.count > 1 ? i : ''}`
      if (h.kind === 'host') {
        handlers.push(node(name, [...(opts.handlerNodeArgs ?? []), 'workers/handler/main.ts', h.app], opts.handlerEnv))
      } else if (h.spawn !== undefined) {
        const p = h.spawn(name, sendSpec, recvSpec)
        procs.push(p)
        handlers.push(p)
      } else {
        handlers.push(node(name, [h.file, sendSpec, recvSpec], opts.handlerEnv))
      }
    }

    const url = `http://127.0.0.1:${port}/`
    await waitForLog(broker, `${h.count} handler(s) counted by the broker`, (log) => lastHandlerCount(log) === h.count, procs)
    for (const a of acceptors) await waitForLog(a, 'acceptor listening', (log) => log.includes('INFO acceptor: listening'), procs)
    if ((opts.check ?? 'hello') === 'hello') await waitForHello(url, kStartTimeoutMs, procs)

    const pids: Record<string, number> = { broker: broker.pid }
    acceptors.forEach((p, i) => { pids[nAcceptors > 1 ? `acceptor${i + 1}` : 'acceptor'] = p.pid })
    handlers.forEach((p, i) => { pids[h.count > 1 ? `handler${i + 1}` : 'handler'] = p.pid })
    return { url, port, publishUrl: `http://127.0.0.1:${publishPort}/publish/`, dir, pids, acceptor, stop }
  } catch (err) {
    await stop()
    throw err
  }
}
