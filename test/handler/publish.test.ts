import test from 'ava'
import { SwitchboardError } from '../../shared/errors.js'
import { encodeZmqItem, parseZmqMessage } from '../../shared/protocol/pushpin.js'
import { toItem } from '../../workers/handler/publish.js'

test('bytes go to all three formats (a binary WebSocket message)', (t) => {
  const item = toItem('c', new Uint8Array([1, 2]))
  t.deepEqual(item.wsMessage, { content: Buffer.from([1, 2]), binary: true, close: false, code: 0 })
  t.deepEqual(item.httpResponse?.headers, [['Content-Type', 'application/octet-stream']])
  t.deepEqual(item.httpStream, { content: Buffer.from([1, 2]), close: false })
})

test('a PublishInput: only the formats given; Response headers, JSON body, closes', (t) => {
  t.deepEqual(toItem('c', { httpStream: { close: true } }), {
    channel: 'c', id: null, prevId: null, httpResponse: null, httpStream: { content: Buffer.alloc(0), close: true }, wsMessage: null
  })
  const r = toItem('c', { id: 'i', httpResponse: { status: 204, headers: { 'Content-Length': '9', 'Content-Type': 'x/y' } } }).httpResponse
  t.deepEqual(r, { code: 204, reason: '', headers: [['Content-Type', 'x/y']], body: Buffer.alloc(0) }, 'Content-Length is the acceptor\'s to set')
  t.deepEqual(toItem('c', { wsMessage: 'text' }).wsMessage, { content: Buffer.from('text'), binary: false, close: false, code: 0 })
})

const kBad: Array<[string, unknown, unknown, RegExp]> = [
  ['empty channel', '', 'x', /the channel must be a non-empty string/],
  ['a number item', 'c', 5, /the item must be a string, bytes or/],
  ['no formats', 'c', { id: 'x' }, /the item has none of httpResponse, httpStream, wsMessage/],
  ['id a number', 'c', { id: 1, httpStream: 'x' }, /id must be a string/],
  ['status 42', 'c', { httpResponse: { status: 42 } }, /httpResponse\.status must be an integer from 100 to 999/],
  ['header with CRLF', 'c', { httpResponse: { headers: { A: 'b\r\nC: d' } } }, /httpResponse header "A" has CR, LF or NUL/],
  ['stream a number', 'c', { httpStream: 5 }, /httpStream must be a string, bytes or \{ close: true \}/],
  ['close code 5000', 'c', { wsMessage: { close: true, code: 5000 } }, /wsMessage\.code must be an integer from 0 to 4999/]
]
for (const [what, channel, input, re] of kBad) {
  test(`bad publish (${what}): SWB_ERR_PUBLISH_INPUT`, (t) => {
    const err = t.throws(() => toItem(channel as string, input as string), { instanceOf: SwitchboardError })
    t.is(err.code, 'SWB_ERR_PUBLISH_INPUT')
    t.regex(err.message, re)
  })
}

test('what ctx.publish sends parses back into the same item on the broker', (t) => {
  const item = toItem('room', { id: '2', prevId: '1', httpResponse: { body: { a: 1 } }, wsMessage: Buffer.from([7]) })
  t.deepEqual(parseZmqMessage([encodeZmqItem(item)]), item)
})
