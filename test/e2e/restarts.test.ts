/**
 * Faults around restarts and lost peers (issue 11, defects 4, 9 and 12), through real
 * processes: the broker and a handler killed with SIGKILL, the acceptor killed and
 * restarted with the same configured UUID, the acceptor's ids wrapping, and shutdown
 * cutting held exchanges and started streams.
 */
import test, { type ExecutionContext } from 'ava'
import { encodeReplyBatch } from '../../shared/protocol/batch.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { parseResponse, RawClient } from '../helpers/raw-http.js'
import { acceptorUuid, attachSpy, Spy } from '../helpers/spy.js'
import { startSystem, System, waitUntil } from '../helpers/system.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

interface Outcome { sent: number, done: number, status: number }

/** `workers` clients sending GET `url` back to back until `until.at`; aborted requests get status 0. */
async function hammer (url: string, workers: number, until: { at: number }, timeoutMs = 2000): Promise<Outcome[]> {
  const out: Outcome[] = []
  await Promise.all(Array.from({ length: workers }, async () => {
    while (Date.now() < until.at) {
      const sent = Date.now()
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).catch(() => null)
      if (res) await res.arrayBuffer().catch(() => null)
      out.push({ sent, done: Date.now(), status: res?.status ?? 0 })
      if (res?.status === 503) await sleep(5)
    }
  }))
  return out.sort((a, b) => a.sent - b.sent)
}

function answer (text: string): string {
  return `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${text.length}\r\n\r\n${text}`
}

/**
 * Broker and a spy handler, with the spy counted before the acceptor starts (so the
 * first request after a start is id 1 or SWITCHBOARD_TEST_FIRST_ID: no probes).
 */
async function spyFirst (t: ExecutionContext): Promise<{ sys: System, spy: Spy }> {
  const sys = new System({ config: { acceptor: { port: 0, uuid: 'acc-1', drainMs: 1000 } } })
  t.teardown(() => sys.stop())
  const broker = await sys.startBroker()
  const spy = new Spy(sys.demo.sendSpec, sys.demo.recvSpec)
  t.teardown(() => spy.close())
  await broker.waitFor(/handler connected service=demo handlers=1/)
  return { sys, spy }
}

/** Waits until a request for `path` answered by the spy comes back 200 (the reply path works). */
async function untilAnswered (sys: System, spy: Spy, path: string): Promise<void> {
  await waitUntil(async () => {
    const res = fetch(sys.url + path, { signal: AbortSignal.timeout(1000) }).catch(() => null)
    const m = await spy.request(path, 1000).catch(() => null)
    if (m) await spy.reply(m.req.sender, [m.req.id], answer('probe\n'))
    return (await res)?.status === 200
  }, 10000, `an answer to ${path}`)
}

test.serial('acceptor killed and restarted with the same UUID: a late reply to the old run never reaches a new client', async (t) => {
  const { sys, spy } = await spyFirst(t)
  const first = await sys.startAcceptor()
  const a = fetch(sys.url + '/echo?u=client-A', { signal: AbortSignal.timeout(20000) })
  a.catch(() => {})
  const ma = await spy.request('/echo')
  t.regex(ma.req.sender, /^acc-1-[0-9a-f]{8}$/, 'SENDER is the configured UUID plus a per-run tag')
  // The handler is slow (it will answer A late); meanwhile the acceptor dies and comes back.
  await first.stop('SIGKILL')
  await sys.startAcceptor()
  const b = fetch(sys.url + '/echo?u=client-B', { signal: AbortSignal.timeout(10000) })
  const mb = await spy.request('/echo')
  t.is(mb.req.id, ma.req.id, 'the new run starts its ids again: the same id as A')
  t.not(mb.req.sender, ma.req.sender, 'but under another sender')
  t.regex(mb.req.sender, /^acc-1-[0-9a-f]{8}$/)
  // Let the new run's subscription reach the spy's PUB, then answer A (late) before B.
  await sleep(700)
  await spy.reply(ma.req.sender, [ma.req.id], answer('answer for client-A\n'))
  // The same late reply inside a batch frame addressed to the new run: dropped too.
  await spy.publish(encodeReplyBatch(Buffer.from(mb.req.sender), [encodeReply(ma.req.sender, [ma.req.id], Buffer.from(answer('batched answer for client-A\n')))]))
  await sleep(700)
  await spy.reply(mb.req.sender, [mb.req.id], answer('answer for client-B\n'))
  const rb = await b
  t.is(rb.status, 200)
  t.is(await rb.text(), 'answer for client-B\n')
  const acceptor = sys.procs.findLast((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/dropped replies to a sender that is not this run's .*sender=acc-1-/, 3000)
})

test.serial('ids wrap at 2^32: the next ids go out under a new sender tag; replies to the old tag reach only its exchanges', async (t) => {
  const { sys, spy } = await spyFirst(t)
  const acceptor = await sys.startAcceptor({ SWITCHBOARD_TEST_FIRST_ID: '4294967295' })
  const last = fetch(sys.url + '/last', { signal: AbortSignal.timeout(20000) })
  const ml = await spy.request('/last')
  t.is(ml.req.id, 4294967295)
  const next = fetch(sys.url + '/next', { signal: AbortSignal.timeout(20000) })
  const mn = await spy.request('/next')
  t.is(mn.req.id, 1, 'ids go on at 1')
  t.not(mn.req.sender, ml.req.sender, 'under a new sender')
  t.true(mn.req.sender.startsWith('acc-1-') && ml.req.sender.startsWith('acc-1-'))
  await acceptor.waitFor(new RegExp(`new sender sender=${mn.req.sender}`), 3000)
  await sleep(700)
  // The new sender is subscribed: its exchange gets its answer.
  await spy.reply(mn.req.sender, [mn.req.id], answer('next\n'))
  t.is(await (await next).text(), 'next\n')
  // The old id under the new sender is not the old exchange: a disconnect notice instead.
  await spy.reply(mn.req.sender, [ml.req.id], answer('wrong\n'))
  const notice = await spy.disconnect(ml.req.id, 3000)
  t.is(notice.req.sender, mn.req.sender)
  // The old sender still reaches its own exchange, then is retired with it.
  await spy.reply(ml.req.sender, [ml.req.id], answer('last\n'))
  t.is(await (await last).text(), 'last\n')
  await acceptor.waitFor(new RegExp(`sender retired sender=${ml.req.sender}`), 3000)
})

test.serial('broker SIGKILL + restart: no 503 once handlers are back and answering', async (t) => {
  const sys = await startSystem(t)
  const broker = sys.procs.find((p) => p.name === 'broker')!
  t.is((await fetch(sys.url + '/hello')).status, 200)
  await broker.stop('SIGKILL')
  await sleep(300)
  const restarted = Date.now()
  const until = { at: Infinity }
  const results = hammer(sys.url + '/hello', 4, until)
  await sys.startBroker()
  until.at = Date.now() + 3000
  const all = await results
  const firstOk = all.find((o) => o.status === 200 && o.sent >= restarted)
  t.truthy(firstOk, `some request answered after the restart\n${sys.logs()}`)
  const after = all.filter((o) => o.sent > firstOk!.done)
  t.true(after.length > 20, `requests after the first answer: ${after.length}`)
  const bad = after.filter((o) => o.status !== 200)
  t.deepEqual(bad.map((o) => `${o.status} sent ${o.sent - firstOk!.done} ms after the first answer`), [], sys.logs())
})

test.serial('broker SIGKILL + restart with a fresh request in flight: 503 when the new broker is heard; an older held exchange stays held', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const broker = sys.procs.find((p) => p.name === 'broker')!
  const older = fetch(sys.url + '/older', { signal: AbortSignal.timeout(30000) })
  older.catch(() => {})
  await spy.request('/older')
  await sleep(2500)
  const fresh = fetch(sys.url + '/fresh', { signal: AbortSignal.timeout(30000) })
  await spy.request('/fresh')
  await broker.stop('SIGKILL')
  await sys.startBroker()
  const res = await fresh
  t.is(res.status, 503)
  t.is(await res.text(), 'the broker restarted; the request may not have been handled\n')
  const settled = await Promise.race([older.then(() => 'settled', () => 'settled'), sleep(1500).then(() => 'held')])
  t.is(settled, 'held', 'the exchange sent long before stays held (it may be a long-poll)')
})

test.serial('a handler killed while holding a fresh request: 503 within 2 s, not 504 at the route timeout; an older held exchange stays held', async (t) => {
  const sys = await startSystem(t, { app: 'test/fixtures/behaviours.ts' })
  const handler = sys.procs.find((p) => p.name === 'handler')!
  const older = fetch(sys.url + '/hold?older', { signal: AbortSignal.timeout(15000) })
  older.catch(() => {})
  await handler.waitFor(/holding \d+/)
  await sleep(1300)
  const fresh = fetch(sys.url + '/hold?fresh', { signal: AbortSignal.timeout(15000) })
  await waitUntil(() => (handler.output.match(/holding \d+/g) ?? []).length === 2, 5000, 'the fresh request held')
  const killed = Date.now()
  await handler.stop('SIGKILL')
  const res = await fresh
  const after = Date.now() - killed
  t.is(res.status, 503)
  t.true(after < 2000, `503 after ${after} ms`)
  t.is(await res.text(), 'a handler of this service went away; the request may not have been handled\n')
  const settled = await Promise.race([older.then(() => 'settled', () => 'settled'), sleep(1500).then(() => 'held')])
  t.is(settled, 'held', 'the exchange sent more than a second before stays held (it may be a long-poll)')
})

test.serial('shutdown: a held exchange cut at drainMs gets 503 with Retry-After; a started chunked stream gets its last chunk', async (t) => {
  const sys = await startSystem(t, { handlers: 0, config: { acceptor: { port: 0, drainMs: 800 } } })
  const spy = await attachSpy(t, sys)
  const uuid = acceptorUuid(sys)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  const held = new RawClient(sys.port)
  const stream = new RawClient(sys.port)
  t.teardown(() => { held.destroy(); stream.destroy() })
  await held.write('GET /held HTTP/1.1\r\nHost: x\r\n\r\n')
  await stream.write('GET /stream HTTP/1.1\r\nHost: x\r\n\r\n')
  const mh = await spy.request('/held')
  const ms = await spy.request('/stream')
  await spy.reply(uuid, [ms.req.id], 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n')
  await stream.until((d) => d.includes('hello'), 3000)
  const signalled = Date.now()
  acceptor.child.kill('SIGTERM')
  const h = await held.until((d) => parseResponse(d) !== null, 5000)
  t.true(Date.now() - signalled >= 700, `cut after ${Date.now() - signalled} ms`)
  const r = parseResponse(h.data)!
  t.is(r.status, 503)
  t.is(r.headers['retry-after'], '1')
  t.is(r.body, 'shutting down\n')
  const s = await stream.until((d) => { try { return parseResponse(d) !== null } catch { return true } }, 5000)
  t.notRegex(s.data, /503|shutting down/, 'no answer written into the stream')
  const sr = parseResponse(s.data)
  t.truthy(sr, `the stream ends with its last chunk: ${JSON.stringify(s.data)}`)
  t.is(sr?.status, 200)
  t.is(sr?.body, 'hello')
  await spy.disconnect(mh.req.id, 3000)
  await spy.disconnect(ms.req.id, 3000)
  t.is(await acceptor.exited, 0)
})
