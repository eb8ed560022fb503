/**
 * A Mongrel2-protocol hello handler, the same code for Mongrel2 (contender 3) and for
 * Switchboard's broker (contender 4): PULL connects to send_spec, PUB connects to recv_spec,
 * and every request gets exactly one reply, one ZeroMQ message each way (MONGREL2.md §1–3).
 *
 *   request:  SENDER SP CONN_ID SP PATH SP LEN:HEADERS, LEN:BODY,
 *   reply:    SENDER SP LEN:CONN_ID, SP HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello World\n
 *
 * Parsing is minimal on purpose (a benchmark handler, not a library): the first two
 * space-separated tokens are the sender and the id; only messages whose PATH starts with
 * `@` can be control or JSON-socket messages, and those with METHOD JSON (disconnect,
 * credits) are never answered.
 *
 * Usage: `node --import tsx perf/handlers/m2-hello.ts [send_spec] [recv_spec]`
 * or env M2_SEND_SPEC / M2_RECV_SPEC; defaults: the demo service, tcp://127.0.0.1:9997 / 9996.
 *
 * Held-connections mode (perf/held.ts): with env `HOLD=1` it answers nothing, so every
 * request stays held in the server in front; with `HOLD_COUNT_FILE=<path>` it writes
 * `<requests> <json messages>` there when the counts change (at most every 200 ms), so the
 * benchmark knows when all N have arrived.
 */
import { reportCounts } from '../lib/count-file.js'
import { connectM2, serveM2 } from './m2-sockets.js'

const kSendSpec = process.argv[2] ?? process.env.M2_SEND_SPEC ?? 'tcp://127.0.0.1:9997'
const kRecvSpec = process.argv[3] ?? process.env.M2_RECV_SPEC ?? 'tcp://127.0.0.1:9996'

const kSpace = 0x20
const kAt = 0x40
const kColon = 0x3a
// `, ` closes the id netstring; the rest is the raw HTTP response Mongrel2 writes verbatim.
const kTail = Buffer.from(', HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello World\n')
// METHOD JSON as it appears in JSON headers and in tnetstring headers.
const kJsonMethodJson = Buffer.from('"METHOD":"JSON"')
const kTnetMethodJson = Buffer.from('6:METHOD,4:JSON,')
// `LEN:` prefixes for ids of 1..20 digits (a uint32 id has at most 10).
const kLenPrefix: Buffer[] = []
for (let n = 0; n <= 20; n++) kLenPrefix.push(Buffer.from(`${n}:`))

const kHold = process.env.HOLD === '1'
const kCountFile = process.env.HOLD_COUNT_FILE
let requests = 0
let answered = 0
let skipped = 0
let malformed = 0

/** The reply for `msg`, or null if it must not be answered. */
function replyFor (msg: Buffer): Buffer | null {
  const sp1 = msg.indexOf(kSpace)
  const sp2 = sp1 > 0 ? msg.indexOf(kSpace, sp1 + 1) : -1
  const idLen = sp2 - sp1 - 1
  if (sp1 <= 0 || idLen <= 0 || idLen > 20) { malformed++; return null }
  if (msg[sp2 + 1] === kAt && isMethodJson(msg, sp2 + 1)) { skipped++; return null }
  requests++
  if (kHold) return null
  const prefix = kLenPrefix[idLen] as Buffer
  const out = Buffer.allocUnsafe(sp1 + 1 + prefix.length + idLen + kTail.length)
  let at = msg.copy(out, 0, 0, sp1 + 1) // "SENDER "
  at += prefix.copy(out, at)
  at += msg.copy(out, at, sp1 + 1, sp2) // id
  kTail.copy(out, at)
  answered++
  return out
}

/** Looks for METHOD JSON inside the headers netstring that follows the PATH at `pathAt`. */
function isMethodJson (msg: Buffer, pathAt: number): boolean {
  const sp3 = msg.indexOf(kSpace, pathAt)
  const colon = sp3 > 0 ? msg.indexOf(kColon, sp3 + 1) : -1
  if (colon < 0) return false
  const len = Number(msg.toString('latin1', sp3 + 1, colon))
  if (!Number.isInteger(len) || len < 0) return false
  const headers = msg.subarray(colon + 1, colon + 1 + len)
  return headers.indexOf(kJsonMethodJson) >= 0 || headers.indexOf(kTnetMethodJson) >= 0
}

const writeCounts = reportCounts(kCountFile, () => `${requests} ${skipped}\n`)

const sockets = await connectM2('m2-hello', kSendSpec, kRecvSpec)

function shutdown (): void {
  writeCounts()
  process.stderr.write(`m2-hello: requests=${requests} answered=${answered} skipped=${skipped} malformed=${malformed}\n`)
  sockets.pull.close()
  sockets.pub.close()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

await serveM2(sockets, replyFor)
