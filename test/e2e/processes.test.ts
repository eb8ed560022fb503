/**
 * End to end across processes: long-poll answered by another handler process, a Python
 * handler through the same broker, the Procfile under foreman, bad config at start, and
 * the acceptor's graceful drain.
 */
import { createServer } from 'node:net'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { RawClient } from '../helpers/raw-http.js'
import { acceptorUuid, attachSpy } from '../helpers/spy.js'
import { bothModes, findPython, groupAlive, kRoot, probePort, Proc, startSystem, System, waitUntil } from '../helpers/system.js'
import { open } from '../helpers/ws-client.js'

const kHello = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise((resolve) => server.close(resolve))
  return port
}

bothModes(test, 'long-poll across processes: /wait held on a channel by one handler host, /post published by another', async (t) => {
  const sys = await startSystem(t, { handlers: 2 })
  const pids = sys.procs.filter((p) => p.name === 'handler').map((p) => String(p.pid))
  const answered: Response[] = []
  const waits = [fetch(sys.url + '/wait'), fetch(sys.url + '/wait')].map((w) => w.then((r) => { answered.push(r); return r }))
  // No way to see a hold from outside: post until both are answered (a publish before a
  // hold is in place reaches nobody), each post through any of the two hosts.
  await waitUntil(async () => {
    const post = await fetch(sys.url + '/post', { method: 'POST', body: 'news' })
    t.is(post.status, 200)
    t.deepEqual(await post.json(), { published: true })
    await sleep(300)
    return answered.length === 2
  }, 20000, `both /wait answered; logs:\n${sys.logs()}`)
  for (const res of await Promise.all(waits)) {
    t.is(res.status, 200)
    t.deepEqual(await res.json(), { message: 'news' })
    const by = res.headers.get('x-answered-by')!
    t.true(pids.includes(by), `published by ${by}, one of the handler hosts ${pids.join(',')}`)
  }
})

test.serial('the Python handler (python3-zmq only) answers through the same broker', async (t) => {
  const python = findPython()
  if (python === null) {
    t.fail('no python3 with zmq: apt-get install -y python3-zmq')
    return
  }
  const sys = await startSystem(t, { handlers: 0 })
  const py = sys.spawn('python', python, ['examples/python/handler.py', sys.demo.sendSpec, sys.demo.recvSpec])
  await py.waitFor(/python handler ready/)
  // Poll with short deadlines: replies published before the PUB's subscriptions arrive are lost.
  await waitUntil(async () => (await fetch(sys.url + '/py/probe', { signal: AbortSignal.timeout(500) }).catch(() => null))?.status === 200, 8000, 'the Python handler')
  const res = await fetch(sys.url + '/some/path?x=1', { method: 'POST', body: 'ignored' })
  t.is(res.status, 200)
  t.is(res.headers.get('content-type'), 'text/plain')
  t.is(await res.text(), 'Hello from Python: /some/path\n')
  // A client that leaves at once: the handler gets a disconnect notice (or its late reply
  // does), skips it, and keeps serving.
  const c = new RawClient(sys.port)
  await c.write('GET /leaving HTTP/1.1\r\nHost: x\r\n\r\n')
  c.destroy()
  await sleep(300)
  t.is(await (await fetch(sys.url + '/again')).text(), 'Hello from Python: /again\n')
  t.is(py.child.exitCode, null, `python still running; output:\n${py.output}`)
})

/** `nf start [formation]` from the repo root with the real Procfile, in its own process group. */
async function startForeman (t: ExecutionContext, formation: string[]): Promise<{ nf: Proc, sys: System, port: number }> {
  const sys = new System({})   // only for its temp dir, config file and env
  const nf = new Proc('nf', join(kRoot, 'node_modules/.bin/nf'), ['start', ...formation], sys.env, kRoot, true)
  t.teardown(async () => {
    try { process.kill(-nf.pid, 'SIGINT') } catch {}
    const timer = setTimeout(() => { try { process.kill(-nf.pid, 'SIGKILL') } catch {} }, 5000)
    await nf.exited
    await waitUntil(() => !groupAlive(nf.pid), 5000, 'the process group to exit').catch(() => {
      try { process.kill(-nf.pid, 'SIGKILL') } catch {}
    })
    clearTimeout(timer)
    await sys.stop()
  })
  const m = await nf.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:(\d+)\//, 20000)
  return { nf, sys, port: Number(m[1]) }
}

test.serial('foreman: `nf start` runs the Procfile (two handler processes); GET /hello and the /ws echo work; SIGINT stops the whole group', async (t) => {
  const { nf, port } = await startForeman(t, [])
  await nf.waitFor(/handler\.1 .*handler ready/, 20000)
  await nf.waitFor(/handler2\.1 .*handler ready/, 20000)
  let res: Response | null = null
  await waitUntil(async () => {
    res = await fetch(`http://127.0.0.1:${port}/hello`, { signal: AbortSignal.timeout(1000) }).catch(() => null)
    return res?.status === 200
  }, 10000, `GET /hello; nf output:\n${nf.output}`)
  t.is(await res!.text(), 'Hello World\n')
  // The demo's WebSocket echo, through the default handler host.
  const ws = await open(`ws://127.0.0.1:${port}/ws`)
  ws.ws.send('hi over ws')
  t.is(await ws.text(), 'hi over ws')
  ws.ws.close()
  for (const type of ['broker', 'acceptor', 'handler', 'handler2']) t.regex(nf.output, new RegExp(`${type}\\.1 `))
  t.notRegex(nf.output, /handler\.2 |handler2\.2 /)
  process.kill(-nf.pid, 'SIGINT')
  await nf.exited
  await waitUntil(() => !groupAlive(nf.pid), 5000, 'every process of the group to exit')
  t.false(groupAlive(nf.pid))
  t.is(await probePort(port), 'ECONNREFUSED')
})

test.serial('foreman: `nf start broker=1,acceptor=1,handler=2` starts two handler hosts of the type named (handler2 none)', async (t) => {
  const { nf, port } = await startForeman(t, ['broker=1,acceptor=1,handler=2'])
  await nf.waitFor(/handler\.1 .*handler ready/, 20000)
  await nf.waitFor(/handler\.2 .*handler ready/, 20000)
  await nf.waitFor(/broker\.1 .*handler connected .*handlers=2/, 10000)
  const pids = new Set<string>()
  await waitUntil(async () => {
    const res = await fetch(`http://127.0.0.1:${port}/echo`, { signal: AbortSignal.timeout(1000) }).catch(() => null)
    if (res?.status === 200) pids.add(String(((await res.json()) as { handlerPid: number }).handlerPid))
    return pids.size === 2
  }, 10000, 'answers from both handler hosts')
  t.is(pids.size, 2)
  t.notRegex(nf.output, /handler2\.1 /, 'a formation starts only the types it names')
})

test.serial('bad config: broker, acceptor and handler exit non-zero naming both fields; nothing listens', async (t) => {
  const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()))
  const [acceptorPort, status, send, recv, requests, replies] = ports as [number, number, number, number, number, number]
  const sys = new System({
    config: {
      acceptor: { port: acceptorPort, bodyLimit: -1 },
      broker: { status: `tcp://127.0.0.1:${status}` },
      services: {
        demo: {
          sendSpec: `tcp://127.0.0.1:${send}`, recvSpec: `tcp://127.0.0.1:${recv}`,
          requests: `tcp://127.0.0.1:${requests}`, replies: `tcp://127.0.0.1:${replies}`
        }
      },
      handler: { threads: 'many' }
    }
  })
  t.teardown(() => sys.stop())
  const procs = [
    sys.node('broker', 'broker/main.ts'),
    sys.node('acceptor', 'workers/acceptor/main.ts'),
    sys.node('handler', 'workers/handler/main.ts')
  ]
  const codes = await Promise.all(procs.map((p) => p.exited))
  for (const [i, p] of procs.entries()) {
    t.not(codes[i], 0, `${p.name} exit code`)
    t.is(codes[i], 78, `${p.name} exits with EX_CONFIG`)
    t.regex(p.output, /acceptor\.bodyLimit\b.*-1/, `${p.name} names acceptor.bodyLimit`)
    t.regex(p.output, /handler\.threads\b.*"many"/, `${p.name} names handler.threads`)
    t.notRegex(p.output, /listening|bound|ready/, `${p.name} started nothing`)
  }
  t.deepEqual(await Promise.all(ports.map(probePort)), ports.map(() => 'ECONNREFUSED'))
})

test.serial('graceful drain: SIGTERM refuses new connections, a held request answered in time gets its answer, exit 0', async (t) => {
  const sys = await startSystem(t, { handlers: 0, config: { acceptor: { port: 0, drainMs: 1500 } } })
  const spy = await attachSpy(t, sys)
  const uuid = acceptorUuid(sys)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  // A keep-alive connection opened before the signal.
  const kept = new RawClient(sys.port)
  t.teardown(() => kept.destroy())
  await kept.write('GET /warm HTTP/1.1\r\nHost: x\r\n\r\n')
  const warm = await spy.request('/warm')
  await spy.reply(uuid, [warm.req.id], kHello)
  await kept.until((d) => d.includes('hello\n'), 3000)

  const answered = fetch(sys.url + '/answered')
  const unanswered = fetch(sys.url + '/unanswered')
  // Awaited below; if the test fails first, teardown's kill must not be an unhandled rejection.
  answered.catch(() => {})
  unanswered.catch(() => {})
  const a = await spy.request('/answered')
  const u = await spy.request('/unanswered')
  const signalled = Date.now()
  acceptor.child.kill('SIGTERM')
  await acceptor.waitFor(/draining signal=SIGTERM inFlight=2/, 3000)
  // The log line comes just before the listen socket closes: allow a moment.
  await waitUntil(async () => (await probePort(sys.port)) === 'ECONNREFUSED', 1000, 'new connections refused')
  t.is(await probePort(sys.port), 'ECONNREFUSED', 'no new connections while draining')
  await kept.write('GET /late HTTP/1.1\r\nHost: x\r\n\r\n')
  const late = await kept.until((d) => d.includes('shutting down'), 3000)
  t.regex(late.data, /HTTP\/1\.1 503 [^\r]*\r\n[\s\S]*shutting down\n$/, 'a request on an open connection gets 503')
  t.false(spy.messages.some((m) => m.req.path === '/late'))

  await spy.reply(uuid, [a.req.id], kHello)
  const ra = await answered
  t.is(ra.status, 200)
  t.is(await ra.text(), 'hello\n')
  // The other one is cut at drainMs: 503 with Retry-After (README), and its handler hears of it.
  const ru = await unanswered
  t.is(ru.status, 503)
  t.is(ru.headers.get('retry-after'), '1')
  t.is(await ru.text(), 'shutting down\n')
  t.true(Date.now() - signalled >= 1400, `cut after ${Date.now() - signalled} ms`)
  await spy.disconnect(u.req.id, 3000)
  t.is(await acceptor.exited, 0)
})
