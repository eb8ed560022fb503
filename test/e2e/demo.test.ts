/**
 * The demo's chat through real processes (two handler hosts with their default thread
 * count, so any host answers any client): the page and the input checks, and one publish
 * reaching WebSocket, SSE and long-poll subscribers of its room once each and nobody in
 * the other room. The page in a real browser: chat-browser.test.ts.
 */
import test, { type ExecutionContext } from 'ava'
import { SseParser } from '../helpers/sse.js'
import { startSystem, waitUntil, type System } from '../helpers/system.js'
import { open, refused, type Client } from '../helpers/ws-client.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A chat WebSocket that has joined its room (the handler subscribed it before answering). */
async function joined (t: ExecutionContext, sys: System, room: string): Promise<Client> {
  const ws = await open(`ws://127.0.0.1:${sys.port}/chat/ws?room=${room}`)
  t.teardown(() => { ws.ws.terminate() })
  ws.ws.send(JSON.stringify({ type: 'join' }))
  t.deepEqual(JSON.parse(await ws.text(10_000)), { type: 'joined', room })
  return ws
}

/** An SSE subscriber: resolves once the head is in (the hold is in place), then keeps parsing. */
async function sse (sys: System, room: string, signal: AbortSignal): Promise<{ res: Response, parser: SseParser }> {
  const res = await fetch(`${sys.url}/chat/sse?room=${room}`, { signal, headers: { accept: 'text/event-stream' } })
  const parser = new SseParser()
  void (async () => {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      parser.push(value)
    }
  })().catch(() => {})
  return { res, parser }
}

function send (sys: System, room: string, body: string): Promise<Response> {
  return fetch(`${sys.url}/chat/send?room=${room}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
}

const texts = (ws: Client) => ws.messages.map((m) => JSON.parse(m.data.toString()) as { type: string, text?: string }).filter((m) => m.type === 'message').map((m) => m.text)

test.serial('the chat page and the checks of its input, through two handler hosts', async (t) => {
  const sys = await startSystem(t, { handlers: 2 })
  const page = await fetch(sys.url + '/chat/')
  t.is(page.status, 200)
  t.is(page.headers.get('content-type'), 'text/html; charset=utf-8')
  t.truthy(page.headers.get('content-security-policy'))
  t.regex(await page.text(), /<title>Switchboard chat<\/title>/)
  t.is((await fetch(sys.url + '/chat/', { headers: { 'if-none-match': page.headers.get('etag')! } })).status, 304)
  const bad = await send(sys, 'lobby', '{"name": "ann", "text": ')
  t.is(bad.status, 400)
  t.is(await bad.text(), 'the body is not JSON\n')
  t.is((await send(sys, 'lobby', JSON.stringify({ name: 'ann', text: 'x'.repeat(501) }))).status, 400)
  t.is((await send(sys, 'attic', JSON.stringify({ name: 'ann', text: 'hi' }))).status, 400)
  t.is((await fetch(sys.url + '/chat/poll?room=attic')).status, 400)
  t.is((await refused(`ws://127.0.0.1:${sys.port}/chat/ws?room=attic`)).status, 400)
})

test.serial('one message reaches a WebSocket, an SSE stream and a long-poll of its room once each, and nobody in the other room', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { handlers: 2 })
  const abort = new AbortController()
  t.teardown(() => { abort.abort() })
  const ws = await joined(t, sys, 'lobby')
  const other = await joined(t, sys, 'random')
  const stream = await sse(sys, 'lobby', abort.signal)
  t.is(stream.res.headers.get('content-type'), 'text/event-stream')
  t.is(stream.res.headers.get('grip-hold'), null, 'GRIP headers never reach the client')

  // A long-poll's hold cannot be seen from outside: post until it is answered (each post
  // reaches the stream and the socket too, each once).
  const polled: { list?: Array<{ text: string }> } = {}
  void fetch(`${sys.url}/chat/poll?room=lobby`, { signal: abort.signal })
    .then(async (r) => { polled.list = await r.json() as typeof polled.list }).catch(() => {})
  const posted: string[] = []
  await waitUntil(async () => {
    const text = `hello ${posted.length}`
    posted.push(text)
    const r = await send(sys, 'lobby', JSON.stringify({ name: 'ann', text }))
    t.deepEqual(await r.json(), { published: true })
    await sleep(300)
    return polled.list !== undefined
  }, 20_000, `the long-poll answered; logs:\n${sys.logs()}`)
  t.is(polled.list!.length, 1)
  t.true(posted.includes(polled.list![0]!.text))

  // A message sent over the socket is published the same way, to its sender too.
  ws.ws.send(JSON.stringify({ type: 'send', name: 'bo', text: 'over the socket' }))
  posted.push('over the socket')
  await ws.until(() => texts(ws).length === posted.length, 10_000, 'every message on the socket')
  await waitUntil(() => stream.parser.events.length === posted.length, 10_000, 'every message on the stream')
  t.deepEqual(texts(ws), posted, 'the socket got each message once, in order')
  t.deepEqual(stream.parser.events.map((e) => (JSON.parse(e.data) as { text: string }).text), posted, 'the stream too')
  t.like(JSON.parse(stream.parser.events.at(-1)!.data), { type: 'message', room: 'lobby', name: 'bo' })

  // Bad input on the socket: an error frame, the socket stays.
  ws.ws.send('not json')
  await ws.until(() => ws.messages.some((m) => m.data.toString().includes('"error"')), 10_000, 'an error frame')
  await sleep(500)
  t.deepEqual(texts(other), [], 'the other room heard nothing')
  t.is(ws.ws.readyState, ws.ws.OPEN)
})
