/**
 * The demo's long-poll waiters through real processes, with the handler host's default
 * thread count: a client that left is not counted as delivered, and no waiter outlives
 * the run that held it (issue 11, defect 7).
 */
import { existsSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { startSystem, waitUntil, type System } from '../helpers/system.js'

/** Waiter files (`sender_id_pid`); `gone/` holds tombstones. */
function waiters (dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.split('_').length === 3) : []
}

/** The directory a handler host run alone makes: `switchboard-demo-<pid>-<start>`. */
function ownDir (pid: number): string | undefined {
  const name = readdirSync(tmpdir()).find((n) => n.startsWith(`switchboard-demo-${pid}-`))
  return name === undefined ? undefined : join(tmpdir(), name)
}

/** Starts a /wait that the test can abort; its result is never a test failure. */
function wait (sys: System): { abort: AbortController, done: Promise<number> } {
  const abort = new AbortController()
  const done = fetch(sys.url + '/wait', { signal: abort.signal }).then((r) => r.status, () => 0)
  return { abort, done }
}

test.serial('two waiters, one leaves: POST /post delivers to one and says delivered: 1', async (t) => {
  const sys = await startSystem(t, { handlers: 2 })
  const dir = sys.env.SWITCHBOARD_DEMO_DIR!
  const stays = wait(sys)
  const leaves = wait(sys)
  t.teardown(() => { stays.abort.abort(); leaves.abort.abort() })
  await waitUntil(() => waiters(dir).length === 2, 30000, 'two held /wait')
  leaves.abort.abort()
  // The acceptor's disconnect notice reaches a handler host, which forgets the waiter.
  await waitUntil(() => waiters(dir).length === 1, 30000, `the left waiter forgotten; logs:\n${sys.logs()}`)
  const post = await fetch(sys.url + '/post', { method: 'POST', body: 'hi' })
  t.deepEqual(await post.json(), { delivered: 1 })
  t.is(await stays.done, 200)
  t.deepEqual(waiters(dir), [])
})

test.serial('a handler host run alone keeps its waiters in its own directory: a restart finds no stale waiter', async (t) => {
  const sys = await startSystem(t, { handlers: 0, env: { SWITCHBOARD_DEMO_DIR: '' } })
  const first = await sys.startHandler()
  await waitUntil(async () => (await fetch(sys.url + '/hello')).status === 200, 30000, 'the first handler')
  const dir = ownDir(first.pid)
  t.truthy(dir, 'the handler made its own directory')
  const held = [wait(sys), wait(sys)]
  t.teardown(() => { for (const w of held) w.abort.abort() })
  await waitUntil(() => waiters(dir!).length === 2, 30000, 'two held /wait')

  // Killed: nothing of it can clean up; the next host removes the dead one's directory.
  await first.stop('SIGKILL')
  const second = await sys.startHandler()
  await waitUntil(async () => (await fetch(sys.url + '/hello')).status === 200, 30000, 'the second handler')
  t.false(existsSync(dir!), 'the killed host\'s waiters are gone')
  const post = await fetch(sys.url + '/post', { method: 'POST', body: 'hi' })
  t.deepEqual(await post.json(), { delivered: 0 })

  // Stopped: it removes its own directory at exit.
  const secondDir = ownDir(second.pid)
  t.truthy(secondDir)
  t.is(await second.stop('SIGTERM'), 0)
  t.false(existsSync(secondDir!), 'a stopped host removes its directory')
})
