/**
 * Server-Sent Events and chunked streams from a TypeScript handler through the stream
 * helpers (workers/handler/sse.ts, test/fixtures/sse-app.ts), read by an EventSource-style
 * client: event/id/retry fields, multi-line data, keep-alive comments, resuming after
 * Last-Event-ID, and the stream stopping when its exchange ends (the signal).
 */
import test from 'ava'
import { readSse } from '../helpers/sse.js'
import { startSystem } from '../helpers/system.js'

const kApp = 'test/fixtures/sse-app.ts'

// Late replies (from timers, after the handler returned): the default pool of 2 threads and inline.
const kThreads = [2, 0]

for (const threads of kThreads) {
  const config = { handler: { threads } }

  test.serial(`threads ${threads}: SSE events with ids, then a reconnect resumes after Last-Event-ID`, async (t) => {
    const sys = await startSystem(t, { app: kApp, config })
    const first = await readSse(sys.url + '/sse?n=3', () => false, 10_000)
    t.is(first.status, 200)
    t.is(first.headers.get('content-type'), 'text/event-stream; charset=utf-8')
    t.is(first.headers.get('cache-control'), 'no-cache')
    t.true(first.ended, 'the handler ended the stream')
    t.is(first.parser.retry, 1000)
    t.deepEqual(first.parser.events, [1, 2, 3].map((n) => ({ type: 'tick', data: `tick ${n}\nline two`, lastEventId: String(n) })))
    const again = await readSse(sys.url + '/sse?n=2', () => false, 10_000, { 'last-event-id': first.parser.lastEventId })
    t.deepEqual(again.parser.events.map((e) => e.lastEventId), ['4', '5'])
  })

  test.serial(`threads ${threads}: keep-alive comments flow until the client leaves; then the stream's signal stops it`, async (t) => {
    const sys = await startSystem(t, { app: kApp, config })
    const r = await readSse(sys.url + '/forever', (p) => p.comments >= 3, 10_000)
    t.deepEqual(r.parser.events, [{ type: 'message', data: 'hello', lastEventId: '' }])
    t.true(r.parser.comments >= 3)
    const handler = sys.procs.find((p) => p.name === 'handler')!
    await handler.waitFor(/sse \d+ stopped open=false/, 5000)
  })

  test.serial(`threads ${threads}: openStream sends chunks a client reads as one body`, async (t) => {
    const sys = await startSystem(t, { app: kApp, config })
    const res = await fetch(sys.url + '/bytes')
    t.is(res.status, 200)
    t.is(res.headers.get('content-type'), 'text/plain')
    t.is(await res.text(), 'one two three')
  })
}
