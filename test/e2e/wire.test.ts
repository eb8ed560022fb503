/**
 * End to end at the wire: a raw ZeroMQ "spy" (test/helpers/spy.ts) is the service's only
 * handler, so each test sees the exact Mongrel2 messages the acceptor sends and publishes
 * the exact reply bytes it wants, as a handler in any language would.
 */
import test, { type ExecutionContext } from 'ava'
import { parseResponse, RawClient, type ParsedResponse, type RawResult } from '../helpers/raw-http.js'
import { encodeReplyBatch } from '../../shared/protocol/batch.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { acceptorUuid, attachSpy, type Spy } from '../helpers/spy.js'
import { startSystem, type System } from '../helpers/system.js'

const kHello = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\n\r\nhello\n'

async function spySystem (t: ExecutionContext, config?: Record<string, unknown>, batch = false): Promise<{ sys: System, spy: Spy, uuid: string }> {
  const sys = await startSystem(t, { handlers: 0, config, batch })
  const spy = await attachSpy(t, sys)
  return { sys, spy, uuid: acceptorUuid(sys) }
}

/** Mongrel2's disconnect notice, byte for byte (MONGREL2.md §2.3, JSON headers). */
function notice (uuid: string, id: number): string {
  return `${uuid} ${id} @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},`
}

function rawClient (t: ExecutionContext, port: number): RawClient {
  const c = new RawClient(port)
  t.teardown(() => c.destroy())
  return c
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test.serial('the spy sees a Mongrel2 request message and its reply reaches the client', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const res = fetch(sys.url + '/spy?q=1')
  const m = await spy.request('/spy')
  t.is(m.req.sender, uuid)
  t.regex(m.raw.toString('latin1'), new RegExp(`^${uuid} ${m.req.id} /spy \\d+:\\{"PATH":"/spy",.*\\},0:,$`, 's'))
  await spy.publish(Buffer.from(`${uuid} ${String(m.req.id).length}:${m.req.id}, ${kHello}`, 'latin1'))
  const r = await res
  t.is(r.status, 200)
  t.is(await r.text(), 'hello\n')
})

test.serial('pipelining: a second request while the first is held closes the connection (uWS.js)', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const c = rawClient(t, sys.port)
  await c.write('GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHost: x\r\n\r\n')
  const first = await spy.request('/first')
  const r = await c.until(() => false, 1500)
  t.true(r.closed, 'uWS.js closes the connection when a request arrives while a reply is pending')
  t.is(r.data, '', 'nothing was answered on it')
  // The first exchange ended without its reply: the handler is told; the second never left uWS.
  const gone = await spy.disconnect(first.req.id)
  t.is(gone.raw.toString('latin1'), notice(uuid, first.req.id))
  await sleep(200)
  t.false(spy.messages.some((m) => m.req.path === '/second'), 'the pipelined request never reached a handler')
  // A late reply to the first is a reply to a gone id; the acceptor keeps serving.
  const next = fetch(sys.url + '/after')
  const m = await spy.request('/after')
  await spy.reply(uuid, [m.req.id], kHello)
  t.is((await next).status, 200)
})

test.serial('a reply that breaks the grammar is logged with sender and reason; other replies flow', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  const held = fetch(sys.url + '/held')
  const m = await spy.request('/held')
  // One multipart message: a frame whose id-list length lies (says 4, list "1 2" is 3
  // bytes), then a good reply. The bad frame is dropped; the good one still lands.
  await spy.publish([Buffer.from(`${uuid} 4:1 2, x`), Buffer.from(`${uuid} ${String(m.req.id).length}:${m.req.id}, ${kHello}`)])
  const res = await held
  t.is(res.status, 200)
  t.is(await res.text(), 'hello\n')
  const line = await acceptor.waitFor(/WARN acceptor: rejected a reply .*/, 3000)
  t.true(line[0].includes(`sender=${uuid}`), line[0])
  t.regex(line[0], /reason=".*length says 4 bytes but the list is 3 bytes/)
  // A lone bad frame (no ids) is rejected the same way; the next exchange is unaffected.
  await spy.publish(Buffer.from(`${uuid} 0:, x`))
  await acceptor.waitFor(/rejected a reply .*reason=".*names no ids/, 3000)
  const next = fetch(sys.url + '/next')
  const n = await spy.request('/next')
  await spy.reply(uuid, [n.req.id], kHello)
  t.is((await next).status, 200)
})

test.serial('one reply naming 3 ids answers 3 clients with the same response', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const responses = ['/a', '/b', '/c'].map((path) => fetch(sys.url + path))
  const held = await Promise.all(['/a', '/b', '/c'].map((path) => spy.request(path)))
  const ids = held.map((m) => m.req.id)
  t.is(new Set(ids).size, 3)
  for (const m of held) t.is(m.req.sender, uuid)
  const list = ids.join(' ')
  await spy.publish(Buffer.from(`${uuid} ${list.length}:${list}, ${kHello}`))
  const got = await Promise.all(responses.map(async (r) => {
    const res = await r
    return `${res.status} ${res.headers.get('content-type')} ${await res.text()}`
  }))
  t.deepEqual(got, Array(3).fill('200 text/plain hello\n'))
})

test.serial('a reply to an id that is gone gets Mongrel2\'s disconnect notice', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const res = fetch(sys.url + '/once')
  const m = await spy.request('/once')
  await spy.reply(uuid, [m.req.id], kHello)
  t.is((await res).status, 200)
  // The exchange is over: a second reply to it, and one to an id never issued.
  await spy.reply(uuid, [m.req.id], kHello)
  const n1 = await spy.disconnect(m.req.id)
  t.is(n1.raw.toString('latin1'), notice(uuid, m.req.id))
  await spy.reply(uuid, [4000000000], kHello)
  const n2 = await spy.disconnect(4000000000)
  t.is(n2.raw.toString('latin1'), notice(uuid, 4000000000))
})

test.serial('disconnect notice when the client leaves a held request and when the reply times out', async (t) => {
  const { sys, spy, uuid } = await spySystem(t, {
    hosts: [{ name: 'localhost', matching: '', routes: { '/': 'demo', '/slow': { service: 'demo', timeoutMs: 400 } } }]
  })
  const c = rawClient(t, sys.port)
  await c.write('GET /leave HTTP/1.1\r\nHost: x\r\n\r\n')
  const left = await spy.request('/leave')
  t.false(spy.messages.some((m) => m.disconnect && m.req.id === left.req.id), 'no notice while the client waits')
  c.destroy()
  t.is((await spy.disconnect(left.req.id)).raw.toString('latin1'), notice(uuid, left.req.id))

  const started = Date.now()
  const slow = fetch(sys.url + '/slow')
  const s = await spy.request('/slow')
  const res = await slow
  t.is(res.status, 504)
  t.true(Date.now() - started >= 390)
  t.is((await spy.disconnect(s.req.id, 2000)).raw.toString('latin1'), notice(uuid, s.req.id))
})

test.serial('an empty reply closes the client\'s connection without a response', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const c = rawClient(t, sys.port)
  await c.write('GET /empty HTTP/1.1\r\nHost: x\r\n\r\n')
  const m = await spy.request('/empty')
  t.false(c.closed)
  await spy.publish(Buffer.from(`${uuid} ${String(m.req.id).length}:${m.req.id}, `))
  const r = await c.until(() => false, 3000)
  t.true(r.closed)
  t.is(r.data, '')
})

test.serial('an empty reply ends a partial until-close body: a whole response, then the connection closes', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const c = rawClient(t, sys.port)
  await c.write('GET /partial HTTP/1.1\r\nHost: x\r\n\r\n')
  const m = await spy.request('/partial')
  // No Content-Length, not chunked: the body runs until the handler closes.
  await spy.reply(uuid, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n')
  await spy.reply(uuid, [m.req.id], 'partial body')
  await c.until((d) => d.includes('partial body'), 3000)
  t.false(c.closed, 'the stream stays open until the handler ends it')
  await spy.reply(uuid, [m.req.id], '')
  const r = await c.until((d, closed) => closed, 3000)
  assertWholeResponse(t, r, 'partial body')
})

test.serial('a chunked response whose head says Connection: close arrives whole, then the connection closes', async (t) => {
  const { sys, spy, uuid } = await spySystem(t)
  const c = rawClient(t, sys.port)
  await c.write('GET /chunks HTTP/1.1\r\nHost: x\r\n\r\n')
  const m = await spy.request('/chunks')
  await spy.reply(uuid, [m.req.id], 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n')
  await spy.reply(uuid, [m.req.id], '6\r\n world\r\n0\r\n\r\n')
  const r = await c.until((d, closed) => closed, 3000)
  assertWholeResponse(t, r, 'hello world')
})

/** `r` holds exactly one well-framed 200 response with `body`, and the connection ends with it. */
function assertWholeResponse (t: ExecutionContext, r: RawResult, body: string): void {
  let parsed: ParsedResponse | null = null
  t.notThrows(() => { parsed = parseResponse(r.data) }, `well-framed response; got ${JSON.stringify(r.data)}`)
  const p = parsed as ParsedResponse | null
  t.not(p, null, 'a complete response')
  t.is(p?.status, 200)
  t.is(p?.body, body)
  t.is(p?.rest, '', 'nothing after the response')
  t.true(r.closed || /close/i.test(p?.headers.connection ?? ''), 'the connection ends with the response')
}

test.serial('tnetstring service: the handler gets a tnetstring header dict', async (t) => {
  const sys = await startSystem(t, { handlers: 0, protocol: 'tnetstring' })
  const spy = await attachSpy(t, sys)
  const uuid = acceptorUuid(sys)
  const res = fetch(sys.url + '/tnet?x=1')
  const m = await spy.request('/tnet')
  t.is(m.req.protocol, 'tnetstring')
  // SENDER ID PATH LEN:…} 0:, : the header block is a '}'-tagged dict, not a JSON netstring.
  t.regex(m.raw.toString('latin1'), new RegExp(`^${uuid} ${m.req.id} /tnet \\d+:[^{].*\\}0:,$`, 's'))
  t.like(m.req.headers, { METHOD: 'GET', PATH: '/tnet', QUERY: 'x=1', URI: '/tnet?x=1', VERSION: 'HTTP/1.1' })
  await spy.reply(uuid, [m.req.id], kHello)
  t.is((await res).status, 200)
  // A client that leaves: the notice uses the tnetstring header form.
  const c = rawClient(t, sys.port)
  await c.write('GET /bye HTTP/1.1\r\nHost: x\r\n\r\n')
  const bye = await spy.request('/bye')
  c.destroy()
  const n = await spy.disconnect(bye.req.id)
  t.is(n.raw.toString('latin1'), `${uuid} ${bye.req.id} @* 16:6:METHOD,4:JSON,}21:{"type":"disconnect"},`)
})

test.serial('batched service: requests arrive in batch frames, and one reply batch frame answers them all', async (t) => {
  const { sys, spy, uuid } = await spySystem(t, undefined, true)
  const n = 100
  const clients = Array.from({ length: n }, () => rawClient(t, sys.port))
  await Promise.all(clients.map(async (c) => c.ready))
  // All written in one tick: the acceptor reads them in one loop turn and packs them.
  clients.forEach((c, i) => c.socket.write(`GET /spy?n=${i} HTTP/1.1\r\nHost: localhost\r\n\r\n`))
  const msgs = []
  for (let i = 0; i < n; i++) msgs.push(await spy.request('/spy'))
  t.true(spy.batchSizes.some((size) => size > 1), `batch sizes seen: ${spy.batchSizes.join(',')}`)
  for (const m of msgs) t.is(m.req.sender, uuid)
  const replies = msgs.map((m) => encodeReply(uuid, [m.req.id], Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${m.req.headers.QUERY!.length}\r\n\r\n${m.req.headers.QUERY}`)))
  await spy.publish(encodeReplyBatch(Buffer.from(uuid), replies))
  const results = await Promise.all(clients.map(async (c, i) => c.until((data) => data.endsWith(`n=${i}`))))
  results.forEach((r, i) => {
    t.regex(r.data, /^HTTP\/1\.1 200 OK\r\n/)
    t.true(r.data.endsWith(`\r\n\r\nn=${i}`), r.data)
  })
})

test.serial('a malformed reply batch is logged and dropped; the acceptor serves on', async (t) => {
  const { sys, spy, uuid } = await spySystem(t, undefined, true)
  const res = fetch(`${sys.url}/spy`)
  const m = await spy.request('/spy')
  t.deepEqual(spy.batchSizes, [], 'a lone request goes as a plain message')
  // The second item says 50 bytes but the frame ends first.
  await spy.publish(Buffer.concat([Buffer.from(`${uuid} +`), Buffer.from('3:abc,50:short,')]))
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/rejected a reply batch/, 3000)
  t.regex(acceptor.output, /rejected a reply batch .*reason="batch: item at offset \d+ says 50 bytes/)
  await spy.reply(uuid, [m.req.id], kHello)
  t.is(await (await res).text(), 'hello\n')
})
