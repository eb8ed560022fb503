// Hostile and odd requests sent raw to an acceptor in the default configuration (port 0),
// with a raw ZeroMQ spy as the handler. A corpus written from RFC 9112 — bad request
// lines, absolute-form and asterisk targets, obsolete line folding, HTTP/1.0, missing
// Host, bare LF, control characters, request-smuggling shapes (CL+TE, TE+TE, bad
// Content-Length) and oversized heads and URLs — all at once, each on its own connection.
// Whatever the acceptor's fixes, it must hold that: none hangs longer than uWS.js's idle
// timer, the acceptor never answers 5xx, what must not reach a handler never does, and
// the acceptor serves normal requests afterwards.
import test from 'ava'
import { attachSpy, kProbePath } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'
import { autoAnswer, kIdleBoundMs, reachedPaths, sendRaw } from './hostile.js'

const H = 'Host: localhost\r\n'
const manyHeaders = (n: number): string => Array.from({ length: n }, (_, i) => `X-H${i}: v\r\n`).join('')

/** `never`: must not reach a handler; `may`: may reach it (then the spy answers 200). */
type Expect = 'never' | 'may'
const kCorpus: Array<[name: string, expect: Expect, bytes: string | Buffer]> = [
  // request line (RFC 9112 §3)
  ['HTTP/0.9 simple request', 'never', 'GET /c1\r\n\r\n'],
  ['extra token after the version', 'never', `GET /c2 HTTP/1.1 x\r\n${H}\r\n`],
  ['two spaces before the target', 'never', `GET  /c3 HTTP/1.1\r\n${H}\r\n`],
  ['method with a non-token byte', 'never', `G@T /c4 HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/9.9', 'never', `GET /c5 HTTP/9.9\r\n${H}\r\n`],
  ['lower-case method', 'may', `get /c6 HTTP/1.1\r\n${H}\r\n`],
  ['absolute-form target', 'never', `GET http://localhost/c7 HTTP/1.1\r\n${H}\r\n`],
  ['asterisk-form OPTIONS *', 'never', `OPTIONS * HTTP/1.1\r\n${H}\r\n`],
  ['authority-form CONNECT', 'never', `CONNECT localhost:80 HTTP/1.1\r\n${H}\r\n`],
  ['empty lines before the request line', 'never', `\r\n\r\nGET /c10 HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/1.0 without Host', 'never', 'GET /c11 HTTP/1.0\r\n\r\n'],
  ['HTTP/2 preface', 'never', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],
  ['TLS ClientHello on the plain port', 'never', Buffer.from('16030100a5010000a10303', 'hex')],
  // fields (RFC 9112 §5)
  ['HTTP/1.1 without Host', 'never', 'GET /c14 HTTP/1.1\r\n\r\n'],
  ['bare LF line ends', 'never', 'GET /c15 HTTP/1.1\nHost: localhost\n\n'],
  ['obsolete line folding', 'never', `GET /c16 HTTP/1.1\r\n${H}X-A: a\r\n b\r\n\r\n`],
  ['space before the colon', 'never', `GET /c17 HTTP/1.1\r\n${H}X-A : a\r\n\r\n`],
  ['NUL in a field value', 'never', `GET /c18 HTTP/1.1\r\n${H}X-A: a\u0000b\r\n\r\n`],
  ['bare CR in a field value', 'never', `GET /c19 HTTP/1.1\r\n${H}X-A: a\rb\r\n\r\n`],
  ['DEL in a field name', 'never', `GET /c20 HTTP/1.1\r\n${H}X\u007fA: a\r\n\r\n`],
  ['control byte in the target', 'never', `GET /c21\u0001x HTTP/1.1\r\n${H}\r\n`],
  ['bytes over 0x7f in the target', 'may', Buffer.from(`GET /c22\xff\xfe HTTP/1.1\r\n${H}\r\n`, 'latin1')],
  ['h2c upgrade request', 'may', `GET /c23 HTTP/1.1\r\n${H}Upgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n`],
  // message body framing and smuggling shapes (RFC 9112 §6)
  ['Content-Length with Transfer-Encoding (CL.TE)', 'never', `POST /c24 HTTP/1.1\r\n${H}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled-clte HTTP/1.1\r\n${H}\r\n`],
  ['Transfer-Encoding with a space before the colon', 'never', `POST /c25 HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\n\r\n0\r\n\r\nGET /smuggled-tesp HTTP/1.1\r\n${H}\r\n`],
  ['Transfer-Encoding on HTTP/1.0', 'never', `POST /c26 HTTP/1.0\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
  ['Content-Length list 5, 5', 'never', `POST /c27 HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`],
  ['Content-Length -1', 'never', `POST /c28 HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`],
  ['Content-Length of 20 digits', 'never', `POST /c29 HTTP/1.1\r\n${H}Content-Length: 99999999999999999999\r\n\r\n`],
  ['Content-Length abc', 'never', `POST /c30 HTTP/1.1\r\n${H}Content-Length: abc\r\n\r\n`],
  ['chunk size that is not hex', 'never', `POST /c31 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n`],
  ['100 KB chunk extension', 'never', `POST /c32 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5;${'e'.repeat(100_000)}\r\nhello\r\n0\r\n\r\n`],
  // sizes
  ['49 header lines', 'never', `GET /c33 HTTP/1.1\r\n${H}${manyHeaders(48)}\r\n`],
  ['500 header lines', 'never', `GET /c34 HTTP/1.1\r\n${H}${manyHeaders(500)}\r\n`],
  ['1 MiB header value', 'never', `GET /c35 HTTP/1.1\r\n${H}X-A: ${'a'.repeat(1 << 20)}\r\n\r\n`],
  ['1 MiB URL', 'never', `GET /c36?${'q'.repeat(1 << 20)} HTTP/1.1\r\n${H}\r\n`],
  ['8 MiB header value', 'never', `GET /c37 HTTP/1.1\r\n${H}X-A: ${'a'.repeat(8 << 20)}\r\n\r\n`],
  ['40 KB header value', 'may', `GET /c38 HTTP/1.1\r\n${H}X-A: ${'a'.repeat(40_000)}\r\n\r\n`],
  ['40 KB URL', 'may', `GET /c39?${'q'.repeat(40_000)} HTTP/1.1\r\n${H}\r\n`]
]

/** The path marker a corpus entry's request would reach the handler with ('/c7', '/smuggled-clte'). */
function markers (bytes: string | Buffer): string[] {
  const text = typeof bytes === 'string' ? bytes : bytes.toString('latin1')
  return [...text.matchAll(/(\/(?:c\d+|smuggled-[a-z]+))\b/g)].map((m) => m[1]!)
}

test('an RFC 9112 corpus of odd and hostile requests: no hang, no 5xx, nothing reaches a handler that should not', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const stopAnswering = autoAnswer(spy)
  t.teardown(stopAnswering)
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!

  const results = await Promise.all(kCorpus.map(async ([name, expect, bytes]) => ({ name, expect, bytes, r: await sendRaw(sys.port, bytes) })))
  // Give anything that did get through time to be seen by the spy.
  await new Promise((resolve) => setTimeout(resolve, 300))
  const reached = reachedPaths(spy)

  const problems: string[] = []
  for (const { name, expect, bytes, r } of results) {
    const what = `${name}: status ${r.status || 'none'}, ${r.closed ? 'closed' : 'open'} after ${r.ms} ms`
    if (r.ms > kIdleBoundMs) problems.push(`${what}: hung longer than uWS.js's idle timer`)
    if (r.status >= 500) problems.push(`${what}: the acceptor answered 5xx`)
    const got = markers(bytes).filter((m) => reached.some((p) => p.startsWith(m) && !/[0-9a-z-]/.test(p.charAt(m.length))))
    if (expect === 'never' && got.length > 0) problems.push(`${what}: reached the handler as ${got.join(', ')}`)
    if (expect === 'never' && r.status !== 0 && (r.status < 400 || r.status >= 500)) problems.push(`${what}: answered ${r.status}, want a 4xx or a close`)
    if (expect === 'may' && got.length > 0 && r.status !== 200) problems.push(`${what}: reached the handler but the client did not get its answer`)
  }
  for (const p of reached) {
    if (p.startsWith('/smuggled')) problems.push(`a smuggled request reached the handler: ${p}`)
  }
  t.log(results.map(({ name, r }) => `${name}: ${r.status || '-'} ${r.closed ? 'closed' : 'open'} ${r.ms} ms`).join('\n'))
  t.deepEqual(problems, [], sys.logs().slice(-4000))

  // The acceptor lives on and serves.
  t.is(acceptor.child.exitCode, null)
  t.is((await fetch(sys.url + kProbePath, { method: 'HEAD' })).status, 200)
})
