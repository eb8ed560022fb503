/**
 * End to end through the TypeScript handler host (test/fixtures/behaviours.ts or the
 * demo app): what clients get when handlers misbehave, throw, stream, hang, crash or die,
 * and what the acceptor does with requests uWS.js does not serve.
 */
import test from 'ava'
import { parseResponse, RawClient, rawRequest } from '../helpers/raw-http.js'
import { bothModes, startSystem, waitUntil } from '../helpers/system.js'

const kBehaviours = 'test/fixtures/behaviours.ts'

bothModes(test, '502 on a malformed HTTP reply; the acceptor serves the next request', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  const res = await fetch(sys.url + '/malformed')
  t.is(res.status, 502)
  t.is(await res.text(), 'the handler sent a malformed response\n')
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/WARN acceptor: bad response from handler .*code=SWB_ERR_RESPONSE_\w+/, 3000)
  const next = await fetch(sys.url + '/fine')
  t.is(next.status, 200)
  t.is(await next.text(), 'ok /fine\n')
})

bothModes(test, 'a handler that throws: the client gets 500 and the handler logs "handler threw"', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  const res = await fetch(sys.url + '/throw')
  t.is(res.status, 500)
  t.is(await res.text(), 'internal error in the handler\n')
  const handler = sys.procs.find((p) => p.name === 'handler')!
  const line = await handler.waitFor(/ERROR handler: handler threw .*/, 3000)
  t.regex(line[0], /path=\/throw/)
  t.regex(line[0], /boom from a test handler/)
  t.is((await fetch(sys.url + '/fine')).status, 200)
})

bothModes(test, 'a chunked response streamed over three messages reaches the client whole', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  const r = await rawRequest(sys.port, 'GET /stream HTTP/1.1\r\nHost: x\r\n\r\n', (d) => parseResponse(d) !== null, 3000)
  const parsed = parseResponse(r.data)
  t.is(parsed?.status, 200)
  t.is(parsed?.headers['transfer-encoding'], 'chunked')
  t.is(parsed?.body, 'hello world')
  t.is(parsed?.rest, '')
  t.false(r.closed, 'keep-alive after a chunked response')
  const res = await fetch(sys.url + '/stream')
  t.is(await res.text(), 'hello world')
})

bothModes(test, 'ctx.close (an empty reply) closes the client\'s connection without a response', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  const r = await rawRequest(sys.port, 'GET /empty HTTP/1.1\r\nHost: x\r\n\r\n', () => false, 3000)
  t.true(r.closed)
  t.is(r.data, '')
  t.is((await fetch(sys.url + '/fine')).status, 200)
})

test.serial('a worker stuck in a handler past taskTimeoutMs, or one that crashes: 500, and the pool carries on [threads 2 (default)]', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours, config: { handler: { taskTimeoutMs: 500 } } })
  const handler = sys.procs.find((p) => p.name === 'handler')!
  const started = Date.now()
  const spin = await fetch(sys.url + '/spin')
  t.is(spin.status, 500)
  t.is(await spin.text(), 'the handler failed or took too long\n')
  t.true(Date.now() - started >= 450, `500 after ${Date.now() - started} ms`)
  await handler.waitFor(/worker blocked past the per-request limit; replaced .*limitMs=500/, 3000)
  await waitUntil(async () => (await fetch(sys.url + '/after-spin')).status === 200, 5000, 'a 200 after the spin')

  const crash = await fetch(sys.url + '/crash')
  t.is(crash.status, 500)
  await handler.waitFor(/worker failed; replaced/, 3000)
  // Right after a crash the replacement may still be loading the app; the other worker serves.
  await waitUntil(async () => (await fetch(sys.url + '/after-crash')).status === 200, 5000, 'a 200 after the crash')
  const after = await Promise.all(Array.from({ length: 6 }, (_, i) => fetch(`${sys.url}/after-crash-${i}`)))
  t.deepEqual(after.map((r) => r.status), Array(6).fill(200))
  t.is(handler.child.exitCode, null, 'the handler process itself is still running')
  t.is(handler.child.signalCode, null)
})

bothModes(test, 'a handler killed mid-request: the client gets 504, a new handler serves the next request', async (t) => {
  const sys = await startSystem(t, {
    app: kBehaviours,
    config: { hosts: [{ name: 'localhost', matching: '', routes: { '/': 'demo', '/hold': { service: 'demo', timeoutMs: 800 } } }] }
  })
  const [broker, handler, acceptor] = ['broker', 'handler', 'acceptor'].map((name) => sys.procs.find((p) => p.name === name)!)
  const started = Date.now()
  const held = fetch(sys.url + '/hold')
  await handler!.waitFor(/holding \d+/, 3000)
  await handler!.stop('SIGKILL')
  const res = await held
  t.is(res.status, 504)
  t.true(Date.now() - started >= 790)
  await sys.startHandler(kBehaviours)
  await waitUntil(async () => (await fetch(sys.url + '/next', { signal: AbortSignal.timeout(500) }).catch(() => null))?.status === 200, 15000, 'a 200 from the new handler') // worker threads compile the app first
  t.is(await (await fetch(sys.url + '/next')).text(), 'ok /next\n')
  for (const p of [broker!, acceptor!]) {
    t.is(p.child.exitCode, null, `${p.name} still running`)
    t.is(p.child.signalCode, null)
  }
})

bothModes(test, 'tnetstring service: the demo /echo still works (the handler host decodes either)', async (t) => {
  const sys = await startSystem(t, { protocol: 'tnetstring' })
  const res = await fetch(sys.url + '/echo?x=1', { method: 'POST', body: 'tnet body', headers: { 'X-Dup': 'one' } })
  t.is(res.status, 200)
  const seen = await res.json() as { method: string, path: string, query: string, body: string, headers: Record<string, unknown> }
  t.is(seen.method, 'POST')
  t.is(seen.path, '/echo')
  t.is(seen.query, 'x=1')
  t.is(seen.body, 'tnet body')
  t.like(seen.headers, { PATH: '/echo', METHOD: 'POST', VERSION: 'HTTP/1.1', URI: '/echo?x=1', 'x-dup': 'one' })
})

bothModes(test, 'HTTP/1.0 and a garbage request line get no answer (uWS.js 20.30); others are served', async (t) => {
  const sys = await startSystem(t, { app: kBehaviours })
  // ECOSYSTEM.md §11: uWS 20.30 answers none of these and closes only at its ~10 s idle
  // timeout. Pinned for 1 s, so a build that starts answering (505, 400) shows here.
  const inputs = [
    'GET /old HTTP/1.0\r\nHost: x\r\n\r\n',
    'THIS IS NOT HTTP\r\n\r\n',
    'GET /nohost HTTP/1.1\r\n\r\n'
  ]
  const clients = inputs.map((bytes) => {
    const c = new RawClient(sys.port)
    t.teardown(() => c.destroy())
    void c.write(bytes)
    return c
  })
  const results = await Promise.all(clients.map((c) => c.until(() => false, 1000)))
  t.deepEqual(results, inputs.map(() => ({ data: '', closed: false })))
  const res = await fetch(sys.url + '/fine')
  t.is(res.status, 200)
  t.is(await res.text(), 'ok /fine\n')
})
