/**
 * End to end over real processes: broker, acceptor and handler host talk over ZeroMQ,
 * clients over real TCP.
 */
import test from 'ava'
import { rawRequest, RawClient } from '../helpers/raw-http.js'
import { bothModes, startSystem } from '../helpers/system.js'

bothModes(test, 'GET /hello through broker and handler host', async (t) => {
  const sys = await startSystem(t)
  const res = await fetch(sys.url + '/hello')
  t.is(res.status, 200)
  t.is(await res.text(), 'Hello World\n')
})

bothModes(test, 'POST body and headers reach the handler as Mongrel2 sends them', async (t) => {
  const sys = await startSystem(t)
  const res = await fetch(sys.url + '/echo?x=1&y=2', {
    method: 'POST', body: 'payload bytes', headers: { 'X-Dup': 'one', 'Content-Type': 'text/plain' }
  })
  t.is(res.status, 200)
  const seen = await res.json() as { method: string, path: string, query: string, body: string, headers: Record<string, unknown> }
  t.is(seen.method, 'POST')
  t.is(seen.path, '/echo')
  t.is(seen.query, 'x=1&y=2')
  t.is(seen.body, 'payload bytes')
  t.like(seen.headers, {
    PATH: '/echo', METHOD: 'POST', VERSION: 'HTTP/1.1', URI: '/echo?x=1&y=2', QUERY: 'x=1&y=2',
    PATTERN: '/', URL_SCHEME: 'http', REMOTE_ADDR: '127.0.0.1', 'x-forwarded-for': '127.0.0.1', 'x-dup': 'one'
  })
})

bothModes(test, 'repeated headers arrive as an array', async (t) => {
  const sys = await startSystem(t)
  const r = await rawRequest(sys.port, 'GET /echo HTTP/1.1\r\nHost: x\r\nX-Dup: one\r\nX-Dup: two\r\n\r\n', (d) => d.includes('}'))
  const body = JSON.parse(r.data.slice(r.data.indexOf('\r\n\r\n') + 4)) as { headers: Record<string, unknown> }
  t.deepEqual(body.headers['x-dup'], ['one', 'two'])
})

bothModes(test, 'keep-alive: two requests on one connection get two responses and it stays open', async (t) => {
  const sys = await startSystem(t, { app: 'test/fixtures/behaviours.ts' })
  const c = new RawClient(sys.port)
  t.teardown(() => c.destroy())
  await c.write('GET /one HTTP/1.1\r\nHost: x\r\n\r\n')
  await c.until((d) => d.includes('ok /one\n'))
  await c.write('GET /two HTTP/1.1\r\nHost: x\r\n\r\n')
  const r = await c.until((d) => d.includes('ok /two\n'))
  t.regex(r.data, /ok \/one\n[\s\S]*ok \/two\n/)
  t.false(r.closed)
})

test.serial('404 when no route matches', async (t) => {
  const sys = await startSystem(t, { config: { hosts: [{ name: 'localhost', matching: '', routes: { '/app': 'demo' } }] } })
  const res = await fetch(sys.url + '/elsewhere')
  t.is(res.status, 404)
  t.is((await fetch(sys.url + '/app/hello')).status, 404, 'the demo app itself answers 404 for unknown pages')
  t.is((await fetch(sys.url + '/apple')).status, 404)
})

test.serial('413 when the body is over the limit; the acceptor carries on', async (t) => {
  const sys = await startSystem(t, { config: { acceptor: { port: 0, bodyLimit: 1000 } } })
  const big = await fetch(sys.url + '/echo', { method: 'POST', body: 'x'.repeat(1001) })
  t.is(big.status, 413)
  const ok = await fetch(sys.url + '/echo', { method: 'POST', body: 'x'.repeat(1000) })
  t.is(ok.status, 200)
  t.is(((await ok.json()) as { body: string }).body.length, 1000)
})

test.serial('503 when no handler is connected, 200 once one is', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const res = await fetch(sys.url + '/hello')
  t.is(res.status, 503)
  const handler = await sys.startHandler()
  let status = 0
  for (let i = 0; i < 40 && status !== 200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    status = (await fetch(sys.url + '/hello')).status
  }
  t.is(status, 200)
  // The handler leaves: within about a second new requests get 503 again. (A request
  // already pushed to the dying handler waits for its timeout: polls use short deadlines.)
  await handler.stop('SIGKILL')
  const killed = Date.now()
  let seen = 0
  while (Date.now() - killed < 5000) {
    const r = await fetch(sys.url + '/hello', { signal: AbortSignal.timeout(300) }).catch(() => null)
    if (r?.status === 503) { seen = Date.now() - killed; break }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  t.true(seen > 0 && seen < 1500, `503 after ${seen} ms`)
})

bothModes(test, '504 when the handler does not reply within the route timeout', async (t) => {
  const sys = await startSystem(t, {
    app: 'test/fixtures/behaviours.ts',
    config: { hosts: [{ name: 'localhost', matching: '', routes: { '/': 'demo', '/hold': { service: 'demo', timeoutMs: 400 } } }] }
  })
  const started = Date.now()
  const res = await fetch(sys.url + '/hold')
  t.is(res.status, 504)
  t.true(Date.now() - started >= 390)
  t.is((await fetch(sys.url + '/fine')).status, 200)
})
