import test from 'ava'
import { ProtocolError } from '../../../shared/errors.js'
import { decodeItem, encodeItem, type PublishItem } from '../../../shared/protocol/publish.js'

const full: PublishItem = {
  channel: 'room-ü',
  id: '2',
  prevId: '1',
  httpResponse: { code: 201, reason: 'Made', headers: [['X-A', 'b'], ['Content-Type', 'text/plain; charset=utf-8']], body: Buffer.from('hello') },
  httpStream: { content: Buffer.from('data: hi\n\n'), close: false },
  wsMessage: { content: Buffer.from([0, 1, 2, 255]), binary: true, close: false, code: 0 }
}

test('an item with every field, and one with only a channel and a close, decode to what went in', (t) => {
  t.deepEqual(decodeItem(encodeItem(full)), full)
  const bare: PublishItem = { channel: 'c', id: null, prevId: null, httpResponse: null, httpStream: { content: Buffer.alloc(0), close: true }, wsMessage: { content: Buffer.alloc(0), binary: false, close: true, code: 4001 } }
  t.deepEqual(decodeItem(encodeItem(bare)), bare)
})

test('every truncation, a wrong version, trailing bytes and an empty channel are refused as SWB_ERR_PUBLISH_ITEM', (t) => {
  const frame = encodeItem(full)
  for (let n = 0; n < frame.length; n++) {
    const err = t.throws(() => decodeItem(frame.subarray(0, n)), { instanceOf: ProtocolError })
    t.is((err as ProtocolError).code, 'SWB_ERR_PUBLISH_ITEM')
  }
  const other = Buffer.from(frame)
  other[0] = 2
  t.throws(() => decodeItem(other), { instanceOf: ProtocolError, message: /unknown frame version 2/ })
  t.throws(() => decodeItem(Buffer.concat([frame, Buffer.from('x')])), { instanceOf: ProtocolError, message: /1 bytes after the item/ })
  t.throws(() => decodeItem(encodeItem({ ...full, channel: '' })), { instanceOf: ProtocolError, message: /without a channel/ })
  t.throws(() => decodeItem(Buffer.from('not an item at all')), { instanceOf: ProtocolError })
})
