/**
 * Log lines a peer can trigger are rate-limited (issue 11, defect 11): a rogue ZeroMQ
 * publisher flooding the acceptor with malformed replies, and a handler that throws on
 * every request, each leave a bounded log with the count of what was suppressed, and
 * normal requests are still served. Also: apps see the raw path and a decoded one.
 * The handler host runs in its default configuration (2 worker threads).
 */
import test from 'ava'
import * as zmq from 'zeromq'
import { System, waitUntil } from '../helpers/system.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// One system for the file (a loaded machine starts processes slowly); the tests run serially.
let sys: System

test.before(async () => {
  sys = new System({ app: 'test/fixtures/paths-app.ts' })
  await sys.startBroker()
  await sys.startHandler()
  await sys.startAcceptor()
  await waitUntil(async () => (await fetch(sys.url + '/__probe__')).status === 200, 10_000, 'a handler')
})

test.after.always(async () => { await sys?.stop() })

test.serial('apps get the raw path in req.path and the decoded one in req.decodedPath', async (t) => {
  const res = await fetch(sys.url + '/a%20b%2Fc%00d?q=1')
  t.is(res.status, 200)
  const body = await res.json() as { path: string, decodedPath: string }
  t.is(body.path, '/a%20b%2Fc%00d')
  t.is(body.decodedPath, '/a b/c%00d', 'escapes decoded, but no NUL')
})

test.serial('a handler that throws on every request: the host logs a bounded number of lines with a suppressed count', async (t) => {
  const host = sys.procs.find((p) => p.name === 'handler')!
  const before = host.output.length
  const statuses = await Promise.all(Array.from({ length: 300 }, async () => {
    const r = await fetch(sys.url + '/throw')
    await r.arrayBuffer()
    return r.status
  }))
  t.true(statuses.every((s) => s === 500))
  // A throw in the next window writes the last window's summary first (a worker parked
  // between tasks may not run its timer).
  await sleep(1100)
  t.is((await fetch(sys.url + '/throw')).status, 500)
  await host.waitFor(/handler threw \(suppressed \d+ similar lines/, 5000)
  const log = host.output.slice(before)
  const lines = log.split('\n').filter((l) => /handler threw/.test(l) && !/suppressed/.test(l))
  t.true(lines.length < 100, `${lines.length} lines for 301 throws`)
})

// Last: it stops the acceptor to read its counters.
test.serial('a flood of malformed replies: the acceptor logs a bounded number of lines, counts the rest, and serves on', async (t) => {
  t.timeout(60_000)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  // The wire sender, as a handler sees it: a rogue publisher's frames must pass the acceptor's subscription.
  const { sender } = await (await fetch(sys.url + '/who')).json() as { sender: string }
  const rogue = new zmq.Publisher({ linger: 0 })
  t.teardown(() => rogue.close())
  rogue.connect(sys.demo.recvSpec)
  await sleep(500) // the acceptor's subscription reaches the new publisher through the broker
  const before = acceptor.output.length
  const t0 = Date.now()
  let sent = 0
  const statuses: number[] = []
  for (let burst = 0; burst < 4; burst++) {
    for (let i = 0; i < 2500; i++, sent++) await rogue.send(`${sender} not-a-netstring ${sent}`)
    const r = await fetch(sys.url + `/normal/${burst}`)
    statuses.push(r.status)
    await r.arrayBuffer()
    await sleep(300)
  }
  const elapsed = Date.now() - t0
  await sleep(1500) // the last window ends: its summary line is written
  const log = acceptor.output.slice(before)
  const lines = log.split('\n').filter((l) => / WARN acceptor: rejected a reply /.test(l) && !/suppressed/.test(l))
  const summaries = [...log.matchAll(/ WARN acceptor: rejected a reply \(suppressed (\d+) similar lines in 1000 ms\) suppressed=(\d+)/g)]
  const suppressed = summaries.reduce((n, m) => n + Number(m[2]), 0)
  t.deepEqual(statuses, [200, 200, 200, 200], 'normal requests are served during the flood')
  const windows = Math.ceil(elapsed / 1000) + 1
  t.true(lines.length > 0 && lines.length <= 10 * windows, `${lines.length} lines in ${elapsed} ms`)
  t.true(summaries.length >= 1 && summaries.length <= windows, `${summaries.length} summary lines`)
  t.true(log.length < 64 * 1024, `log grew by ${log.length} bytes`)
  // Every rejected reply is either logged or counted in a summary: compare with the acceptor's own count.
  await acceptor.stop('SIGTERM')
  const stopped = /stopped .*badReplies=(\d+)/.exec(acceptor.output)
  t.truthy(stopped, 'the acceptor reports its counters when it stops')
  t.log(`${sent} malformed replies in ${elapsed} ms: ${lines.length} lines, ${summaries.length} summaries (${suppressed} suppressed), ${log.length} log bytes`)
  t.is(lines.length + suppressed, Number(stopped![1]))
  t.true(Number(stopped![1]) >= sent * 0.9, `${stopped![1]} of ${sent} frames reached the acceptor`)
})
