// A rogue handler on a service's reply endpoint, publishing under the acceptor's own
// sender (so every frame reaches it): garbage, wrong netstring lengths, length claims of
// 999999999, bad batch frames, replies to ids that do not exist, a 10 MiB frame, and a
// flood of ~10,000 such frames a second — while normal clients are served by a real handler
// host. The acceptor must stay up with bounded memory, and the normal clients must all get
// their own answers.
import test from 'ava'
import { newTally, rssMb, runLoad, sleep } from '../suites/load.js'
import { flood, startWithRogue } from './rogue.js'

const kFloodMs = 3000
const kFramesPerSecond = 10_000

/** Ids far above any this test's acceptor hands out: replies to exchanges that do not exist. */
const unknownId = (i: number): number => 3_000_000_000 + (i % 1_000_000)

function rogueFrames (sender: string): Array<(i: number) => Buffer> {
  return [
    () => Buffer.from(`${sender} this is not a reply at all`),
    () => Buffer.from(`${sender} 5:1 2 3, HTTP/1.1 200 OK\r\n\r\n`),                      // length too long
    () => Buffer.from(`${sender} 1:12345, HTTP/1.1 200 OK\r\n\r\n`),                      // length too short
    () => Buffer.from(`${sender} 999999999:1, x`),                                         // length claim
    () => Buffer.from(`${sender} 10:abcdefghij, x`),                                       // ids not digits
    () => Buffer.from(`${sender} +999999999:x`),                                           // batch length claim
    () => Buffer.from(`${sender} +5:abc,`),                                                // batch cut short
    (i) => Buffer.from(`${sender} ${String(unknownId(i)).length}:${unknownId(i)}, HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nwrong`)
  ]
}

test('a rogue handler flooding garbage and unknown ids at ~10,000 frames/s, plus a 10 MiB frame: acceptor up, memory bounded, clients unaffected', async (t) => {
  t.timeout(90_000)
  const { sys, acceptor, sender, rogue } = await startWithRogue(t)

  const tally = newTally()
  let stop = false
  const load = runLoad(sys.url, 10, () => stop, tally, 10_000)
  await sleep(1000)
  const rssBefore = rssMb(acceptor.pid)
  const servedBefore = tally.ok

  // One 10 MiB frame of each kind: a reply to an unknown id, and garbage.
  await rogue.send(Buffer.concat([Buffer.from(`${sender} 10:${unknownId(0)}, `), Buffer.alloc(10 << 20, 0x41)]))
  await rogue.send(Buffer.concat([Buffer.from(`${sender} `), Buffer.alloc(10 << 20, 0x7e)]))

  const makers = rogueFrames(sender)
  const floodStart = Date.now()
  const sent = await flood(rogue, (i) => makers[i % makers.length]!(i), kFloodMs, kFramesPerSecond)
  const floodMs = Date.now() - floodStart
  const servedDuring = tally.ok - servedBefore
  await sleep(2000)
  const rssAfter = rssMb(acceptor.pid)
  stop = true
  await load
  t.log(`rogue frames sent: ${sent} in ${floodMs} ms (${Math.round(sent * 1000 / floodMs)}/s) + two 10 MiB frames; normal clients: ${tally.ok} right (${servedDuring} during the flood), ${tally.wrong} wrong, ${JSON.stringify(tally.statuses)}, errors ${tally.errors}; acceptor RSS ${rssBefore.toFixed(0)} → ${rssAfter.toFixed(0)} MB, log ${(acceptor.output.length / 1024).toFixed(0)} KiB`)

  // The target rate is 10,000/s; a loaded machine may send fewer, but a flood it must be.
  t.true(sent >= 5000, `the flood was real: ${sent} frames`)
  t.is(acceptor.child.exitCode, null, 'the acceptor is up')
  t.is(tally.wrong, 0, `a client got a rogue or another client's answer:\n${tally.wrongSamples.join('\n')}`)
  t.deepEqual(tally.statuses, {}, 'every normal request got its 200')
  t.is(tally.errors, 0)
  t.true(servedDuring > 0, 'normal clients were served during the flood')
  t.true(rssAfter - rssBefore < 150, `acceptor memory bounded: grew ${(rssAfter - rssBefore).toFixed(0)} MB`)
  t.is((await fetch(`${sys.url}/hello`)).status, 200, 'and serves after it')
})
