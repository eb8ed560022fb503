/**
 * Sending on zeromq.js sockets without its per-message readiness check.
 *
 * zeromq.js asks libzmq for ZMQ_EVENTS before every send unless the socket's send
 * timeout is 0; that getsockopt polls the socket's command mailbox (system calls) every
 * time. With the timeout at 0 the send goes straight to libzmq and fails with EAGAIN
 * when it would block (high-water mark, no peer); only then does sendNow wait, with the
 * timeout back at -1 for that one call. `npm run bench:micro -- zmq-send`: 4.9 → 2.2 µs
 * of CPU per 300-byte send.
 *
 * Receives keep zeromq.js's check: at timeout 0 an empty socket rejects with an error
 * object (9-12 µs) where the check costs ~1 µs, and under load most reads find one frame.
 * Hot reads are plain `await sock.receive()` loops rather than `for await`: zeromq.js's
 * async iterator adds an async call and a result object per message
 * (`npm run bench:micro -- zmq-receive`).
 */
import type * as zmq from 'zeromq'

type Sender = zmq.Writable & { sendTimeout: number, readonly closed: boolean }

/** Sets the socket up for {@link sendNow}: it then never waits inside send(). */
export function immediateSends (sock: Sender): void {
  sock.sendTimeout = 0
}

/**
 * Sends one message on a socket set up by {@link immediateSends}; waits for room only
 * when the high-water mark is reached. One send at a time per socket, as in zeromq.js.
 */
export async function sendNow (sock: Sender, msg: Buffer | Buffer[]): Promise<void> {
  try {
    await sock.send(msg)
  } catch (err) {
    if (!isAgain(err)) throw err
    sock.sendTimeout = -1
    try {
      await sock.send(msg)
    } finally {
      if (!sock.closed) sock.sendTimeout = 0
    }
  }
}

function isAgain (err: unknown): boolean {
  return (err as { code?: string } | null)?.code === 'EAGAIN'
}

/** The codes zeromq.js rejects with when the socket or its context closed. */
export function isClosed (err: unknown): boolean {
  const code = (err as { code?: string } | null)?.code
  return code === 'EBADF' || code === 'ETERM' || code === 'ENOTSOCK'
}
