/**
 * Micro benchmark of the ways Switchboard hands messages to zeromq.js: the sending
 * process's CPU (all its threads: JS and libzmq's I/O thread) per 300-byte request, with a
 * PULL in a child process draining over ipc. Cases alternate for ROUNDS rounds; the
 * median is reported.
 *   - send(): zeromq.js's default, a ZMQ_EVENTS readiness check (getsockopt) per send;
 *   - sendNow(): send timeout 0, waiting only on EAGAIN (shared/zmq-io.ts);
 *   - 32 as multipart parts: one message of 32 frames (zeromq.js's cost is per frame);
 *   - 32 in a batch frame: encodeRequestBatch (its copy counted), one frame per 32 requests.
 *   node --import tsx perf/micro/zmq-send.bench.ts
 * Knobs: MESSAGES (default 100000 requests per case and round), ROUNDS (default 5).
 */
import { fork } from 'node:child_process'
import os from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as zmq from 'zeromq'
import { encodeRequestBatch } from '../../shared/protocol/batch.js'
import { immediateSends, sendNow } from '../../shared/zmq-io.js'
import { makeTempDir, removeTempDir } from '../lib/proc.js'
import { median } from '../lib/stats.js'

const kMessages = Number(process.env.MESSAGES ?? 100_000)
const kRounds = Number(process.env.ROUNDS ?? 5)
const kBatch = 32
const kMsg = Buffer.alloc(300, 0x61)

if (process.argv[2] === 'drain') {
  // The peer: counts requests (a batch frame counts as kBatch) and reports each case's end.
  const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 100_000 })
  await pull.bind(process.argv[3]!)
  process.send!('ready')
  let count = 0
  for await (const frames of pull) {
    for (const f of frames) count += f.length === kMsg.length ? 1 : kBatch
    if (count >= kMessages) {
      count = 0
      process.send!('done')
    }
  }
} else {
  await main()
}

async function main (): Promise<void> {
  const dir = makeTempDir('swb-zmq-send-bench-')
  const endpoint = `ipc://${join(dir, 'pull')}`
  const child = fork(fileURLToPath(import.meta.url), ['drain', endpoint], { execArgv: ['--import', 'tsx'] })
  const next = (): Promise<unknown> => new Promise((resolve) => child.once('message', resolve))
  await next()
  const plain = new zmq.Push({ linger: 0, sendHighWaterMark: 100_000 })
  const now = new zmq.Push({ linger: 0, sendHighWaterMark: 100_000 })
  plain.connect(endpoint)
  now.connect(endpoint)
  immediateSends(now)
  await new Promise((resolve) => setTimeout(resolve, 300))

  const batch = Array.from({ length: kBatch }, () => kMsg)
  const cases: Array<{ name: string, run: () => Promise<void> }> = [
    { name: 'send() per request', run: async () => { for (let i = 0; i < kMessages; i++) await plain.send(kMsg) } },
    { name: 'sendNow() per request', run: async () => { for (let i = 0; i < kMessages; i++) await sendNow(now, kMsg) } },
    { name: `${kBatch} as multipart parts, sendNow()`, run: async () => { for (let i = 0; i < kMessages; i += kBatch) await sendNow(now, batch) } },
    { name: `${kBatch} in one batch frame, sendNow()`, run: async () => { for (let i = 0; i < kMessages; i += kBatch) await sendNow(now, encodeRequestBatch(batch, 0, kBatch)) } }
  ]
  const results = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  for (let round = 0; round < kRounds; round++) {
    for (const c of cases) {
      const done = next()
      const cpu0 = process.cpuUsage()
      await c.run()
      const cpu = process.cpuUsage(cpu0)
      await done
      results.get(c.name)!.push((cpu.user + cpu.system) / kMessages)
    }
  }
  plain.close()
  now.close()
  child.kill()
  removeTempDir(dir)

  process.stdout.write(`zeromq.js sends, ${os.cpus().length} cores, node ${process.version}: sender CPU per 300-byte request (median of ${kRounds})\n`)
  const base = median(results.get(cases[0]!.name)!)
  for (const c of cases) {
    const m = median(results.get(c.name)!)
    process.stdout.write(`  ${c.name.padEnd(40)} ${m.toFixed(2).padStart(6)} µs   ${(base / m).toFixed(2)}× send()\n`)
  }
}
