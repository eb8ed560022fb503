/**
 * The echo client of perf/push.ts, one child process: `conns` WebSockets (the `ws`
 * package) to ws://127.0.0.1:`port``path`, each sending a 32-byte text message as soon as
 * the previous one came back, for `seconds` after a 1 s warm-up. Prints one JSON line:
 * `{ opened, messages, seconds, errors, firstError, bad }` (messages echoed in the timed
 * window; `bad` = echoes that differ from what was sent).
 *
 * argv: port conns seconds path
 */
import WebSocket from 'ws'

const [port, conns, seconds] = process.argv.slice(2, 5).map(Number) as [number, number, number]
const kPath = process.argv[5] ?? '/ws'
const kMsg = 'echo-0123456789abcdef0123456789a'
const kWarmupMs = 1000
const kOpenTimeoutMs = 20_000

let opened = 0
let counting = false
let messages = 0
let bad = 0
let errors = 0
let firstError = ''
const sockets: WebSocket[] = []

function onError (err: Error): void {
  errors++
  if (firstError === '') firstError = err.message
}

await new Promise<void>((resolveOpen, rejectOpen) => {
  const timer = setTimeout(() => { rejectOpen(new Error(`only ${opened}/${conns} WebSockets opened in ${kOpenTimeoutMs} ms (${firstError})`)) }, kOpenTimeoutMs)
  for (let i = 0; i < conns; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${kPath}`, { perMessageDeflate: false })
    ws.on('error', onError)
    ws.on('unexpected-response', (_req, res) => { onError(new Error(`handshake answered ${res.statusCode}`)) })
    ws.once('open', () => {
      if (++opened === conns) { clearTimeout(timer); resolveOpen() }
    })
    ws.on('message', (data: Buffer) => {
      if (counting) {
        messages++
        if (data.length !== kMsg.length) bad++
      }
      ws.send(kMsg)
    })
    sockets.push(ws)
  }
}).catch((err: Error) => {
  process.stdout.write(`${JSON.stringify({ opened, messages: 0, seconds: 0, errors, firstError: err.message, bad })}\n`)
  for (const ws of sockets) ws.terminate()
  process.exit(1)
})

for (const ws of sockets) ws.send(kMsg)
await new Promise((resolveWait) => { setTimeout(resolveWait, kWarmupMs) })
counting = true
const t0 = performance.now()
await new Promise((resolveWait) => { setTimeout(resolveWait, seconds * 1000) })
counting = false
const elapsed = (performance.now() - t0) / 1000
process.stdout.write(`${JSON.stringify({ opened, messages, seconds: elapsed, errors, firstError, bad })}\n`)
for (const ws of sockets) ws.terminate()
process.exit(0)
