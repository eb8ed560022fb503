import test from 'ava'
import { Channels, current, kRecentItems, kRecentMs, kSeqWaitMs, type ChannelsOwner } from '../../workers/acceptor/channels.js'
import { GripHold, kHoldResponse, kHoldStream } from '../../workers/acceptor/grip-headers.js'
import { encodeItem, type PublishItem } from '../../shared/protocol/publish.js'
import type { Exchange } from '../../workers/acceptor/exchange.js'

function item (channel: string, id: string | null, prevId: string | null): PublishItem {
  return { channel, id, prevId, httpResponse: null, httpStream: { content: Buffer.from(id ?? '-'), close: false }, wsMessage: null }
}

function setup (): { channels: Channels, got: string[], warnings: string[], owner: ChannelsOwner } {
  const got: string[] = []
  const warnings: string[] = []
  const owner: ChannelsOwner = {
    log: { debug () {}, info () {}, warn: (msg) => { warnings.push(msg) }, error: (msg) => { warnings.push(msg) } },
    stats: { published: 0, badItems: 0, gaps: 0 },
    deliver: (ex) => { got.push(`${(ex as unknown as { name: string }).name}:${current.item!.id ?? '-'}`) },
    publishWs: () => {},
    closeWs: () => {},
    keepAlive: () => {}
  }
  return { channels: new Channels(owner), got, warnings, owner }
}

function holder (name: string, channels: string[], prevIds: Array<string | null> | null = null, mode = kHoldStream): { ex: Exchange, grip: GripHold } {
  const grip = new GripHold(mode, channels)
  grip.prevIds = prevIds
  return { ex: { name, grip } as unknown as Exchange, grip }
}

test('items reach every subscriber of their channel, in order; leaving stops them', (t) => {
  const { channels, got } = setup()
  const a = holder('a', ['x'])
  const b = holder('b', ['x', 'y'])
  t.deepEqual(channels.join(a.ex, a.grip), [])
  t.deepEqual(channels.join(b.ex, b.grip), [])
  channels.publish(item('x', '1', null), 0)
  channels.publish(item('y', '2', null), 0)
  channels.leave(a.ex, a.grip)
  channels.publish(item('x', '3', '1'), 0)
  t.deepEqual(got, ['a:1', 'b:1', 'b:2', 'b:3'])
  t.is(channels.count('x'), 1)
})

test('an item whose prev-id is not the last id waits for it; one that never comes goes out after the wait (a gap)', (t) => {
  const { channels, got, owner } = setup()
  const a = holder('a', ['x'])
  channels.join(a.ex, a.grip)
  channels.publish(item('x', '1', null), 0)
  channels.publish(item('x', '4', '3'), 10)
  channels.publish(item('x', '3', '2'), 20)
  t.deepEqual(got, ['a:1'])
  channels.publish(item('x', '2', '1'), 30)
  t.deepEqual(got, ['a:1', 'a:2', 'a:3', 'a:4'])
  channels.publish(item('x', '9', '8'), 100)
  channels.tick(100 + kSeqWaitMs - 1)
  t.is(got.length, 4)
  channels.tick(100 + kSeqWaitMs)
  t.deepEqual(got.slice(4), ['a:9'])
  t.is(owner.stats.gaps, 1)
})

test('the first item of a channel goes out at once whatever its prev-id', (t) => {
  const { channels, got } = setup()
  const a = holder('a', ['x'])
  channels.join(a.ex, a.grip)
  channels.publish(item('x', '5', '4'), 0)
  t.deepEqual(got, ['a:5'])
})

test('a hold naming a prev-id gets the recent items after it (the race); one behind the channel is a gap', (t) => {
  const { channels } = setup()
  channels.publish(item('x', '1', null), 0)
  channels.publish(item('x', '2', '1'), 0)
  channels.publish(item('x', '3', '2'), 0)
  const a = holder('a', ['x'], ['1'])
  t.deepEqual(channels.join(a.ex, a.grip)!.map((i) => i.id), ['2', '3'])
  const b = holder('b', ['x'], ['3'])
  t.deepEqual(channels.join(b.ex, b.grip), [])
  const c = holder('c', ['x'], ['zz'])
  t.is(channels.join(c.ex, c.grip), null)
  const d = holder('d', ['new'], ['zz'])
  t.deepEqual(channels.join(d.ex, d.grip), [], 'nothing known of the channel: the hold waits')
})

test('recent items are bounded in number and time; an idle channel is then forgotten', (t) => {
  const { channels } = setup()
  for (let i = 1; i <= kRecentItems + 3; i++) channels.publish(item('x', String(i), i === 1 ? null : String(i - 1)), 0)
  const old = holder('a', ['x'], ['1'])
  t.is(channels.join(old.ex, old.grip), null, 'the item after 1 is no longer kept')
  channels.leave(old.ex, old.grip)
  t.is(channels.size, 1)
  channels.tick(kRecentMs)
  t.is(channels.size, 0)
})

test('a frame that is not an item is counted and logged, not thrown', (t) => {
  const { channels, warnings, owner, got } = setup()
  channels.receive(Buffer.from('not msgpack at all'))
  channels.receive(encodeItem({ ...item('', '1', null) }))
  t.is(owner.stats.badItems, 2)
  t.deepEqual(warnings, ['dropped a published item', 'dropped a published item'])
  const a = holder('a', ['x'])
  channels.join(a.ex, a.grip)
  channels.receive(encodeItem(item('x', '1', null)))
  t.deepEqual(got, ['a:1'])
})

test('holds keep the channels\' own names: one channel\'s holds share one list; a longer list is copied, not changed', (t) => {
  const { channels, got } = setup()
  const a = holder('a', [String.fromCharCode(120)]) // a name built apart from the next one
  const b = holder('b', ['x'])
  const given = ['y', 'x']
  const c = holder('c', given)
  channels.join(a.ex, a.grip)
  channels.join(b.ex, b.grip)
  channels.join(c.ex, c.grip)
  t.is(a.grip.channels, b.grip.channels, 'one shared list for a hold on one channel')
  t.true(Object.isFrozen(a.grip.channels))
  t.deepEqual(c.grip.channels, ['y', 'x'])
  t.not(c.grip.channels, given)
  channels.publish(item('x', '1', null), 0)
  t.deepEqual(got, ['a:1', 'b:1', 'c:1'])
  channels.leave(a.ex, a.grip)
  t.deepEqual(b.grip.channels, ['x'], 'leaving changes no shared list')
  t.is(channels.count('x'), 2)
})

test('an http-response item ends every response hold of its channel: each gets it once, stream holds stay, a later hold is apart', (t) => {
  const { channels, got, owner } = setup()
  const polls = ['p1', 'p2', 'p3'].map((name) => holder(name, ['x'], null, kHoldResponse))
  const both = holder('p4', ['x', 'y'], null, kHoldResponse)
  const stream = holder('s', ['x'])
  for (const h of [...polls, both, stream]) channels.join(h.ex, h.grip)
  // The delivery ends the hold as grip.ts does: it leaves its channels at once.
  owner.deliver = (ex) => {
    got.push(`${(ex as unknown as { name: string }).name}:${current.item!.id ?? '-'}`)
    const grip = ex.grip!
    if (grip.mode === kHoldResponse) channels.leave(ex, grip)
  }
  const answer: PublishItem = { ...item('x', '1', null), httpResponse: { code: 200, reason: '', headers: [], body: Buffer.from('hi') } }
  channels.publish(answer, 0)
  t.deepEqual(got.sort(), ['p1:1', 'p2:1', 'p3:1', 'p4:1', 's:1'])
  t.is(channels.count('x'), 1, 'the stream hold stays; every response hold left')
  t.is(channels.count('y'), 0, 'the hold on two channels left the other one too')
  const late = holder('p5', ['x'], null, kHoldResponse)
  channels.join(late.ex, late.grip)
  channels.publish({ ...answer, id: '2', prevId: '1' }, 1)
  t.deepEqual(got.slice(5).sort(), ['p5:2', 's:2'])
  t.is(channels.count('x'), 1)
})
