// Request smuggling through an answer that closes the connection. The acceptor answers
// 400 (two different Content-Length lines) or 413 (body over acceptor.bodyLimit) with
// `Connection: close`, but uWS.js has already parsed the bytes that followed in the same
// packet as a second, pipelined request and hands it to JavaScript: that request must never
// reach a handler (its answer could not even be written). Found by the hostile-client
// suite; not one of issue 11's defects.
import test from 'ava'
import { RawClient } from '../helpers/raw-http.js'
import { attachSpy } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'
import { autoAnswer, reachedPaths, sendRaw } from './hostile.js'

const H = 'Host: localhost\r\n'

test('a request pipelined behind a 400 or 413 that closes the connection never reaches a handler', async (t) => {
  const sys = await startSystem(t, { handlers: 0, env: { SWITCHBOARD_TRACE: '1' } })
  const spy = await attachSpy(t, sys)
  t.teardown(autoAnswer(spy))
  const big = 30_000 // over the default acceptor.bodyLimit (20,480)
  const cases: Array<[string, string]> = [
    ['two Content-Length lines that differ', `POST /d1 HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhelloGET /smuggled-dupcl HTTP/1.1\r\n${H}\r\n`],
    ['a body over the limit', `POST /d2 HTTP/1.1\r\n${H}Content-Length: ${big}\r\n\r\n${'b'.repeat(big)}GET /smuggled-413 HTTP/1.1\r\n${H}\r\n`],
    ['a chunked body found over the limit while reading it', `POST /d3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${big.toString(16)}\r\n${'c'.repeat(big)}\r\n0\r\n\r\nGET /smuggled-chunked HTTP/1.1\r\n${H}\r\n`],
    ['a Transfer-Encoding Switchboard refuses', `POST /d4 HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\nGET /smuggled-te HTTP/1.1\r\n${H}\r\n`]
  ]
  const results = await Promise.all(cases.map(async ([name, bytes]) => ({ name, r: await sendRaw(sys.port, bytes) })))
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (const { name, r } of results) {
    t.true(r.status === 0 || (r.status >= 400 && r.status < 500), `${name}: ${r.status}`)
  }
  t.deepEqual(reachedPaths(spy).filter((p) => p.startsWith('/smuggled') || p.startsWith('/d')), [], 'nothing of these connections reached the handler')
  // A held answer is aborted by uWS.js's close (REMOTE_CLOSE in Closing), or written if the
  // pipelined bytes came in a later read (uWS.js then ignores them); nothing throws.
  const log = sys.procs.find((p) => p.name === 'acceptor')!.output
  const aborted = log.match(/Closing --REMOTE_CLOSE@abort--> Done/g)?.length ?? 0
  const written = log.match(/Closing --FLUSH@flushAnswer--> Done/g)?.length ?? 0
  t.is(aborted + written, cases.length, log)
  t.true(aborted >= 1, 'the pipelined request made uWS.js close the connection')
  t.notRegex(log, /ERROR/)
})

test('alone on their connections, the same requests still get their 400 or 413 with Connection: close', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  t.teardown(autoAnswer(spy))
  const big = 30_000
  const cases: Array<[number, string]> = [
    [400, `POST /a1 HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello`],
    [413, `POST /a2 HTTP/1.1\r\n${H}Content-Length: ${big}\r\n\r\n${'b'.repeat(big)}`],
    [413, `POST /a3 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${big.toString(16)}\r\n${'c'.repeat(big)}\r\n0\r\n\r\n`],
    [400, `POST /a4 HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n`]
  ]
  const results = await Promise.all(cases.map(async ([status, bytes]) => {
    const c = new RawClient(sys.port)
    t.teardown(() => { c.destroy() })
    await c.write(bytes)
    return { status, r: await c.until(() => false, 10_000) }
  }))
  for (const { status, r } of results) {
    t.regex(r.data, new RegExp(`^HTTP/1\\.1 ${status} [^]*\r\nConnection: close\r\n`, 'i'), r.data)
    t.true(r.closed, 'the acceptor closed the connection')
  }
  t.deepEqual(reachedPaths(spy).filter((p) => p.startsWith('/a')), [])
  // And the acceptor keeps serving.
  const next = fetch(`${sys.url}/after`)
  t.is((await next).status, 200)
})
