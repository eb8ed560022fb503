/**
 * What `npm start` checks before foreman starts anything: the configuration loads and
 * validates (the same loader every process uses), and every address the processes will
 * bind is free. Under foreman a process that fails at start takes the others down and
 * foreman exits 0 anyway, often with the useful line lost among the rest; checked here,
 * the user gets one message and a non-zero exit.
 */
import { constants } from 'node:fs'
import { access, stat } from 'node:fs/promises'
import { createServer } from 'node:net'
import { dirname, resolve } from 'node:path'
import type { Config } from './config/types.js'

/** Which process types of the Procfile will run (a type not started binds nothing). */
export interface Formation { broker: boolean, acceptor: boolean }

/** One address a process will bind, and the config field it comes from. */
export interface BindTarget { field: string, endpoint: string }

/** Linux's sun_path holds 108 bytes, the last one a NUL. */
const kIpcPathMax = 107

/** Every address `formation` will bind with `config`: the acceptor's port, the broker's endpoints (publishing's too). */
export function bindTargets (config: Readonly<Config>, formation: Formation): BindTarget[] {
  const out: BindTarget[] = []
  const a = config.acceptor
  // Port 0 binds anywhere; a shared port may be held by a sibling acceptor on purpose.
  if (formation.acceptor && a.port !== 0 && !a.sharePort) {
    out.push({ field: 'acceptor.port', endpoint: `tcp://${a.host}:${a.port}` })
  }
  if (formation.broker) {
    out.push({ field: 'broker.status', endpoint: config.broker.status })
    for (const [name, svc] of Object.entries(config.services)) {
      for (const key of ['sendSpec', 'recvSpec', 'requests', 'replies'] as const) {
        out.push({ field: `services.${name}.${key}`, endpoint: svc[key] })
      }
    }
    const b = config.broker
    out.push({ field: 'broker.publishOut', endpoint: b.publishOut })
    if (b.publishPull !== '') out.push({ field: 'broker.publishPull', endpoint: b.publishPull })
    if (b.publishHttp !== '') out.push({ field: 'broker.publishHttp', endpoint: `tcp://${b.publishHttp}` })
  }
  return out
}

/**
 * Binds and releases every tcp:// target, checks every ipc:// target's directory is
 * writable; returns one line per problem (empty: all free).
 */
export async function checkBinds (targets: readonly BindTarget[]): Promise<string[]> {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const t of targets) {
    if (seen.has(t.endpoint)) continue
    seen.add(t.endpoint)
    const problem = t.endpoint.startsWith('ipc://') ? await checkIpc(t.endpoint.slice(6)) : await checkTcp(t.endpoint)
    if (problem !== null) problems.push(`${t.field} ${t.endpoint}: ${problem}`)
  }
  return problems
}

async function checkTcp (endpoint: string): Promise<string | null> {
  const m = /^tcp:\/\/(.+):(\d+)$/.exec(endpoint)
  if (m === null) return null   // a wildcard port, an interface name: ZeroMQ's to resolve
  let host = m[1]!
  if (host === '*') host = '0.0.0.0'
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(m[2])
  const code = await tryListen(host, port)
  if (code === null) return null
  if (code === 'EADDRINUSE') return `port ${port} is already in use on ${host} (stop what listens there, or choose another port)`
  if (code === 'EACCES') return `no permission to bind port ${port} on ${host}`
  if (code === 'EADDRNOTAVAIL') return `${host} is not an address of this machine`
  return null   // e.g. a name only ZeroMQ resolves (an interface): let the process say
}

function tryListen (host: string, port: number): Promise<string | null> {
  return new Promise((resolveListen) => {
    const server = createServer()
    server.once('error', (err: NodeJS.ErrnoException) => { resolveListen(err.code ?? err.message) })
    server.listen({ host, port, exclusive: true }, () => { server.close(() => { resolveListen(null) }) })
  })
}

async function checkIpc (path: string): Promise<string | null> {
  if (Buffer.byteLength(path) > kIpcPathMax) return `the socket path is longer than ${kIpcPathMax} bytes`
  const dir = dirname(resolve(path))
  try {
    if (!(await stat(dir)).isDirectory()) return `${dir} is not a directory`
    await access(dir, constants.W_OK)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    return code === 'ENOENT' ? `directory ${dir} does not exist` : `directory ${dir} is not writable (${code})`
  }
  return null
}
