/**
 * A rogue publisher on the demo service's reply endpoint, for the fault suites: a system
 * with one real handler host, the wire sender its acceptor run uses (learnt from /echo, as
 * a handler sees it), and a PUB socket that can send anything under that sender.
 */
import type { ExecutionContext } from 'ava'
import * as zmq from 'zeromq'
import { startSystem, type Proc, type System } from '../helpers/system.js'
import { sleep } from '../suites/load.js'

export interface RogueSetup { sys: System, acceptor: Proc, sender: string, rogue: zmq.Publisher }

export async function startWithRogue (t: ExecutionContext): Promise<RogueSetup> {
  const sys = await startSystem(t, { handlers: 1 })
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  const sender = ((await (await fetch(`${sys.url}/echo`)).json()) as { sender: string }).sender
  const rogue = new zmq.Publisher({ linger: 0, sendHighWaterMark: 100_000 })
  rogue.connect(sys.demo.recvSpec)
  t.teardown(() => rogue.close())
  await sleep(300) // let the PUB connect
  return { sys, acceptor, sender, rogue }
}

/** Sends `make(i)` at `perSecond` frames a second for `ms`; returns how many it sent. */
export async function flood (pub: zmq.Publisher, make: (i: number) => Buffer, ms: number, perSecond: number): Promise<number> {
  let sent = 0
  const start = Date.now()
  while (Date.now() - start < ms) {
    const due = Math.floor((Date.now() - start) * perSecond / 1000)
    while (sent < due) await pub.send(make(sent++))
    await sleep(5)
  }
  return sent
}
