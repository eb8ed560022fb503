/**
 * One publish, many subscribers: 1,000 held on one channel (long-polls, SSE-style stream
 * holds and WebSockets mixed) on two acceptors all receive it, once; and the handler API's holds with the handler
 * host's inline mode (threads 0) as well as its default pool (grip.test.ts).
 */
import test from 'ava'
import { RawClient } from '../helpers/raw-http.js'
import { open as openWs, type Client } from '../helpers/ws-client.js'
import { response, startGrip, syncPublish } from '../helpers/grip.js'
import { waitUntil } from '../helpers/system.js'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

test.serial('1,000 subscribers on one channel across two acceptors (400 long-polls, 300 streams, 300 WebSockets) all receive one publish once', async (t) => {
  t.timeout(180_000)
  const g = await startGrip(t)
  const first = g.sys.port
  await g.sys.startAcceptor({ SWITCHBOARD_CONFIG: g.acceptorConfig })
  const second = g.sys.port
  t.not(first, second)
  const ports = [first, second]
  const port = (i: number): number => ports[i % 2]!
  await syncPublish(g, undefined, `http://127.0.0.1:${first}`)
  await syncPublish(g, undefined, `http://127.0.0.1:${second}`)
  // The channel's last id, so the long-polls can name it as prev-id: one held only after the
  // publish still gets the item from the channel's recent ones (the race rule).
  await g.publish({ channel: 'fan', id: 'p0' })

  const sockets: Client[] = []
  t.teardown(() => { for (const s of sockets) s.ws.terminate() })
  for (let i = 0; i < 300; i += 50) {
    const batch = await Promise.all(Array.from({ length: 50 }, async (_, j) => {
      const c = await openWs(`ws://127.0.0.1:${port(j)}/ws`)
      sockets.push(c)
      c.ws.send('sub fan')
      return c
    }))
    await Promise.all(batch.map(async (c) => { t.is(await c.text(15_000), 'subscribed fan') }))
  }
  const streams: RawClient[] = []
  t.teardown(() => { for (const s of streams) s.socket.destroy() })
  for (let i = 0; i < 300; i += 50) {
    const batch = Array.from({ length: 50 }, (_, j) => new RawClient(port(j)))
    streams.push(...batch)
    await Promise.all(batch.map(async (c) => {
      await c.write('GET /stream?ch=fan HTTP/1.1\r\nHost: x\r\n\r\n')
      await c.until((d) => d.includes(':start'), 15_000)
    }))
  }
  const polls = Array.from({ length: 400 }, async (_, j) => {
    const r = await fetch(`http://127.0.0.1:${port(j)}/poll?ch=fan&prev=p0&timeout=120`)
    return await r.text()
  })
  await sleep(2000)

  const sent = Date.now()
  await g.publish({
    channel: 'fan',
    id: 'p1',
    prevId: 'p0',
    httpResponse: response('fanned\n'),
    httpStream: { content: Buffer.from('data: fanned\n\n'), close: false },
    wsMessage: { content: Buffer.from('fanned'), binary: false, close: false, code: 0 }
  })
  const answers = await Promise.all(polls)
  t.is(answers.filter((a) => a === 'fanned\n').length, 400, 'every long-poll')
  await Promise.all(streams.map(async (c) => { await c.until((d) => d.includes('data: fanned'), 15_000) }))
  t.is(streams.filter((c) => c.data.includes('data: fanned')).length, 300, 'every stream')
  await Promise.all(sockets.map(async (c) => { t.is(await c.text(15_000), 'fanned') }))
  // Once each: nothing more after a pause (a second copy would have come with the first).
  await sleep(500)
  t.is(sockets.filter((c) => c.messages.length !== 2).length, 0, 'each socket: `subscribed fan` and one `fanned`')
  t.is(streams.filter((c) => c.data.split('data: fanned').length !== 2).length, 0, 'each stream: one copy')
  t.log(`all 1,000 had it ${Date.now() - sent} ms after the publish was sent (test process included)`)
})

test.serial('ctx.hold and ws.subscribe with the handler host inline (threads 0)', async (t) => {
  const g = await startGrip(t, { threads: 0 })
  await syncPublish(g)
  let answered = ''
  const poll = fetch(g.sys.url + '/poll?ch=t0').then(async (r) => { answered = await r.text() })
  await waitUntil(async () => {
    await g.publish({ channel: 't0', httpResponse: response('zero') })
    await sleep(100)
    return answered !== ''
  }, 10_000, 'the long-poll answer')
  await poll
  t.is(answered, 'zero')
  const ws = await openWs(`ws://127.0.0.1:${g.sys.port}/ws`)
  t.teardown(() => ws.ws.terminate())
  ws.ws.send('sub t0')
  t.is(await ws.text(), 'subscribed t0')
  await g.publish({ channel: 't0', wsMessage: { content: Buffer.from('to ws'), binary: false, close: false, code: 0 } })
  t.is(await ws.text(), 'to ws')
})
