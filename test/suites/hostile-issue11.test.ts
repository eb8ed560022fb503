// Hostile requests whose required answers come with issue 11's fixes (defects 2 and 3):
// run after merging. Transfer-Encoding other than exactly `chunked` gets 400 and never
// reaches a handler; PATH is passed raw (`/e%20x`), a `%00` never reaches a handler as a
// real NUL, no input makes the acceptor answer 500 or log an ERROR, and a stalled body
// gets 408 (with close) before uWS.js's 10 s idle timer.
import test from 'ava'
import { attachSpy } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'
import { autoAnswer, kIdleBoundMs, reachedPaths, sendRaw } from './hostile.js'

const H = 'Host: localhost\r\n'

test('Transfer-Encoding other than exactly chunked: 4xx or close, never a handler (issue 11 #3)', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  t.teardown(autoAnswer(spy))
  const cases: Array<[string, string]> = [
    ['TE chunked + TE identity', `POST /e1 HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\nGET /smuggled-tete HTTP/1.1\r\n${H}\r\n`],
    ['TE xchunked', `POST /e2 HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\nGET /smuggled-xte HTTP/1.1\r\n${H}\r\n`],
    ['TE gzip, chunked', `POST /e3 HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`],
    ['TE chunked, identity', `POST /e4 HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`]
  ]
  const results = await Promise.all(cases.map(async ([name, bytes]) => ({ name, r: await sendRaw(sys.port, bytes) })))
  await new Promise((resolve) => setTimeout(resolve, 300))
  for (const { name, r } of results) {
    t.true(r.ms <= kIdleBoundMs, `${name}: no answer nor close within ${kIdleBoundMs} ms`)
    t.true(r.status === 0 ? r.closed : r.status >= 400 && r.status < 500, `${name}: status ${r.status}`)
  }
  t.deepEqual(reachedPaths(spy).filter((p) => p.startsWith('/e') || p.startsWith('/smuggled')), [], 'none reached the handler')
})

test('percent-escapes reach the handler raw, %00 never as a NUL, and nothing makes the acceptor answer 500 (issue 11 #2)', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  t.teardown(autoAnswer(spy))
  const targets = ['/f1%20x', '/f2%2Fy', '/f3%00z', '/f4%zz', '/f5%', '/f6%C3%A9', '/f7%ff']
  const results = await Promise.all(targets.map(async (target) => ({ target, r: await sendRaw(sys.port, `GET ${target} HTTP/1.1\r\n${H}\r\n`, 5000) })))
  await new Promise((resolve) => setTimeout(resolve, 300))
  const reached = reachedPaths(spy)
  for (const { target, r } of results) t.true(r.status !== 0 && r.status < 500, `${target}: status ${r.status}`)
  t.true(reached.includes('/f1%20x'), `PATH is the raw path; got ${JSON.stringify(reached)}`)
  t.true(reached.includes('/f2%2Fy'))
  t.false(reached.some((p) => p.includes('\u0000')), 'no real NUL in any PATH')
  const acceptor = sys.procs.find((p) => p.name === 'acceptor')!
  t.notRegex(acceptor.output, / ERROR /, 'no input a client sends makes the acceptor log an ERROR')
})

test('a request body that stalls gets 408 and a close before uWS.js\'s idle timer (issue 11 #3)', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  t.teardown(autoAnswer(spy))
  const r = await sendRaw(sys.port, `POST /g1 HTTP/1.1\r\n${H}Content-Length: 10\r\n\r\nhello`, 15_000)
  t.is(r.status, 408, r.data)
  t.true(r.ms < 10_000, `answered after ${r.ms} ms`)
  t.false(reachedPaths(spy).includes('/g1'), 'an incomplete request never reaches the handler')
})
