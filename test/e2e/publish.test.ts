// The broker's Pushpin-compatible publish inputs, end to end: a real broker, a SUB on
// broker.publishOut standing in for an acceptor, and Pushpin's own publishers (HTTP JSON,
// @fanoutio/grip, Debian's pushpin-publish, a raw ZeroMQ PUSH written from Pushpin's source).
// Serial: each test starts a broker, and ten at once on two busy cores take longer than a start may.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { promisify } from 'node:util'
import test, { type ExecutionContext } from 'ava'
import { Publisher, HttpStreamFormat, WebSocketMessageFormat } from '@fanoutio/grip'
import { SignJWT } from 'jose'
import * as zmq from 'zeromq'
import { decodeItem, type PublishItem } from '../../shared/protocol/publish.js'
import { encode } from '../../shared/protocol/tnetstring.js'
import { System, freePort, holdDefaultPorts } from '../helpers/system.js'

const run = promisify(execFile)
const kPushpinPublish = '/usr/bin/pushpin-publish'

/** A SUB on publishOut, as an acceptor connects it; items decoded in arrival order. */
class Subscriber {
  readonly sock = new zmq.Subscriber({ linger: 0 })
  readonly items: PublishItem[] = []
  #waiters: Array<() => void> = []
  constructor (endpoint: string) {
    this.sock.connect(endpoint)
    this.sock.subscribe()
    void (async () => {
      try {
        for (;;) {
          const [msg] = await this.sock.receive()
          this.items.push(decodeItem(msg!))
          for (const w of this.#waiters.splice(0)) w()
        }
      } catch {} // closed
    })()
  }

  /** The next item not on a warm-up channel, within `ms`. */
  async next (ms = 10_000): Promise<PublishItem> {
    const deadline = Date.now() + ms
    for (;;) {
      const i = this.items.findIndex((x) => !x.channel.startsWith('warmup'))
      if (i >= 0) return this.items.splice(0, i + 1)[i]!
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`no published item within ${ms} ms`)
      await new Promise<void>((resolve) => { this.#waiters.push(resolve); setTimeout(resolve, left) })
    }
  }
}

interface Rig { sys: System, sub: Subscriber, url: string, port: number }

/** A broker with an HTTP publish port and a subscriber that has already received an item. */
async function rig (t: ExecutionContext, broker: Record<string, unknown> = {}, host = '127.0.0.1', warmup = true): Promise<Rig> {
  const port = await freePort()
  const sys = new System({ publishHttp: `${host}:${port}`, config: { broker } })
  t.teardown(() => sys.stop())
  await sys.startBroker()
  const sub = new Subscriber(sys.publish.out)
  t.teardown(() => { sub.sock.close() })
  const url = `http://127.0.0.1:${port}`
  // PUB/SUB: items sent before the subscription reaches the broker are not for us. Publish
  // on a warm-up channel until one arrives, over the PULL input (needs no JWT).
  if (warmup) {
    const push = new zmq.Push({ linger: 0 })
    push.connect(sys.publish.pull)
    t.teardown(() => { push.close() })
    const deadline = Date.now() + 15_000
    while (sub.items.length === 0) {
      if (Date.now() > deadline) throw new Error('the subscriber never received a warm-up item:\n' + sys.logs())
      await push.send(encode({ channel: 'warmup', formats: { 'http-stream': { content: 'w' } } }))
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
    sub.items.length = 0
  }
  return { sys, sub, url, port }
}

function post (url: string, body: string | Buffer, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'Content-Type': 'application/json', ...headers } })
}

const text = (b: Buffer | undefined): string | undefined => b?.toString()

/** A POST declaring a body over the limit and sending none of it: the answer comes from the header alone. */
function declareHuge (port: number): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/publish/', headers: { 'Content-Length': '1000001' } }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => { body += c })
      res.on('end', () => { resolve({ status: res.statusCode!, body }) })
    })
    req.on('error', reject)
    req.flushHeaders()
  })
}

test.serial('POST /publish/ answers 200 "Published" and every item reaches the subscriber, in order', async (t) => {
  const { sub, url } = await rig(t)
  const res = await post(url + '/publish/', JSON.stringify({
    items: [
      { channel: 'a', id: '1', 'prev-id': '0', formats: { 'http-response': { code: 201, reason: 'Made', headers: [['X-A', 'b']], body: 'hello' } } },
      { channel: 'b', formats: { 'http-stream': { content: 'chunk' }, 'ws-message': { 'content-bin': Buffer.from([0, 1, 2]).toString('base64') } } }
    ]
  }))
  t.is(res.status, 200)
  t.is(await res.text(), 'Published\n')
  t.is(res.headers.get('content-type'), 'text/plain')
  t.deepEqual(await sub.next(), {
    channel: 'a', id: '1', prevId: '0',
    httpResponse: { code: 201, reason: 'Made', headers: [['X-A', 'b']], body: Buffer.from('hello') },
    httpStream: null, wsMessage: null
  })
  const b = await sub.next()
  t.is(b.channel, 'b')
  t.is(text(b.httpStream?.content), 'chunk')
  t.deepEqual(b.wsMessage, { content: Buffer.from([0, 1, 2]), binary: true, close: false, code: 0 })
  // Pushpin's path without the slash, and its JSON answer.
  const json = await post(url + '/publish', JSON.stringify({ items: [{ channel: 'c', 'http-stream': { action: 'close' } }] }), { Accept: 'application/json' })
  t.is(json.status, 200)
  t.deepEqual(await json.json(), { message: 'Published' })
  t.deepEqual((await sub.next()).httpStream, { content: Buffer.alloc(0), close: true })
})

test.serial('bad requests: 400 naming the field and nothing of that request published; 404, 405, 406, 413; the next good item goes through', async (t) => {
  const { sys, sub, url, port } = await rig(t)
  const bad = await post(url + '/publish/', JSON.stringify({ items: [{ channel: 'ok', 'http-stream': { content: 'x' } }, { channel: 'x', formats: { 'http-response': { code: 'two hundred', body: '' } } }] }))
  t.is(bad.status, 400)
  t.is(await bad.text(), 'Invalid format: items[1].formats.http-response.code must be an integer, got "two hundred"\n')
  const garbage = await post(url + '/publish/', '{"items": [')
  t.is(garbage.status, 400)
  t.is(await garbage.text(), 'Body is not valid JSON.\n')
  const noItems = await post(url + '/publish/', '{}')
  t.is(noItems.status, 400)
  t.is(await noItems.text(), "Invalid format: body has no 'items'\n")
  t.is((await fetch(url + '/nowhere')).status, 404)
  const get = await fetch(url + '/publish/')
  t.is(get.status, 405)
  t.is(get.headers.get('allow'), 'POST')
  t.is((await post(url + '/publish/', '{}', { Accept: 'image/png' })).status, 406)
  t.deepEqual(await declareHuge(port), { status: 413, body: 'Request body larger than 1000000 bytes.\n' })
  const good = await post(url + '/publish/', JSON.stringify({ items: [{ channel: 'after', 'http-stream': { content: 'still here' } }] }))
  t.is(good.status, 200)
  const item = await sub.next()
  t.is(item.channel, 'after', 'the valid item of the rejected request was not published')
  t.is(text(item.httpStream?.content), 'still here')
  const stats = await (await fetch(url + '/publish/stats')).json() as { published: number, rejected: number, dropped: number }
  t.true(stats.rejected >= 3)
  t.is(stats.dropped, 0)
  t.is(sys.procs[0]!.child.exitCode, null, 'the broker lives')
})

test.serial('@fanoutio/grip Publisher: http-response, http-stream, ws-message and close reach the subscriber', async (t) => {
  const { sub, url } = await rig(t)
  const publisher = new Publisher({ control_uri: url })
  await publisher.publishHttpResponse('g1', 'response body', 'id-1', 'id-0')
  await publisher.publishHttpStream('g2', 'stream chunk')
  await publisher.publishFormats('g3', new WebSocketMessageFormat('ws text'))
  await publisher.publishFormats('g4', [new HttpStreamFormat(null, true), new WebSocketMessageFormat(null, true, 4000)])
  await publisher.publishFormats('g5', new WebSocketMessageFormat(new Uint8Array([9, 8])))
  const r = await sub.next()
  t.like(r, { channel: 'g1', id: 'id-1', prevId: 'id-0' })
  t.is(text(r.httpResponse?.body), 'response body')
  t.is(r.httpResponse?.code, 200)
  t.is(text((await sub.next()).httpStream?.content), 'stream chunk')
  t.deepEqual((await sub.next()).wsMessage, { content: Buffer.from('ws text'), binary: false, close: false, code: 0 })
  const closing = await sub.next()
  t.deepEqual(closing.httpStream, { content: Buffer.alloc(0), close: true })
  t.deepEqual(closing.wsMessage, { content: Buffer.alloc(0), binary: false, close: true, code: 4000 })
  t.deepEqual((await sub.next()).wsMessage, { content: Buffer.from([9, 8]), binary: true, close: false, code: 0 })
})

test.serial("Debian's pushpin-publish, over HTTP and over ZeroMQ, reaches the subscriber", async (t) => {
  t.true(existsSync(kPushpinPublish), `${kPushpinPublish} is missing: apt-get install pushpin`)
  const { sys, sub, url } = await rig(t)
  await run(kPushpinPublish, ['--spec', url, '-H', 'X-Via: cli', '--id', 'p2', '--prev-id', 'p1', 'cli-http', 'hello'])
  const h = await sub.next()
  t.like(h, { channel: 'cli-http', id: 'p2', prevId: 'p1' })
  t.deepEqual(h.httpResponse, { code: 200, reason: '', headers: [['X-Via', 'cli']], body: Buffer.from('hello\n') })
  t.is(text(h.httpStream?.content), 'hello\n')
  t.is(text(h.wsMessage?.content), 'hello')
  await run(kPushpinPublish, ['--spec', sys.publish.pull, 'cli-zmq', 'over zeromq'])
  const z = await sub.next()
  t.is(z.channel, 'cli-zmq')
  t.is(text(z.httpStream?.content), 'over zeromq\n')
  await run(kPushpinPublish, ['--spec', sys.publish.pull, '--close', 'cli-close'])
  const c = await sub.next()
  t.is(c.channel, 'cli-close')
  t.true(c.httpStream?.close === true && c.wsMessage?.close === true)
  // --hint needs an origin to fetch from: refused by name, logged, nothing published.
  await run(kPushpinPublish, ['--spec', sys.publish.pull, '--hint', 'cli-hint'])
  await sys.procs[0]!.waitFor(/rejected a message on broker\.publishPull.*action \\?"hint\\?" is not supported/)
})

test.serial("a raw ZeroMQ PUSH in Pushpin's encodings ('J' + JSON, 'T' + tnetstring, bare tnetstring); garbage is rejected and loses nothing", async (t) => {
  const { sys, sub } = await rig(t)
  const push = new zmq.Push({ linger: 0 })
  push.connect(sys.publish.pull)
  t.teardown(() => { push.close() })
  const item = { channel: 'raw', formats: { 'ws-message': { content: 'hi' } } }
  await push.send('J' + JSON.stringify({ ...item, id: 'j' }))
  await push.send(Buffer.concat([Buffer.from('T'), encode({ ...item, id: 't' })]))
  await push.send(encode({ ...item, id: 'bare' }))
  for (const id of ['j', 't', 'bare']) {
    const got = await sub.next()
    t.like(got, { channel: 'raw', id })
    t.is(text(got.wsMessage?.content), 'hi')
  }
  await push.send('garbage that is no item')
  await push.send(['two', 'frames'])
  await push.send('J{"channel":')
  await push.send(encode({ ...item, id: 'after-garbage' }))
  t.is((await sub.next()).id, 'after-garbage')
  const broker = sys.procs[0]!
  await broker.waitFor(/rejected a message on broker\.publishPull.*SWB_ERR_PUSHPIN_MESSAGE/)
  t.regex(broker.output, /message has 2 frames/)
  t.regex(broker.output, /SWB_ERR_PUSHPIN_JSON/)
  t.is(broker.child.exitCode, null)
})

test.serial('publishHttp beyond loopback: a missing or bad JWT gets 401, a good one (HS256, exp) publishes; grip signs with control_iss + key', async (t) => {
  const key = 'a shared secret'
  const { sub, url } = await rig(t, { publishKey: key }, '0.0.0.0')
  const body = (channel: string): string => JSON.stringify({ items: [{ channel, 'http-stream': { content: channel } }] })
  const secret = new TextEncoder().encode(key)
  const sign = (k: Uint8Array, exp: string | number | null): Promise<string> => {
    const jwt = new SignJWT({ iss: 'test' }).setProtectedHeader({ alg: 'HS256' })
    if (exp !== null) jwt.setExpirationTime(exp)
    return jwt.sign(k)
  }
  const missing = await post(url + '/publish/', body('x'))
  t.is(missing.status, 401)
  t.is(missing.headers.get('www-authenticate'), 'Bearer')
  for (const token of [
    'not.a.jwt',
    await sign(new TextEncoder().encode('another key'), '1h'),
    await sign(secret, Math.floor(Date.now() / 1000) - 60),
    await sign(secret, null)
  ]) {
    const res = await post(url + '/publish/', body('x'), { Authorization: `Bearer ${token}` })
    t.is(res.status, 401, token)
    t.regex(await res.text(), /^Invalid token: /)
  }
  const ok = await post(url + '/publish/', body('signed'), { Authorization: `Bearer ${await sign(secret, '1h')}` })
  t.is(ok.status, 200)
  t.is((await sub.next()).channel, 'signed', 'no refused item was published')
  await new Publisher({ control_uri: url, control_iss: 'grip', key: secret }).publishHttpStream('grip-signed', 'x')
  t.is((await sub.next()).channel, 'grip-signed')
})

test.serial('publishHttp beyond loopback without publishKey: the broker refuses to start, naming both fields', async (t) => {
  const sys = new System({ publishHttp: `0.0.0.0:${await freePort()}` })
  t.teardown(() => sys.stop())
  const broker = sys.node('broker', 'broker/main.ts')
  t.not(await broker.exited, 0)
  t.regex(broker.output, /broker\.publishHttp "0\.0\.0\.0:\d+" is not a loopback address, so broker\.publishKey must be set/)
})

test.serial('an acceptor too far behind: the items the broker cannot queue are dropped, counted and logged; the broker lives', async (t) => {
  const { sys, url } = await rig(t, { hwm: 1 }, '127.0.0.1', false)
  // A subscriber that never reads, with the smallest queue: the broker's pipe to it fills.
  const stalled = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: 1 })
  stalled.connect(sys.publish.out)
  stalled.subscribe()
  t.teardown(() => { stalled.close() })
  const push = new zmq.Push({ linger: 0 })
  push.connect(sys.publish.pull)
  t.teardown(() => { push.close() })
  const big = Buffer.alloc(256 * 1024, 0x61)
  let stats = { published: 0, dropped: 0, rejected: 0 }
  const deadline = Date.now() + 20_000
  while (stats.dropped === 0 && Date.now() < deadline) {
    for (let i = 0; i < 20; i++) await push.send(encode({ channel: 'flood', formats: { 'http-stream': { content: big } } }))
    await new Promise((resolve) => setTimeout(resolve, 100))
    stats = await (await fetch(url + '/publish/stats')).json() as typeof stats
  }
  t.true(stats.dropped > 0, JSON.stringify(stats))
  t.true(stats.published > 0, JSON.stringify(stats))
  await sys.procs[0]!.waitFor(/WARN broker: dropped a published item channel=flood reason="an acceptor is broker.hwm items behind"/)
  t.is(sys.procs[0]!.child.exitCode, null)
  await sys.procs[0]!.stop()
  t.regex(sys.procs[0]!.output, /publish stats published=\d+ dropped=\d+ rejected=0/)
})

test.serial('the defaults users run: pushpin-publish with no --spec (http://localhost:5561) and --spec tcp://127.0.0.1:5560 reach a SUB on tcp://127.0.0.1:9992', async (t) => {
  await holdDefaultPorts(t)
  const sys = new System({ config: { broker: { publishOut: 'tcp://127.0.0.1:9992', publishPull: 'tcp://127.0.0.1:5560', publishHttp: '127.0.0.1:5561' } } })
  t.teardown(() => sys.stop())
  await sys.startBroker()
  const sub = new Subscriber('tcp://127.0.0.1:9992')
  t.teardown(() => { sub.sock.close() })
  const deadline = Date.now() + 15_000
  while (sub.items.length === 0) {
    if (Date.now() > deadline) throw new Error('no warm-up item:\n' + sys.logs())
    await run(kPushpinPublish, ['warmup', 'w'])
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  await run(kPushpinPublish, ['room', 'over http'])
  t.is(text((await sub.next()).httpStream?.content), 'over http\n')
  await run(kPushpinPublish, ['--spec', 'tcp://127.0.0.1:5560', 'room', 'over zeromq'])
  t.is(text((await sub.next()).wsMessage?.content), 'over zeromq')
})

test.serial('broker.publishRate: items over the per-channel rate are dropped and counted; other channels pass', async (t) => {
  const { sub, url } = await rig(t, { publishRate: 2 })
  const limited = async (): Promise<number> => ((await (await fetch(url + '/publish/stats')).json()) as { limited: number }).limited
  const before = await limited() // warm-up items may have been limited too
  const items = Array.from({ length: 10 }, (_, i) => ({ channel: 'busy', id: String(i), 'http-stream': { content: 'x' } }))
  items.push({ channel: 'quiet', id: 'q', 'http-stream': { content: 'y' } })
  t.is((await post(url + '/publish/', JSON.stringify({ items }))).status, 200)
  t.like(await sub.next(), { channel: 'busy', id: '0' })
  t.like(await sub.next(), { channel: 'busy', id: '1' })
  t.like(await sub.next(), { channel: 'quiet', id: 'q' })
  t.is(await limited() - before, 8)
})

test.serial('two acceptors (two SUBs on publishOut): each gets every item once, in order', async (t) => {
  const { sys, sub, url } = await rig(t)
  const second = new Subscriber(sys.publish.out)
  t.teardown(() => { second.sock.close() })
  // The second subscription travels like the first: wait until it hears the warm-ups too.
  const push = new zmq.Push({ linger: 0 })
  push.connect(sys.publish.pull)
  t.teardown(() => { push.close() })
  const deadline = Date.now() + 15_000
  while (second.items.length === 0) {
    if (Date.now() > deadline) throw new Error('the second subscriber never heard a warm-up item')
    await push.send(encode({ channel: 'warmup2', formats: { 'http-stream': { content: 'w' } } }))
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const items = Array.from({ length: 50 }, (_, i) => ({ channel: 'both', id: String(i), 'http-stream': { content: String(i) } }))
  t.is((await post(url + '/publish/', JSON.stringify({ items }))).status, 200)
  for (const s of [sub, second]) {
    const ids: Array<string | null> = []
    for (let i = 0; i < 50; i++) ids.push((await s.next()).id)
    t.deepEqual(ids, items.map((x) => x.id))
  }
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.is(sub.items.filter((x) => x.channel === 'both').length + second.items.filter((x) => x.channel === 'both').length, 0, 'no item twice')
})
