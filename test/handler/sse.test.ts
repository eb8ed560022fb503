// The stream helpers' bytes (workers/handler/sse.ts), checked against the EventSource-style
// parser the e2e tests use and against a recording Context.
import test from 'ava'
import { formatSseComment, formatSseEvent, formatSseRetry, openSse, openStream, type StreamContext } from '../../workers/handler/sse.js'
import { SseParser } from '../helpers/sse.js'

function recorder (signal?: AbortSignal): { ctx: StreamContext, sent: string[], closed: number } {
  const rec = { sent: [] as string[], closed: 0, ctx: null as unknown as StreamContext }
  rec.ctx = {
    signal,
    deliver (_sender, _ids, bytes) { rec.sent.push(typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString()) },
    close () { rec.closed++ }
  }
  return rec
}

const kReq = { sender: 'acc', id: 7, headers: {} }

test('formatSseEvent: fields in order, one data line per line of text (any line break)', (t) => {
  t.is(formatSseEvent({ data: 'x' }), 'data: x\n\n')
  t.is(formatSseEvent({ id: '7', event: 'tick', retry: 10, data: 'a\nb\r\nc\rd' }), 'id: 7\nevent: tick\nretry: 10\ndata: a\ndata: b\ndata: c\ndata: d\n\n')
  t.is(formatSseEvent({ data: '' }), 'data: \n\n')
  t.is(formatSseComment(), ':\n\n')
  t.is(formatSseComment('a\nb'), ': a\n: b\n\n')
  t.is(formatSseRetry(0), 'retry: 0\n\n')
})

test('formatSseEvent refuses fields that would split the event (SWB_ERR_SSE_FIELD)', (t) => {
  for (const ev of [{ data: '', event: 'a\nb' }, { data: '', id: 'a\rb' }, { data: '', id: 'a\0b' }]) {
    t.throws(() => formatSseEvent(ev), { code: 'SWB_ERR_SSE_FIELD' } as never)
  }
  t.throws(() => formatSseRetry(-1), { code: 'SWB_ERR_SSE_FIELD' } as never)
  t.throws(() => formatSseRetry(1.5), { code: 'SWB_ERR_SSE_FIELD' } as never)
})

test('what formatSseEvent writes, an EventSource parser reads back', (t) => {
  const p = new SseParser()
  const events = [
    { id: '1', event: 'a', data: 'one' },
    { data: 'multi\nline\n' },
    { id: '', data: 'id reset' },
    { event: 'x', data: '{"json":true}' }
  ]
  p.push(formatSseComment('hello') + formatSseRetry(500) + events.map(formatSseEvent).join(''))
  t.is(p.retry, 500)
  t.is(p.comments, 1)
  t.deepEqual(p.events, [
    { type: 'a', data: 'one', lastEventId: '1' },
    { type: 'message', data: 'multi\nline\n', lastEventId: '1' },
    { type: 'message', data: 'id reset', lastEventId: '' },
    { type: 'x', data: '{"json":true}', lastEventId: '' }
  ])
})

test('openSse: a chunked text/event-stream head, retry first, one chunk per event, last chunk on end', (t) => {
  const r = recorder()
  const sse = openSse({ ...kReq, headers: { 'last-event-id': '41' } }, r.ctx, { retry: 3000, headers: { 'X-A': 'b' } })
  t.is(sse.lastEventId, '41')
  t.true(sse.send({ id: '42', data: 'hi' }))
  t.true(sse.comment())
  sse.end()
  t.false(sse.send('after end'))
  t.deepEqual(r.sent, [
    'HTTP/1.1 200 OK\r\nCache-Control: no-cache\r\nX-A: b\r\nContent-Type: text/event-stream; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n',
    'd\r\nretry: 3000\n\n\r\n',
    '11\r\nid: 42\ndata: hi\n\n\r\n',
    '3\r\n:\n\n\r\n',
    '0\r\n\r\n'
  ])
})

test('openStream: status, headers (no Content-Length), chunks sized in bytes; abort closes the exchange', (t) => {
  const r = recorder()
  const s = openStream(kReq, r.ctx, { status: 206, headers: { 'Content-Length': '5', 'content-type': 'text/plain' } })
  t.true(s.write('é'))
  t.true(s.write(''))
  s.abort()
  t.false(s.open)
  s.end()
  t.deepEqual(r.sent, ['HTTP/1.1 206 Partial Content\r\ncontent-type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n', '2\r\né\r\n'])
  t.is(r.closed, 1)
})

test('an aborted signal ends the stream silently and stops its keep-alive timer', async (t) => {
  const r = recorder()
  const ac = new AbortController()
  const sse = openSse(kReq, r.ctx, { keepAliveMs: 20, signal: ac.signal })
  await new Promise((resolve) => setTimeout(resolve, 120))
  const comments = r.sent.filter((s) => s.includes(':\n\n')).length
  t.true(comments >= 2, `keep-alive comments while open (${comments})`)
  ac.abort()
  const count = r.sent.length
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.is(r.sent.length, count, 'nothing after the abort')
  t.false(sse.open)
  t.false(sse.send('x'))
  t.is(r.closed, 0)
  const already = openSse(kReq, r.ctx, { signal: ac.signal })
  t.false(already.open)
  t.is(r.sent.length, count, 'a stream opened on an aborted signal sends nothing')
})

test('without a signal option the helpers use ctx.signal', (t) => {
  const ac = new AbortController()
  const r = recorder(ac.signal)
  const s = openStream(kReq, r.ctx)
  t.true(s.write('a'))
  ac.abort()
  t.false(s.open)
  t.false(s.write('b'))
  t.is(r.sent.length, 2)
})
