// No misdelivery: many concurrent clients with unique tokens through the demo's /echo,
// while handler hosts (default thread count) are killed (SIGKILL or SIGTERM) and replaced
// throughout the run. Every response is checked against its own request: a 200 that
// answers another request is a wrong reply, and there must be none.
import test from 'ava'
import { startSystem, type Proc } from '../helpers/system.js'
import { newTally, runLoad, shortTimeoutHosts, sleep } from './load.js'

const kClients = 24
const kKills = 2
const kMaxRunMs = 40_000

test(`no misdelivery: ${kClients} clients with unique tokens through /echo across ${kKills} handler kills`, async (t) => {
  t.timeout(150_000)
  const sys = await startSystem(t, { handlers: 2, config: { hosts: shortTimeoutHosts(3000) } })
  const hosts: Proc[] = sys.procs.filter((p) => p.name === 'handler')
  const tally = newTally()
  const started = Date.now()
  let kills = 0
  let done = false
  const chaos = (async () => {
    try {
      while (kills < kKills && Date.now() - started < kMaxRunMs) {
        await sleep(1000)
        // Kill the oldest host under load, then bring a replacement up while the other serves.
        await hosts.shift()!.stop(kills % 2 === 0 ? 'SIGKILL' : 'SIGTERM', 3000)
        kills++
        hosts.push(await sys.startHandler())
      }
      await sleep(1000) // and serve a moment on the last replacement
    } finally {
      done = true
    }
  })()
  await runLoad(sys.url, kClients, () => done, tally, 8000)
  await chaos
  const answered = tally.ok + Object.values(tally.statuses).reduce((a, b) => a + b, 0)
  t.log(`${tally.ok} right answers, ${tally.wrong} wrong, other statuses ${JSON.stringify(tally.statuses)}, fetch errors ${tally.errors}, ${kills} handler kills in ${Date.now() - started} ms`)
  t.is(tally.wrong, 0, `wrong replies:\n${tally.wrongSamples.join('\n')}`)
  t.is(kills, kKills)
  t.true(tally.ok >= 200, `the load was real: ${tally.ok} right answers`)
  t.true(tally.ok / answered > 0.5, `most requests were served (${tally.ok} of ${answered})`)
})
