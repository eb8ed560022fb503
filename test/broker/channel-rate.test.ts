import test from 'ava'
import { ChannelRate } from '../../broker/channel-rate.js'

test('0 = no limit', (t) => {
  const r = new ChannelRate(0, () => 0)
  for (let i = 0; i < 1000; i++) t.true(r.allow('c'))
})

test('a burst of one second\'s worth per channel, then `rate` a second; channels apart', (t) => {
  let now = 0
  const r = new ChannelRate(3, () => now)
  t.deepEqual([r.allow('a'), r.allow('a'), r.allow('a'), r.allow('a')], [true, true, true, false])
  t.true(r.allow('b'), 'another channel has its own bucket')
  now = 300
  t.false(r.allow('a'), '0.9 tokens after 300 ms')
  now = 400
  t.true(r.allow('a'), 'one token after 333 ms')
  t.false(r.allow('a'))
  now = 5000
  t.deepEqual([r.allow('a'), r.allow('a'), r.allow('a'), r.allow('a')], [true, true, true, false], 'full again after a quiet while, never more')
})
