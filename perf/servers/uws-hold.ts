/**
 * Raw uWS.js holding idle connections, the baseline of perf/push.ts: `GET /sse…` gets a
 * chunked `text/event-stream` head and one comment event and is kept open; a WebSocket
 * upgrade is accepted (its request headers kept in the socket's user data, as a Mongrel2
 * front end must keep them to repeat them) and kept, with no idle timeout.
 * With env `PUSH_COUNT_FILE=<path>` it writes `<sse> <websockets> 0 0 <long-polls>` there
 * when the counts change (the first four as perf/handlers/m2-push.ts writes them).
 *
 * The raw `app.publish` baseline of perf/fanout.ts: `GET /fanout/sse` is held as `/sse`,
 * `GET /fanout/lp` is held unanswered (a long-poll), WebSockets opened on `/fanout/…`
 * subscribe to the topic `fanout`, and `POST /publish/` takes Pushpin's JSON
 * (`{"items": [{"channel", "formats": {"http-response": {"body"}, "http-stream":
 * {"content"}, "ws-message": {"content"}}}]}`): every held long-poll is answered with the
 * body and every held stream gets the content (one cork each), WebSockets get the content
 * through `app.publish`, then the publisher gets `200 Published`.
 *
 * Usage: `node --import tsx perf/servers/uws-hold.ts <port>`
 */
import { reportCounts } from '../lib/count-file.js'
import { uws } from '../../shared/uws.js'
import type { HttpResponse, ListenableApp } from '../../shared/uws.js'

const kPort = Number(process.argv[2] ?? process.env.PORT ?? 3000)
const kCountFile = process.env.PUSH_COUNT_FILE
const kHi = ': hi\n\n'

let sse = 0
let sockets = 0
let longPolls = 0
/** Held streams and held long-polls; a response leaves its set when its client leaves. */
const held = new Set<HttpResponse>()
const polls = new Set<HttpResponse>()
function onAborted (this: unknown): void { /* the client left: nothing to write to */ }
const kTopic = 'fanout'

function openStream (res: HttpResponse): void {
  sse++
  held.add(res)
  res.onAborted(() => { held.delete(res) })
  res.cork(() => { res.writeStatus('200 OK').writeHeader('Content-Type', 'text/event-stream').writeHeader('Cache-Control', 'no-cache').write(kHi) })
}

interface PublishFormats {
  'http-response'?: { body?: string }
  'http-stream'?: { content?: string }
  'ws-message'?: { content?: string }
}

/** One Pushpin item to every subscriber of its kind (all subscribe to the one topic). */
function publish (formats: PublishFormats): void {
  const body = formats['http-response']?.body
  if (body !== undefined) {
    const answered = [...polls]
    polls.clear()
    for (const res of answered) res.cork(() => { res.writeStatus('200 OK').writeHeader('Content-Type', 'text/plain').end(body) })
  }
  const content = formats['http-stream']?.content
  if (content !== undefined) for (const res of held) res.cork(() => { res.write(content) })
  const message = formats['ws-message']?.content
  if (message !== undefined) app.publish(kTopic, message, false)
}

const app = uws.App()
app.get('/sse', openStream)
app.get('/fanout/sse', openStream)
app.get('/fanout/lp', (res) => {
  longPolls++
  polls.add(res)
  res.onAborted(() => { polls.delete(res) })
})
app.post('/publish/', (res) => {
  const chunks: Buffer[] = []
  res.onAborted(onAborted)
  res.onData((chunk, last) => {
    chunks.push(Buffer.from(chunk.slice(0)))
    if (!last) return
    let items: Array<{ formats: PublishFormats }>
    try {
      items = (JSON.parse(Buffer.concat(chunks).toString()) as { items: Array<{ formats: PublishFormats }> }).items
    } catch (err) {
      res.cork(() => { res.writeStatus('400 Bad Request').end(`${(err as Error).message}\n`) })
      return
    }
    res.cork(() => { res.writeStatus('200 OK').end('Published\n') })
    // Out of this request's callback: corking thousands of other responses from inside it
    // was measured 5-15x slower (long-polls at 10,000).
    setImmediate(() => { for (const item of items) publish(item.formats) })
  })
})
app.ws<{ headers: Record<string, string>; url: string }>('/*', {
  idleTimeout: 0,
  maxPayloadLength: 256 * 1024,
  upgrade (res, req, context) {
    res.onAborted(onAborted)
    const headers: Record<string, string> = {}
    req.forEach((k, v) => { headers[k] = v })
    res.upgrade({ headers, url: req.getUrl() }, req.getHeader('sec-websocket-key'), req.getHeader('sec-websocket-protocol'),
      req.getHeader('sec-websocket-extensions'), context)
  },
  open (ws) {
    sockets++
    if (ws.getUserData().url.startsWith('/fanout/')) ws.subscribe(kTopic)
  },
  message (ws, message, isBinary) { ws.send(message, isBinary) }
})

reportCounts(kCountFile, () => `${sse} ${sockets} 0 0 ${longPolls}\n`)

;(app as unknown as ListenableApp).listen('127.0.0.1', kPort, uws.LIBUS_LISTEN_EXCLUSIVE_PORT, (ls) => {
  if (ls === false) {
    process.stderr.write(`uws-hold: cannot listen on 127.0.0.1:${kPort}\n`)
    process.exit(1)
  }
  process.stdout.write(`uws-hold: listening on 127.0.0.1:${kPort} pid ${process.pid}\n`)
  const drain = (): void => {
    uws.us_listen_socket_close(ls)
    ;(app as unknown as ListenableApp).close()
  }
  process.once('SIGINT', drain)
  process.once('SIGTERM', drain)
})
