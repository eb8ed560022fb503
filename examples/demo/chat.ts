/**
 * The demo's chat (issue 10): a page at /chat/ and stateless handlers around channels.
 * A room is the channel `chat-<room>`; any handler process answers any client, because
 * nothing is kept in a handler: holds live in the acceptor, messages go through the
 * broker's publishing to every acceptor.
 *
 *   GET  /chat/                  the page (chat.html: inline CSS and JS, no external URLs)
 *   WS   /chat/ws?room=R         {"type":"join"} → subscribed, {"type":"joined"};
 *                                {"type":"send",name,text} → published
 *   GET  /chat/sse?room=R        a stream hold: every message as an SSE `data:` event
 *   GET  /chat/poll?room=R       a response hold: `[message]`, or `[]` after 25 s
 *   POST /chat/send?room=R       JSON {name, text} → published; 400 on bad input
 *
 * One publish carries all three formats, so WebSocket, SSE and long-poll subscribers each
 * get a message once. Items carry no id/prev-id: two handler processes share no counter,
 * and ids that do not chain per channel would make acceptors hold items back as out of
 * order (then count gaps). So
 * there is no history either: a page shows what is said while it is connected, and a
 * long-poll misses what is published between its answer and its next request.
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import type { Context, Request, Response } from '../../workers/handler/api.js'
import type { Socket, WebSocketMessage } from '../../workers/handler/websocket.js'

export const kRooms: readonly string[] = ['lobby', 'random']
export const kMaxName = 32
export const kMaxText = 500
/** A long-poll is answered `[]` after this (under the route's 30 s reply timeout). */
export const kPollTimeoutS = 25
/** An idle SSE stream gets a comment this often (under acceptor.streamIdleMs, 120 s). */
export const kSseKeepAliveS = 20

/** What every subscriber gets: the same JSON in every format. */
export interface ChatMessage { type: 'message', room: string, name: string, text: string, at: string }

/** Publishing, as the handler API offers it (ctx.publish, or the host's publisher for WebSocket events). */
export type Publish = (channel: string, item: {
  httpResponse: Response, httpStream: string, wsMessage: string
}) => void

export function channelOf (room: string): string { return `chat-${room}` }

/** The room named by `room=` in a query string, or null when it is missing or unknown. */
export function roomOf (query: string): string | null {
  const room = new URLSearchParams(query).get('room')
  return room !== null && kRooms.includes(room) ? room : null
}

// Control characters (but tab) and the line separators that would break a line of text.
const kControl = /[\u0000-\u0008\u000a-\u001f\u007f\u2028\u2029]/

/** A message to publish from untrusted input, or the reason it is refused (for a 400). */
export function parseMessage (room: string, input: unknown): ChatMessage | string {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return 'expected a JSON object {"name": "…", "text": "…"}'
  const { name, text } = input as { name?: unknown, text?: unknown }
  if (typeof name !== 'string' || typeof text !== 'string') return 'name and text must be strings'
  const n = name.trim()
  const m = text.trim()
  if (n === '' || n.length > kMaxName) return `name must have 1 to ${kMaxName} characters`
  if (m === '' || m.length > kMaxText) return `text must have 1 to ${kMaxText} characters`
  if (kControl.test(n) || kControl.test(m)) return 'name and text must be one line without control characters'
  return { type: 'message', room, name: n, text: m, at: new Date().toISOString() }
}

/** One item for every kind of subscriber: an SSE event, a long-poll answer, a WebSocket text. */
export function publishMessage (publish: Publish, msg: ChatMessage): void {
  const json = JSON.stringify(msg)
  publish(channelOf(msg.room), {
    httpStream: `data: ${json}\n\n`,
    httpResponse: { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, body: `[${json}]` },
    wsMessage: json
  })
}

// ---- the page ---------------------------------------------------------------

const kPage = readFileSync(new URL('chat.html', import.meta.url))
const kEtag = `"${createHash('sha256').update(kPage).digest('base64url').slice(0, 22)}"`

/** CSP hashes of the page's inline <script> and <style>: nothing else may run or style it. */
function inlineHash (tag: string): string {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(kPage.toString('utf8'))
  if (m === null) throw new Error(`chat.html has no <${tag}>`)
  return `'sha256-${createHash('sha256').update(m[1]!).digest('base64')}'`
}

const kPageHeaders = {
  'Content-Type': 'text/html; charset=utf-8',
  // Revalidated at every load: a new demo version is seen at once, an unchanged one costs a 304.
  'Cache-Control': 'no-cache',
  ETag: kEtag,
  'Content-Security-Policy': `default-src 'none'; script-src ${inlineHash('script')}; style-src ${inlineHash('style')}; ` +
    "connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer'
}

function page (req: Request): Response {
  if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, body: 'GET the chat page\n' }
  if (req.headers['if-none-match'] === kEtag) return { status: 304, headers: { ETag: kEtag, 'Cache-Control': 'no-cache' } }
  return { headers: kPageHeaders, body: kPage }
}

// ---- HTTP --------------------------------------------------------------------

function badRequest (why: string): Response { return { status: 400, headers: { 'Cache-Control': 'no-store' }, body: why + '\n' } }

const kNoRoom = `room= must be one of: ${kRooms.join(', ')}`

/** Answers /chat and everything under it; undefined when the exchange is held. */
export function chat (req: Request, ctx: Context): Response | undefined {
  if (req.path === '/chat') return { status: 301, headers: { Location: '/chat/' + (req.query === '' ? '' : '?' + req.query) } }
  if (req.path === '/chat/' || req.path === '/chat/index.html') return page(req)
  const endpoint = req.path.slice('/chat/'.length)
  if (!['send', 'sse', 'poll'].includes(endpoint)) return { status: 404, body: `no chat page at ${req.path}\n` }
  const room = roomOf(req.query)
  if (room === null) return badRequest(kNoRoom)
  if (endpoint === 'send') return send(req, ctx, room)
  if (req.method !== 'GET') return { status: 405, headers: { Allow: 'GET' }, body: `GET ${req.path}\n` }
  if (endpoint === 'sse') {
    ctx.hold(channelOf(room), {
      mode: 'stream',
      keepAlive: { data: ':\n\n', timeoutS: kSseKeepAliveS },
      response: { headers: { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store' }, body: 'retry: 2000\n\n' }
    })
  } else {
    ctx.hold(channelOf(room), {
      mode: 'response',
      timeoutS: kPollTimeoutS,
      response: { headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' }, body: '[]' }
    })
  }
  return undefined
}

function send (req: Request, ctx: Context, room: string): Response {
  if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, body: 'POST {"name": "…", "text": "…"} here\n' }
  let input: unknown
  try {
    input = req.json()
  } catch {
    return badRequest('the body is not JSON')
  }
  const msg = parseMessage(room, input)
  if (typeof msg === 'string') return badRequest(msg)
  publishMessage((channel, item) => { ctx.publish(channel, item) }, msg)
  return { headers: { 'Cache-Control': 'no-store' }, body: { published: true } }
}

// ---- WebSocket ---------------------------------------------------------------

/** The handshake of /chat/ws: a known room, or 400. */
export function chatOpen (ws: Socket): Response | undefined {
  return roomOf(ws.query) === null ? badRequest(kNoRoom) : undefined
}

/** A client's frame on /chat/ws: join (subscribe) or send (publish); errors answer on the socket. */
export function chatMessage (ws: Socket, frame: WebSocketMessage, publish: Publish): void {
  const room = roomOf(ws.query)
  if (room === null) return void ws.close(1008, 'no room')
  let input: { type?: unknown } | null = null
  try { input = JSON.parse(frame.text()) as { type?: unknown } } catch {}
  if (input?.type === 'join') {
    ws.subscribe(channelOf(room))
    // After the subscribe on the same socket: when the client reads this, it is subscribed.
    ws.send(JSON.stringify({ type: 'joined', room }))
    return
  }
  const msg = input?.type === 'send' ? parseMessage(room, input) : 'expected {"type": "join"} or {"type": "send", "name": "…", "text": "…"}'
  if (typeof msg === 'string') ws.send(JSON.stringify({ type: 'error', error: msg }))
  else publishMessage(publish, msg)
}
