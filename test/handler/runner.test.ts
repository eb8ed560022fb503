/**
 * The handler host's Runner (workers/handler/runner.ts) on its own, in this thread: the
 * per-request limit, ctx.signal, disconnect notices and held exchanges.
 */
import test from 'ava'
import type { Context, Handler, Request } from '../../workers/handler/api.js'
import { Outbox, Runner, type App, type HoldReports } from '../../workers/handler/runner.js'
import { encodeDisconnect, encodeRequest } from '../../shared/protocol/request.js'
import { parseReply } from '../../shared/protocol/reply.js'

const kSender = Buffer.from('acc-1')
const req = (id: number, path: string) => encodeRequest(kSender, id, path, { PATH: path, METHOD: 'GET' }, Buffer.alloc(0), 'json')
const notice = (id: number) => encodeDisconnect(kSender, id, 'json')
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** What each reply frame says: `id status-line-or-body`. */
function said (frames: Buffer[]): string[] {
  return frames.map((f) => {
    const r = parseReply(f)
    const text = r.body.toString()
    return `${r.ids.join(',')} ${text === '' ? '(close)' : text.split('\r\n')[0]!}`
  })
}

function setup (handler: Handler, limitMs = 1000, reports: HoldReports | null = null) {
  const late: Buffer[] = []
  const disconnects: Array<{ id: number, ctx: Context }> = []
  const app: App = { handler, onDisconnect: (_s, id, ctx) => { disconnects.push({ id, ctx }) } }
  const runner = new Runner(app, limitMs, reports)
  const run = async (messages: Buffer[]) => {
    const out = new Outbox((f) => { late.push(f) })
    const p = runner.runBatch(messages, out)
    if (p !== undefined) await p
    const frames = out.frames!
    out.frames = null
    return { frames, out }
  }
  return { runner, run, late, disconnects }
}

test('a slow async handler gets 500 at the limit; the others of its batch their answers; its late value is dropped', async (t) => {
  let slowCtx: Context | null = null
  const { run, late } = setup(async (r: Request, ctx) => {
    if (r.path === '/slow') { slowCtx = ctx; await sleep(400); return 'too late' }
    if (r.path === '/async') { await sleep(10); return 'async' }
    return 'sync'
  }, 150)
  const started = performance.now()
  const { frames } = await run([req(1, '/a'), req(2, '/slow'), req(3, '/async')])
  const elapsed = performance.now() - started
  t.true(elapsed >= 145 && elapsed < 390, `batch done at the limit (${elapsed} ms)`)
  t.deepEqual(said(frames).sort(), ['1 HTTP/1.1 200 OK', '2 HTTP/1.1 500 Internal Server Error', '3 HTTP/1.1 200 OK'])
  t.is(slowCtx!.signal.aborted, true)
  t.is((slowCtx!.signal.reason as DOMException).name, 'TimeoutError')
  slowCtx!.reply('still too late')
  await sleep(300)
  t.deepEqual(late, [], 'nothing sent for the timed-out request, neither its value nor its reply')
})

test('a handler that returns nothing replies later from a timer; the signal aborts when it does', async (t) => {
  let held: Context | null = null
  const { run, late, runner } = setup((_r, ctx) => { held = ctx; setTimeout(() => { ctx.reply('later') }, 20) })
  const { frames } = await run([req(7, '/x')])
  t.deepEqual(frames, [])
  t.is(runner.heldCount, 1)
  t.false(held!.signal.aborted)
  await sleep(60)
  t.deepEqual(said(late), ['7 HTTP/1.1 200 OK'])
  t.true(held!.signal.aborted)
  t.is(held!.signal.reason, 'replied')
  t.is(runner.heldCount, 0, 'the reply ended the exchange: no longer held')
})

test('a disconnect notice aborts the held exchange\'s signal and runs onDisconnect once with its ctx', async (t) => {
  const { run, disconnects, runner } = setup(() => undefined)
  await run([req(3, '/hold')])
  await run([notice(3), notice(4)])
  t.deepEqual(disconnects.map((d) => d.id), [3, 4])
  t.true(disconnects[0]!.ctx.signal.aborted)
  t.is(disconnects[0]!.ctx.signal.reason, 'disconnected')
  t.true(disconnects[1]!.ctx.signal.aborted, 'an exchange nobody here held gets an ended ctx too')
  t.is(runner.heldCount, 0)
})

test('a disconnect while the handler still runs aborts its signal; its value is then dropped', async (t) => {
  let seen: AbortSignal | null = null
  const { runner, late, disconnects } = setup(async (_r, ctx) => {
    seen = ctx.signal
    await sleep(50)
    return 'answer for a gone client'
  })
  const out = new Outbox((f) => { late.push(f) })
  const running = runner.runBatch([req(5, '/x')], out)!
  const other = new Outbox((f) => { late.push(f) })
  other.frames = null
  await runner.disconnect('acc-1', 5, other, true)
  t.true(seen!.aborted)
  await running
  t.deepEqual(out.frames, [], 'no reply to the gone exchange')
  t.is(disconnects.length, 1)
})

test('pool mode: held exchanges are reported with the batch, and released when they end', async (t) => {
  const holds: string[][] = []
  const releases: string[] = []
  const { run, runner } = setup((r, ctx) => {
    if (r.path === '/close') { ctx.close(r.sender, [r.id]); return undefined }
    return undefined
  }, 1000, { hold: (keys) => { holds.push(keys) }, release: (key) => { releases.push(key) } })
  const { out } = await run([req(1, '/hold'), req(2, '/close'), req(3, '/hold')])
  t.deepEqual(runner.takeHeld(out), ['acc-1 1', 'acc-1 3'])
  await run([notice(1)]) // came in a batch (any thread): this thread held it, so it tells the host
  t.deepEqual(releases, ['acc-1 1'])
  t.deepEqual(holds, [])
})
