// StreamIdle's scan, with stand-in exchanges (only the fields it reads) and explicit clocks.
import test from 'ava'
import type { Exchange } from '../../workers/acceptor/exchange.js'
import { StreamIdle } from '../../workers/acceptor/stream-idle.js'

function stream (keepAliveMs = 0): Exchange {
  return { res: {}, complete: false, streaming: false, lastMessage: 0, lastWrite: 0, route: { keepAliveMs } } as unknown as Exchange
}

test('a stream with no message for idleMs is cut once; a message restarts its clock', (t) => {
  const cut: Exchange[] = []
  const idle = new StreamIdle(1000, 0, (ex) => cut.push(ex), () => t.fail('no keep-alive configured'))
  t.teardown(() => { idle.stop() })
  const a = stream()
  const b = stream()
  idle.touch(a, 0)
  idle.touch(b, 0)
  idle.touch(b, 600)
  t.is(idle.size, 2)
  idle.tick(999)
  t.deepEqual(cut, [])
  idle.tick(1000)
  t.deepEqual(cut, [a])
  t.false(a.streaming)
  idle.tick(1599)
  t.deepEqual(cut, [a])
  idle.tick(1600)
  t.deepEqual(cut, [a, b])
  idle.tick(5000)
  t.is(cut.length, 2)
  t.is(idle.size, 0)
})

test('keep-alive bytes go to a stream nothing was written to for its route\'s keepAliveMs', (t) => {
  const pinged: Exchange[] = []
  const idle = new StreamIdle(0, 100, () => t.fail('idleMs 0 never cuts'), (ex) => pinged.push(ex))
  t.teardown(() => { idle.stop() })
  const a = stream(100)
  const off = stream(0)
  idle.touch(a, 0)
  idle.touch(off, 0)
  idle.tick(99)
  t.is(pinged.length, 0)
  idle.tick(100)
  idle.tick(150)
  idle.tick(200)
  t.deepEqual(pinged, [a, a])
  idle.tick(1_000_000)
  t.is(pinged.length, 3)
})

test('ended or released streams leave the set', (t) => {
  const idle = new StreamIdle(1000, 0, () => t.fail('not idle'), () => {})
  t.teardown(() => { idle.stop() })
  const done = stream()
  const gone = stream()
  const released = stream()
  for (const ex of [done, gone, released]) idle.touch(ex, 0)
  ;(done as { complete: boolean }).complete = true
  ;(gone as { res: unknown }).res = null
  idle.untrack(released)
  idle.tick(10)
  t.is(idle.size, 0)
})

test('no idle cut and no keep-alive: nothing scans, so a touched stream takes no entry (its clocks still move)', (t) => {
  const idle = new StreamIdle(0, 0, () => t.fail('never idle'), () => t.fail('no keep-alive'))
  t.teardown(() => { idle.stop() })
  const a = stream()
  idle.touch(a, 5)
  t.is(idle.size, 0)
  t.false(a.streaming)
  t.is(a.lastMessage, 5)
  idle.untrack(a)
  idle.tick(1_000_000)
  t.is(idle.size, 0)
})
