/**
 * Starts Switchboard's real processes (broker, acceptor, handler hosts, any handler
 * command) on private endpoints for one test, and stops every one of them in teardown,
 * even when the test fails. Broker endpoints are ipc:// sockets in a fresh temp dir and
 * the acceptor listens on port 0, so tests never collide on ports. The HTTP publish
 * endpoint is off unless a test asks for it (`publishHttp`: a free port).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { ExecutionContext, TestFn } from 'ava'

export const kRoot = resolve(import.meta.dirname, '../..')

export class Proc {
  readonly name: string
  readonly child: ChildProcess
  output = ''
  readonly exited: Promise<number | null>
  #waiters: Array<{ re: RegExp, resolve: (m: RegExpMatchArray) => void }> = []

  /** `detached`: the child leads a new process group (signal all of it with `-pid`). */
  constructor (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv, cwd = kRoot, detached = false) {
    this.name = name
    this.child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'], detached })
    const onData = (chunk: Buffer) => {
      this.output += chunk.toString()
      this.#waiters = this.#waiters.filter((w) => {
        const m = this.output.match(w.re)
        if (m) w.resolve(m)
        return !m
      })
    }
    this.child.stdout!.on('data', onData)
    this.child.stderr!.on('data', onData)
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)))
  }

  get pid (): number { return this.child.pid! }

  /** Resolves when the output matches `re`; rejects after `ms` with the output so far.
   *  30 s by default: a tsx start takes over 15 s on 2 cores busy with the fault suites. */
  waitFor (re: RegExp, ms = 30_000): Promise<RegExpMatchArray> {
    const m = this.output.match(re)
    if (m) return Promise.resolve(m)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name}: no ${re} within ${ms} ms; output:\n${this.output}`)), ms)
      this.#waiters.push({ re, resolve: (match) => { clearTimeout(timer); resolve(match) } })
      this.exited.then((code) => {
        clearTimeout(timer)
        reject(new Error(`${this.name} exited (${code}) before ${re}; output:\n${this.output}`))
      }, () => {})
    })
  }

  /** Signals the process (by PID) and waits for it to exit, SIGKILL after `ms`. */
  async stop (signal: NodeJS.Signals = 'SIGTERM', ms = 5000): Promise<number | null> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return this.child.exitCode
    this.child.kill(signal)
    const timer = setTimeout(() => this.child.kill('SIGKILL'), ms)
    const code = await this.exited
    clearTimeout(timer)
    return code
  }
}

export interface SystemOptions {
  /** Merged into the generated config file (services/hosts replace the defaults). */
  config?: Record<string, unknown>
  /** How many TS handler hosts to start (default 1; 0 for none). */
  handlers?: number
  /** App module for the handler hosts (default: the demo app). */
  app?: string
  /** Extra env for every process. */
  env?: NodeJS.ProcessEnv
  /** Header encoding of the generated demo service (default 'json'). */
  protocol?: 'json' | 'tnetstring' | 'msgpack'
  /** Demo service: many requests per ZeroMQ message (services.demo.batch). */
  batch?: boolean
  /** handler.threads of the TS handler hosts; default: t.context.threads (see bothModes), else the config default (2). */
  threads?: number
  /** broker.publishHttp as host:port (see freePort); default '' (off). */
  publishHttp?: string
}

export interface ServiceEndpoints { sendSpec: string; recvSpec: string; requests: string; replies: string }

export class System {
  readonly dir: string
  readonly configFile: string
  readonly procs: Proc[] = []
  readonly env: NodeJS.ProcessEnv
  readonly demo: ServiceEndpoints
  /** The broker's publish endpoints: items fan out on `out`, Pushpin-style publishers PUSH to `pull`. */
  readonly publish: { out: string, pull: string, http: string }
  port = 0
  #app: string | undefined

  constructor (opts: SystemOptions) {
    this.dir = mkdtempSync(join(tmpdir(), 'swb-test-'))
    this.demo = {
      sendSpec: `ipc://${this.dir}/send`,
      recvSpec: `ipc://${this.dir}/recv`,
      requests: `ipc://${this.dir}/requests`,
      replies: `ipc://${this.dir}/replies`
    }
    this.publish = { out: `ipc://${this.dir}/publish-out`, pull: `ipc://${this.dir}/publish-pull`, http: opts.publishHttp ?? '' }
    const extra = opts.config ?? {}
    const config = {
      acceptor: { port: 0, drainMs: 1000 },
      services: { demo: { ...this.demo, protocol: opts.protocol ?? 'json', batch: opts.batch ?? false } },
      ...extra,
      // Pushpin's default ports (5560, 5561) and publishOut's (9992) stay free unless a test sets them.
      broker: {
        status: `ipc://${this.dir}/status`,
        publishOut: this.publish.out,
        publishPull: this.publish.pull,
        publishHttp: this.publish.http,
        ...(extra.broker as object | undefined)
      },
      ...(opts.threads === undefined ? {} : { handler: { ...(extra.handler as object | undefined), threads: opts.threads } })
    }
    this.configFile = join(this.dir, 'config.json')
    writeFileSync(this.configFile, JSON.stringify(config, null, 2))
    this.#app = opts.app
    this.env = {
      ...process.env,
      SWITCHBOARD_CONFIG: this.configFile,
      SWITCHBOARD_DEMO_DIR: join(this.dir, 'demo-waiters'),
      UV_THREADPOOL_SIZE: '16',
      ...opts.env
    }
  }

  get url (): string { return `http://127.0.0.1:${this.port}` }

  spawn (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Proc {
    const proc = new Proc(name, cmd, args, { ...this.env, ...env })
    this.procs.push(proc)
    return proc
  }

  node (name: string, file: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Proc {
    return this.spawn(name, process.execPath, ['--import', 'tsx', file, ...args], env)
  }

  async startBroker (): Promise<Proc> {
    const broker = this.node('broker', 'broker/main.ts')
    await broker.waitFor(/broker: ready/)
    return broker
  }

  async startAcceptor (env: NodeJS.ProcessEnv = {}): Promise<Proc> {
    const acceptor = this.node('acceptor', 'workers/acceptor/main.ts', [], env)
    const m = await acceptor.waitFor(/listening url=http:\/\/[^:]+:(\d+)\//)
    this.port = Number(m[1])
    return acceptor
  }

  /** A TS handler host; resolves once the broker can count it (ZeroMQ connects lazily). */
  async startHandler (app = this.#app, env: NodeJS.ProcessEnv = {}): Promise<Proc> {
    const args = app === undefined ? [] : [app]
    const handler = this.node('handler', 'workers/handler/main.ts', args, env)
    await handler.waitFor(/handler ready/)
    return handler
  }

  async stop (): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop('SIGKILL').catch(() => null)))
    rmSync(this.dir, { recursive: true, force: true })
  }

  /** Everything the processes printed, for failure messages. */
  logs (): string {
    return this.procs.map((p) => `--- ${p.name} (${p.pid}) ---\n${p.output}`).join('\n')
  }
}

/** Broker + acceptor + handlers, stopped in t.teardown whatever happens. */
export async function startSystem (t: ExecutionContext, opts: SystemOptions = {}): Promise<System> {
  const threads = opts.threads ?? (t.context as { threads?: number } | undefined)?.threads
  const sys = new System({ ...opts, threads })
  t.teardown(() => sys.stop())
  await sys.startBroker()
  const handlers = opts.handlers ?? 1
  for (let i = 0; i < handlers; i++) await sys.startHandler()
  await sys.startAcceptor()
  if (handlers > 0) await waitUntil(async () => (await fetch(sys.url + '/__probe__', { method: 'HEAD' })).status !== 503, 5000)
  return sys
}

/** A TCP port free on 127.0.0.1 right now (for tests that need a fixed port, as users run). */
export function freePort (): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => { resolve(port) })
    }).on('error', reject)
  })
}

export async function waitUntil (check: () => Promise<boolean> | boolean, ms: number, what = 'condition'): Promise<void> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await check()) return
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}`)
}

/** A python3 that can `import zmq` (Debian's python3-zmq lives in the system python). */
export function findPython (): string | null {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import zmq'], { stdio: 'ignore' }).status === 0) return candidate
  }
  return null
}

/** 'ECONNREFUSED' when nothing listens on the port, 'connected' otherwise. */
export function probePort (port: number): Promise<string> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.once('connect', () => { s.destroy(); resolve('connected') })
    s.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message))
  })
}

/** Whether any process of the group `pgid` is still alive. */
export function groupAlive (pgid: number): boolean {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

/** The handler host's two ways to run an app: its default pool (2 worker threads) and inline. */
export const kHostModes = [{ threads: 2, tag: 'threads 2 (default)' }, { threads: 0, tag: 'threads 0' }] as const

/**
 * Registers a serial test once per handler-host mode: `title [threads 2 (default)]` and
 * `title [threads 0]`. startSystem takes the mode from t.context unless given `threads`.
 */
export function bothModes (test: TestFn, title: string, impl: (t: ExecutionContext, threads: number) => Promise<void>): void {
  for (const mode of kHostModes) {
    test.serial(`${title} [${mode.tag}]`, async (t) => {
      (t.context as { threads?: number }).threads = mode.threads
      await impl(t, mode.threads)
    })
  }
}

const kDefaultPortsLock = join(tmpdir(), 'swb-default-ports.lock.d')

/**
 * Holds the machine-wide lock on Switchboard's default ports (6767, 9992–9997, 5560, 5561) until the
 * test ends: ava runs test files in parallel, and tests of the default configuration (what
 * `npm start` runs) must not meet each other there. A lock left by a dead process is taken over.
 */
export async function holdDefaultPorts (t: ExecutionContext, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      mkdirSync(kDefaultPortsLock)
      writeFileSync(join(kDefaultPortsLock, 'pid'), String(process.pid))
      break
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      let owner = 0
      try { owner = Number(readFileSync(join(kDefaultPortsLock, 'pid'), 'utf8')) } catch {}
      if (owner > 0 && !processAlive(owner)) rmSync(kDefaultPortsLock, { recursive: true, force: true })
      else if (Date.now() > deadline) throw new Error(`the default ports stayed locked by pid ${owner} for ${ms} ms`)
      else await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
  t.teardown(() => { rmSync(kDefaultPortsLock, { recursive: true, force: true }) })
}

function processAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
