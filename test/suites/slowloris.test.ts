// Slowloris: a few thousand connections each dribbling one byte of an endless request head
// every few seconds, while a normal client opens a fresh connection every 200 ms and must be
// served within a bound. The acceptor (default configuration, port 0) must stay up, keep its
// memory bounded, and pass none of the unfinished requests to the handler (a raw spy).
import { connect, type Socket } from 'node:net'
import test from 'ava'
import { attachSpy, kProbePath } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'
import { kIdleBoundMs, reachedPaths, sendRaw } from './hostile.js'
import { rssMb } from './load.js'

const kConnections = 3000
const kDripMs = 3000
const kRunMs = 12_000
/** Normal-client latency bound under attack (generous: 2 shared cores). */
const kServedWithinMs = 2500

test(`slowloris: ${kConnections} connections dripping a byte every ${kDripMs / 1000} s; a normal client is served within ${kServedWithinMs} ms`, async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  const rssBefore = rssMb(acceptor.pid)

  const sockets: Socket[] = []
  let connected = 0
  let closedByServer = 0
  let connectErrors = 0
  let longestLifeMs = 0
  t.teardown(() => { for (const s of sockets) s.destroy() })
  // Open in batches so the listen backlog is not the thing under test.
  for (let i = 0; i < kConnections; i += 100) {
    for (let j = i; j < Math.min(i + 100, kConnections); j++) {
      const s = connect(sys.port, '127.0.0.1')
      let since = 0
      s.on('error', () => { if (since === 0) connectErrors++ })
      s.once('connect', () => {
        connected++
        since = Date.now()
        s.write(`GET /slow-${j} HTTP/1.1\r\nHost: localhost\r\nX-Drip: `)
      })
      s.on('close', () => {
        if (since === 0) return
        closedByServer++
        longestLifeMs = Math.max(longestLifeMs, Date.now() - since)
      })
      sockets.push(s)
    }
    await new Promise((resolve) => setTimeout(resolve, 40))
  }
  const drip = setInterval(() => { for (const s of sockets) if (!s.destroyed && s.writable) s.write('a') }, kDripMs)
  t.teardown(() => clearInterval(drip))

  const latencies: number[] = []
  const failures: string[] = []
  let rssPeak = 0
  const until = Date.now() + kRunMs
  while (Date.now() < until) {
    const r = await sendRaw(sys.port, `HEAD ${kProbePath} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 10_000)
    latencies.push(r.ms)
    if (r.status !== 200) failures.push(`status ${r.status} after ${r.ms} ms`)
    rssPeak = Math.max(rssPeak, rssMb(acceptor.pid))
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  clearInterval(drip)
  // Give uWS.js's idle timer its full bound from the last connection opened.
  const cutBy = Date.now() - kRunMs + kIdleBoundMs
  while (sockets.some((s) => !s.destroyed) && Date.now() < cutBy) await new Promise((resolve) => setTimeout(resolve, 200))
  const stillOpen = sockets.filter((s) => !s.destroyed).length
  const dripping = connected
  latencies.sort((a, b) => a - b)
  const p50 = latencies[latencies.length >> 1]!
  const max = latencies[latencies.length - 1]!
  t.log(`${latencies.length} normal requests under attack: p50 ${p50} ms, max ${max} ms; slowloris connections ${dripping} (connect errors ${connectErrors}), closed by the server ${closedByServer} (the longest after ${longestLifeMs} ms), still open ${stillOpen}; acceptor RSS ${rssBefore.toFixed(0)} → peak ${rssPeak.toFixed(0)} MB`)

  t.true(dripping >= kConnections * 0.8, `the attack was real: ${dripping} connections held`)
  t.deepEqual(failures, [], 'every normal request got its 200')
  t.true(max <= kServedWithinMs, `normal client served within ${kServedWithinMs} ms (max ${max} ms)`)
  t.true(latencies.length >= 20, `the normal client kept being served (${latencies.length} requests)`)
  t.true(rssPeak - rssBefore < 150, `acceptor memory stays bounded: grew ${(rssPeak - rssBefore).toFixed(0)} MB`)
  t.is(acceptor.child.exitCode, null, 'the acceptor is up')
  // uWS.js does not restart its idle timer for a head that never ends: none outlives it.
  t.is(stillOpen, 0, `every dripping connection was cut by the acceptor (${stillOpen} still open)`)
  t.true(longestLifeMs <= kIdleBoundMs, `none lived longer than ${kIdleBoundMs} ms (longest ${longestLifeMs} ms)`)
  t.deepEqual(reachedPaths(spy).filter((p) => p.startsWith('/slow-')), [], 'no unfinished request reached the handler')
})
