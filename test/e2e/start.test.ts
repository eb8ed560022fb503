/**
 * `npm start` as a user runs it: the preflight refuses a bad config or a taken port with
 * one message and a non-zero exit before foreman starts anything; the happy path runs
 * the Procfile's two handler processes by default; and what a crash after start looks
 * like (README → Scaling). The default-config test binds the default ports, under
 * holdDefaultPorts.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server } from 'node:net'
import test, { type ExecutionContext } from 'ava'
import { open } from '../helpers/ws-client.js'
import { defaultEnv, foremanPid, groupAlive, holdDefaultPorts, npmStart, probePort, System, waitUntil } from '../helpers/system.js'

/** A System's config and env (private ports and endpoints), for `npm start` to run. */
function privateSystem (t: ExecutionContext, config?: Record<string, unknown>): System {
  const sys = new System({ config })
  t.teardown(() => sys.stop())
  return sys
}

async function listen (port = 0): Promise<Server> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  return server
}

test.serial('npm start: an invalid SWITCHBOARD_CONFIG exits 78 naming every bad field; nothing starts', async (t) => {
  const sys = privateSystem(t, { acceptor: { port: 0, bodyLimit: -1 }, handler: { threads: 'many' } })
  const npm = npmStart(t, [], sys.env)
  const code = await npm.exited
  t.is(code, 78, npm.output)
  t.regex(npm.output, /invalid configuration \(2 problems\)/)
  t.regex(npm.output, /acceptor\.bodyLimit must be an integer .* got -1/)
  t.regex(npm.output, /handler\.threads must be an integer .* got "many"/)
  t.regex(npm.output, /nothing started/)
  t.notRegex(npm.output, /foreman pid|broker\.1|acceptor\.1|handler\.1/)
})

test.serial('npm start -- --config missing.json exits 78 naming the file', async (t) => {
  const sys = privateSystem(t)
  delete sys.env.SWITCHBOARD_CONFIG
  const npm = npmStart(t, ['--config', 'no/such/config.json'], sys.env)
  t.is(await npm.exited, 78, npm.output)
  t.regex(npm.output, /config file ".*no\/such\/config\.json" not found \(from --config\)/)
})

test.serial('npm start -- -e file: the preflight reads foreman\'s env file as the processes will get it', async (t) => {
  const sys = privateSystem(t)
  const envFile = join(sys.dir, 'test.env')
  writeFileSync(envFile, '# as foreman reads it\nSWITCHBOARD_BODY_LIMIT=-5\n')
  const npm = npmStart(t, ['-e', envFile], sys.env)
  t.is(await npm.exited, 78, npm.output)
  t.regex(npm.output, /acceptor\.bodyLimit .*got -5.*SWITCHBOARD_BODY_LIMIT/)
})

test.serial('npm start: the acceptor port already taken exits 1 naming the port; nothing starts', async (t) => {
  const taken = await listen()
  t.teardown(() => { taken.close() })
  const port = (taken.address() as { port: number }).port
  const sys = privateSystem(t, { acceptor: { port } })
  const npm = npmStart(t, [], sys.env)
  t.is(await npm.exited, 1, npm.output)
  t.regex(npm.output, new RegExp(`acceptor\\.port tcp://127\\.0\\.0\\.1:${port}: port ${port} is already in use`))
  t.notRegex(npm.output, /foreman pid|broker\.1/)
})

test.serial('npm start: a broker endpoint taken exits 1 naming the field; the formation is honoured', async (t) => {
  const taken = await listen()
  t.teardown(() => { taken.close() })
  const port = (taken.address() as { port: number }).port
  const sys = privateSystem(t, { broker: { status: `tcp://127.0.0.1:${port}` } })
  const npm = npmStart(t, ['broker=1,acceptor=1,handler=1'], sys.env)
  t.is(await npm.exited, 1, npm.output)
  t.regex(npm.output, new RegExp(`broker\\.status tcp://127\\.0\\.0\\.1:${port}: port ${port} is already in use`))
  // Without a broker in the formation its endpoints are not checked (nor bound).
  const alone = npmStart(t, ['acceptor=1,broker=0,handler=0'], sys.env)
  await alone.waitFor(/acceptor\.1 .*listening/, 45000)
  t.pass()
})

test.serial('npm start runs the Procfile\'s two handler processes; a /post through either answers every /wait; SIGTERM stops everything', async (t) => {
  const sys = privateSystem(t)
  const npm = npmStart(t, [], sys.env)
  const port = Number((await npm.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:(\d+)\//, 45000))[1])
  await npm.waitFor(/handler\.1 .*handler ready/, 45000)
  await npm.waitFor(/handler2\.1 .*handler ready/, 45000)
  await npm.waitFor(/broker\.1 .*handler connected .*handlers=2/, 45000)
  const url = `http://127.0.0.1:${port}`
  const pids = new Set<number>()
  await waitUntil(async () => {
    const res = await fetch(url + '/echo', { signal: AbortSignal.timeout(1000) }).catch(() => null)
    if (res?.status === 200) pids.add(((await res.json()) as { handlerPid: number }).handlerPid)
    return pids.size === 2
  }, 30000, 'answers from both handler processes')
  // Held on the channel `wait` by the acceptor: a /post through either handler answers both.
  const waits = [fetch(url + '/wait'), fetch(url + '/wait')]
  const answered = Promise.all(waits)
  let done = false
  void answered.then(() => { done = true }, () => { done = true })
  await waitUntil(async () => {
    const post = await fetch(url + '/post', { method: 'POST', body: 'x' })
    t.deepEqual(await post.json(), { published: true })
    await new Promise((resolve) => setTimeout(resolve, 300))
    return done
  }, 30000, 'both /wait answered (a /post published before a hold is in place reaches nobody: posted again)')
  for (const w of await answered) {
    t.is(w.status, 200)
    t.deepEqual(await w.json(), { message: 'x' })
  }

  // SIGTERM to npm alone: npm forwards it, the start script passes it to foreman as SIGINT.
  const nf = foremanPid(npm)!
  process.kill(npm.pid, 'SIGTERM')
  t.is(await npm.exited, 0, npm.output)
  t.regex(npm.output, /Killing all processes with signal\s+SIGINT/)
  await waitUntil(() => !groupAlive(nf), 20000, 'foreman\'s group to exit')
  t.is(await probePort(port), 'ECONNREFUSED')
})

test.serial('npm start: a process that dies later takes the others down, and npm start exits 0 (README)', async (t) => {
  const sys = privateSystem(t)
  const npm = npmStart(t, [], sys.env)
  const m = await npm.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:(\d+)\//, 45000)
  await npm.waitFor(/handler\.1 .*handler ready .*pid=(\d+)/, 45000)
  const brokerPid = Number((await npm.waitFor(/broker\.1 .*ready pid=(\d+)/, 45000))[1])
  process.kill(brokerPid, 'SIGKILL')
  t.is(await npm.exited, 0, npm.output)
  t.regex(npm.output, /Killing all processes with signal\s+SIGKILL/)
  t.regex(npm.output, /broker\.1\s+Exited with exit code SIGKILL/)
  t.is(await probePort(Number(m[1])), 'ECONNREFUSED')
})

test.serial('npm start with the default config serves the demo on 6767: hello, raw PATH, 404, long-poll, WebSocket', async (t) => {
  await holdDefaultPorts(t)
  const npm = npmStart(t, [], defaultEnv())
  await npm.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:6767\//, 45000)
  await npm.waitFor(/handler\.1 .*handler ready/, 45000)
  let res: Response | null = null
  await waitUntil(async () => {
    res = await fetch('http://127.0.0.1:6767/hello', { signal: AbortSignal.timeout(1000) }).catch(() => null)
    return res?.status === 200
  }, 30000, `GET /hello; output:\n${npm.output}`)
  t.is(await res!.text(), 'Hello World\n')
  // What the README promises, on the defaults users run (2 handler threads, default endpoints).
  const echo = await fetch('http://127.0.0.1:6767/echo?q=1', { method: 'POST', body: 'some body' })
  const seen = await echo.json() as { path: string, query: string, body: string }
  t.like(seen, { path: '/echo', query: 'q=1', body: 'some body' })
  const spaced = await fetch('http://127.0.0.1:6767/a%20b')
  t.is(spaced.status, 404, 'the demo\'s own 404, not the acceptor\'s 500')
  t.is(await spaced.text(), 'no demo page at /a%20b\n', 'PATH as the client sent it')
  const held: { res?: Response } = {}
  void fetch('http://127.0.0.1:6767/wait').then((r) => { held.res = r })
  await waitUntil(async () => {
    const r = await fetch('http://127.0.0.1:6767/post', { method: 'POST', body: 'hi' })
    t.deepEqual(await r.json(), { published: true })
    await new Promise((resolve) => setTimeout(resolve, 300))
    return held.res !== undefined
  }, 10000, 'the held /wait to be answered (a /post before its hold is in place reaches nobody: posted again)')
  const answered = held.res!
  t.is(answered.status, 200)
  t.deepEqual(await answered.json(), { message: 'hi' })
  const ws = await open('ws://127.0.0.1:6767/ws')
  ws.ws.send('hi over ws')
  t.is(await ws.text(), 'hi over ws')
  ws.ws.close()
  // Ctrl-C: SIGINT to the terminal's whole group (npm, the start script; foreman has its own).
  const nf = foremanPid(npm)!
  process.kill(-npm.pid, 'SIGINT')
  await npm.exited
  await waitUntil(() => !groupAlive(nf), 20000, 'foreman\'s group to exit')
  t.is(await probePort(6767), 'ECONNREFUSED')
})
