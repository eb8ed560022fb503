/**
 * sendNow on real ZeroMQ sockets: it sends at once while there is room, waits (instead
 * of failing with EAGAIN) when the high-water mark or a missing peer blocks, and leaves
 * the socket ready for immediate sends again.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import * as zmq from 'zeromq'
import { immediateSends, sendNow } from '../../shared/zmq-io.js'

// ipc endpoints are socket files: in a temp dir removed after the tests.
const kDir = mkdtempSync(join(tmpdir(), 'swb-zmq-io-'))
test.after.always(() => { rmSync(kDir, { recursive: true, force: true }) })
const ipc = (name: string): string => `ipc://${join(kDir, name)}`

test('sendNow delivers in order with the send timeout at 0', async (t) => {
  const pull = new zmq.Pull({ linger: 0 })
  const push = new zmq.Push({ linger: 0 })
  t.teardown(() => { pull.close(); push.close() })
  await pull.bind(ipc('order'))
  push.connect(ipc('order'))
  immediateSends(push)
  for (let i = 0; i < 500; i++) await sendNow(push, Buffer.from(`m${i}`))
  const got: string[] = []
  for (let i = 0; i < 500; i++) got.push((await pull.receive())[0]!.toString())
  t.deepEqual(got, Array.from({ length: 500 }, (_, i) => `m${i}`))
  t.is(push.sendTimeout, 0)
})

test('sendNow waits for a peer instead of failing, then sends at once again', async (t) => {
  const push = new zmq.Push({ linger: 0, sendHighWaterMark: 1 })
  const pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: 1 })
  t.teardown(() => { pull.close(); push.close() })
  immediateSends(push)
  // No peer yet: a plain send at timeout 0 fails; sendNow must wait.
  await t.throwsAsync(push.send(Buffer.from('x')), { code: 'EAGAIN' })
  let sent = false
  const first = sendNow(push, Buffer.from('first')).then(() => { sent = true })
  await new Promise((resolve) => setTimeout(resolve, 100))
  t.false(sent, 'nothing can take the message yet')
  t.is(push.sendTimeout, -1, 'waiting uses the blocking timeout for that one send')
  await pull.bind(ipc('late'))
  push.connect(ipc('late'))
  await first
  t.is(push.sendTimeout, 0, 'back to immediate sends')
  t.is((await pull.receive())[0]!.toString(), 'first')
  await sendNow(push, Buffer.from('second'))
  t.is((await pull.receive())[0]!.toString(), 'second')
})

test('sendNow rethrows what is not EAGAIN', async (t) => {
  const push = new zmq.Push({ linger: 0 })
  immediateSends(push)
  push.close()
  const err = await t.throwsAsync(sendNow(push, Buffer.from('x')))
  t.not((err as { code?: string }).code, 'EAGAIN')
})
