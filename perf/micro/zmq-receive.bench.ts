/**
 * Micro benchmark of the two ways to read a zeromq.js socket: the receiving process's CPU
 * (all its threads: JS and libzmq's I/O thread) per 100-byte message (the size of a
 * Mongrel2 handler's hello reply), with a PUSH in a child process sending over ipc as fast
 * as it can. Cases alternate for ROUNDS rounds; the median is reported.
 *   - for await: zeromq.js's async iterator, an async call and a result object per message;
 *   - receive() loop: `await sock.receive()` directly, as the acceptor and the host read.
 *   node --import tsx perf/micro/zmq-receive.bench.ts
 * Knobs: MESSAGES (default 100000 per case and round), ROUNDS (default 5).
 */
import { fork } from 'node:child_process'
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import * as zmq from 'zeromq'
import { immediateSends, sendNow } from '../../shared/zmq-io.js'
import { makeTempDir, removeTempDir } from '../lib/proc.js'
import { median } from '../lib/stats.js'

const kMessages = Number(process.env.MESSAGES ?? 100_000)
const kRounds = Number(process.env.ROUNDS ?? 5)
const kMsg = Buffer.alloc(100, 0x61)

if (process.argv[2] === 'feed') {
  // The peer: sends kMessages each time it is told to.
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 100_000 })
  immediateSends(push)
  push.connect(process.argv[3]!)
  process.on('message', () => {
    void (async () => { for (let i = 0; i < kMessages; i++) await sendNow(push, kMsg) })()
  })
  process.send!('ready')
} else {
  await main()
}

async function main (): Promise<void> {
  const dir = makeTempDir('swb-zmq-receive-bench-')
  const endpoint = `ipc://${dir}/pull`
  const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 100_000 })
  await pull.bind(endpoint)
  const child = fork(fileURLToPath(import.meta.url), ['feed', endpoint], { execArgv: ['--import', 'tsx'] })
  await new Promise((resolve) => child.once('message', resolve))
  await new Promise((resolve) => setTimeout(resolve, 300))

  // Each case times from its first message to its last, so the feeder's start-up is not counted.
  let cpu0 = process.cpuUsage()
  const cases: Array<{ name: string, run: () => Promise<void> }> = [
    {
      name: 'for await (async iterator)',
      run: async () => {
        let n = 0
        for await (const frames of pull) {
          if (n === 0) cpu0 = process.cpuUsage()
          n += frames.length
          if (n >= kMessages) break
        }
      }
    },
    {
      name: 'receive() loop',
      run: async () => {
        let n = 0
        while (n < kMessages) {
          const frames = await pull.receive()
          if (n === 0) cpu0 = process.cpuUsage()
          n += frames.length
        }
      }
    }
  ]
  const results = new Map<string, number[]>(cases.map((c) => [c.name, []]))
  for (let round = 0; round < kRounds; round++) {
    for (const c of cases) {
      child.send('go')
      await c.run()
      const cpu = process.cpuUsage(cpu0)
      results.get(c.name)!.push((cpu.user + cpu.system) / (kMessages - 1))
    }
  }
  pull.close()
  child.kill()
  removeTempDir(dir)

  process.stdout.write(`zeromq.js receives, ${os.cpus().length} cores, node ${process.version}: receiver CPU per 100-byte message (median of ${kRounds})\n`)
  const base = median(results.get(cases[0]!.name)!)
  for (const c of cases) {
    const m = median(results.get(c.name)!)
    process.stdout.write(`  ${c.name.padEnd(30)} ${m.toFixed(2).padStart(6)} µs   ${(base / m).toFixed(2)}× for await\n`)
  }
}
