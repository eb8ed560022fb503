// A handler host SIGKILLed under load: its requests in flight end with 503/504 within the
// route timeout, no client gets another's answer, and the other host serves everyone else.
import test from 'ava'
import { startSystem } from '../helpers/system.js'
import { newTally, runLoad, shortTimeoutHosts, sleep } from '../suites/load.js'

test.serial('SIGKILL a handler host under load: its requests in flight get 503/504 within the route timeout; the other host serves everyone else', async (t) => {
  t.timeout(90_000)
  const kRouteTimeoutMs = 3000
  const sys = await startSystem(t, { handlers: 2, config: { hosts: shortTimeoutHosts(kRouteTimeoutMs) } })
  const [victim] = sys.procs.filter((p) => p.name === 'handler')
  const tally = newTally()
  let stop = false
  const load = runLoad(sys.url, 10, () => stop, tally, 8000)
  await sleep(800)
  await victim!.stop('SIGKILL')
  const killedAt = Date.now()
  await sleep(2 * kRouteTimeoutMs + 5000)
  stop = true
  await load
  t.log(`${tally.ok} right, ${tally.wrong} wrong, ${JSON.stringify(tally.statuses)}, fetch errors ${tally.errors}`)
  for (const status of Object.keys(tally.statuses)) t.true(status === '503' || status === '504', `requests in flight on the killed host get 503/504, not ${status}`)
  t.is(tally.errors, 0)
  t.is(tally.wrong, 0)
  t.true(tally.timeline.some(([time, status]) => time > killedAt && status === 200), 'the surviving host serves after the kill')
  // Requests sent before the kill was noticed end by the route timeout; after that, all are served.
  const settledAt = killedAt + 2 * kRouteTimeoutMs + 3000
  const lateFailures = tally.timeline.filter(([time, status]) => time > settledAt && status !== 200)
  t.is(lateFailures.length, 0, `${lateFailures.length} failures more than ${settledAt - killedAt} ms after the kill`)
})
