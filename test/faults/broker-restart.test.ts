// Recovery answers that come with issue 11's defect 12 (run after merging): once the
// broker is back and replies flow, no more 503s; and an exchange sent within the last
// second before the broker restarts, or before its service's handler count drops, gets a
// prompt 503 instead of waiting for the route timeout (default 30 s).
import test from 'ava'
import { attachSpy } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'
import { newTally, runLoad, sleep } from '../suites/load.js'

test.serial('after a broker restart, once replies flow again no request gets 503', async (t) => {
  t.timeout(90_000)
  const sys = await startSystem(t, { handlers: 1 })
  const tally = newTally()
  let stop = false
  const load = runLoad(sys.url, 10, () => stop, tally, 8000)
  await sleep(1000)
  await sys.procs.find((p) => p.name === 'broker')!.stop('SIGKILL')
  await sleep(1000)
  await sys.startBroker()
  const readyAt = Date.now()
  while (!tally.timeline.some(([time, status]) => time > readyAt && status === 200) && Date.now() - readyAt < 10_000) await sleep(50)
  await sleep(3000)
  stop = true
  await load
  const first = tally.timeline.find(([time, status]) => time > readyAt && status === 200)
  t.truthy(first, 'service came back')
  const late503 = tally.timeline.filter(([time, status]) => time > first![0] && status === 503)
  t.is(late503.length, 0, `${late503.length} answers of 503 after the first 200 (the last ${late503.length ? late503[late503.length - 1]![0] - first![0] : 0} ms after it)`)
  t.is(tally.wrong, 0)
})

test.serial('an exchange sent just before the broker restarts gets a prompt 503, not the route timeout', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const sentAt = Date.now()
  const pending = fetch(`${sys.url}/inflight`, { signal: AbortSignal.timeout(40_000) }).then((r) => ({ status: r.status, at: Date.now() }))
  await spy.request('/inflight')
  await sys.procs.find((p) => p.name === 'broker')!.stop('SIGKILL')
  await sleep(300)
  await sys.startBroker()
  const r = await pending
  t.is(r.status, 503)
  t.true(r.at - sentAt < 8000, `answered after ${r.at - sentAt} ms`)
})

test.serial('an exchange sent just before its handler host dies gets a prompt 503, not the route timeout', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { handlers: 1, app: 'test/fixtures/behaviours.ts' })
  const sentAt = Date.now()
  // /hold never answers: the exchange waits on its handler host; kill the host within the second.
  const pending = fetch(`${sys.url}/hold`, { signal: AbortSignal.timeout(40_000) }).then((r) => ({ status: r.status, at: Date.now() }))
  await sleep(300)
  await sys.procs.find((p) => p.name === 'handler')!.stop('SIGKILL')
  const r = await pending
  t.is(r.status, 503)
  t.true(r.at - sentAt < 8000, `answered after ${r.at - sentAt} ms`)
})
