// The acceptor's per-run senders (workers/acceptor/senders.ts) and the per-service bound on
// notices for replies to unknown ids (ServiceLink.takeNotice).
import test from 'ava'
import * as zmq from 'zeromq'
import { ServiceLink } from '../../workers/acceptor/broker-link.js'
import { Senders } from '../../workers/acceptor/senders.js'

function tracked (uuid = 'acc-1'): { senders: Senders, subs: Set<string>, log: string[] } {
  const subs = new Set<string>()
  const log: string[] = []
  const senders = new Senders(uuid, (name, on) => {
    log.push(`${on ? '+' : '-'}${name}`)
    if (on) subs.add(name)
    else subs.delete(name)
  })
  return { senders, subs, log }
}

test('a sender is the UUID plus a per-run tag, subscribed at once; two runs differ', t => {
  const a = tracked()
  const b = tracked()
  t.regex(a.senders.current.name, /^acc-1-[0-9a-f]{8}$/)
  t.not(a.senders.current.name, b.senders.current.name)
  t.deepEqual([...a.subs], [a.senders.current.name])
  t.is(a.senders.find(Buffer.from(a.senders.current.name)), a.senders.current)
  t.is(a.senders.find(Buffer.from(b.senders.current.name)), null)
  t.is(a.senders.find(Buffer.from('acc-1')), null)
  t.is(a.senders.find(Buffer.from(a.senders.current.name + '0')), null)
})

test('renew: a new tag; the old one stays subscribed while exchanges use it, then is dropped', t => {
  const { senders, subs } = tracked()
  const old = senders.current
  old.live = 2
  const next = senders.renew()
  t.not(next.name, old.name)
  t.is(senders.current, next)
  t.deepEqual([...subs].sort(), [old.name, next.name].sort())
  t.is(senders.find(old.wire), old)
  senders.release(old)
  t.true(subs.has(old.name), 'one exchange still uses it')
  senders.release(old)
  t.deepEqual([...subs], [next.name])
  t.is(senders.find(old.wire), null)
})

test('renew with nothing live drops the old subscription at once; the current one is never dropped', t => {
  const { senders, subs, log } = tracked()
  const old = senders.current
  senders.renew()
  t.false(subs.has(old.name))
  const cur = senders.current
  cur.live = 1
  senders.release(cur)
  t.true(subs.has(cur.name))
  t.is(log.length, 3)
})

test('takeNotice: a token bucket per service, one second of burst, the excess counted', t => {
  const push = new zmq.Push()
  const sub = new zmq.Subscriber()
  t.teardown(() => { push.close(); sub.close() })
  const link = new ServiceLink('demo', 'json', false, push, sub, 10, 100)
  const now = Date.now()
  let ok = 0
  for (let i = 0; i < 250; i++) if (link.takeNotice(now)) ok++
  t.is(ok, 100)
  t.is(link.noticesDropped, 150)
  // 50 ms later: 5 more.
  ok = 0
  for (let i = 0; i < 20; i++) if (link.takeNotice(now + 50)) ok++
  t.is(ok, 5)
  // Idle for long: never more than one second's worth.
  ok = 0
  for (let i = 0; i < 500; i++) if (link.takeNotice(now + 60_000)) ok++
  t.is(ok, 100)
})
