/**
 * A Mongrel2-protocol handler for the push benchmark (perf/push.ts), the same process for
 * Switchboard's broker and for Mongrel2 1.12 (MONGREL2.md §2.5, §3): PULL connects to
 * send_spec, PUB connects to recv_spec, JSON headers.
 *
 * - `GET /sse…`: answers a chunked `text/event-stream` head with one comment event, and
 *   keeps the stream (sends nothing more): an idle SSE stream held by the server.
 * - `WEBSOCKET_HANDSHAKE`: answers its own `101 Switching Protocols` with the accept value
 *   it got as body, and keeps the socket.
 * - `WEBSOCKET`: text and binary messages are echoed as one unmasked frame; a close is
 *   answered with a close frame and an empty reply (which closes).
 * - `JSON` (disconnect notices): counted, never answered. Anything else: 404.
 *
 * With env `PUSH_COUNT_FILE=<path>` it writes `<sse heads> <handshakes> <echoes> <notices>`
 * there when the counts change (at most every 200 ms).
 *
 * Usage: `node --import tsx perf/handlers/m2-push.ts <send_spec> <recv_spec>`
 */
import { reportCounts } from '../lib/count-file.js'
import { connectM2, serveM2 } from './m2-sockets.js'

const kSendSpec = process.argv[2] ?? 'tcp://127.0.0.1:9997'
const kRecvSpec = process.argv[3] ?? 'tcp://127.0.0.1:9996'
const kCountFile = process.env.PUSH_COUNT_FILE

const kSseHead = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nCache-Control: no-cache\r\n' +
  'Transfer-Encoding: chunked\r\n\r\n6\r\n: hi\n\n\r\n')
const kWsHead = Buffer.from('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ')
const kCrLf2 = Buffer.from('\r\n\r\n')
const kNotFound = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 10\r\n\r\nnot found\n')
const kEmpty = Buffer.alloc(0)
const kClose = 0x8

let sse = 0
let handshakes = 0
let echoes = 0
let notices = 0

/** A server frame (unmasked, FIN) of `opcode` around `payload`. */
function frame (opcode: number, payload: Buffer): Buffer {
  const n = payload.length
  const headLen = n < 126 ? 2 : n < 65536 ? 4 : 10
  const out = Buffer.allocUnsafe(headLen + n)
  out[0] = 0x80 | opcode
  if (n < 126) out[1] = n
  else if (n < 65536) { out[1] = 126; out.writeUInt16BE(n, 2) } else { out[1] = 127; out.writeBigUInt64BE(BigInt(n), 2) }
  payload.copy(out, headLen)
  return out
}

/** `LEN:` netstring length before offset `at`, and where its data starts. */
function netstring (msg: Buffer, at: number): { start: number; end: number } {
  const colon = msg.indexOf(0x3a, at)
  const len = Number(msg.toString('latin1', at, colon))
  return { start: colon + 1, end: colon + 1 + len }
}

/** The replies for one request: SENDER SP ID SP PATH SP LEN:HEADERS,LEN:BODY, */
function repliesFor (msg: Buffer): Buffer[] {
  const sp1 = msg.indexOf(0x20)
  const sp2 = msg.indexOf(0x20, sp1 + 1)
  const sp3 = msg.indexOf(0x20, sp2 + 1)
  if (sp1 <= 0 || sp2 <= sp1 || sp3 <= sp2) return []
  const h = netstring(msg, sp3 + 1)
  const b = netstring(msg, h.end + 1)
  const headers = JSON.parse(msg.toString('utf8', h.start, h.end)) as Record<string, string>
  const body = msg.subarray(b.start, b.end)
  const to = Buffer.concat([msg.subarray(0, sp1 + 1), Buffer.from(`${sp2 - sp1 - 1}:`), msg.subarray(sp1 + 1, sp2), Buffer.from(', ')])
  switch (headers.METHOD) {
    case 'JSON':
      notices++
      return []
    case 'WEBSOCKET_HANDSHAKE':
      handshakes++
      return [Buffer.concat([to, kWsHead, body, kCrLf2])]
    case 'WEBSOCKET': {
      const opcode = Number(headers.FLAGS) & 0x0f
      if (opcode === kClose) return [Buffer.concat([to, frame(kClose, body.subarray(0, 2))]), Buffer.concat([to, kEmpty])]
      if (opcode !== 0x1 && opcode !== 0x2) return []
      echoes++
      return [Buffer.concat([to, frame(opcode, body)])]
    }
    default:
      if (msg.toString('latin1', sp2 + 1, sp3).startsWith('/sse')) {
        sse++
        return [Buffer.concat([to, kSseHead])]
      }
      return [Buffer.concat([to, kNotFound])]
  }
}

const writeCounts = reportCounts(kCountFile, () => `${sse} ${handshakes} ${echoes} ${notices}\n`)

const sockets = await connectM2('m2-push', kSendSpec, kRecvSpec)

function shutdown (): void {
  writeCounts()
  process.stderr.write(`m2-push: sse=${sse} handshakes=${handshakes} echoes=${echoes} notices=${notices}\n`)
  sockets.pull.close()
  sockets.pub.close()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

await serveM2(sockets, repliesFor)
