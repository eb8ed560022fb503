/**
 * End to end through the TypeScript handler host, in both of its modes (worker pool, the
 * default, and inline): replies made after a handler returned (timers, intervals), the
 * exchange's AbortSignal and onDisconnect when the client leaves, and the per-request
 * limit (handler.taskTimeoutMs).
 */
import test from 'ava'
import { RawClient } from '../helpers/raw-http.js'
import { bothModes, startSystem, waitUntil, type Proc } from '../helpers/system.js'

const kBehaviours = 'test/fixtures/behaviours.ts'

function count (proc: Proc, re: RegExp): number {
  return proc.output.match(new RegExp(re.source, 'g'))?.length ?? 0
}

bothModes(test, 'a handler that returns nothing and replies from a timer: the reply reaches its client', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  const started = Date.now()
  const answers = await Promise.all(Array.from({ length: 4 }, async () => {
    const res = await fetch(sys.url + '/later?ms=300')
    return { status: res.status, text: await res.text() }
  }))
  for (const a of answers) {
    t.is(a.status, 200)
    t.regex(a.text, /^later \d+\n$/)
  }
  t.true(Date.now() - started >= 290, 'answered from the timer, not before it')
})

bothModes(test, 'ticks from setInterval stream to the client; when it leaves, ctx.signal aborts where the handler ran, onDisconnect runs once, ticks stop', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  const handler = sys.procs.find((p) => p.name === 'handler')!
  const client = new RawClient(sys.port)
  t.teardown(() => client.destroy())
  await client.write('GET /ticks?ms=100 HTTP/1.1\r\nHost: x\r\n\r\n')
  const r = await client.until((d) => d.includes('tick 3\n'), 5000)
  t.regex(r.data, /^HTTP\/1\.1 200 OK\r\n/)
  t.regex(r.data, /content-type: text\/event-stream/i)
  t.regex(r.data, /tick 1\n[\s\S]*tick 2\n[\s\S]*tick 3\n/)
  const [, id, thread] = (await handler.waitFor(/ticking (\d+) thread (\d+)/, 1000))
  client.destroy()

  const aborted = await handler.waitFor(new RegExp(`aborted ${id} thread (\\d+) (\\w+)`), 5000)
  t.is(aborted[1], thread, 'the signal fired in the thread that ran the handler')
  t.is(aborted[2], 'disconnected')
  const disconnect = await handler.waitFor(new RegExp(`disconnect ${id} thread (\\d+) held=(\\w+)`), 5000)
  t.is(disconnect[1], thread, 'onDisconnect ran in the thread holding the exchange')
  t.is(disconnect[2], 'true', 'onDisconnect got the held exchange\'s context, signal aborted')
  const ticks = count(handler, new RegExp(`tick ${id} \\d+`))
  // Ticks stopped, so no more replies to the gone id, so no more notices: onDisconnect ran once.
  await new Promise((resolve) => setTimeout(resolve, 800))
  t.is(count(handler, new RegExp(`tick ${id} \\d+`)), ticks, 'no tick after the abort')
  t.is(count(handler, new RegExp(`disconnect ${id} `)), 1, 'one notice, one onDisconnect')
})

bothModes(test, 'per-request limit: a slow async request gets 500 after the limit, the requests beside it their answers', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours, batch: true, config: { handler: { taskTimeoutMs: 1000 } } })
  const handler = sys.procs.find((p) => p.name === 'handler')!
  // Warm keep-alive connections, then every request at once: they travel in one batch frame.
  const clients = Array.from({ length: 6 }, () => new RawClient(sys.port))
  for (const c of clients) t.teardown(() => c.destroy())
  await Promise.all(clients.map(async (c) => {
    await c.write('GET /warm HTTP/1.1\r\nHost: x\r\n\r\n')
    await c.until((d) => d.includes('ok /warm\n'), 5000)
    c.data = ''
  }))
  const started = Date.now()
  const paths = ['/slow?ms=4000', '/a', '/b', '/slow?ms=200', '/c', '/d']
  for (let i = 0; i < clients.length; i++) void clients[i]!.write(`GET ${paths[i]} HTTP/1.1\r\nHost: x\r\n\r\n`)
  const results = await Promise.all(clients.map((c) => c.until((d) => /\r\n\r\n[\s\S]*\n$/.test(d), 6000)))
  const elapsed = Date.now() - started
  t.regex(results[0]!.data, /^HTTP\/1\.1 500 /)
  t.true(results[0]!.data.endsWith('the handler failed or took too long\n'))
  t.true(elapsed >= 950, `the 500 came after the limit (${elapsed} ms)`)
  t.true(elapsed < 3500, `and well before the handler would have settled (${elapsed} ms)`)
  for (const i of [1, 2, 4, 5]) t.true(results[i]!.data.endsWith(`ok ${paths[i]}\n`), `${paths[i]}: ${results[i]!.data}`)
  t.true(results[3]!.data.endsWith('\r\n\r\nslow\n'), 'a slow request within the limit is answered')
  await handler.waitFor(/handler ran past the per-request limit .*limitMs=1000/, 1000)
  t.notRegex(handler.output, /replaced/, 'no worker was replaced for an async handler')
  t.is((await fetch(sys.url + '/after')).status, 200)
})

test.serial('a blocked worker is replaced: the stuck request and the others in flight on it get 500, the pool serves on [threads 2 (default)]', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours, config: { handler: { taskTimeoutMs: 800 } } })
  const handler = sys.procs.find((p) => p.name === 'handler')!
  const started = Date.now()
  const spin = fetch(sys.url + '/spin')
  await waitUntil(() => Date.now() - started > 100, 1000)
  // piscina may queue requests on the stuck worker too: those get 500 when it is replaced.
  const meanwhile = await Promise.all(Array.from({ length: 4 }, async (_, i) => (await fetch(`${sys.url}/meanwhile-${i}`)).status))
  t.true(meanwhile.every((s) => s === 200 || s === 500), `200 from the other worker, 500 if queued on the stuck one: ${meanwhile.join(' ')}`)
  const res = await spin
  t.is(res.status, 500)
  t.true(Date.now() - started >= 750)
  await handler.waitFor(/worker blocked past the per-request limit; replaced thread=\d+ limitMs=800/, 3000)
  await waitUntil(async () => (await fetch(sys.url + '/after')).status === 200, 15000, 'a 200 after the replacement')
  const after = await Promise.all(Array.from({ length: 6 }, async (_, i) => (await fetch(`${sys.url}/after-${i}`)).status))
  t.deepEqual(after, Array(6).fill(200))
  t.is(handler.child.exitCode, null)
})

test.serial('the demo\'s /wait, held on its channel (Grip-Timeout 20 s) by the default host (2 threads), answers 204 after 20 s', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { threads: 2 })
  const started = Date.now()
  const res = await fetch(sys.url + '/wait')
  const elapsed = Date.now() - started
  t.is(res.status, 204, sys.logs())
  t.true(elapsed >= 19_500 && elapsed < 29_000, `204 after ${elapsed} ms (route timeout 30 s, which a GRIP hold does not use)`)
})
