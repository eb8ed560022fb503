// The broker SIGKILLed under load and started again: the acceptor and the handler hosts
// reconnect by themselves, exchanges in flight end with 503 or 504 (never another
// request's answer), service comes back within a bound, and an exchange held across the
// restart is delivered when its handler answers after it.
import test from 'ava'
import { attachSpy } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'
import { newTally, runLoad, shortTimeoutHosts, sleep } from '../suites/load.js'

/** From the restarted broker's `ready` to the first right answer (generous: shared cores). */
const kRecoverWithinMs = 10_000

test.serial('SIGKILL the broker under load and restart it: no wrong reply, in-flight get 503/504, service back within 10 s', async (t) => {
  t.timeout(90_000)
  const sys = await startSystem(t, { handlers: 1, config: { hosts: shortTimeoutHosts(3000) } })
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  const tally = newTally()
  let stop = false
  const load = runLoad(sys.url, 20, () => stop, tally, 8000)
  await sleep(1500)
  const okBefore = tally.ok
  await sys.procs.find((p) => p.name === 'broker')!.stop('SIGKILL')
  const killedAt = Date.now()
  await sleep(1000)
  await sys.startBroker()
  const readyAt = Date.now()
  let recoveredAt = 0
  while (Date.now() - readyAt < kRecoverWithinMs + 5000) {
    if (tally.timeline.some(([time, status]) => time > readyAt && status === 200)) {
      recoveredAt = tally.timeline.find(([time, status]) => time > readyAt && status === 200)![0]
      break
    }
    await sleep(100)
  }
  await sleep(1500)
  stop = true
  await load
  const statusesDuring = tally.timeline.filter(([time]) => time > killedAt && time < (recoveredAt || Date.now())).map(([, s]) => s)
  t.log(`${okBefore} right answers before the kill, ${tally.ok} in all, ${tally.wrong} wrong; other statuses ${JSON.stringify(tally.statuses)}, fetch errors ${tally.errors}; first right answer ${recoveredAt ? recoveredAt - readyAt : '-'} ms after the broker was ready again`)
  t.true(okBefore > 0, 'the load was served before the kill')
  t.is(tally.wrong, 0, `wrong replies:\n${tally.wrongSamples.join('\n')}`)
  t.is(tally.errors, 0, 'no connection was dropped without an answer')
  for (const s of statusesDuring) t.true(s === 200 || s === 503 || s === 504, `answer ${s} during the outage`)
  t.true(recoveredAt > 0 && recoveredAt - readyAt <= kRecoverWithinMs, `service back within ${kRecoverWithinMs} ms of the broker's restart`)
  t.is(acceptor.child.exitCode, null, 'the acceptor lived through it')
  t.true(tally.timeline.filter(([time, status]) => time > recoveredAt && status === 200).length > 0, 'and keeps serving')
})

test.serial('an exchange held for seconds across a broker restart is delivered when its handler answers after it', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const pending = fetch(`${sys.url}/held`, { signal: AbortSignal.timeout(25_000) })
  const held = await spy.request('/held')
  // Held for longer than the acceptor's lost-peer window (1 s): a request sent just before
  // the broker died gets 503 instead (broker-restart.test.ts); an older one may be a long-poll.
  await sleep(2500)
  await sys.procs.find((p) => p.name === 'broker')!.stop('SIGKILL')
  await sleep(500)
  await sys.startBroker()
  const readyAt = Date.now()
  // The spy's PUB and the acceptor's SUB reconnect by themselves; publish until it arrives.
  const body = 'answered after the restart'
  let delivered = false
  void pending.then(() => { delivered = true }, () => { delivered = true })
  while (!delivered && Date.now() - readyAt < 10_000) {
    await spy.reply(held.req.sender, [held.req.id], `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    await sleep(200)
  }
  const res = await pending
  t.is(res.status, 200)
  t.is(await res.text(), body)
  t.log(`delivered ${Date.now() - readyAt} ms after the broker was ready again`)
})
