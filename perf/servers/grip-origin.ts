/**
 * Pushpin's origin in the fan-out benchmark (perf/fanout.ts, perf/contenders/pushpin.ts): a
 * `node:http` server answering every subscribe request with GRIP, as perf/handlers/m2-grip.ts
 * does for Switchboard, on the channel `fanout`:
 *
 * - `GET /fanout/lp`: `Grip-Hold: response` (body `timeout`, Grip-Timeout 3600 s).
 * - `GET /fanout/sse`: `Grip-Hold: stream`, `text/event-stream`, first bytes `: hi`.
 * - `POST /fanout/ws` (Pushpin's WebSocket-over-HTTP, route option `over_http`): the `OPEN`
 *   event is answered with `OPEN` and the control message
 *   `c:{"type":"subscribe","channel":"fanout"}`; other events get an empty answer.
 *
 * With env `FANOUT_COUNT_FILE=<path>` it writes `<long-polls> <streams> <websockets> 0`
 * answered so far there when the counts change (the format of m2-grip.ts).
 *
 * Usage: `node --import tsx perf/servers/grip-origin.ts <port>`
 */
import { reportCounts } from '../lib/count-file.js'
import { createServer } from 'node:http'

const kPort = Number(process.argv[2] ?? 0)
const kCountFile = process.env.FANOUT_COUNT_FILE
const kChannel = 'fanout'
const kControl = `c:${JSON.stringify({ type: 'subscribe', channel: kChannel })}`
const kOpened = `OPEN\r\nTEXT ${Buffer.byteLength(kControl).toString(16)}\r\n${kControl}\r\n`

let longPolls = 0
let streams = 0
let websockets = 0

const server = createServer((req, res) => {
  const chunks: Buffer[] = []
  req.on('data', (c: Buffer) => chunks.push(c))
  req.on('end', () => {
    const path = (req.url ?? '').split('?')[0]
    if (path === '/fanout/lp') {
      longPolls++
      res.writeHead(200, { 'Content-Type': 'text/plain', 'Grip-Hold': 'response', 'Grip-Channel': kChannel, 'Grip-Timeout': '3600' })
      res.end('timeout\n')
    } else if (path === '/fanout/sse') {
      streams++
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache', 'Grip-Hold': 'stream', 'Grip-Channel': kChannel })
      res.end(': hi\n\n')
    } else if (path === '/fanout/ws' && req.method === 'POST') {
      const opening = Buffer.concat(chunks).toString('latin1').startsWith('OPEN')
      if (opening) websockets++
      res.writeHead(200, { 'Content-Type': 'application/websocket-events', 'Sec-WebSocket-Extensions': 'grip' })
      res.end(opening ? kOpened : '')
    } else {
      res.writeHead(404, { 'Content-Type': 'text/plain' })
      res.end('not found\n')
    }
  })
})

reportCounts(kCountFile, () => `${longPolls} ${streams} ${websockets} 0\n`)

server.keepAliveTimeout = 60_000
// Pushpin's zurl opens many origin connections at once when subscribers arrive in a burst:
// a deep accept queue, or the kernel refuses some and Pushpin answers them 502.
server.listen({ port: kPort, host: '127.0.0.1', backlog: 4096 }, () => {
  process.stdout.write(`grip-origin: listening on 127.0.0.1:${kPort} pid ${process.pid}\n`)
})
process.once('SIGTERM', () => { server.close(); server.closeAllConnections() })
process.once('SIGINT', () => { server.close(); server.closeAllConnections() })
