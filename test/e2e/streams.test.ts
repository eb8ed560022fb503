/**
 * Long-lived streams driven by raw Mongrel2 replies (a ZeroMQ spy in this process and a
 * Python publisher, no Switchboard handler code): chunks appended by two processes, a
 * stream that was blocked and then idle, the idle cut after acceptor.streamIdleMs and
 * Mongrel2's `X` `ctl` keep-alive / cancel / unknown keys, route keep-alive bytes, SSE
 * frames through an EventSource-style parser, and a slow reader cut at
 * acceptor.maxQueuedBytes while other readers of the same stream carry on.
 */
import test, { type ExecutionContext } from 'ava'
import { encode as tnet, type TnetValue } from '../../shared/protocol/tnetstring.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { dechunk, RawClient } from '../helpers/raw-http.js'
import { readSse } from '../helpers/sse.js'
import { attachSpy, type Spy } from '../helpers/spy.js'
import { findPython, startSystem, type System } from '../helpers/system.js'

const kChunkedHead = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n'
const kSseHead = 'HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n'

function chunk (data: string | Buffer): Buffer {
  const body = typeof data === 'string' ? Buffer.from(data) : data
  return Buffer.concat([Buffer.from(body.length.toString(16) + '\r\n'), body, Buffer.from('\r\n')])
}

/** An `X` extended reply: the body is the tnetstring list [key, args]. */
function extended (spy: Spy, sender: string, ids: number[], key: string, args: TnetValue): Promise<void> {
  return spy.publish(encodeReply(sender, ids, tnet([key, args]), true))
}

function sleep (ms: number): Promise<void> { return new Promise((resolve) => setTimeout(resolve, ms)) }

/** A raw client that sent `GET path`, and the request as the spy got it. */
async function open (t: ExecutionContext, sys: System, spy: Spy, path: string): Promise<{ client: RawClient, sender: string, id: number }> {
  const client = new RawClient(sys.port)
  t.teardown(() => { client.destroy() })
  await client.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
  const { req } = await spy.request(path)
  return { client, sender: req.sender, id: req.id }
}

function body (data: string): { data: Buffer, complete: boolean } {
  const end = data.indexOf('\r\n\r\n')
  return dechunk(Buffer.from(data.slice(end + 4), 'latin1'))
}

function acceptorOf (sys: System) { return sys.procs.find((p) => p.name === 'acceptor')! }

const kParts = 24
const kPartSize = 1 << 20

/**
 * A client that reads nothing, sent a chunked stream of 24 MiB (part i filled with 'a' + i):
 * far more than loopback socket buffers hold, so uWS's writes block.
 */
async function pausedStream (t: ExecutionContext, sys: System, spy: Spy, path: string): Promise<{ client: RawClient, sender: string, id: number }> {
  const client = new RawClient(sys.port)
  t.teardown(() => { client.destroy() })
  await client.ready
  client.socket.pause()
  client.socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
  const { req } = await spy.request(path)
  await spy.reply(req.sender, [req.id], kChunkedHead)
  for (let i = 0; i < kParts; i++) await spy.reply(req.sender, [req.id], chunk(Buffer.alloc(kPartSize, 0x61 + i)))
  return { client, sender: req.sender, id: req.id }
}

test.serial('a chunked stream appended by two handler processes (a spy and a Python publisher), ended by an empty message', async (t) => {
  const python = findPython()
  if (python === null) { t.fail('no python3 with zmq: apt-get install -y python3-zmq'); return }
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const { client, sender, id } = await open(t, sys, spy, '/two')
  await spy.reply(sender, [id], Buffer.concat([Buffer.from(kChunkedHead), chunk('first')]))
  await client.until((d) => d.includes('first'))
  // The second process only knows the address (sender + id), as any Mongrel2 handler would.
  const py = sys.spawn('publisher', python, ['test/fixtures/publish.py', sys.demo.recvSpec, sender, String(id),
    '7\\r\\n second\\r\\n', '6\\r\\n third\\r\\n', ''])
  await py.waitFor(/published 3/, 10_000)
  // As in Mongrel2, the empty message closes the connection once what was queued is out.
  const r = await client.until((_d, closed) => closed, 5000)
  t.true(r.closed, 'the empty message closed the connection')
  t.regex(r.data, /^HTTP\/1\.1 200 OK\r\n/)
  t.regex(r.data, /Transfer-Encoding: chunked/i)
  t.is(body(r.data).data.toString(), 'first second third', 'every chunk before it arrived, in order')
  // The exchange is over: another message to it earns Mongrel2's disconnect notice.
  await spy.reply(sender, [id], chunk('late'))
  await spy.disconnect(id)
})

test.serial('a stream blocked for 4 s, then idle for 16 s, survives uWS.js\'s 10 s timer and carries on', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { handlers: 0, config: { acceptor: { port: 0, drainMs: 1000, maxQueuedBytes: 64 << 20 } } })
  const spy = await attachSpy(t, sys)
  const { client, ...req } = await pausedStream(t, sys, spy, '/bp')
  const received: Buffer[] = []
  let bytes = 0
  client.socket.on('data', (d: Buffer) => { received.push(d); bytes += d.length })
  const parts = kParts
  const size = kPartSize
  await sleep(4000)
  client.socket.resume()
  const deadline = Date.now() + 20_000
  const wanted = parts * size
  // The raw bytes (head and chunk framing included) outnumber the data: then decode once.
  while (Date.now() < deadline && bytes < wanted + 2 * parts) await sleep(100)
  const all = Buffer.concat(received)
  const got = dechunk(all.subarray(all.indexOf('\r\n\r\n') + 4)).data
  t.is(got.length, wanted, 'every byte arrived after the client read again (nothing stuck in uWS\'s buffer)')
  for (let i = 0; i < parts; i++) t.true(got.subarray(i * size, (i + 1) * size).every((b) => b === 0x61 + i), `part ${i} intact`)
  const before = bytes
  await sleep(16_000)
  t.false(client.closed, 'still open after 16 s of silence')
  t.is(bytes, before)
  await spy.reply(req.sender, [req.id], Buffer.concat([chunk('tail'), Buffer.from('0\r\n\r\n')]))
  const r = await client.until(() => client.data.endsWith('4\r\ntail\r\n0\r\n\r\n'), 5000)
  t.true(r.data.endsWith('4\r\ntail\r\n0\r\n\r\n'), 'the stream carried on and ended')
  t.false(spy.messages.some((m) => m.disconnect && m.req.id === req.id), 'no disconnect notice')
})

test.serial('streamIdleMs: X ctl keep-alive holds a long-poll past its timeout and a stream past its idle limit; silence cuts it with a notice', async (t) => {
  const sys = await startSystem(t, {
    handlers: 0,
    config: {
      acceptor: { port: 0, drainMs: 1000, streamIdleMs: 1500 },
      hosts: [{ name: 'localhost', matching: '', routes: { '/': { service: 'demo', timeoutMs: 1000 } } }]
    }
  })
  const spy = await attachSpy(t, sys)
  const { client, sender, id } = await open(t, sys, spy, '/idle')
  // Waiting: keep-alives every 400 ms hold it 2.4 s past a 1 s route timeout.
  for (let i = 0; i < 6; i++) {
    await sleep(400)
    await extended(spy, sender, [id], 'ctl', { 'keep-alive': true })
  }
  t.false(client.closed)
  t.false(client.data.includes('504'), 'no 504 while the handler keeps it')
  await spy.reply(sender, [id], Buffer.concat([Buffer.from(kChunkedHead), chunk('started')]))
  await client.until((d) => d.includes('started'))
  // Streaming: 3.2 s of keep-alives (no bytes) past a 1.5 s idle limit.
  for (let i = 0; i < 8; i++) {
    await sleep(400)
    await extended(spy, sender, [id], 'ctl', { 'keep-alive': '' })
  }
  t.false(client.closed, 'kept by X ctl keep-alive')
  await spy.reply(sender, [id], chunk('more'))
  await client.until((d) => d.includes('more'))
  const quiet = Date.now()
  const r = await client.until((_d, closed) => closed, 6000)
  const after = Date.now() - quiet
  t.true(r.closed, 'cut after streamIdleMs without a message')
  t.true(after >= 1300, `cut after ${after} ms, not before streamIdleMs`)
  await spy.disconnect(id, 3000)
  t.false(body(r.data).complete, 'cut, not ended')
  await acceptorOf(sys).stop('SIGTERM')
  t.regex(acceptorOf(sys).output, /stopped .*idleStreams=1/)
})

test.serial('X ctl cancel closes at once with no notice; an unknown X key closes and is logged; X to a gone id earns a notice', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const a = await open(t, sys, spy, '/a')
  const b = await open(t, sys, spy, '/b')
  await spy.reply(a.sender, [a.id], Buffer.concat([Buffer.from(kChunkedHead), chunk('a')]))
  await a.client.until((d) => d.includes('\r\na\r\n'))
  await extended(spy, a.sender, [a.id], 'ctl', { cancel: true })
  t.true((await a.client.until((_d, closed) => closed, 3000)).closed, 'cancel closed the connection')
  t.false(body(a.client.data).complete)
  await extended(spy, b.sender, [b.id], 'sendfile', '/etc/passwd')
  t.true((await b.client.until((_d, closed) => closed, 3000)).closed, 'unknown key closed the connection')
  t.is(b.client.data, '', 'nothing was sent')
  await acceptorOf(sys).waitFor(/WARN acceptor: bad extended \(X\) reply.*unknown key/, 3000)
  // A cancel to a gone id is silent; any other X to it gets a notice (MONGREL2.md §2.3).
  await extended(spy, a.sender, [a.id], 'ctl', { cancel: true })
  await extended(spy, b.sender, [b.id], 'ctl', { 'keep-alive': true })
  await spy.disconnect(b.id)
  await sleep(300)
  t.false(spy.messages.some((m) => m.disconnect && m.req.id === a.id), 'no notice for a cancelled exchange')
  t.is((await fetch(sys.url + '/__probe__', { method: 'HEAD' })).status, 200, 'the acceptor carries on')
})

test.serial('route keepAliveMs writes keepAliveBytes to an idle stream; SSE frames parse as EventSource would', async (t) => {
  const sys = await startSystem(t, {
    handlers: 0,
    config: { hosts: [{ name: 'localhost', matching: '', routes: { '/': { service: 'demo', keepAliveMs: 300, keepAliveBytes: ':\n\n' } } }] }
  })
  const spy = await attachSpy(t, sys)
  const reading = readSse(sys.url + '/events', (p) => p.events.length >= 4 && p.comments >= 2, 10_000, { 'last-event-id': '41' })
  const { req } = await spy.request('/events')
  t.is(req.headers['last-event-id'], '41', 'Last-Event-ID reaches the handler')
  await spy.reply(req.sender, [req.id], kSseHead)
  // Mongrel2-style: the handler frames SSE itself, in pieces that split lines and CRLFs.
  await spy.reply(req.sender, [req.id], chunk('retry: 2500\n\nid: 42\nevent: tick\ndata: one\r'))
  await spy.reply(req.sender, [req.id], chunk('\ndata: two\r\n\r\n: a comment\n\n'))
  await spy.reply(req.sender, [req.id], chunk('data: {"n":3}\n\nid\ndata: no id\n\n'))
  await sleep(1000)
  await spy.reply(req.sender, [req.id], chunk('event: end\ndata:\n\n'))
  const r = await reading
  t.is(r.status, 200)
  t.is(r.headers.get('content-type'), 'text/event-stream')
  t.is(r.parser.retry, 2500)
  t.deepEqual(r.parser.events, [
    { type: 'tick', data: 'one\ntwo', lastEventId: '42' },
    { type: 'message', data: '{"n":3}', lastEventId: '42' },
    { type: 'message', data: 'no id', lastEventId: '' },
    { type: 'end', data: '', lastEventId: '' }
  ])
  t.true(r.parser.comments >= 3, `keep-alive comments arrived while the handler was quiet (${r.parser.comments} comments)`)
})

test.serial('a slow reader is cut at maxQueuedBytes while two readers of the same stream get it whole', async (t) => {
  const sys = await startSystem(t, { handlers: 0, config: { acceptor: { port: 0, drainMs: 1000, maxQueuedBytes: 256 << 10 } } })
  const spy = await attachSpy(t, sys)
  const slow = new RawClient(sys.port)
  t.teardown(() => { slow.destroy() })
  await slow.ready
  slow.socket.pause()
  slow.socket.write('GET /fan HTTP/1.1\r\nHost: x\r\n\r\n')
  const first = await spy.request('/fan')
  const readers = [0, 1].map(() => fetch(sys.url + '/fan').then(async (res) => ({ status: res.status, body: Buffer.from(await res.arrayBuffer()) })))
  const others = [await spy.request('/fan'), await spy.request('/fan')]
  const ids = [first.req.id, ...others.map((m) => m.req.id)]
  const sender = first.req.sender
  // One reply naming all three ids per chunk: Mongrel2's fan-out.
  await spy.reply(sender, ids, kChunkedHead)
  // 16 MiB: more than loopback buffers take from a reader that does not read.
  const parts = 256
  const size = 64 << 10
  for (let i = 0; i < parts; i++) {
    await spy.reply(sender, ids, chunk(Buffer.alloc(size, 0x41 + (i % 26))))
    if (i % 8 === 7) await sleep(20)
  }
  await spy.disconnect(first.req.id, 5000)
  await spy.reply(sender, ids.slice(1), '0\r\n\r\n')
  for (const r of await Promise.all(readers)) {
    t.is(r.status, 200)
    t.is(r.body.length, parts * size)
    for (let i = 0; i < parts; i++) t.true(r.body.subarray(i * size, (i + 1) * size).every((b) => b === 0x41 + (i % 26)), `part ${i}`)
  }
  slow.socket.resume()
  t.true((await slow.until((_d, closed) => closed, 5000)).closed, 'the slow reader was closed')
  t.true(Buffer.byteLength(slow.data, 'latin1') < parts * size / 2, 'it got a fraction of the stream')
  await acceptorOf(sys).waitFor(/SWB_ERR_RESPONSE_OVERFLOW/, 3000)
  await acceptorOf(sys).stop('SIGTERM')
  t.regex(acceptorOf(sys).output, /stopped .*slowClients=1/)
})

test.serial('a held long-poll and a started stream both stay open through 12 s of silence (uWS.js\'s 10 s idle timer does not apply)', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const held = await open(t, sys, spy, '/held')
  const streaming = await open(t, sys, spy, '/streaming')
  await spy.reply(streaming.sender, [streaming.id], Buffer.concat([Buffer.from(kChunkedHead), chunk('started')]))
  await streaming.client.until((d) => d.includes('started'))
  await sleep(12_000)
  t.false(held.client.closed, 'the held exchange is open')
  t.false(streaming.client.closed, 'the stream is open')
  await spy.reply(held.sender, [held.id], 'HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nlate')
  await spy.reply(streaming.sender, [streaming.id], Buffer.concat([chunk(' and on'), Buffer.from('0\r\n\r\n')]))
  t.true((await held.client.until((d) => d.endsWith('\r\n\r\nlate'), 5000)).data.endsWith('\r\n\r\nlate'))
  const r = await streaming.client.until((d) => body(d).complete, 5000)
  t.is(body(r.data).data.toString(), 'started and on')
})

test.serial('uWS.js\'s stall cap: a client that reads nothing for over 10 s while its stream is blocked is closed, and the handler told', async (t) => {
  const sys = await startSystem(t, { handlers: 0, config: { acceptor: { port: 0, drainMs: 1000, maxQueuedBytes: 64 << 20 } } })
  const spy = await attachSpy(t, sys)
  const { id } = await pausedStream(t, sys, spy, '/stall')
  const lastWrite = Date.now()
  const notice = await spy.disconnect(id, 20_000)
  const after = Date.now() - lastWrite
  t.truthy(notice)
  t.true(after >= 8000, `closed ${after} ms after the last write: uWS.js's 10 s, not sooner`)
})
