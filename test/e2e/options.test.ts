/**
 * Acceptor and service options end to end: maintenance filter, FSM tracing, exclusive
 * vs shared listening ports, batched Switchboard-only links.
 */
import test from 'ava'
import { bothModes, freePort, startSystem } from '../helpers/system.js'

test.serial('maintenance mode: the filter turns every routed request into 503; 404 still 404', async (t) => {
  const sys = await startSystem(t, {
    env: { SWITCHBOARD_MAINTENANCE: '1' },
    handlers: 0,
    config: { hosts: [{ name: 'localhost', matching: '', routes: { '/app': 'demo' } }] }
  })
  await sys.startHandler()
  // Give the broker's count time to arrive: without maintenance this would be 200.
  await new Promise((resolve) => setTimeout(resolve, 600))
  const res = await fetch(sys.url + '/app/hello')
  t.is(res.status, 503)
  t.is((await fetch(sys.url + '/elsewhere')).status, 404)
})

test.serial('trace: every transition of an exchange is logged with state and event names', async (t) => {
  const sys = await startSystem(t, { env: { SWITCHBOARD_TRACE: '1' } })
  const res = await fetch(sys.url + '/hello')
  t.is(res.status, 200)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/Responding --RESP_SENT@finish--> Done/, 3000)
  t.regex(acceptor.output, /Start --OPEN@route--> Routing/)
  t.regex(acceptor.output, /Routing --HANDLER@readBody--> Receiving/)
  t.regex(acceptor.output, /Queueing --REQ_SENT@wait--> Waiting/)
  t.regex(acceptor.output, /Waiting --REPLY@writeReply--> Responding/)
})

test.serial('an acceptor refuses a port another acceptor holds, unless both share it', async (t) => {
  const sys = await startSystem(t)
  const second = sys.node('acceptor-2', 'workers/acceptor/main.ts', [], { SWITCHBOARD_PORT: String(sys.port) })
  const code = await second.exited
  t.not(code, 0)
  t.regex(second.output, /cannot listen on 127\.0\.0\.1:\d+ \(in use\? set acceptor\.sharePort/)
  t.is((await fetch(sys.url + '/hello')).status, 200, 'the first acceptor carries on')
})

test.serial('sharePort: two acceptors on one port both serve, each with its own UUID', async (t) => {
  // A fixed port, as users run it.
  const port = await freePort()
  const sys = await startSystem(t, { handlers: 1, env: { SWITCHBOARD_SHARE_PORT: '1', SWITCHBOARD_PORT: String(port) } })
  const second = sys.node('acceptor-2', 'workers/acceptor/main.ts', [], { SWITCHBOARD_PORT: String(sys.port) })
  await second.waitFor(/listening url=/)
  const senders = new Set<string>()
  for (let i = 0; i < 40 && senders.size < 2; i++) {
    // A new connection each time, so the kernel spreads them over both listeners.
    const res = await fetch(sys.url + '/echo', { headers: { Connection: 'close' } })
    t.is(res.status, 200)
    senders.add(((await res.json()) as { sender: string }).sender)
  }
  t.is(senders.size, 2)
})

bothModes(test, 'batched service: many requests per ZeroMQ message reach the handler host and all get answers', async (t) => {
  const sys = await startSystem(t, { batch: true })
  const answers = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const res = await fetch(`${sys.url}/echo?n=${i}`)
    return ((await res.json()) as { query: string }).query
  }))
  t.deepEqual(answers, Array.from({ length: 200 }, (_, i) => `n=${i}`))
})
