/**
 * A raw ZeroMQ "spy" handler for wire-level e2e tests: a PULL on a service's send_spec
 * and a PUB on its recv_spec, exactly what a Mongrel2 handler in any language opens.
 * It records every request message (raw bytes and decoded) so a test learns senders and
 * ids, and publishes whatever reply bytes the test wants, well-formed or not.
 * It answers the harness's `/__probe__` requests itself, so `attachSpy` can wait until
 * the whole path (acceptor → broker → spy → broker → acceptor) works.
 */
import * as zmq from 'zeromq'
import type { ExecutionContext } from 'ava'
import { isRequestBatch, splitBatch } from '../../shared/protocol/batch.js'
import { decodeRequest, isDisconnect, type DecodedRequest } from '../../shared/protocol/request.js'
import { encodeReply } from '../../shared/protocol/reply.js'
import type { System } from './system.js'

export const kProbePath = '/__probe__'
const kProbeAnswer = Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')

export interface SpyMessage { raw: Buffer; req: DecodedRequest; disconnect: boolean }

export class Spy {
  readonly pull = new zmq.Pull({ linger: 0 })
  readonly pub = new zmq.Publisher({ linger: 0 })
  /** Every message but probes, in arrival order (batch frames split into their requests). */
  readonly messages: SpyMessage[] = []
  /** How many requests each request batch frame carried (batched services). */
  readonly batchSizes: number[] = []
  readonly #taken = new Set<SpyMessage>()
  #waiters: Array<{ check: (m: SpyMessage) => boolean, resolve: (m: SpyMessage) => void }> = []
  #closed = false

  constructor (sendSpec: string, recvSpec: string) {
    this.pub.connect(recvSpec)
    this.pull.connect(sendSpec)
    void this.#loop()
  }

  async #loop (): Promise<void> {
    try {
      for await (const frames of this.pull) {
        for (const raw of frames) {
          if (isRequestBatch(raw)) {
            const items = splitBatch(Buffer.from(raw))
            this.batchSizes.push(items.length)
            for (const item of items) this.#onMessage(item)
          } else {
            this.#onMessage(Buffer.from(raw))
          }
        }
      }
    } catch {
      // closed in teardown
    }
  }

  #onMessage (raw: Buffer): void {
    const req = decodeRequest(raw)
    const disconnect = isDisconnect(req)
    if (!disconnect && req.path === kProbePath) {
      void this.publish(encodeReply(req.sender, [req.id], kProbeAnswer))
      return
    }
    const msg = { raw, req, disconnect }
    this.messages.push(msg)
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.check(msg)) return true
      w.resolve(msg)
      return false
    })
  }

  /**
   * The first message (already received or to come) for which `check` holds. With `take`,
   * the message is marked taken the moment it matches, so calls made together each get
   * their own.
   */
  next (check: (m: SpyMessage) => boolean, ms = 5000, what = 'a message', take = false): Promise<SpyMessage> {
    const claim = (m: SpyMessage): SpyMessage => { if (take) this.#taken.add(m); return m }
    const seen = this.messages.find(check)
    if (seen !== undefined) return Promise.resolve(claim(seen))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((w) => w.resolve !== done)
        reject(new Error(`spy: no ${what} within ${ms} ms; got:\n${this.messages.map((m) => m.raw.toString('latin1')).join('\n')}`))
      }, ms)
      const done = (m: SpyMessage) => { clearTimeout(timer); resolve(claim(m)) }
      this.#waiters.push({ check, resolve: done })
    })
  }

  /** The next request (not a disconnect notice) for `path`. */
  request (path: string, ms = 5000): Promise<SpyMessage> {
    return this.next((m) => !m.disconnect && m.req.path === path && !this.#taken.has(m), ms, `request for ${path}`, true)
  }

  /** The disconnect notice for one exchange. */
  disconnect (id: number, ms = 5000): Promise<SpyMessage> {
    return this.next((m) => m.disconnect && m.req.id === id, ms, `disconnect notice for id ${id}`)
  }

  /** Publishes one message (one or several frames) to the broker's recv_spec. */
  async publish (frames: Buffer | Buffer[]): Promise<void> {
    if (!this.#closed) await this.pub.send(frames)
  }

  /** Publishes a well-formed reply. */
  reply (sender: string, ids: readonly number[], body: string | Buffer): Promise<void> {
    return this.publish(encodeReply(sender, ids, typeof body === 'string' ? Buffer.from(body, 'latin1') : body))
  }

  close (): void {
    if (this.#closed) return
    this.#closed = true
    this.pull.close()
    this.pub.close()
  }
}

/**
 * Connects a spy to the system's demo service and resolves once a probe went through it
 * (so the broker counts it and the acceptor's subscription reached its PUB). Probes use
 * short deadlines: one sent before the subscription arrived is lost, not waited for.
 */
export async function attachSpy (t: ExecutionContext, sys: System, service = sys.demo): Promise<Spy> {
  const spy = new Spy(service.sendSpec, service.recvSpec)
  t.teardown(() => spy.close())
  const deadline = Date.now() + 8000
  for (;;) {
    const res = await fetch(sys.url + kProbePath, { method: 'HEAD', signal: AbortSignal.timeout(500) }).catch(() => null)
    if (res?.status === 200) return spy
    if (Date.now() > deadline) throw new Error(`spy: probes never came back through the system\n${sys.logs()}`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

/**
 * The acceptor's wire SENDER (its UUID plus this run's tag), from its `listening` log
 * line: what its requests carry and replies must name. With several acceptor runs, the
 * last one's.
 */
export function acceptorUuid (sys: System): string {
  const acceptor = sys.procs.findLast((p) => p.name === 'acceptor')
  const m = acceptor?.output.match(/listening .*sender=([A-Za-z0-9-]+)/)
  if (!m) throw new Error('no acceptor sender in its output')
  return m[1]!
}
