/**
 * GRIP holds end to end: a real broker, acceptor and handler processes (the TS host with
 * test/fixtures/grip-app.ts, a spy, a Python handler); the test publishes as the broker's
 * publish side would (test/helpers/grip.ts). Every route's reply timeout is 2 s: holds
 * outlive it (Grip-Timeout, not the route's, is what ends them).
 */
import test from 'ava'
import { findPython, waitUntil } from '../helpers/system.js'
import { RawClient } from '../helpers/raw-http.js'
import type { Spy } from '../helpers/spy.js'
import { open as openWs } from '../helpers/ws-client.js'
import { hookTeardown, rawSpy, response, startGrip, syncPublish, type GripSystem } from '../helpers/grip.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let g: GripSystem
let spy: Spy

const hooks = hookTeardown()
test.before(async () => {
  g = await startGrip(hooks, { timeoutMs: 2000 })
  spy = await rawSpy(hooks, g)
  await syncPublish(g)
})
test.after.always(async () => { await hooks.run() })

/** Publishes `item` every 100 ms until `done()` (a response hold registers unseen: nothing is written). */
async function publishUntil (item: Parameters<GripSystem['publish']>[0], done: () => boolean, ms = 10_000): Promise<void> {
  await waitUntil(async () => {
    if (done()) return true
    await g.publish(item)
    await sleep(100)
    return done()
  }, ms, `an answer to the item on ${item.channel}`)
}

/** De-chunks a chunked body (what follows the head). */
function dechunk (raw: string): string {
  let out = ''
  let p = 0
  for (;;) {
    const eol = raw.indexOf('\r\n', p)
    if (eol < 0) return out
    const size = parseInt(raw.slice(p, eol), 16)
    if (!(size > 0)) return out
    out += raw.slice(eol + 2, eol + 2 + size)
    p = eol + 2 + size + 2
  }
}

function head (data: string): string { return data.slice(0, data.indexOf('\r\n\r\n')) }
function bodyOf (data: string): string { return data.slice(data.indexOf('\r\n\r\n') + 4) }

test.serial('a long-poll (ctx.hold) is answered by a published http-response, Grip headers stripped', async (t) => {
  let answered = false
  const res = fetch(g.sys.url + '/poll?ch=lp1').then(async (r) => { answered = true; return { r, text: await r.text() } })
  await publishUntil({ channel: 'lp1', httpResponse: response('published!\n', [['X-From', 'publisher'], ['Content-Length', '999']], 201) }, () => answered)
  const { r, text } = await res
  t.is(r.status, 201)
  t.is(text, 'published!\n')
  t.is(r.headers.get('x-from'), 'publisher')
  t.is(r.headers.get('x-held'), null, 'the held response was not sent')
  for (const name of r.headers.keys()) t.false(name.startsWith('grip-'), name)
})

test.serial('a long-poll times out after Grip-Timeout (not the route timeout) with the handler\'s original response', async (t) => {
  const started = Date.now()
  const r = await fetch(g.sys.url + '/poll?ch=lp2&timeout=3')
  const elapsed = Date.now() - started
  t.is(r.status, 200)
  t.is(await r.text(), 'timed out\n')
  t.is(r.headers.get('x-held'), 'original')
  t.is(r.headers.get('grip-hold'), null)
  t.is(r.headers.get('grip-channel'), null)
  t.true(elapsed >= 2800, `held ${elapsed} ms: past the 2 s route timeout, until Grip-Timeout`)
})

test.serial('a stream hold sends the handler\'s head and body chunked, keep-alives when idle, published chunks, and ends on close', async (t) => {
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /stream?ch=st1&ka=1 HTTP/1.1\r\nHost: x\r\n\r\n')
  await c.until((d) => d.includes(':start'))
  t.regex(head(c.data), /^HTTP\/1\.1 200 OK/)
  t.regex(head(c.data), /transfer-encoding: chunked/i)
  t.regex(head(c.data), /content-type: text\/event-stream/i)
  t.notRegex(head(c.data), /grip-|content-length/i)
  // Idle for 1 s: the Grip-Keep-Alive bytes go out.
  const r1 = await c.until((d) => dechunk(bodyOf(d)).includes(':ka'), 5000)
  t.true(dechunk(bodyOf(r1.data)).startsWith(':start\n\n:ka\n\n'))
  await g.publish({ channel: 'st1', httpStream: { content: Buffer.from('data: one\n\n'), close: false } })
  await g.publish({ channel: 'st1', httpStream: { content: Buffer.from('data: two\n\n'), close: false } })
  await c.until((d) => dechunk(bodyOf(d)).includes('data: two'))
  await g.publish({ channel: 'st1', httpStream: { content: Buffer.alloc(0), close: true } })
  const r2 = await c.until((d) => d.endsWith('0\r\n\r\n'))
  const text = dechunk(bodyOf(r2.data)).replaceAll(':ka\n\n', '')
  t.is(text, ':start\n\ndata: one\n\ndata: two\n\n', 'published chunks in order after the first bytes')
  t.true(r2.data.endsWith('0\r\n\r\n'), 'the stream ended with its last chunk')
})

test.serial('raw Grip headers from a Mongrel2 handler: a publish answers, no disconnect notice; a client leaving a hold earns one', async (t) => {
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /raw/a HTTP/1.1\r\nHost: x\r\n\r\n')
  const { req } = await spy.request('/raw/a')
  await spy.reply(req.sender, [req.id], 'HTTP/1.1 200 OK\r\ngrip-hold: response\r\nGRIP-CHANNEL: rawch ; prev-id=x1, other\r\nGrip-Timeout: 20\r\nGrip-Link: </x>; rel=next\r\nContent-Type: text/plain\r\nContent-Length: 4\r\n\r\nheld')
  await publishUntil({ channel: 'other', prevId: null, httpResponse: response('via other\n') }, () => c.data.includes('via other'))
  t.regex(c.data, /^HTTP\/1\.1 200 OK/)
  t.notRegex(c.data, /grip-/i)
  t.is(bodyOf(c.data), 'via other\n')
  await sleep(500)
  t.false(spy.messages.some((m) => m.disconnect && m.req.id === req.id), 'ending a hold by publish sends no disconnect notice')

  const c2 = new RawClient(g.sys.port)
  await c2.write('GET /raw/b HTTP/1.1\r\nHost: x\r\n\r\n')
  const b = await spy.request('/raw/b')
  await spy.reply(b.req.sender, [b.req.id], 'HTTP/1.1 200 OK\r\nGrip-Hold: stream\r\nGrip-Channel: rawst\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n')
  await c2.until((d) => d.includes('first'))
  // Mongrel2-style: the handler keeps writing to the held stream (chunks, as its head said).
  await spy.reply(b.req.sender, [b.req.id], '7\r\nsecond\n\r\n')
  await c2.until((d) => dechunk(bodyOf(d)).includes('second')) // the handler's path and the publish path are not ordered
  await g.publish({ channel: 'rawst', httpStream: { content: Buffer.from('third\n'), close: false } })
  await c2.until((d) => dechunk(bodyOf(d)).includes('third'))
  t.is(dechunk(bodyOf(c2.data)), 'first\nsecond\nthird\n')
  c2.socket.destroy()
  const notice = await spy.disconnect(b.req.id)
  t.true(notice.disconnect, 'the client leaving a held stream is told to the handler')
})

test.serial('a stream hold with a Content-Length first body: later handler messages are content; X ctl keep-alive is accepted', async (t) => {
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /raw/cl HTTP/1.1\r\nHost: x\r\n\r\n')
  const { req } = await spy.request('/raw/cl')
  await spy.reply(req.sender, [req.id], 'HTTP/1.1 200 OK\r\nGrip-Hold: stream\r\nGrip-Channel: clch\r\nContent-Length: 3\r\n\r\none')
  await c.until((d) => dechunk(bodyOf(d)) === 'one')
  t.is(dechunk(bodyOf(c.data)), 'one', `got ${JSON.stringify(c.data)}`)
  t.regex(head(c.data), /transfer-encoding: chunked/i)
  const { encodeReply } = await import('../../shared/protocol/reply.js')
  const { encode } = await import('../../shared/protocol/tnetstring.js')
  await spy.publish(encodeReply(req.sender, [req.id], encode(['ctl', { 'keep-alive': true }]), true))
  await spy.reply(req.sender, [req.id], ' two')
  // The handler's path (broker) and the publish path are separate: no order between them.
  await c.until((d) => dechunk(bodyOf(d)) === 'one two')
  await g.publish({ channel: 'clch', httpStream: { content: Buffer.from(' three'), close: false } })
  await c.until((d) => dechunk(bodyOf(d)) === 'one two three')
  t.is(dechunk(bodyOf(c.data)), 'one two three')
  t.false(c.closed)
  t.false(spy.messages.some((m) => m.disconnect && m.req.id === req.id))
})

test.serial('a Python (Mongrel2, tnetstring) handler holding with raw Grip headers: response and stream holds', async (t) => {
  const python = findPython()
  if (python === null) { t.fail('no python3 with zmq: apt-get install -y python3-zmq'); return }
  const py = g.sys.spawn('py-handler', python, ['test/fixtures/grip_handler.py', g.py.sendSpec, g.py.recvSpec])
  await py.waitFor(/ready/, 10_000)
  await waitUntil(async () => (await fetch(g.sys.url + '/py/probe')).status === 200, 10_000, 'the python handler')
  let answered = false
  const poll = fetch(g.sys.url + '/py/poll').then(async (r) => { answered = true; return { status: r.status, text: await r.text(), type: r.headers.get('content-type') } })
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /py/stream HTTP/1.1\r\nHost: x\r\n\r\n')
  await c.until((d) => d.includes('hello'))
  // Keep-alive after 1 s idle: cstring `\n` (a newline) as the handler's header said.
  await c.until((d) => dechunk(bodyOf(d)) === 'hello\n\n', 5000)
  await publishUntil({ channel: 'py', httpResponse: response('for python\n'), httpStream: { content: Buffer.from('streamed\n'), close: false } }, () => answered)
  const r = await poll
  t.deepEqual(r, { status: 200, text: 'for python\n', type: null })
  await c.until((d) => dechunk(bodyOf(d)).includes('streamed'))
  t.true(dechunk(bodyOf(c.data)).startsWith('hello\n\n'))
  t.notRegex(head(c.data), /grip-/i)
})

test.serial('WebSocket: ws.subscribe / unsubscribe (X replies), ws-message text and binary, close with a code', async (t) => {
  const ws = await openWs(`ws://127.0.0.1:${g.sys.port}/ws`)
  t.teardown(() => ws.ws.terminate())
  ws.ws.send('sub room')
  t.is(await ws.text(), 'subscribed room')
  ws.ws.send('sub lobby')
  t.is(await ws.text(), 'subscribed lobby')
  await g.publish({ channel: 'room', wsMessage: { content: Buffer.from('hello room'), binary: false, close: false, code: 0 } })
  const [m1] = await ws.next()
  t.is(m1!.data.toString(), 'hello room')
  t.false(m1!.binary)
  await g.publish({ channel: 'room', wsMessage: { content: Buffer.from([0, 1, 2, 255]), binary: true, close: false, code: 0 } })
  const [m2] = await ws.next()
  t.true(m2!.binary)
  t.deepEqual([...m2!.data], [0, 1, 2, 255])
  ws.ws.send('unsub room')
  t.is(await ws.text(), 'unsubscribed room')
  await g.publish({ channel: 'room', wsMessage: { content: Buffer.from('not for you'), binary: false, close: false, code: 0 } })
  await g.publish({ channel: 'lobby', wsMessage: { content: Buffer.from('lobby news'), binary: false, close: false, code: 0 } })
  t.is(await ws.text(), 'lobby news', 'nothing from the channel it left, in between')
  await g.publish({ channel: 'lobby', wsMessage: { content: Buffer.alloc(0), binary: false, close: true, code: 4001 } })
  const closed = await ws.closed
  t.is(closed.code, 4001)
})

test.serial('a WebSocket subscribed in its handshake answer (X before the 101) gets what is published once open', async (t) => {
  const ws = await openWs(`ws://127.0.0.1:${g.sys.port}/ws?ch=early`)
  t.teardown(() => ws.ws.terminate())
  // The 101 came after the X reply on the same link: the subscription is in place.
  await g.publish({ channel: 'early', wsMessage: { content: Buffer.from('early bird'), binary: false, close: false, code: 0 } })
  t.is(await ws.text(), 'early bird')
})

test.serial('an X subscribe naming an HTTP exchange closes it, as an unknown key would (Mongrel2)', async (t) => {
  const c = new RawClient(g.sys.port)
  await c.write('GET /raw/x HTTP/1.1\r\nHost: x\r\n\r\n')
  const { req } = await spy.request('/raw/x')
  const { encodeReply } = await import('../../shared/protocol/reply.js')
  const { encode } = await import('../../shared/protocol/tnetstring.js')
  await spy.publish(encodeReply(req.sender, [req.id], encode(['subscribe', { channel: 'nope' }]), true))
  const r = await c.until((_d, closed) => closed)
  t.true(r.closed)
  t.is(r.data, '')
})

test.serial('prev-id: a channel delivers in id order (an early item waits for the one it follows)', async (t) => {
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /stream?ch=ord HTTP/1.1\r\nHost: x\r\n\r\n')
  await c.until((d) => d.includes(':start'))
  const item = (id: string, prevId: string | null) => ({ channel: 'ord', id, prevId, httpStream: { content: Buffer.from(id + ' '), close: false } })
  await g.publish(item('1', null))
  await g.publish(item('3', '2'))
  await g.publish(item('4', '3'))
  await g.publish(item('2', '1'))
  await c.until((d) => dechunk(bodyOf(d)).includes('4 '))
  t.is(dechunk(bodyOf(c.data)), ':start\n\n1 2 3 4 ')
})

test.serial('prev-id gap: an item whose prev-id never comes goes out after the wait; a hold behind the channel is recovered at once', async (t) => {
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /stream?ch=gap HTTP/1.1\r\nHost: x\r\n\r\n')
  await c.until((d) => d.includes(':start'))
  const item = (id: string, prevId: string | null) => ({ channel: 'gap', id, prevId, httpStream: { content: Buffer.from(id + ' '), close: false }, httpResponse: response('item ' + id) })
  await g.publish(item('a', null))
  await c.until((d) => dechunk(bodyOf(d)).includes('a '))
  const sent = Date.now()
  await g.publish(item('c', 'b')) // b is lost
  await c.until((d) => dechunk(bodyOf(d)).includes('c '), 15_000)
  const waited = Date.now() - sent
  t.true(waited >= 3000, `the item waited ${waited} ms for its prev-id before going out anyway`)
  t.is(dechunk(bodyOf(c.data)), ':start\n\na c ')
  // A long-poll naming a prev-id the channel moved past (no recent item follows it): the
  // held response at once (the client asks again and the handler answers from there).
  const started = Date.now()
  const r = await fetch(g.sys.url + '/poll?ch=gap&prev=zz&timeout=30')
  t.is(await r.text(), 'timed out\n')
  t.true(Date.now() - started < 5000, 'recovered at once, not at the timeout')
  // One naming the last id waits for the next item.
  let answered = ''
  const next = fetch(g.sys.url + '/poll?ch=gap&prev=c&timeout=30').then(async (r) => { answered = await r.text() })
  await sleep(1500)
  t.is(answered, '')
  await g.publish(item('d', 'c'))
  await next
  t.is(answered, 'item d')
})

test.serial('the race: an item published just before the hold naming its prev-id is still delivered', async (t) => {
  await g.publish({ channel: 'race', id: 'r1', prevId: null, httpResponse: response('r1') })
  await g.publish({ channel: 'race', id: 'r2', prevId: 'r1', httpResponse: response('r2'), httpStream: { content: Buffer.from('r2 '), close: false } })
  await g.publish({ channel: 'race', id: 'r3', prevId: 'r2', httpResponse: response('r3'), httpStream: { content: Buffer.from('r3 '), close: false } })
  await sleep(300) // all three reached the acceptor before the holds below
  // The handler read its state (last id r1) and held; r2 had already been published.
  const r = await fetch(g.sys.url + '/poll?ch=race&prev=r1&timeout=30')
  t.is(await r.text(), 'r2', 'the item following the prev-id, not the latest one')
  // A stream hold (raw headers through the spy) gets everything after its prev-id, in order.
  const c = new RawClient(g.sys.port)
  t.teardown(() => c.socket.destroy())
  await c.write('GET /raw/race HTTP/1.1\r\nHost: x\r\n\r\n')
  const { req } = await spy.request('/raw/race')
  await spy.reply(req.sender, [req.id], 'HTTP/1.1 200 OK\r\nGrip-Hold: stream\r\nGrip-Channel: race; prev-id=r1\r\nContent-Length: 6\r\n\r\nstart ')
  await c.until((d) => dechunk(bodyOf(d)).includes('r3 '))
  t.is(dechunk(bodyOf(c.data)), 'start r2 r3 ')
})

test.serial('bad Grip headers get 502 with the reason logged; nothing else is lost', async (t) => {
  let held = false
  const survivor = fetch(g.sys.url + '/poll?ch=survivor&timeout=30').then(async (r) => { held = true; return await r.text() })
  const bad = async (path: string, grip: string): Promise<number> => {
    const c = new RawClient(g.sys.port)
    await c.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
    const { req } = await spy.request(path)
    await spy.reply(req.sender, [req.id], `HTTP/1.1 200 OK\r\n${grip}Content-Length: 2\r\n\r\nok`)
    const r = await c.until((d) => d.includes('\r\n\r\n') && d.includes('malformed'))
    c.socket.destroy()
    return Number(/^HTTP\/1\.1 (\d+)/.exec(r.data)?.[1])
  }
  t.is(await bad('/raw/bad1', 'Grip-Hold: response\r\nGrip-Channel: x\r\nGrip-Timeout: -5\r\n'), 502)
  t.is(await bad('/raw/bad2', 'Grip-Hold: stream\r\nGrip-Channel: x\r\nGrip-Keep-Alive: zz; format=hex; timeout=5\r\n'), 502)
  t.is(await bad('/raw/bad3', 'Grip-Hold: response\r\n'), 502)
  t.is(await bad('/raw/bad4', 'Grip-Hold: forever\r\nGrip-Channel: x\r\n'), 502)
  const r = await fetch(g.sys.url + '/bad-timeout')
  t.is(r.status, 502)
  const acceptor = g.sys.procs.find((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/SWB_ERR_GRIP_HEADER.*Grip-Timeout must be whole seconds/)
  t.regex(acceptor.output, /Grip-Keep-Alive: format must be raw, cstring or base64/)
  t.regex(acceptor.output, /Grip-Hold without a Grip-Channel/)
  t.regex(acceptor.output, /Grip-Hold must be response or stream/)
  // Other exchanges carry on: a plain request, and the hold made before.
  t.is((await fetch(g.sys.url + '/nothing-here')).status, 404)
  await publishUntil({ channel: 'survivor', httpResponse: response('still here') }, () => held)
  t.is(await survivor, 'still here')
})

test.serial('a malformed published item is counted and logged, and the next one is delivered', async (t) => {
  let answered = ''
  const poll = fetch(g.sys.url + '/poll?ch=afterbad&timeout=30').then(async (r) => { answered = await r.text() })
  await g.publish({ channel: '' }) // decodes, but an item without a channel: refused
  await publishUntil({ channel: 'afterbad', httpResponse: response('fine') }, () => answered !== '')
  await poll
  t.is(answered, 'fine')
  const acceptor = g.sys.procs.find((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/dropped a published item.*SWB_ERR_PUBLISH_ITEM/)
  t.pass()
})
