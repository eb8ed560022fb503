/**
 * The demo chat's handler code (examples/demo/chat.ts) in this process: input checks,
 * what one publish carries for each kind of subscriber, and what each endpoint asks of
 * ctx (hold, publish) or answers. Through real processes and a browser:
 * test/e2e/demo.test.ts and test/e2e/chat-browser.test.ts.
 */
import test from 'ava'
import type { Context, Request, Response } from '../../workers/handler/api.js'
import { chat, kMaxName, kMaxText, parseMessage, publishMessage, roomOf, type ChatMessage } from '../../examples/demo/chat.js'

interface Calls { holds: unknown[][], publishes: unknown[][] }

function call (method: string, path: string, query = '', body = '', headers: Record<string, string> = {}): { res: Response | undefined, calls: Calls } {
  const calls: Calls = { holds: [], publishes: [] }
  const req = {
    sender: 'acc', id: 1, path, decodedPath: path, method, query, headers, body: Buffer.from(body),
    text: () => body, json: () => JSON.parse(body) as unknown
  } as unknown as Request
  const ctx = {
    hold: (...args: unknown[]) => { calls.holds.push(args) },
    publish: (...args: unknown[]) => { calls.publishes.push(args) }
  } as unknown as Context
  return { res: chat(req, ctx), calls }
}

test('roomOf: the two rooms, nothing else', (t) => {
  t.is(roomOf('room=lobby'), 'lobby')
  t.is(roomOf('x=1&room=random'), 'random')
  t.is(roomOf('room=other'), null)
  t.is(roomOf('room='), null)
  t.is(roomOf(''), null)
})

test('parseMessage: trimmed name and text within their limits, one line, strings only', (t) => {
  const ok = parseMessage('lobby', { name: ' ann ', text: ' hi <b>there</b> ' }) as ChatMessage
  t.like(ok, { type: 'message', room: 'lobby', name: 'ann', text: 'hi <b>there</b>' })
  t.false(Number.isNaN(Date.parse(ok.at)))
  t.is(typeof parseMessage('lobby', { name: 'a'.repeat(kMaxName), text: 'b'.repeat(kMaxText) }), 'object')
  for (const bad of [null, [], 'text', 3, {}, { name: 'a' }, { name: 1, text: 'x' }, { name: 'a', text: ['x'] },
    { name: '', text: 'x' }, { name: '  ', text: 'x' }, { name: 'a', text: '' }, { name: 'a'.repeat(kMaxName + 1), text: 'x' },
    { name: 'a', text: 'b'.repeat(kMaxText + 1) }, { name: 'a', text: 'two\nlines' }, { name: 'a\u0000', text: 'x' },
    { name: 'a', text: 'x\u2028y' }]) {
    t.is(typeof parseMessage('lobby', bad), 'string', JSON.stringify(bad))
  }
})

test('publishMessage: one item on chat-<room>: an SSE event, a JSON list, a WebSocket text, the same JSON', (t) => {
  const items: Array<[string, { httpStream: string, httpResponse: Response, wsMessage: string }]> = []
  const msg: ChatMessage = { type: 'message', room: 'random', name: 'bo', text: 'a "quote"\tand tab', at: '2026-11-30T00:00:00.000Z' }
  publishMessage((channel, item) => { items.push([channel, item]) }, msg)
  t.is(items.length, 1)
  const [channel, item] = items[0]!
  t.is(channel, 'chat-random')
  t.deepEqual(JSON.parse(item.wsMessage), msg)
  t.regex(item.httpStream, /^data: [^\n]+\n\n$/)
  t.deepEqual(JSON.parse(item.httpStream.slice(6)), msg)
  t.deepEqual(JSON.parse(item.httpResponse.body as string), [msg])
  t.like(item.httpResponse.headers, { 'Content-Type': 'application/json' })
})

test('GET /chat/: the page, with its type, a CSP naming its inline script and style, and an ETag for a 304', (t) => {
  const { res } = call('GET', '/chat/')
  t.is(res?.status ?? 200, 200)
  const h = res!.headers as Record<string, string>
  t.is(h['Content-Type'], 'text/html; charset=utf-8')
  t.is(h['Cache-Control'], 'no-cache')
  t.regex(h['Content-Security-Policy']!, /default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-/)
  const html = Buffer.from(res!.body as Uint8Array).toString()
  t.regex(html, /<select id="room">/)
  t.notRegex(html, /https?:\/\//, 'no external URL')
  t.notRegex(html, /innerHTML/, 'text reaches the page through textContent only')
  t.is(call('GET', '/chat/', '', '', { 'if-none-match': h.ETag! }).res?.status, 304)
  t.is(call('POST', '/chat/').res?.status, 405)
  t.like(call('GET', '/chat', 'room=random').res, { status: 301, headers: { Location: '/chat/?room=random' } })
  t.is(call('GET', '/chat/nothing').res?.status, 404)
})

test('POST /chat/send: publishes valid input once; 400 for a bad room, bad JSON or bad fields; 405 for GET', (t) => {
  const ok = call('POST', '/chat/send', 'room=lobby', JSON.stringify({ name: 'ann', text: 'hi' }))
  t.deepEqual(ok.res?.body, { published: true })
  t.is(ok.calls.publishes.length, 1)
  t.is(ok.calls.publishes[0]![0], 'chat-lobby')
  for (const [query, body] of [['room=nope', '{"name":"a","text":"b"}'], ['', '{"name":"a","text":"b"}'], ['room=lobby', '{"name":"a",'],
    ['room=lobby', '{"name":"a"}'], ['room=lobby', JSON.stringify({ name: 'a', text: 'x'.repeat(kMaxText + 1) })]] as const) {
    const bad = call('POST', '/chat/send', query, body)
    t.is(bad.res?.status, 400, `${query} ${body}`)
    t.is(bad.calls.publishes.length, 0)
  }
  t.is(call('GET', '/chat/send', 'room=lobby').res?.status, 405)
})

test('GET /chat/sse and /chat/poll: held on chat-<room>, as a stream of text/event-stream or a response that is [] at timeout', (t) => {
  const sse = call('GET', '/chat/sse', 'room=lobby')
  t.is(sse.res, undefined)
  t.is(sse.calls.holds.length, 1)
  const [channel, opts] = sse.calls.holds[0] as [string, { mode: string, response: Response, keepAlive: unknown }]
  t.is(channel, 'chat-lobby')
  t.is(opts.mode, 'stream')
  t.like(opts.response.headers, { 'Content-Type': 'text/event-stream' })
  t.truthy(opts.keepAlive)
  const poll = call('GET', '/chat/poll', 'room=random')
  const [pollChannel, pollOpts] = poll.calls.holds[0] as [string, { mode: string, timeoutS: number, response: Response }]
  t.is(pollChannel, 'chat-random')
  t.is(pollOpts.mode, 'response')
  t.true(pollOpts.timeoutS > 0 && pollOpts.timeoutS < 30, 'answered before the route\'s reply timeout')
  t.is(pollOpts.response.body, '[]')
  t.is(call('GET', '/chat/poll', 'room=x').res?.status, 400)
  t.is(call('POST', '/chat/sse', 'room=lobby').res?.status, 405)
})
