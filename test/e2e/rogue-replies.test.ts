/**
 * A rogue ZeroMQ publisher on a service's recv_spec floods replies naming unknown ids
 * (issue 11, defect 10). Every reply carries the acceptor's own sender, so it cannot be
 * told from a handler: the disconnect notices it provokes are bounded per service
 * (acceptor.noticeRate, default 1,000 a second), and normal clients are still served.
 * Default configuration apart from private endpoints.
 */
import { readFileSync } from 'node:fs'
import test from 'ava'
import { acceptorUuid, attachSpy, kProbePath } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

function rssMiB (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
  return Number(m![1]) / 1024
}

test.serial('a flood of replies to unknown ids: notices stay within the bound, memory stays bounded, clients are served', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const sender = acceptorUuid(sys)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  // Warm up the client path, then measure.
  for (let i = 0; i < 20; i++) await (await fetch(sys.url + kProbePath)).arrayBuffer()
  const before = rssMiB(acceptor.pid)

  // 128 unknown ids per reply, 10,000 replies a second for 3 s, from another process.
  const floodMs = 3000
  const spawned = Date.now()
  const rogue = sys.node('rogue', 'test/fixtures/rogue-publisher.ts', [sys.demo.recvSpec, sender, '10000', String(floodMs)])
  await rogue.waitFor(/rogue flooding/)
  const started = Date.now()
  const statuses: number[] = []
  while (Date.now() - started < floodMs) {
    const res = await fetch(sys.url + kProbePath, { signal: AbortSignal.timeout(5000) }).catch(() => null)
    if (res) await res.arrayBuffer()
    statuses.push(res?.status ?? 0)
  }
  const sent = Number((await rogue.waitFor(/rogue sent (\d+)/))[1])
  await sleep(1000)
  const elapsed = (Date.now() - spawned) / 1000
  const notices = spy.messages.filter((m) => m.disconnect).length
  const after = rssMiB(acceptor.pid)
  t.log(`${sent} rogue replies (${sent * 128} ids) in ${floodMs} ms: ${notices} notices, ${statuses.length} client requests, RSS ${before.toFixed(1)} → ${after.toFixed(1)} MiB`)
  t.true(sent > 10_000, `the flood sent ${sent} replies`)
  t.true(notices <= 1000 * (elapsed + 1), `${notices} notices in ${elapsed.toFixed(1)} s (bound 1,000/s plus one second's burst)`)
  t.true(notices >= 1000, `notices still go out up to the bound: ${notices}`)
  t.true(statuses.length >= 10, `clients were served during the flood: ${statuses.length}`)
  t.deepEqual(statuses.filter((s) => s !== 200), [], 'every client request succeeded')
  t.true(after - before < 40, `acceptor RSS grew ${(after - before).toFixed(1)} MiB`)
  await acceptor.stop('SIGTERM')
  t.regex(acceptor.output, /stopped .*noticesDropped=[1-9]\d*/, 'the dropped notices are counted')
})
