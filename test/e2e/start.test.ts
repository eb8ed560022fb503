/**
 * `npm start` as a user runs it: the preflight refuses a bad config or a taken port with
 * one message and a non-zero exit before foreman starts anything; the happy path runs
 * foreman with a run directory for the demo's waiters that is gone after exit; and what a
 * crash after start looks like (README → Scaling). The default-config test binds the
 * default ports, under holdDefaultPorts.
 */
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createServer, type Server } from 'node:net'
import test, { type ExecutionContext } from 'ava'
import { open } from '../helpers/ws-client.js'
import { groupAlive, holdDefaultPorts, kRoot, probePort, Proc, System, waitUntil } from '../helpers/system.js'

/** `npm start -- args` in a process group of its own; foreman's group is killed in teardown too. */
function npmStart (t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv): Proc {
  const npm = new Proc('npm start', 'npm', ['start', ...(args.length > 0 ? ['--', ...args] : [])], env, kRoot, true)
  t.teardown(async () => {
    const nf = foremanPid(npm)
    try { process.kill(-npm.pid, 'SIGINT') } catch {}
    const timer = setTimeout(() => {
      try { process.kill(-npm.pid, 'SIGKILL') } catch {}
      if (nf !== null) try { process.kill(-nf, 'SIGKILL') } catch {}
    }, 20000)
    await npm.exited
    if (nf !== null) await waitUntil(() => !groupAlive(nf), 20000, 'foreman\'s group to exit').catch(() => { try { process.kill(-nf, 'SIGKILL') } catch {} })
    clearTimeout(timer)
  })
  return npm
}

function foremanPid (npm: Proc): number | null {
  const m = /foreman pid (\d+)/.exec(npm.output)
  return m === null ? null : Number(m[1])
}

/** A System's config and env without its demo dir: `npm start` makes the run's own. */
function privateSystem (t: ExecutionContext, config?: Record<string, unknown>): System {
  const sys = new System({ config })
  t.teardown(() => sys.stop())
  sys.env.SWITCHBOARD_DEMO_DIR = ''
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

test.serial('npm start -- broker=1,acceptor=1,handler=2: the run directory is shared, then removed; SIGINT stops everything', async (t) => {
  const sys = privateSystem(t)
  const npm = npmStart(t, ['broker=1,acceptor=1,handler=2'], sys.env)
  const dir = (await npm.waitFor(/run directory (\S+)/, 45000))[1]!
  const port = Number((await npm.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:(\d+)\//, 45000))[1])
  await npm.waitFor(/broker\.1 .*handler connected .*handlers=2/, 45000)
  t.true(existsSync(dir))
  const url = `http://127.0.0.1:${port}`
  await waitUntil(async () => (await fetch(url + '/hello').catch(() => null))?.status === 200, 30000, 'GET /hello')
  // Both handler hosts see the run's directory: a waiter held by either is delivered.
  const waits = [fetch(url + '/wait'), fetch(url + '/wait')]
  await waitUntil(() => readdirSync(dir).filter((n) => n.includes('_')).length === 2, 30000, 'two waiters')
  const post = await fetch(url + '/post', { method: 'POST', body: 'x' })
  t.deepEqual(await post.json(), { delivered: 2 })
  for (const w of waits) t.is((await w).status, 200)

  // SIGTERM to npm alone: npm forwards it, the start script passes it to foreman as SIGINT.
  const nf = foremanPid(npm)!
  process.kill(npm.pid, 'SIGTERM')
  t.is(await npm.exited, 0, npm.output)
  t.regex(npm.output, /Killing all processes with signal\s+SIGINT/)
  await waitUntil(() => !groupAlive(nf), 20000, 'foreman\'s group to exit')
  t.is(await probePort(port), 'ECONNREFUSED')
  t.false(existsSync(dir), 'the run directory is removed at exit')
})

test.serial('npm start: a process that dies later takes the others down, and npm start exits 0 (README)', async (t) => {
  const sys = privateSystem(t)
  const npm = npmStart(t, [], sys.env)
  const dir = (await npm.waitFor(/run directory (\S+)/, 45000))[1]!
  const m = await npm.waitFor(/acceptor\.1 .*listening url=http:\/\/127\.0\.0\.1:(\d+)\//, 45000)
  await npm.waitFor(/handler\.1 .*handler ready .*pid=(\d+)/, 45000)
  const brokerPid = Number((await npm.waitFor(/broker\.1 .*ready pid=(\d+)/, 45000))[1])
  process.kill(brokerPid, 'SIGKILL')
  t.is(await npm.exited, 0, npm.output)
  t.regex(npm.output, /Killing all processes with signal\s+SIGKILL/)
  t.regex(npm.output, /broker\.1\s+Exited with exit code SIGKILL/)
  t.is(await probePort(Number(m[1])), 'ECONNREFUSED')
  t.false(existsSync(dir))
})

test.serial('npm start with the default config serves the demo on 6767: hello, raw PATH, 404, long-poll, WebSocket', async (t) => {
  await holdDefaultPorts(t)
  const env = { ...process.env }
  for (const key of Object.keys(env)) if (key.startsWith('SWITCHBOARD_')) delete env[key]
  const npm = npmStart(t, [], env)
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
  const held = fetch('http://127.0.0.1:6767/wait')
  await waitUntil(async () => {
    const r = await fetch('http://127.0.0.1:6767/post', { method: 'POST', body: 'hi' })
    return ((await r.json()) as { delivered: number }).delivered === 1
  }, 10000, 'the held /wait to be delivered')
  const answered = await held
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
