/**
 * Raw uWS.js holding idle connections, the baseline of perf/push.ts: `GET /sse…` gets a
 * chunked `text/event-stream` head and one comment event and is kept open; a WebSocket
 * upgrade is accepted (its request headers kept in the socket's user data, as a Mongrel2
 * front end must keep them to repeat them) and kept, with no idle timeout.
 * With env `PUSH_COUNT_FILE=<path>` it writes `<sse> <websockets> 0 0` there when the
 * counts change (the format of perf/handlers/m2-push.ts).
 *
 * Usage: `node --import tsx perf/servers/uws-hold.ts <port>`
 */
import { writeFileSync } from 'node:fs'
import { uws } from '../../shared/uws.js'
import type { ListenableApp } from '../../shared/uws.js'

const kPort = Number(process.argv[2] ?? process.env.PORT ?? 3000)
const kCountFile = process.env.PUSH_COUNT_FILE
const kHi = ': hi\n\n'

let sse = 0
let sockets = 0
const held = new Set<unknown>()
function onAborted (this: unknown): void { /* the client left: nothing to write to */ }

const app = uws.App()
app.get('/sse', (res) => {
  sse++
  held.add(res)
  res.onAborted(() => { held.delete(res) })
  res.cork(() => { res.writeStatus('200 OK').writeHeader('Content-Type', 'text/event-stream').writeHeader('Cache-Control', 'no-cache').write(kHi) })
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
  open () { sockets++ },
  message (ws, message, isBinary) { ws.send(message, isBinary) }
})

let written = ''
if (kCountFile !== undefined && kCountFile !== '') {
  setInterval(() => {
    const line = `${sse} ${sockets} 0 0\n`
    if (line === written) return
    written = line
    writeFileSync(kCountFile, line)
  }, 200).unref()
}

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
