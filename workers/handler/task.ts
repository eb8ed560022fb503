/**
 * The piscina worker: one task = one batch of request messages (packed), the result =
 * the reply frames made while it ran (packed). Replies made after the task returned go
 * to the host over a BroadcastChannel named by the host.
 */
import { BroadcastChannel } from 'node:worker_threads'
import { Outbox, loadApp, runBatch } from './runner.js'
import { pack, unpack } from './frames.js'

export interface TaskInput { app: string; channel: string; batch: Uint8Array }

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

export default async function task (input: TaskInput): Promise<Uint8Array> {
  const app = await loadApp(input.app)
  const messages = unpack(Buffer.from(input.batch.buffer, input.batch.byteOffset, input.batch.byteLength))
  const out = new Outbox(late(input.channel))
  await runBatch(app, messages, out)
  const frames = out.frames!
  out.frames = null
  return pack(frames)
}
