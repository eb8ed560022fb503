// What a rogue publisher may cost, with issue 11's defects 10 and 11 fixed (run after
// merging): replies naming 128 unknown ids at ~10,000 a second must not turn into 128
// disconnect notices each (bounded per service), so normal clients keep their answers —
// no 503, bounded latency — and the acceptor keeps no memory for it; and malformed replies
// at that rate must not flood the log (every peer-triggered line is rate-limited).
import test from 'ava'
import { newTally, rssMb, runLoad, sleep } from '../suites/load.js'
import { flood, startWithRogue } from './rogue.js'

const kFloodMs = 3000
const kFramesPerSecond = 10_000

test.serial('replies naming 128 unknown ids at ~10,000/s: no 503, answers within 3 s, no memory kept (issue 11 #10)', async (t) => {
  t.timeout(90_000)
  const { sys, acceptor, sender, rogue } = await startWithRogue(t)
  const ids = Array.from({ length: 128 }, (_, i) => 3_000_000_000 + i).join(' ')
  const frame = Buffer.from(`${sender} ${ids.length}:${ids}, HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong`)
  const tally = newTally()
  let stop = false
  const load = runLoad(sys.url, 10, () => stop, tally, 10_000)
  await sleep(1000)
  const rssBefore = rssMb(acceptor.pid)
  const floodStart = Date.now()
  const sent = await flood(rogue, () => frame, kFloodMs, kFramesPerSecond)
  await sleep(3000)
  const rssAfter = rssMb(acceptor.pid)
  stop = true
  await load
  const during = tally.timeline.filter(([time]) => time >= floodStart)
  t.log(`${sent} replies of 128 unknown ids; normal clients ${tally.ok} right, ${JSON.stringify(tally.statuses)}; acceptor RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB`)
  t.is(tally.wrong, 0)
  t.deepEqual(tally.statuses, {}, 'no 503 (or other failure) for normal clients')
  t.true(during.length > 0)
  t.true(rssAfter - rssBefore < 30, `the acceptor keeps no memory for the flood: grew ${(rssAfter - rssBefore).toFixed(0)} MB`)
})

test.serial('malformed replies at ~10,000/s do not flood the acceptor\'s log (issue 11 #11)', async (t) => {
  t.timeout(90_000)
  const { acceptor, sender, rogue } = await startWithRogue(t)
  const before = acceptor.output.length
  const sent = await flood(rogue, (i) => Buffer.from(`${sender} ${i % 2 === 0 ? '5:1 2 3,' : '999999999:1,'} x`), kFloodMs, kFramesPerSecond)
  await sleep(1000)
  const logged = acceptor.output.length - before
  t.log(`${sent} malformed replies wrote ${(logged / 1024).toFixed(0)} KiB of log`)
  t.true(logged < 64 * 1024, `log lines a peer can trigger are rate-limited: ${logged} bytes for ${sent} bad replies`)
  t.regex(acceptor.output.slice(before), /suppress|dropped|more/i, 'the log says how many lines it suppressed')
})
