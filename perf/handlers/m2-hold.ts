/**
 * The Mongrel2-protocol handler of the held-connections benchmark (perf/held.ts): a copy
 * of m2-hello.ts with a hold mode. With env `HOLD=1` it answers nothing, so every request
 * stays held in the server in front (Mongrel2 or Switchboard), a long-poll nobody answers.
 * Without it, it answers `Hello World\n` like m2-hello.
 *
 * With env HOLD_COUNT_FILE set, it writes `<requests> <json messages>` there whenever the
 * counts changed (at most every 200 ms), so the benchmark knows when all N have arrived;
 * JSON messages are Mongrel2's disconnect notices.
 *
 * Usage: `HOLD=1 node --import tsx perf/handlers/m2-hold.ts <send_spec> <recv_spec>`
 * (or env M2_SEND_SPEC / M2_RECV_SPEC).
 */
import { writeFileSync } from 'node:fs'
import { Publisher, Pull } from 'zeromq'

const kSendSpec = process.argv[2] ?? process.env.M2_SEND_SPEC ?? 'tcp://127.0.0.1:9997'
const kRecvSpec = process.argv[3] ?? process.env.M2_RECV_SPEC ?? 'tcp://127.0.0.1:9996'
const kHold = process.env.HOLD === '1'
const kCountFile = process.env.HOLD_COUNT_FILE
const kFlushMs = 200

const kSpace = 0x20
const kAt = 0x40
const kColon = 0x3a
// `, ` closes the id netstring; the rest is the raw HTTP response the server writes verbatim.
const kTail = Buffer.from(', HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nHello World\n')
const kJsonMethodJson = Buffer.from('"METHOD":"JSON"')
const kTnetMethodJson = Buffer.from('6:METHOD,4:JSON,')
const kLenPrefix: Buffer[] = []
for (let n = 0; n <= 20; n++) kLenPrefix.push(Buffer.from(`${n}:`))

let requests = 0
let jsonMessages = 0
let malformed = 0

/** Counts `msg`; returns the hello reply, or null when it must not (or, holding, will not) be answered. */
function handle (msg: Buffer): Buffer | null {
  const sp1 = msg.indexOf(kSpace)
  const sp2 = sp1 > 0 ? msg.indexOf(kSpace, sp1 + 1) : -1
  const idLen = sp2 - sp1 - 1
  if (sp1 <= 0 || idLen <= 0 || idLen > 20) { malformed++; return null }
  if (msg[sp2 + 1] === kAt && isMethodJson(msg, sp2 + 1)) { jsonMessages++; return null }
  requests++
  if (kHold) return null
  const prefix = kLenPrefix[idLen] as Buffer
  const out = Buffer.allocUnsafe(sp1 + 1 + prefix.length + idLen + kTail.length)
  let at = msg.copy(out, 0, 0, sp1 + 1)
  at += prefix.copy(out, at)
  at += msg.copy(out, at, sp1 + 1, sp2)
  kTail.copy(out, at)
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

let written = ''
function writeCounts (): void {
  if (kCountFile === undefined || kCountFile === '') return
  const line = `${requests} ${jsonMessages}\n`
  if (line === written) return
  written = line
  writeFileSync(kCountFile, line)
}
setInterval(writeCounts, kFlushMs).unref()

/** PUB first and wait for its handshake (slow joiner), then PULL: see m2-hello.ts. */
async function whenPubReady (sock: Publisher): Promise<void> {
  const events = sock.events
  for (;;) {
    const ev = await events.receive()
    if (ev.type === 'handshake') break
  }
  events.close()
  await new Promise((resolveWait) => { setTimeout(resolveWait, 50) })
}

const pull = new Pull({ linger: 0 })
const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 })
const ready = whenPubReady(pub)
pub.connect(kRecvSpec)
await ready
pull.connect(kSendSpec)
process.stderr.write(`m2-hold: pid ${process.pid} hold=${kHold} PULL ${kSendSpec} PUB ${kRecvSpec}\n`)

function shutdown (): void {
  writeCounts()
  process.stderr.write(`m2-hold: requests=${requests} json=${jsonMessages} malformed=${malformed}\n`)
  pull.close()
  pub.close()
}
process.once('SIGTERM', shutdown)
process.once('SIGINT', shutdown)

try {
  for await (const [msg] of pull) {
    if (msg === undefined) continue
    const reply = handle(msg)
    if (reply !== null) await pub.send(reply)
  }
} catch (err) {
  if (!pull.closed) throw err
}
