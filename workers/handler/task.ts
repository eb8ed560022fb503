/**
 * The piscina worker: one task = one batch of request messages (packed), the result =
 * the reply frames made while it ran (packed). Replies made after the task returned go
 * to the host over a BroadcastChannel named by the host.
 */
import { BroadcastChannel, workerData } from 'node:worker_threads'
import { Outbox, loadApp, runBatch } from './runner.js'
import { pack, unpack } from './frames.js'

export interface TaskInput { app: string; channel: string; batch: Uint8Array }
/** What the host passes as piscina's `workerData`. */
export interface TaskWorkerData { app: string }

let gChannel: BroadcastChannel | null = null

function late (name: string): (frame: Buffer) => void {
  return (frame) => {
    if (gChannel === null) {
      gChannel = new BroadcastChannel(name)
      gChannel.unref()
    }
    gChannel.postMessage(frame)
  }
}

async function task (input: TaskInput): Promise<Uint8Array> {
  const app = await loadApp(input.app)
  const messages = unpack(Buffer.from(input.batch.buffer, input.batch.byteOffset, input.batch.byteLength))
  const out = new Outbox(late(input.channel))
  await runBatch(app, messages, out)
  const frames = out.frames!
  out.frames = null
  return pack(frames)
}

/**
 * piscina awaits a default export that is a promise before it marks the worker ready, so
 * the app (compiled by tsx on first load, ~0.5 s) is loaded before the worker takes a
 * task. Otherwise a replacement worker spends its first task's time limit
 * (handler.taskTimeoutMs) loading the app, is killed for it, and with a short limit the
 * pool never recovers. A load error still surfaces per task, as loadApp caches it.
 */
const kApp = (workerData as Partial<TaskWorkerData> | null)?.app
export default typeof kApp === 'string' ? loadApp(kApp).then(() => task, () => task) : Promise.resolve(task)
