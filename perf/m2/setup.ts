/**
 * Prepares a Mongrel2 1.12 server in a fresh temp dir that is also its chroot: the
 * logs/, run/ and tmp/ dirs it needs, the config from hello.conf.template, and the sqlite
 * db from `m2sh load`. Start it with `mongrel2 <db> <uuid>` with cwd = the dir; the caller
 * removes the dir (perf/contenders/mongrel2.ts: startMongrel2).
 *
 * CLI, to try Mongrel2 by hand:
 *   node --import tsx perf/m2/setup.ts <port> <send_spec> <recv_spec>
 *   → prints the dir and the `mongrel2 …` command line
 */
import { execFileSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const kTemplate = join(dirname(fileURLToPath(import.meta.url)), 'hello.conf.template')

export interface M2Setup {
  /** Temp dir: chroot, cwd of mongrel2, home of the config and the db. */
  dir: string
  db: string
  uuid: string
}

export interface M2Options {
  port: number
  /** Where Mongrel2 binds PUSH (handlers PULL here), e.g. `tcp://127.0.0.1:5001`. */
  sendSpec: string
  /** Where Mongrel2 binds SUB (handlers PUB here). */
  recvSpec: string
  accessLog?: boolean
  /**
   * More entries of the `settings` dict, e.g. `{ 'superpoll.max_fd': 16384 }` (the held
   * benchmark needs more than 10,000 open connections). Numbers as is, strings quoted.
   */
  settings?: Record<string, number | string>
}

export function setupMongrel2 (opts: M2Options): M2Setup {
  const dir = mkdtempSync(join(tmpdir(), 'swb-m2-'))
  for (const sub of ['logs', 'run', 'tmp']) mkdirSync(join(dir, sub))
  const uuid = randomUUID()
  const values: Record<string, string> = {
    SEND_SPEC: opts.sendSpec,
    SEND_IDENT: randomUUID(),
    RECV_SPEC: opts.recvSpec,
    UUID: uuid,
    CHROOT: dir,
    PORT: String(opts.port),
    NO_ACCESS_LOG: opts.accessLog === true ? '0' : '1',
    EXTRA_SETTINGS: Object.entries(opts.settings ?? {})
      .map(([key, v]) => `,\n    ${JSON.stringify(key)}: ${typeof v === 'number' ? String(v) : JSON.stringify(v)}`).join('')
  }
  const conf = readFileSync(kTemplate, 'utf8').replace(/\{\{(\w+)\}\}/g, (_, key: string) => {
    const v = values[key]
    if (v === undefined) throw new Error(`perf: hello.conf.template has unknown placeholder {{${key}}}`)
    return v
  })
  const confPath = join(dir, 'mongrel2.conf')
  const db = join(dir, 'config.sqlite')
  writeFileSync(confPath, conf)
  // m2sh records the loading user in its commit log and complains without LOGNAME.
  execFileSync('m2sh', ['load', '-config', confPath, '-db', db], {
    cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LOGNAME: process.env.LOGNAME ?? 'bench' }
  })
  return { dir, db, uuid }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [port = '6767', sendSpec = 'tcp://127.0.0.1:9997', recvSpec = 'tcp://127.0.0.1:9996'] = process.argv.slice(2)
  const s = setupMongrel2({ port: Number(port), sendSpec, recvSpec })
  process.stdout.write(`dir ${s.dir}\nrun: cd ${s.dir} && mongrel2 ${s.db} ${s.uuid}\n`)
}
