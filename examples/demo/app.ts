/**
 * The demo app `npm start` serves (service `demo`, route `/`):
 *
 *   GET  /hello   Hello World
 *   ANY  /echo    the request as the handler saw it (Mongrel2's first HTTP→0MQ demo)
 *   GET  /wait    long-poll: held until someone POSTs a message (or 20 s pass: 204)
 *   POST /post    answers every held /wait, in any handler process, with the body
 *   GET  /        this list
 */
import type { Context, Handler, Request } from '../../workers/handler/api.js'
import { formatResponse } from '../../workers/handler/api.js'
import { claim, claimAll, forget, hold } from './waiters.js'

const kIndex = [
  'Switchboard demo',
  '  GET  /hello   Hello World',
  '  ANY  /echo    the request as the handler saw it',
  '  GET  /wait    long-poll: waits for the next message',
  '  POST /post    posts a message to every waiting /wait',
  ''
].join('\n')

const kHoldMs = 20_000

const app: Handler = (req, ctx) => {
  switch (req.path) {
    case '/hello': return 'Hello World\n'
    case '/echo': return echo(req)
    case '/wait': return wait(req, ctx)
    case '/post': return post(req, ctx)
    case '/': return kIndex
    default: return { status: 404, body: `no demo page at ${req.path}\n` }
  }
}
export default app

function echo (req: Request) {
  return {
    body: {
      sender: req.sender,
      id: req.id,
      path: req.path,
      decodedPath: req.decodedPath,
      method: req.method,
      query: req.query,
      headers: req.headers,
      body: req.text(),
      handlerPid: process.pid
    }
  }
}

function wait (req: Request, ctx: Context): undefined {
  if (!hold(req.sender, req.id)) return undefined // its client already left
  // Answer with 204 before the route's 30 s reply timeout would answer 504.
  setTimeout(() => {
    if (claim(req.sender, req.id, process.pid)) ctx.reply({ status: 204 })
  }, kHoldMs).unref()
  return undefined // held: no reply now
}

function post (req: Request, ctx: Context) {
  if (req.method !== 'POST') return { status: 405, headers: { Allow: 'POST' }, body: 'POST a message here\n' }
  const message = req.text()
  const waiters = claimAll()
  // One message per (acceptor, holding process) names all its ids: Mongrel2's N:M fan-out.
  const groups = new Map<string, { sender: string, heldBy: number, ids: number[] }>()
  for (const w of waiters) {
    const key = `${w.sender} ${w.heldBy}`
    let g = groups.get(key)
    if (g === undefined) groups.set(key, g = { sender: w.sender, heldBy: w.heldBy, ids: [] })
    g.ids.push(w.id)
  }
  for (const g of groups.values()) {
    ctx.deliver(g.sender, g.ids, formatResponse({
      headers: { 'X-Held-By': String(g.heldBy), 'X-Answered-By': String(process.pid) },
      body: { message }
    }))
  }
  return { body: { delivered: waiters.length } }
}

/** A held client left: drop its waiter so nobody answers a gone exchange. */
export function onDisconnect (sender: string, id: number): void {
  forget(sender, id)
}
