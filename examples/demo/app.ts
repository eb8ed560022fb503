/**
 * The demo app `npm start` serves (service `demo`, route `/`):
 *
 *   GET  /hello   Hello World
 *   ANY  /echo    the request as the handler saw it (Mongrel2's first HTTP→0MQ demo)
 *   GET  /wait    long-poll: held on the channel `wait` until a /post (or 20 s pass: 204)
 *   POST /post    publishes the body to every held /wait, on every acceptor
 *   WS   /ws      a WebSocket that echoes every message
 *   GET  /chat/   a chat page: two rooms, WebSocket, SSE or long-poll (chat.ts)
 *   GET  /        this list
 *
 * Nothing is kept in the handler: /wait and the chat's holds live in the acceptor (GRIP),
 * so any handler process answers any request.
 */
import { publish, type Context, type Handler, type Request } from '../../workers/handler/api.js'
import type { WebSocketApp } from '../../workers/handler/websocket.js'
import { chat, chatMessage, chatOpen } from './chat.js'

const kIndex = [
  'Switchboard demo',
  '  GET  /hello   Hello World',
  '  ANY  /echo    the request as the handler saw it',
  '  GET  /wait    long-poll: waits for the next message',
  '  POST /post    publishes a message to every waiting /wait',
  '  WS   /ws      a WebSocket that echoes every message',
  '  GET  /chat/   a chat page (open it in a browser)',
  ''
].join('\n')

/** A /wait with no /post is answered 204 after this (under the route's 30 s reply timeout). */
const kWaitS = 20

const app: Handler = (req, ctx) => {
  switch (req.path) {
    case '/hello': return 'Hello World\n'
    case '/echo': return echo(req)
    case '/wait': return wait(ctx)
    case '/post': return post(req, ctx)
    case '/': return kIndex
    default:
      if (req.path === '/chat' || req.path.startsWith('/chat/')) return chat(req, ctx)
      return { status: 404, body: `no demo page at ${req.path}\n` }
  }
}
export default app

function echo (req: Request) {
  return {
    body: {
      sender: req.sender,
      id: req.id,
      path: req.path,
      decodedPath: req.decodedPath,
      method: req.method,
      query: req.query,
      headers: req.headers,
      body: req.text(),
      handlerPid: process.pid
    }
  }
}

function wait (ctx: Context): undefined {
  ctx.hold('wait', { timeoutS: kWaitS, response: { status: 204 } })
  return undefined
}

/** Publishing cannot tell how many were waiting (they are held by the acceptors): it says published. */
function post (req: Request, ctx: Context) {
  if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, body: 'POST a message here\n' }
  ctx.publish('wait', { httpResponse: { headers: { 'X-Answered-By': String(process.pid) }, body: { message: req.text() } } })
  return { body: { published: true } }
}

/** WebSocket events (workers/handler/websocket.ts): /ws echoes, /chat/ws chats; other paths are refused. */
export const websocket: WebSocketApp = {
  open (ws) {
    if (ws.path === '/chat/ws') return chatOpen(ws)
    if (ws.path !== '/ws') return { status: 404, body: `no WebSocket at ${ws.path}\n` }
    return undefined
  },
  message (ws, msg) {
    if (ws.path === '/chat/ws') chatMessage(ws, msg, publish)   // a WebSocket event has no ctx: the module-level publish
    else ws.send(msg.binary ? msg.data : msg.text())
  }
}
