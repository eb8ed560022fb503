/**
 * Client input, end to end at the wire (issue 11, defects 2 and 3): PATH is the raw path
 * as sent (Mongrel2 1.12), what uWS.js lets through but a handler must not see gets 400,
 * a stalled body gets 408, and every shape uWS.js itself drops (README "Limits") is pinned
 * here, byte for byte, with a spy handler that must see none of it. One system serves the
 * file (default config but for port 0 and ipc endpoints, so bodyTimeoutMs is the default).
 */
import test, { type ExecutionContext } from 'ava'
import { parseResponse, RawClient, type RawResult } from '../helpers/raw-http.js'
import { attachSpy, type Spy } from '../helpers/spy.js'
import { System } from '../helpers/system.js'

let sys: System
let spy: Spy
let sender = ''

test.before(async () => {
  sys = new System({
    handlers: 0,
    config: {
      hosts: [{ name: 'localhost', matching: '', routes: { '/': { service: 'demo' }, '/x%20y': { service: 'demo' } } }]
    }
  })
  await sys.startBroker()
  await sys.startAcceptor()
  // after.always closes the spy and stops the system (hooks have no t.teardown).
  spy = await attachSpy({ teardown: () => {} } as unknown as ExecutionContext, sys)
  const res = fetch(sys.url + '/whoami')
  const m = await spy.request('/whoami')
  sender = m.req.sender
  await spy.reply(sender, [m.req.id], 'HTTP/1.1 204 No Content\r\n\r\n')
  await res
})

test.after.always(async () => { spy?.close(); await sys?.stop() })

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Sends `parts` (pausing 100 ms between them, so each is its own TCP read) and waits up to `ms`. */
async function send (parts: Array<string | Buffer>, ms: number, until: (data: string) => boolean = () => false): Promise<RawResult & { ms: number }> {
  const c = new RawClient(sys.port)
  const t0 = Date.now()
  try {
    for (let i = 0; i < parts.length; i++) {
      if (i > 0) await sleep(100)
      await c.write(typeof parts[i] === 'string' ? Buffer.from(parts[i] as string, 'latin1') : parts[i]!)
    }
    const r = await c.until((d) => until(d), ms)
    return { ...r, ms: Date.now() - t0 }
  } finally {
    c.destroy()
  }
}

/** True when any message the spy got carries `tag` (in its path, headers or body). */
function spySaw (tag: string): boolean {
  return spy.messages.some((m) => m.raw.includes(tag))
}

const k400 = 'HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n'

// ---- defect 2: the raw path -------------------------------------------------------------

test('PATH, URI and routing use the path exactly as sent, percent-escapes kept (Mongrel2 1.12)', async (t) => {
  for (const [target, path, pattern] of [
    ['/a%20b', '/a%20b', '/'],
    ['/a%2Fb?q=%20', '/a%2Fb', '/'],
    ['/nul%00byte', '/nul%00byte', '/'],
    ['/x%20y/z', '/x%20y/z', '/x%20y'], // the raw route matches the raw path
    ['/x%2520y', '/x%2520y', '/']
  ] as const) {
    const res = fetch(sys.url + target)
    const m = await spy.request(path)
    t.true(m.raw.toString('latin1').startsWith(`${sender} ${m.req.id} ${path} `), `envelope PATH for ${target}`)
    t.is(m.req.headers.PATH, path)
    t.is(m.req.headers.URI, target)
    t.is(m.req.headers.PATTERN, pattern, `route for ${target}`)
    t.false(m.raw.includes(0), 'no NUL byte anywhere in the message')
    await spy.reply(sender, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    t.is((await res).status, 200, target)
  }
})

test('bytes uWS.js passes but a handler must not see: 400 with Connection: close, nothing sent', async (t) => {
  const cases: Array<[string, string]> = [
    ['del-path', 'GET /bad/del-path\x7f HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['del-query', 'GET /bad/del-query?a\x7fb HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['del-header', 'GET /bad/del-header HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n'],
    ['latin1-path', 'GET /bad/latin1-path\xe9 HTTP/1.1\r\nHost: x\r\n\r\n'],
    ['te-xchunked', 'POST /bad/te-xchunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['te-gzip', 'POST /bad/te-gzip HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n'],
    ['te-twice', 'POST /bad/te-twice HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']
  ]
  const results = await Promise.all(cases.map(([, bytes]) => send([bytes], 3000)))
  for (let i = 0; i < cases.length; i++) {
    const [name] = cases[i]!
    const r = results[i]!
    t.true(r.data.startsWith(k400), `${name}: ${JSON.stringify(r.data)}`)
    t.is(parseResponse(r.data)?.body, 'malformed request\n', name)
    t.true(r.closed, `${name}: closed`)
  }
  await sleep(300)
  for (const [name] of cases) t.false(spySaw(`/bad/${name}`), `${name} reached no handler`)
})

test('Transfer-Encoding: chunked in any case is served; a header named constructor is just a header', async (t) => {
  const res = send(['POST /ok/chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: Chunked\r\nconstructor: y\r\n\r\n5\r\nhello\r\n0\r\n\r\n'], 5000, (d) => parseResponse(d) !== null)
  const m = await spy.request('/ok/chunked')
  t.is(m.req.body.toString(), 'hello')
  t.is(Object.getOwnPropertyDescriptor(m.req.headers, 'constructor')?.value, 'y')
  await spy.reply(sender, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
  t.is(parseResponse((await res).data)?.status, 200)
})

// ---- defect 3 and the README's Limits table ---------------------------------------------

/** Rows of README "Limits" that uWS.js closes at once, before JavaScript runs. */
const kClosedAtOnce: Array<[string, Array<string | Buffer>]> = [
  ['cl-abc', ['POST /limits/cl-abc HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n']],
  ['cl-negative', ['POST /limits/cl-negative HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n']],
  ['cl-list', ['POST /limits/cl-list HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello']],
  ['cl-plus', ['POST /limits/cl-plus HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello']],
  ['cl-10-digits', ['POST /limits/cl-10-digits HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n']],
  ['cl-20-digits', ['POST /limits/cl-20-digits HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n']],
  ['cl-and-te', ['POST /limits/cl-and-te HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n']],
  ['bad-chunk', ['POST /limits/bad-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n']],
  ['head-5k', ['GET /limits/head-5k HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(5000), '\r\n\r\n']],
  ['url-5k', ['GET /limits/url-5k?' + 'a'.repeat(5000), ' HTTP/1.1\r\nHost: x\r\n\r\n']]
]

/** Rows uWS.js leaves hanging, without a byte, until its idle timer closes the socket. */
const kHang: Array<[string, string]> = [
  ['options-star', 'OPTIONS * HTTP/1.1\r\nHost: x\r\nX-Tag: /limits/options-star\r\n\r\n'],
  ['no-host', 'GET /limits/no-host HTTP/1.1\r\n\r\n'],
  ['absolute-form', 'GET http://x/limits/absolute-form HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['bare-lf', 'GET /limits/bare-lf HTTP/1.1\nHost: x\n\n'],
  ['folded', 'GET /limits/folded HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n'],
  ['49-lines', 'GET /limits/49-lines HTTP/1.1\r\nHost: x\r\n' + Array.from({ length: 48 }, (_, i) => `X-H${i}: v\r\n`).join('') + '\r\n'],
  ['http-1.0', 'GET /limits/http-1.0 HTTP/1.0\r\nHost: x\r\n\r\n'],
  ['ctl-in-target', 'GET /limits/ctl-in-target\x01 HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['nul-in-header', 'GET /limits/nul-in-header HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n'],
  ['cr-in-header', 'GET /limits/cr-in-header HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n'],
  ['http-2.0', 'GET /limits/http-2.0 HTTP/2.0\r\nHost: x\r\n\r\n'],
  ['dot-in-name', 'GET /limits/dot-in-name HTTP/1.1\r\nHost: x\r\nx.y: b\r\n\r\n'],
  ['underscore-name', 'GET /limits/underscore-name HTTP/1.1\r\nHost: x\r\nX_A: b\r\n\r\n']
]

test('Limits: what uWS.js drops before JavaScript gets no bytes, reaches no handler; a stalled body gets 408', async (t) => {
  t.timeout(40_000)
  const [closed, hung, stalled, served] = await Promise.all([
    Promise.all(kClosedAtOnce.map(([, parts]) => send(parts, 3000))),
    Promise.all(kHang.map(([, bytes]) => send([bytes], 20_000))),
    Promise.all([
      send(['POST /limits/stall-length HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nhel'], 20_000),
      send(['POST /limits/stall-chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n'], 20_000)
    ]),
    // The edges of those rows are served: 48 header lines, a head of 4000 bytes in two reads.
    Promise.all([
      send(['GET /limits/ok-48-lines HTTP/1.1\r\nHost: x\r\n' + Array.from({ length: 47 }, (_, i) => `X-H${i}: v\r\n`).join('') + '\r\n'], 5000),
      send(['GET /limits/ok-head-4000 HTTP/1.1\r\nHost: x\r\nX-Big: ' + 'a'.repeat(3900), '\r\n\r\n'], 5000)
    ]).catch((err: unknown) => { throw err }),
    // Answer the two that should be served, as a handler would.
    (async () => {
      for (const path of ['/limits/ok-48-lines', '/limits/ok-head-4000']) {
        const m = await spy.request(path, 8000)
        await spy.reply(sender, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      }
    })()
  ])
  for (let i = 0; i < kClosedAtOnce.length; i++) {
    const r = closed[i]!
    const name = kClosedAtOnce[i]![0]
    t.deepEqual([r.data, r.closed], ['', true], `${name}: closed without a byte`)
    t.true(r.ms < 2000, `${name}: closed at once (${r.ms} ms)`)
  }
  for (let i = 0; i < kHang.length; i++) {
    const r = hung[i]!
    const name = kHang[i]![0]
    t.deepEqual([r.data, r.closed], ['', true], `${name}: no byte, then closed`)
    t.true(r.ms >= 6000 && r.ms < 18_000, `${name}: closed by uWS.js's idle timer 8–12 s later (${r.ms} ms)`)
  }
  for (const r of stalled) {
    t.true(r.data.startsWith('HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n'), r.data)
    t.is(parseResponse(r.data)?.body, 'no request body byte for 5000 ms\n')
    t.true(r.closed)
    t.true(r.ms >= 4900 && r.ms < 9000, `408 after the default bodyTimeoutMs (${r.ms} ms), before uWS.js's idle close`)
  }
  for (const r of served) t.is(parseResponse(r.data)?.status, 200)
  await sleep(200)
  for (const [name] of [...kClosedAtOnce, ...kHang, ['stall-length'], ['stall-chunked']]) {
    t.false(spySaw(`/limits/${name}`), `${name} reached no handler`)
  }
})

test('a header value byte that is not UTF-8 reaches the handler as U+FFFD (uWS.js decodes values as UTF-8)', async (t) => {
  const res = send(['GET /limits/latin1-value HTTP/1.1\r\nHost: x\r\nX-A: a\xe9b\r\n\r\n'], 5000, (d) => parseResponse(d) !== null)
  const m = await spy.request('/limits/latin1-value')
  t.is(m.req.headers['x-a'], 'a\ufffdb')
  await spy.reply(sender, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
  t.is(parseResponse((await res).data)?.status, 200)
})

test('the edge of the Content-Length row: 9 digits reach the acceptor, which answers 413 over the body limit', async (t) => {
  const r = await send(['POST /limits/cl-9-digits HTTP/1.1\r\nHost: x\r\nContent-Length: 999999999\r\n\r\n'], 3000)
  t.true(r.data.startsWith('HTTP/1.1 413 Payload Too Large\r\n'), r.data)
  t.true(r.closed)
  t.false(spySaw('/limits/cl-9-digits'))
})

test('fuzz: no request head makes the acceptor answer 500 or die, and no NUL reaches a handler', async (t) => {
  t.timeout(45_000)
  const fc = await import('fast-check')
  // Bytes in the places a client controls: printable ASCII, escapes (valid, control, bad),
  // DEL, non-UTF-8, UTF-8, and a few control bytes (uWS.js drops those).
  const piece = fc.oneof(
    fc.stringMatching(/^[A-Za-z0-9\-._~!$&'()*+,;=:@/]{1,6}$/),
    fc.constantFrom('%20', '%2F', '%00', '%0a', '%7F', '%zz', '%', '%C3%A9', '%C3', '\x7f', '\xe9', '\xc3\xa9', '\x01', '\t', '?', '#', '__proto__', 'constructor')
  )
  const text = fc.array(piece, { minLength: 0, maxLength: 6 }).map((p) => p.join(''))
  const request = fc.record({
    method: fc.constantFrom('GET', 'POST', 'HEAD', 'DELETE', 'PATCH'),
    path: text,
    name: fc.constantFrom('x-a', 'constructor', 'Host', 'Transfer-Encoding', 'Content-Length', 'X-Forwarded-For', 'Connection'),
    value: text,
    body: fc.constantFrom('', 'hello')
  })
  const seed = Date.now()
  t.log(`seed ${seed}`)
  const cases = fc.sample(request, { seed, numRuns: 200 }).map((r, i) => {
    const head = `${r.method} /fz${i}/${r.path} HTTP/1.1\r\nHost: x\r\n${r.name}: ${r.value}\r\n`
    return head + (r.body ? `Content-Length: ${r.body.length}\r\n\r\n${r.body}` : '\r\n')
  })
  // Answer whatever reaches the spy, as a handler would.
  const answered = new Set<number>()
  let fuzzing = true
  const answering = (async () => {
    while (fuzzing) {
      for (const m of spy.messages) {
        if (m.disconnect || !m.req.path.startsWith('/fz') || answered.has(m.req.id)) continue
        answered.add(m.req.id)
        t.false(m.raw.subarray(0, m.raw.length - m.req.body.length).includes(0), `no NUL in ${JSON.stringify(m.raw.toString('latin1'))}`)
        await spy.reply(sender, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
      }
      await sleep(20)
    }
  })()
  const results = await Promise.all(cases.map((bytes) => send([bytes], 15_000, (d) => parseResponse(d) !== null)))
  fuzzing = false
  await answering
  const statuses = new Map<string, number>()
  for (let i = 0; i < cases.length; i++) {
    const r = results[i]!
    const status = r.data === '' ? (r.closed ? 'closed' : 'silent') : String(/^HTTP\/1\.1 (\d{3})/.exec(r.data)?.[1])
    statuses.set(status, (statuses.get(status) ?? 0) + 1)
    t.true(['200', '400', '404', '413', 'closed'].includes(status), `${JSON.stringify(cases[i])} got ${JSON.stringify(r.data.slice(0, 200))}`)
  }
  t.log([...statuses].map(([s, n]) => `${s}: ${n}`).join(', '))
  t.is((await fetch(sys.url + '/__probe__', { method: 'HEAD' })).status, 200, 'the acceptor is alive and serving')
})
