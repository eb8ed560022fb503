/**
 * A system for GRIP tests: broker, acceptor and handlers as real processes, with the test
 * itself as the broker's publish side: it binds a PUB on the acceptor's `broker.publishOut`
 * (an ipc endpoint the acceptor alone is given, through its own config file) and sends
 * `encodeItem()` frames. Services: `demo` (the TS handler hosts, `/`), `raw` (a spy,
 * `/raw/`) and `py` (a Python handler, `/py/`).
 */
import { writeFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as zmq from 'zeromq'
import { Spy } from './spy.js'

/** Where cleanups go: a test's `t`, or a list a hook runs in `after.always` (ava has no teardown in hooks). */
export interface Teardown { teardown (fn: () => unknown): void }

/** For before/after hooks: collect teardowns, run them (last first) with `run()`. */
export function hookTeardown (): Teardown & { run (): Promise<void> } {
  const fns: Array<() => unknown> = []
  return {
    teardown: (fn) => { fns.push(fn) },
    run: async () => { for (const fn of fns.reverse()) await fn() }
  }
}
import { encodeItem, type PublishItem } from '../../shared/protocol/publish.js'
import { System, waitUntil, type ServiceEndpoints } from './system.js'

export interface GripSystem {
  sys: System
  raw: ServiceEndpoints
  py: ServiceEndpoints
  /** The acceptors' config file (its broker.publishOut is the test's PUB): start more acceptors with it. */
  acceptorConfig: string
  /** Sends one item to the acceptor (fields not given are null). */
  publish (item: Partial<PublishItem> & { channel: string }): Promise<void>
}

function endpoints (dir: string, name: string): ServiceEndpoints {
  return {
    sendSpec: `ipc://${dir}/${name}-send`,
    recvSpec: `ipc://${dir}/${name}-recv`,
    requests: `ipc://${dir}/${name}-requests`,
    replies: `ipc://${dir}/${name}-replies`
  }
}

export interface GripOptions {
  handlers?: number
  threads?: number
  /** Route reply timeout (ms) of every route. */
  timeoutMs?: number
  acceptor?: Record<string, unknown>
}

export async function startGrip (t: Teardown, opts: GripOptions = {}): Promise<GripSystem> {
  const sys = new System({ app: 'test/fixtures/grip-app.ts', threads: opts.threads })
  t.teardown(() => sys.stop())
  const raw = endpoints(sys.dir, 'raw')
  const py = endpoints(sys.dir, 'py')
  const config = JSON.parse(readFileSync(sys.configFile, 'utf8')) as Record<string, any>
  // The broker's own publish side (once it has one) stays off the default ports and off ours.
  config.broker = { ...config.broker, publishOut: `ipc://${sys.dir}/broker-pub`, publishPull: '', publishHttp: '' }
  config.services.raw = { ...raw, protocol: 'json', batch: false }
  config.services.py = { ...py, protocol: 'tnetstring', batch: false }
  const route = (service: string) => ({ service, timeoutMs: opts.timeoutMs ?? 30_000, keepAliveMs: 0, keepAliveBytes: '', websocket: true })
  config.hosts = [{ name: 'localhost', matching: '', routes: { '/': route('demo'), '/raw/': route('raw'), '/py/': route('py') } }]
  config.acceptor = { ...config.acceptor, ...opts.acceptor }
  writeFileSync(sys.configFile, JSON.stringify(config, null, 2))
  const mine = `ipc://${sys.dir}/grip-pub`
  const acceptorConfig = join(sys.dir, 'acceptor.json')
  writeFileSync(acceptorConfig, JSON.stringify({ ...config, broker: { ...config.broker, publishOut: mine } }, null, 2))

  const pub = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100_000 })
  await pub.bind(mine)
  t.teardown(() => { pub.close() })
  await sys.startBroker()
  for (let i = 0; i < (opts.handlers ?? 1); i++) await sys.startHandler()
  await sys.startAcceptor({ SWITCHBOARD_CONFIG: acceptorConfig })
  if ((opts.handlers ?? 1) > 0) {
    await waitUntil(async () => (await fetch(sys.url + '/__probe__', { method: 'HEAD' })).status !== 503, 8000, 'a handler')
  }
  const publish = async (item: Partial<PublishItem> & { channel: string }): Promise<void> => {
    await pub.send(encodeItem({ id: null, prevId: null, httpResponse: null, httpStream: null, wsMessage: null, ...item }))
  }
  return { sys, raw, py, acceptorConfig, publish }
}

/** Waits until the acceptor's SUB gets items: a long-poll on `__sync` answered by one (sent again until it is). */
export async function syncPublish (g: GripSystem, path = '/poll?ch=__sync&timeout=30', url = g.sys.url): Promise<void> {
  const answer = fetch(url + path).then(async (r) => await r.text())
  let done = false
  void answer.then(() => { done = true })
  await waitUntil(async () => {
    await g.publish({ channel: '__sync', httpResponse: { code: 200, reason: '', headers: [], body: Buffer.from('sync\n') } })
    await new Promise((resolve) => setTimeout(resolve, 100))
    return done
  }, 15_000, 'a published item to reach the acceptor')
}

export function response (body: string, headers: Array<[string, string]> = [], code = 200): PublishItem['httpResponse'] {
  return { code, reason: '', headers, body: Buffer.from(body) }
}

/** A spy on the `raw` service, ready once a request through it came back. */
export async function rawSpy (t: Teardown, g: GripSystem): Promise<Spy> {
  const spy = new Spy(g.raw.sendSpec, g.raw.recvSpec)
  t.teardown(() => { spy.close() })
  await waitUntil(async () => {
    const res = fetch(g.sys.url + '/raw/ready', { signal: AbortSignal.timeout(1000) }).then((r) => r.status, () => 0)
    const msg = await spy.request('/raw/ready', 1000).catch(() => null)
    if (msg !== null) await spy.reply(msg.req.sender, [msg.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
    return (await res) === 200
  }, 10_000, 'the spy on the raw service')
  return spy
}
