/**
 * The ZeroMQ side of the benchmark's Mongrel2-protocol handlers (m2-hello.ts, m2-push.ts):
 * PULL connects to send_spec, PUB to recv_spec, and one loop sends each request's replies.
 */
import { Publisher, Pull } from 'zeromq'

/**
 * PUB drops every message its peer has not subscribed to yet (ZeroMQ's slow joiner), and
 * Mongrel2 queues requests at its PUSH while no handler is connected: pulling before the
 * reply path is up loses the first replies, and those clients hang. So: PUB first, wait for
 * its handshake and a moment for the SUB's subscription to follow, then PULL.
 */
async function whenPubReady (sock: Publisher): Promise<void> {
  const events = sock.events
  for (;;) {
    const ev = await events.receive()
    if (ev.type === 'handshake') break
  }
  events.close()
  await new Promise((resolveWait) => { setTimeout(resolveWait, kSubscribeGraceMs) })
}
const kSubscribeGraceMs = 50

export interface M2Sockets { pull: Pull; pub: Publisher }

export async function connectM2 (name: string, sendSpec: string, recvSpec: string): Promise<M2Sockets> {
  const pull = new Pull({ linger: 0 })
  // PUB also drops silently at its high-water mark (default 1000): never let a burst lose replies.
  const pub = new Publisher({ linger: 0, sendHighWaterMark: 100_000 })
  const ready = whenPubReady(pub)
  pub.connect(recvSpec)
  await ready
  pull.connect(sendSpec)
  process.stderr.write(`${name}: pid ${process.pid} PULL ${sendSpec} PUB ${recvSpec}\n`)
  return { pull, pub }
}

/** Sends what `replies` returns for each request (nothing for null), until the sockets close. */
export async function serveM2 ({ pull, pub }: M2Sockets, replies: (msg: Buffer) => Buffer | Buffer[] | null): Promise<void> {
  try {
    for await (const [msg] of pull) {
      if (msg === undefined) continue
      const out = replies(msg)
      if (out === null) continue
      // Only one send may be in flight per socket (zeromq.js); awaiting also keeps order.
      if (Array.isArray(out)) { for (const r of out) await pub.send(r) } else await pub.send(out)
    }
  } catch (err) {
    // Closing the sockets on shutdown ends the loop with a "socket closed" error.
    if (!pull.closed) throw err
  }
}
