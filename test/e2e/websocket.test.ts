/**
 * WebSocket, Mongrel2 1.12's way (MONGREL2.md §2.5), end to end with the `ws` package as
 * the client: through a Python handler written from the protocol alone
 * (examples/python/ws_echo.py), and through a raw ZeroMQ spy that checks the exact bytes
 * a handler receives and sends the frames a test wants.
 */
import { spawnSync } from 'node:child_process'
import test, { type ExecutionContext } from 'ava'
import { acceptKey, encodeFrame, Opcode } from '../../shared/protocol/ws-frame.js'
import { acceptorUuid, attachSpy, type Spy, type SpyMessage } from '../helpers/spy.js'
import { startSystem, waitUntil, type System } from '../helpers/system.js'
import { open, refused, type Client } from '../helpers/ws-client.js'

function findPython (): string | null {
  for (const candidate of ['python3', '/usr/bin/python3']) {
    if (spawnSync(candidate, ['-c', 'import zmq'], { stdio: 'ignore' }).status === 0) return candidate
  }
  return null
}

/** A system whose demo service is served by examples/python/ws_echo.py. */
async function withPython (t: ExecutionContext, opts: Parameters<typeof startSystem>[1] = {}): Promise<System> {
  const python = findPython()
  if (python === null) throw new Error('no python3 with zmq: apt-get install -y python3-zmq')
  const sys = await startSystem(t, { handlers: 0, ...opts })
  const py = sys.spawn('python', python, ['examples/python/ws_echo.py', sys.demo.sendSpec, sys.demo.recvSpec])
  await py.waitFor(/python ws_echo ready/)
  // Plain GETs get 426 from it; poll until its replies come back (its PUB subscribes late).
  await waitUntil(async () => (await fetch(sys.url + '/probe', { signal: AbortSignal.timeout(500) }).catch(() => null))?.status === 426, 8000, 'the Python handler').catch((err: Error) => { throw new Error(err.message + '\n' + sys.logs()) })
  return sys
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

test.serial('Python handler (protocol only): handshake, text, binary, fragments, ping, frames, close codes, refusal', async (t) => {
  const sys = await withPython(t)
  const ws = `ws://127.0.0.1:${sys.port}`
  const c = await open(ws + '/ws/echo', ['chat', 'echo'])
  t.is(c.ws.protocol, 'echo', 'the subprotocol the handler chose')
  c.ws.send('hello')
  t.is(await c.text(), 'hello')
  c.ws.send(Buffer.from([0, 1, 2, 255]))
  const [bin] = await c.next()
  t.true(bin!.binary)
  t.deepEqual([...bin!.data], [0, 1, 2, 255])
  // A fragmented message: the handler gets it whole (uWS.js reassembles).
  c.ws.send('frag-', { fin: false })
  c.ws.send('ment-', { fin: false })
  c.ws.send('ed', { fin: true })
  t.is(await c.text(), 'frag-ment-ed')
  // Three frames in one reply; a fragmented message from the handler over two replies.
  c.ws.send('burst')
  const burst = await c.next(3)
  t.deepEqual(burst.map((m) => [m.data.toString(), m.binary]), [['one', false], ['two', true], ['three', false]])
  c.ws.send('frag')
  t.is(await c.text(), 'fragmented')
  // A ping is answered by uWS.js (the handler's own pong is dropped: one pong only).
  c.ws.ping('are you there')
  await c.until(() => c.pongs.length === 1, 3000, 'a pong')
  t.is(c.pongs[0]!.toString(), 'are you there')
  c.ws.send('after ping')
  t.is(await c.text(), 'after ping')
  t.is(c.pongs.length, 1)
  // The handler closes with a code.
  c.ws.send('close 4002')
  t.deepEqual(await c.closed, { code: 4002, reason: 'as asked' })

  // The client closes with a code: uWS answers the close frame with the same code.
  const d = await open(ws + '/ws/two')
  d.ws.send('x')
  t.is(await d.text(), 'x')
  d.ws.close(4001, 'client done')
  t.deepEqual(await d.closed, { code: 4001, reason: 'client done' })

  // An empty reply closes the socket (a close frame without a code).
  const e = await open(ws + '/ws/three')
  e.ws.send('bye')
  t.is((await e.closed).code, 1005)

  // A refusal reaches the client as the handler wrote it.
  const r = await refused(ws + '/nope')
  t.is(r.status, 404)
  t.is(r.body, 'no websocket\n')

  // Plain HTTP on the same route still works, and the handler lived through it all.
  t.is((await fetch(sys.url + '/plain')).status, 426)
  t.is(sys.procs.find((p) => p.name === 'python')!.child.exitCode, null)
})
