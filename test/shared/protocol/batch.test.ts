import test from 'ava'
import { ProtocolError } from '../../../shared/errors.js'
import { batchEnd, encodeReplyBatch, encodeRequestBatch, isRequestBatch, kBatchMaxBytes, replyBatchStart, splitBatch } from '../../../shared/protocol/batch.js'
import { encodeRequest } from '../../../shared/protocol/request.js'
import { encodeReply, parseReply } from '../../../shared/protocol/reply.js'

const b = (s: string): Buffer => Buffer.from(s, 'latin1')
const kUuid = '54c6755b-9628-40a4-9a2d-cc82a816345e'
const sender = b(kUuid)

test('a request batch is the requests as netstrings, and splits back into the same bytes', (t) => {
  const reqs = [
    encodeRequest(sender, 1, '/a', { PATH: '/a', METHOD: 'GET' }, Buffer.alloc(0), 'json'),
    encodeRequest(sender, 2, '/b', { PATH: '/b', METHOD: 'POST' }, b('body, with a comma'), 'json')
  ]
  const frame = encodeRequestBatch(reqs)
  t.is(frame.toString('latin1'), `${reqs[0]!.length}:${reqs[0]!.toString('latin1')},${reqs[1]!.length}:${reqs[1]!.toString('latin1')},`)
  t.true(isRequestBatch(frame))
  t.deepEqual(splitBatch(frame), reqs)
})

test('encodeRequestBatch takes a range of the queue', (t) => {
  const frames = [b('zero'), b('one'), b('two'), b('three')]
  t.deepEqual(splitBatch(encodeRequestBatch(frames, 1, 3)), [b('one'), b('two')])
})

test('a single request message is never taken for a request batch', (t) => {
  t.false(isRequestBatch(encodeRequest(sender, 7, '/x', { PATH: '/x' }, Buffer.alloc(0), 'json')))
  // A UUID may start with digits, but it never has ':' after them.
  t.false(isRequestBatch(b('12345678-1111-2222-3333-444444444444 1 / 2:{},0:,')))
  t.false(isRequestBatch(b('')))
  t.false(isRequestBatch(b(':')))
  t.false(isRequestBatch(b('1234567890:'))) // more digits than a netstring LEN may have
  t.true(isRequestBatch(b('0:,')))
})

test('a reply batch keeps the sender in front (for SUB routing) and splits into whole reply frames', (t) => {
  const replies = [encodeReply(kUuid, [1], b('HTTP/1.1 200 OK\r\n\r\n')), encodeReply(kUuid, [2, 3], b(''))]
  const frame = encodeReplyBatch(sender, replies)
  t.true(frame.toString('latin1').startsWith(`${kUuid} +`))
  const start = replyBatchStart(frame)
  t.is(start, kUuid.length + 2)
  const items = splitBatch(frame, start)
  t.deepEqual(items, replies)
  t.deepEqual(parseReply(items[1]!).ids, [2, 3])
})

test('a plain reply, extended reply or garbage is not a reply batch', (t) => {
  t.is(replyBatchStart(encodeReply(kUuid, [1], b('hi'))), -1)
  t.is(replyBatchStart(b(`${kUuid} X 3:1 2, stuff`)), -1)
  t.is(replyBatchStart(b('no-space-at-all')), -1)
  t.is(replyBatchStart(b(' +1:a,')), -1) // no sender
})

test('malformed batches fail whole, with a code naming the problem', (t) => {
  const codes: Array<[string, string]> = [
    ['5:abc,', 'SWB_ERR_BATCH_SHORT'],
    ['3:abcX', 'SWB_ERR_BATCH_TERMINATOR'],
    ['3:abc,x', 'SWB_ERR_BATCH_LENGTH'],
    ['3:abc,4', 'SWB_ERR_BATCH_SHORT'],
    ['', 'SWB_ERR_BATCH_EMPTY']
  ]
  for (const [input, code] of codes) {
    const err = t.throws(() => splitBatch(b(input)), { instanceOf: ProtocolError }, input)
    t.is((err as ProtocolError).code, code, input)
  }
})

test('items are views into the frame, not copies', (t) => {
  const frame = encodeRequestBatch([b('abc')])
  const [item] = splitBatch(frame)
  frame[2] = 0x7a
  t.is(item!.toString('latin1'), 'zbc')
})

test('batchEnd stops at `last` or before the frame that would pass kBatchMaxBytes; a big first frame goes alone', (t) => {
  const small = Buffer.alloc(100)
  const half = Buffer.alloc(kBatchMaxBytes / 2)
  const big = Buffer.alloc(kBatchMaxBytes + 1)
  t.is(batchEnd([small, small, small, small], 0, 3), 3)
  t.is(batchEnd([small, small, small, small], 1, 4), 4)
  t.is(batchEnd([half, half, small], 0, 3), 2)
  t.is(batchEnd([big, small], 0, 2), 1)
  t.is(batchEnd([small, big, small], 0, 3), 1)
})
