/**
 * Pushpin 1.36 (Debian package `pushpin`: its runner starts mongrel2, m2adapter, zurl,
 * pushpin-proxy and pushpin-handler) for the fan-out benchmark, in a fresh temp dir with a
 * generated config on free ports (never Pushpin's 7999/5560-5563 nor Switchboard's
 * defaults), its publish rate limit off, routing everything to perf/servers/grip-origin.ts.
 *
 * ```ts
 * const pp = await startPushpin({ countFile })
 * // pp.port: clients; pp.publishUrl: POST /publish/; pp.pids: every Pushpin process
 * await pp.stop()
 * ```
 */
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, waitForPort } from '../lib/net.js'
import type { Proc } from '../lib/proc.js'
import { makeTempDir, removeTempDir, sleep, spawnProc } from '../lib/proc.js'
import { ensureTool, toolVersion } from '../lib/tools.js'
import { kNodeArgs } from './node-proc.js'

export interface PushpinPorts {
  /** Clients (mongrel2 inside Pushpin). */
  http: number
  /** `POST /publish/` (push_in_http_port). */
  publish: number
  /** ZeroMQ publish PULL, SUB and command REP: bound by pushpin-handler, unused here. */
  pull: number
  sub: number
  command: number
}

export interface PushpinConfigOptions {
  /** Temp dir: rundir and logdir go under it. */
  dir: string
  ports: PushpinPorts
  /** client_maxconn: also sizes mongrel2's superpoll.max_fd. */
  maxConn: number
}

/**
 * pushpin.conf for one benchmark run. `message_rate=0` turns the handler's publish rate
 * limiter off (RateLimiter::setRate ignores rates <= 0; the packaged default is 2,500
 * deliveries a second) and `message_hwm=0` its queue bound (checked only when > 0). zurl
 * is started too (Debian's default service list leaves it to a system zurl) with its
 * sockets in the rundir. log_level=1: warnings only, which also turns mongrel2's access
 * log off (the runner enables it from level 2), as Switchboard writes none.
 */
export function pushpinConfig (o: PushpinConfigOptions): string {
  return `[global]
include={libdir}/internal.conf
rundir=${join(o.dir, 'run')}
ipc_prefix=swb-
port_offset=0
stats_connection_ttl=120

[runner]
services=mongrel2,m2adapter,zurl,pushpin-proxy,pushpin-handler
http_port=127.0.0.1:${o.ports.http}
logdir=${join(o.dir, 'log')}
log_level=1
client_buffer_size=8192
client_maxconn=${o.maxConn}
mongrel2_bin=mongrel2
m2sh_bin=m2sh
zurl_bin=zurl

[proxy]
routesfile=routes
debug=false
sig_key=swb-bench
updates_check=off
zurl_out_specs=ipc://{rundir}/{ipc_prefix}zurl-in
zurl_out_stream_specs=ipc://{rundir}/{ipc_prefix}zurl-in-stream
zurl_in_specs=ipc://{rundir}/{ipc_prefix}zurl-out

[handler]
push_in_spec=tcp://127.0.0.1:${o.ports.pull}
push_in_sub_specs=tcp://127.0.0.1:${o.ports.sub}
push_in_http_addr=127.0.0.1
push_in_http_port=${o.ports.publish}
stats_spec=ipc://{rundir}/{ipc_prefix}stats
command_spec=tcp://127.0.0.1:${o.ports.command}
message_rate=0
message_hwm=0
message_wait=5000
id_cache_ttl=60
connection_subscription_max=20
subscription_linger=60
`
}

export interface RunningPushpin {
  port: number
  publishUrl: string
  /** Process name → PID: pushpin's runner and each service it started (`origin` apart). */
  pids: Record<string, number>
  origin: Proc
  version: string
  stop(): Promise<void>
}

/** The services' pid files the runner writes into its rundir (name → file). */
function readPids (runDir: string, httpPort: number): Record<string, number> {
  const files: Record<string, string> = {
    mongrel2: `mongrel2_${httpPort}.pid`, m2adapter: 'm2adapter.pid', zurl: 'zurl.pid', 'pushpin-proxy': 'pushpin-proxy.pid', 'pushpin-handler': 'pushpin-handler.pid'
  }
  const pids: Record<string, number> = {}
  for (const [name, file] of Object.entries(files)) {
    try {
      const pid = Number(readFileSync(join(runDir, file), 'latin1').trim())
      if (pid > 0) pids[name] = pid
    } catch { /* not written yet */ }
  }
  return pids
}

function alive (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

/** Pushpin and its origin on free ports; resolves once clients and publishers are accepted. */
export async function startPushpin (opts: { countFile: string; maxConn?: number; name?: string }): Promise<RunningPushpin> {
  ensureTool('pushpin', ['pushpin', 'pushpin-proxy', 'pushpin-handler', 'm2adapter', 'zurl', 'mongrel2', 'm2sh'])
  const name = opts.name ?? 'pushpin'
  const dir = makeTempDir('swb-pushpin-')
  mkdirSync(join(dir, 'run'))
  mkdirSync(join(dir, 'log'))
  const ports: PushpinPorts = { http: await freePort(), publish: await freePort(), pull: await freePort(), sub: await freePort(), command: await freePort() }
  const originPort = await freePort()
  const conf = join(dir, 'pushpin.conf')
  writeFileSync(conf, pushpinConfig({ dir, ports, maxConn: opts.maxConn ?? 19_000 }))
  writeFileSync(join(dir, 'routes'), `* 127.0.0.1:${originPort},over_http\n`)
  const origin = spawnProc(`${name}-origin`, process.execPath, [...kNodeArgs, 'perf/servers/grip-origin.ts', String(originPort)],
    { FANOUT_COUNT_FILE: opts.countFile })
  const runner = spawnProc(name, 'pushpin', ['--config', conf, '--merge-output'], {}, { cwd: dir })
  let services: Record<string, number> = {}
  const stop = async (): Promise<void> => {
    services = { ...services, ...readPids(join(dir, 'run'), ports.http) }
    await runner.stop()
    // The runner stops its services on SIGTERM; any it left behind is stopped by its PID.
    for (const pid of Object.values(services)) {
      if (!alive(pid)) continue
      try { process.kill(pid, 'SIGTERM') } catch { continue }
      for (let i = 0; i < 30 && alive(pid); i++) await sleep(100)
      if (alive(pid)) try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    }
    await origin.stop()
    removeTempDir(dir)
  }
  try {
    await waitForPort(originPort, [origin])
    await waitForPort(ports.http, [runner, origin])
    await waitForPort(ports.publish, [runner, origin])
    const deadline = Date.now() + 10_000
    for (;;) {
      services = readPids(join(dir, 'run'), ports.http)
      if (Object.keys(services).length === 5) break
      if (Date.now() > deadline) throw new Error(`perf: pushpin started only ${Object.keys(services).join(', ')}\n${runner.logTail()}`)
      await sleep(100)
    }
    return {
      port: ports.http,
      publishUrl: `http://127.0.0.1:${ports.publish}/publish/`,
      pids: { pushpin: runner.pid, ...services },
      origin,
      version: toolVersion('pushpin', ['--version']),
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}
