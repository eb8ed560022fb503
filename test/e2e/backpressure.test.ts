/**
 * Backpressure: a body larger than the socket buffers, streamed over several reply
 * messages to a client that does not read for a while, arrives whole and in order
 * (tryEnd/onWritable for Content-Length bodies, write()/onWritable for chunked ones);
 * past acceptor.maxQueuedBytes a slow client is cut off and the acceptor carries on.
 */
import test, { type ExecutionContext } from 'ava'
import { connect } from 'node:net'
import { dechunk } from '../helpers/raw-http.js'
import { bothModes, startSystem } from '../helpers/system.js'

/** Sends one GET, stops reading for `pauseMs`, then reads until the connection idles. */
function slowGet (port: number, path: string, pauseMs: number, expected: number): Promise<{ head: string, body: Buffer, closed: boolean }> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    const chunks: Buffer[] = []
    let closed = false
    let timer: NodeJS.Timeout
    const done = () => {
      socket.destroy()
      const all = Buffer.concat(chunks)
      const end = all.indexOf('\r\n\r\n')
      resolve({ head: all.subarray(0, end).toString('latin1'), body: all.subarray(end + 4), closed })
    }
    const idle = () => { clearTimeout(timer); timer = setTimeout(done, 1500) }
    socket.on('connect', () => {
      socket.write(`GET ${path} HTTP/1.1\r\nHost: x\r\n\r\n`)
      socket.pause()
      setTimeout(() => { socket.resume(); idle() }, pauseMs)
    })
    socket.on('data', (d) => {
      chunks.push(d)
      const total = chunks.reduce((n, c) => n + c.length, 0)
      if (total >= expected) idle()
    })
    socket.on('close', () => { closed = true; clearTimeout(timer); done() })
    socket.on('error', () => {})
  })
}

function checkParts (t: ExecutionContext, body: Buffer, parts: number, size: number): void {
  t.is(body.length, parts * size)
  for (let i = 0; i < parts; i++) {
    const part = body.subarray(i * size, (i + 1) * size)
    t.true(part.every((b) => b === 0x61 + i), `part ${i} intact and in order`)
  }
}

/** A Content-Length body of `parts` replies of `size` bytes to a client that pauses reading. */
async function bigToPausedClient (t: ExecutionContext, parts: number, size: number, batch: boolean): Promise<void> {
  const sys = await startSystem(t, { app: 'test/fixtures/behaviours.ts', batch })
  const r = await slowGet(sys.port, `/big?parts=${parts}&size=${size}`, 800, parts * size)
  t.regex(r.head, /^HTTP\/1\.1 200 OK/)
  t.regex(r.head, new RegExp(`Content-Length: ${parts * size}(?:\r|$)`, 'i'))
  checkParts(t, r.body, parts, size)
  t.is((await fetch(sys.url + '/after')).status, 200)
}

bothModes(test, 'a 4 MiB Content-Length body over 4 messages reaches a client that pauses reading', async (t) => {
  await bigToPausedClient(t, 4, 1 << 20, false)
})

bothModes(test, 'batched service: 2 MiB in 8 replies, packed into reply batch frames, reaches a paused client whole', async (t) => {
  // The host packs one acceptor's replies into frames of at most 1 MiB; the acceptor keeps
  // views into them while the client does not read.
  await bigToPausedClient(t, 8, 1 << 18, true)
})

bothModes(test, 'a 4 MiB chunked body over 4 messages reaches a client that pauses reading', async (t) => {
  const sys = await startSystem(t, { app: 'test/fixtures/behaviours.ts' })
  const size = 1 << 20
  const r = await slowGet(sys.port, `/bigchunked?parts=4&size=${size}`, 800, 4 * size)
  t.regex(r.head, /Transfer-Encoding: chunked/i)
  checkParts(t, dechunk(r.body).data, 4, size)
})

bothModes(test, 'a client slower than acceptor.maxQueuedBytes allows is cut off; others are served', async (t) => {
  const sys = await startSystem(t, {
    app: 'test/fixtures/behaviours.ts',
    config: { acceptor: { port: 0, drainMs: 1000, maxQueuedBytes: 1 << 20 } }
  })
  const size = 1 << 20
  const r = await slowGet(sys.port, `/big?parts=8&size=${size}`, 1500, 8 * size)
  t.true(r.closed, 'the connection was closed')
  t.true(r.body.length < 8 * size, `got ${r.body.length} bytes`)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  await acceptor.waitFor(/SWB_ERR_RESPONSE_OVERFLOW|client too slow/, 3000)
  t.is((await fetch(sys.url + '/after')).status, 200)
})
