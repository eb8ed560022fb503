import test from 'ava'
import { BodyWatch } from '../../workers/acceptor/body-watch.js'
import type { Exchange } from '../../workers/acceptor/exchange.js'
import { St } from '../../workers/acceptor/exchange-fsm.js'

function receiving (): Exchange {
  return { state: St.Receiving, res: {}, bodyLength: 0, bodySeen: 0, bodySince: 0 } as unknown as Exchange
}

test('a body is stalled once it has not grown for the bound; growth restarts the clock; once only', (t) => {
  const stalled: Exchange[] = []
  const watch = new BodyWatch(5000, (ex) => { stalled.push(ex) })
  t.teardown(() => watch.stop())
  const ex = receiving()
  const t0 = Date.now()
  watch.watch(ex)
  watch.tick(t0 + 4000)
  t.deepEqual(stalled, [])
  ex.bodyLength = 10 // a chunk arrived
  watch.tick(t0 + 4500)
  watch.tick(t0 + 9000)
  t.deepEqual(stalled, [], 'not stalled: the body grew at 4.5 s')
  watch.tick(t0 + 9500)
  t.deepEqual(stalled, [ex])
  watch.tick(t0 + 20_000)
  t.is(stalled.length, 1, 'reported once')
})

test('exchanges that left Receiving (or lost their response) are dropped, not reported', (t) => {
  const stalled: Exchange[] = []
  const watch = new BodyWatch(1000, (ex) => { stalled.push(ex) })
  t.teardown(() => watch.stop())
  const done = receiving()
  const aborted = receiving()
  const t0 = Date.now()
  watch.watch(done)
  watch.watch(aborted)
  done.state = St.Waiting
  ;(aborted as { res: unknown }).res = null
  watch.tick(t0 + 5000)
  t.deepEqual(stalled, [])
})
