/**
 * A handler's `Content-Length: 0` response to a GET ends the response (it used to hang:
 * no body byte ever came to finish it), and the keep-alive connection serves the next one.
 */
import test from 'ava'
import { parseResponse, RawClient } from '../helpers/raw-http.js'
import { acceptorUuid, attachSpy } from '../helpers/spy.js'
import { startSystem } from '../helpers/system.js'

test.serial('a Content-Length: 0 response to a GET is complete; the connection serves the next request', async (t) => {
  const sys = await startSystem(t, { handlers: 0 })
  const spy = await attachSpy(t, sys)
  const uuid = acceptorUuid(sys)
  const c = new RawClient(sys.port)
  t.teardown(() => c.destroy())
  await c.write('GET /empty HTTP/1.1\r\nHost: x\r\n\r\n')
  const m = await spy.request('/empty')
  await spy.reply(uuid, [m.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')
  const first = await c.until((d) => parseResponse(d) !== null, 3000)
  const r = parseResponse(first.data)
  t.truthy(r, `a complete response: ${JSON.stringify(first.data)}`)
  t.is(r?.status, 200)
  t.is(r?.body, '')
  t.false(first.closed)
  c.data = ''
  await c.write('GET /again HTTP/1.1\r\nHost: x\r\n\r\n')
  const n = await spy.request('/again')
  await spy.reply(uuid, [n.req.id], 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
  const second = await c.until((d) => parseResponse(d) !== null, 3000)
  t.is(parseResponse(second.data)?.body, 'ok')
})
