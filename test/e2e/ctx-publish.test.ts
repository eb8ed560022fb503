// ctx.publish from TypeScript handlers: worker threads (the default, 2) and inline
// (threads: 0); the item reaches a SUB on broker.publishOut through the broker's PULL.
import test, { type ExecutionContext } from 'ava'
import * as zmq from 'zeromq'
import { decodeItem, type PublishItem } from '../../shared/protocol/publish.js'
import { bothModes, startSystem, type System } from '../helpers/system.js'
import { open } from '../helpers/ws-client.js'

const kApp = 'test/fixtures/publish-app.ts'

/** A subscriber that has received a warm-up item published through the app. */
async function subscribed (t: ExecutionContext, sys: System): Promise<{ next: () => Promise<PublishItem> }> {
  const sub = new zmq.Subscriber({ linger: 0, receiveTimeout: 15_000 })
  sub.connect(sys.publish.out)
  sub.subscribe()
  t.teardown(() => { sub.close() })
  const items: PublishItem[] = []
  let warm = false
  const receiving = (async () => {
    for (;;) {
      const [msg] = await sub.receive()
      const item = decodeItem(msg!)
      if (item.channel === 'warmup') warm = true
      else items.push(item)
    }
  })()
  receiving.catch(() => {})
  const deadline = Date.now() + 20_000
  while (!warm) {
    if (Date.now() > deadline) throw new Error('no warm-up item reached the subscriber:\n' + sys.logs())
    await fetch(`${sys.url}/text?channel=warmup&text=w`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  return {
    next: async () => {
      const until = Date.now() + 15_000
      while (items.length === 0) {
        if (Date.now() > until) throw new Error('no published item within 15 s:\n' + sys.logs())
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
      return items.shift()!
    }
  }
}

bothModes(test, 'ctx.publish: text to all three formats, a full PublishInput, a timer, a WebSocket event', async (t) => {
  const sys = await startSystem(t, { app: kApp })
  const sub = await subscribed(t, sys)

  t.is(await (await fetch(`${sys.url}/text?channel=room&text=hello`)).text(), 'published\n')
  t.deepEqual(await sub.next(), {
    channel: 'room', id: null, prevId: null,
    httpResponse: { code: 200, reason: '', headers: [['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from('hello') },
    httpStream: { content: Buffer.from('hello'), close: false },
    wsMessage: { content: Buffer.from('hello'), binary: false, close: false, code: 0 }
  })

  await fetch(`${sys.url}/full?channel=full`)
  t.deepEqual(await sub.next(), {
    channel: 'full', id: '2', prevId: '1',
    httpResponse: { code: 201, reason: '', headers: [['X-Pub', 'a'], ['X-Pub', 'b'], ['Content-Type', 'application/json']], body: Buffer.from('{"n":1}') },
    httpStream: { content: Buffer.from([0, 1, 2]), close: false },
    wsMessage: { content: Buffer.alloc(0), binary: false, close: true, code: 4001 }
  })

  await fetch(`${sys.url}/later?channel=later`)
  const later = await sub.next()
  t.is(later.channel, 'later')
  t.is(later.httpStream?.content.toString(), 'from a timer')

  t.regex(await (await fetch(`${sys.url}/bad`)).text(), /^SWB_ERR_PUBLISH_INPUT publish: the channel must be a non-empty string/)

  const ws = await open(`ws://127.0.0.1:${sys.port}/ws`)
  t.teardown(() => { ws.ws.terminate() })
  ws.ws.send('over a websocket')
  const fromWs = await sub.next()
  t.is(fromWs.channel, 'from-ws')
  t.is(fromWs.wsMessage?.content.toString(), 'over a websocket')
})

test.serial("broker.publishPull '' (off): ctx.publish drops, counts and logs; the request is still answered", async (t) => {
  const sys = await startSystem(t, { app: kApp, config: { broker: { publishPull: '' } } })
  t.is(await (await fetch(`${sys.url}/text?channel=x&text=y`)).text(), 'published\n')
  const handler = sys.procs.find((p) => p.name === 'handler')!
  await handler.waitFor(/WARN handler: dropped a published item reason="broker\.publishPull is '' \(off\)" dropped=1/)
  await handler.stop()
  t.regex(handler.output, /publish stats sent=0 dropped=1/)
})
