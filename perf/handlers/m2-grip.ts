/**
 * The Switchboard handler of the fan-out benchmark (perf/fanout.ts): a Mongrel2-protocol
 * handler (raw bytes over ZeroMQ, as any language would write it) that puts every
 * subscriber on the channel `fanout` with Pushpin's GRIP, so the acceptor holds it and a
 * publish reaches it without the handler:
 *
 * - `GET /fanout/lp`: `Grip-Hold: response` (a long-poll; on timeout the client would get
 *   this response's `timeout` body; Grip-Timeout 3600 s, longer than any run).
 * - `GET /fanout/sse`: `Grip-Hold: stream`, a `text/event-stream` head and a `: hi` comment
 *   as the stream's first bytes.
 * - `WEBSOCKET_HANDSHAKE`: its `101`, then the `X` reply `["subscribe", {"channel": "fanout"}]`.
 * - `JSON` (disconnect notices): counted. Anything else: 404.
 *
 * With env `FANOUT_COUNT_FILE=<path>` it writes `<long-polls> <streams> <websockets> <notices>`
 * held so far there when the counts change (at most every 200 ms).
 *
 * Usage: `node --import tsx perf/handlers/m2-grip.ts <send_spec> <recv_spec>`
 */
import { reportCounts } from '../lib/count-file.js'
import { decodeRequest } from '../../shared/protocol/request.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import { encode as tnetstring } from '../../shared/protocol/tnetstring.js'
import { connectM2, serveM2 } from './m2-sockets.js'

const kSendSpec = process.argv[2] ?? 'tcp://127.0.0.1:9997'
const kRecvSpec = process.argv[3] ?? 'tcp://127.0.0.1:9996'
const kCountFile = process.env.FANOUT_COUNT_FILE
const kChannel = 'fanout'

const kLongPoll = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n' +
  `Grip-Hold: response\r\nGrip-Channel: ${kChannel}\r\nGrip-Timeout: 3600\r\n\r\ntimeout\n`)
const kStream = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\nContent-Length: 6\r\n' +
  `Grip-Hold: stream\r\nGrip-Channel: ${kChannel}\r\n\r\n: hi\n\n`)
const kWsHead = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ')
const kCrLf2 = Buffer.from('\r\n\r\n')
const kSubscribe = tnetstring(['subscribe', { channel: kChannel }])
const kNotFound = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n')

let longPolls = 0
let streams = 0
let websockets = 0
let notices = 0

function repliesFor (msg: Buffer): Buffer[] {
  const req = decodeRequest(msg)
  const reply = (body: Buffer, extended = false): Buffer => encodeReply(req.sender, [req.id], body, extended)
  switch (req.headers.METHOD) {
    case 'JSON':
      notices++
      return []
    case 'WEBSOCKET_HANDSHAKE':
      websockets++
      return [reply(Buffer.concat([kWsHead, req.body, kCrLf2])), reply(kSubscribe, true)]
    case 'WEBSOCKET':
      return [] // clients send nothing; a close frame ends as a disconnect notice
    default:
      if (req.path === '/fanout/lp') { longPolls++; return [reply(kLongPoll)] }
      if (req.path === '/fanout/sse') { streams++; return [reply(kStream)] }
      return [reply(kNotFound)]
  }
}

const writeCounts = reportCounts(kCountFile, () => `${longPolls} ${streams} ${websockets} ${notices}\n`)

const sockets = await connectM2('m2-grip', kSendSpec, kRecvSpec)

function shutdown (): void {
  writeCounts()
  process.stderr.write(`m2-grip: long-polls=${longPolls} streams=${streams} websockets=${websockets} notices=${notices}\n`)
  sockets.pull.close()
  sockets.pub.close()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

await serveM2(sockets, repliesFor)
