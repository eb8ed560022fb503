/**
 * The piscina worker: one task = one batch of request messages (packed), the result =
 * the reply frames made while it ran (packed), with the keys of the exchanges the batch
 * left held here when there are any.
 *
 * Each worker opens a MessagePort to the host at load (piscina's `message` event carries it
 * over): replies made after a task returned (timers, intervals) and hold/release reports go
 * up it; disconnect notices for exchanges this thread holds, and registry evictions, come
 * down it. A counter in shared memory, bumped by an interval and before every handler
 * call, tells the host this thread's event loop is not stuck (host.ts replaces it if it is).
 */
import { MessageChannel, parentPort, threadId, workerData, type MessagePort } from 'node:worker_threads'
import { decodeRequest } from '../../shared/protocol/request.js'
import { Outbox, Runner, loadApp, type HoldReports } from './runner.js'
import { pack, unpack } from './frames.js'
import { setPublishSink } from './publish.js'

/** What the host passes as piscina's `workerData`. */
export interface TaskWorkerData { app: string; limitMs: number; beatMs: number }
/** Worker → host, once, on piscina's parentPort. */
export interface WorkerHello { swbWorker: number; port: MessagePort; progress: Int32Array }
/** Worker → host on the worker's port. */
export type WorkerReport = Uint8Array | { hold: string[] } | { release: string } | { publish: Uint8Array }
/** Host → worker on the worker's port. */
export type HostOrder = { disconnect: Uint8Array } | { forget: string }
/** A task's result when the batch left exchanges held. */
export interface HeldResult { replies: Uint8Array; held: string[]; thread: number }

const data = workerData as TaskWorkerData
const { port1: gPort, port2 } = new MessageChannel()
const gProgress = new Int32Array(new SharedArrayBuffer(4))

/** Frames views of a pooled buffer would clone the whole pool: post a copy of just the frame. */
function own (frame: Buffer): Uint8Array {
  return frame.byteOffset === 0 && frame.byteLength === frame.buffer.byteLength ? frame : new Uint8Array(frame)
}

function late (frame: Buffer): void {
  gPort.postMessage(own(frame))
}

// ctx.publish: items go to the host, which owns the PUSH socket to broker.publishPull.
setPublishSink((msg) => { gPort.postMessage({ publish: own(msg) } satisfies WorkerReport) })

const reports: HoldReports = {
  hold: (keys) => { gPort.postMessage({ hold: keys } satisfies WorkerReport) },
  release: (key) => { gPort.postMessage({ release: key } satisfies WorkerReport) }
}

// piscina awaits a default export that is a promise before it marks the worker ready, so
// the app (compiled by tsx on first load, ~0.5 s) is loaded before the worker takes a
// task. A load error surfaces per task, as loadApp caches it.
const gRunner: Promise<Runner> = loadApp(data.app).then((app) => {
  // Only now: loading (tsx compiling the app) may block this thread longer than the limit.
  parentPort!.postMessage({ swbWorker: threadId, port: port2, progress: gProgress } satisfies WorkerHello, [port2])
  setInterval(() => { Atomics.add(gProgress, 0, 1) }, data.beatMs).unref()
  return new Runner(app, data.limitMs, reports, gProgress)
})

gPort.on('message', (order: HostOrder) => {
  void gRunner.then((runner) => {
    if ('forget' in order) {
      runner.forget(order.forget)
      return
    }
    const notice = decodeRequest(Buffer.from(order.disconnect.buffer, order.disconnect.byteOffset, order.disconnect.byteLength))
    const out = new Outbox(late)
    out.frames = null // replies from onDisconnect go straight out
    void runner.disconnect(notice.sender, notice.id, out, true)
  })
})
gPort.unref() // after on('message'), which refs it: piscina keeps the worker alive

async function task (batch: Uint8Array): Promise<Uint8Array | HeldResult> {
  const runner = await gRunner
  const messages = unpack(Buffer.from(batch.buffer, batch.byteOffset, batch.byteLength))
  const out = new Outbox(late)
  const running = runner.runBatch(messages, out)
  if (running !== undefined) await running
  const frames = out.frames!
  out.frames = null
  const replies = pack(frames)
  const held = runner.takeHeld(out)
  return held === null ? replies : { replies, held, thread: threadId }
}

export default gRunner.then(() => task, () => task)
