/**
 * Micro benchmark of the handler host's run path (workers/handler): batches of 32 Mongrel2
 * requests through a Runner inline (threads: 0), with a synchronous and an async hello app,
 * and through a piscina pool of 2 workers with each `atomics` mode that keeps a worker's
 * timers running between tasks ('async', the host's choice, and 'disabled').
 * CPU is the process's (all threads), per request; wall time per request beside it.
 *   node --import tsx perf/micro/handler-run.bench.ts
 * Knobs: BATCHES (default 20000 inline, a fifth of it for the pool), ROUNDS (default 3; the best round is reported).
 */
import os from 'node:os'
import { fileURLToPath } from 'node:url'
import { Piscina } from 'piscina'
import { encodeRequest } from '../../shared/protocol/request.js'
import { pack, unpack } from '../../workers/handler/frames.js'
import { Outbox, Runner, loadApp } from '../../workers/handler/runner.js'
import type { HeldResult, TaskWorkerData } from '../../workers/handler/task.js'

const kBatches = Number(process.env.BATCHES ?? 20_000)
const kRounds = Number(process.env.ROUNDS ?? 3)
const kBatch = 32
const kConcurrency = 4
const kApp = 'perf/apps/hello.ts'
const kTask = fileURLToPath(new URL('../../workers/handler/task.ts', import.meta.url))

const sender = Buffer.from('54c6755b-9628-40a4-9a2d-cc82a816345e')
const headers = { PATH: '/', METHOD: 'GET', VERSION: 'HTTP/1.1', URI: '/', host: '127.0.0.1:8080', 'user-agent': 'wrk' }
const batches = Array.from({ length: 64 }, (_, b) => Array.from({ length: kBatch }, (_, i) =>
  encodeRequest(sender, b * kBatch + i + 1, '/', headers, Buffer.alloc(0), 'json')))

async function measure (name: string, batchCount: number, run: (batch: Buffer[]) => Promise<void>): Promise<void> {
  let next = 0
  const drive = async (n: number) => {
    next = 0
    await Promise.all(Array.from({ length: kConcurrency }, async () => { while (next < n) await run(batches[(next++) % batches.length]!) }))
  }
  await drive(Math.max(100, batchCount / 10)) // warm-up
  let best = { cpu: Infinity, wall: Infinity }
  for (let r = 0; r < kRounds; r++) {
    const c0 = process.cpuUsage()
    const w0 = performance.now()
    await drive(batchCount)
    const c = process.cpuUsage(c0)
    const reqs = batchCount * kBatch
    const cpu = (c.user + c.system) / reqs
    if (cpu < best.cpu) best = { cpu, wall: (performance.now() - w0) * 1000 / reqs }
  }
  console.log(`${name.padEnd(34)} ${best.cpu.toFixed(2).padStart(6)} µs CPU/req  ${best.wall.toFixed(2).padStart(6)} µs wall/req`)
}

console.log(`node ${process.version}, ${os.cpus().length} cores, batches of ${kBatch}, ${kConcurrency} in flight, best of ${kRounds}`)
const hello = await loadApp(kApp)
for (const [name, app] of [['inline, sync hello', hello], ['inline, async hello', { handler: async () => 'Hello World\n', onDisconnect: null }]] as const) {
  const runner = new Runner(app, 10_000)
  await measure(name, kBatches, async (batch) => {
    const out = new Outbox(() => {})
    const p = runner.runBatch(batch, out)
    if (p !== undefined) await p
  })
}
for (const atomics of ['async', 'disabled'] as const) {
  const pool = new Piscina({
    filename: kTask, minThreads: 2, maxThreads: 2, concurrentTasksPerWorker: 16, idleTimeout: Infinity, atomics,
    workerData: { app: kApp, limitMs: 10_000, beatMs: 1000 } satisfies TaskWorkerData
  })
  await measure(`pool of 2, atomics '${atomics}'`, Math.ceil(kBatches / 5), async (batch) => {
    const packed = pack(batch)
    const result = await pool.run(packed, { transferList: [packed.buffer as ArrayBuffer] }) as Uint8Array | HeldResult
    const replies = result instanceof Uint8Array ? result : result.replies
    if (unpack(Buffer.from(replies.buffer, replies.byteOffset, replies.byteLength)).length !== kBatch) throw new Error('a reply is missing')
  })
  await pool.destroy()
}
