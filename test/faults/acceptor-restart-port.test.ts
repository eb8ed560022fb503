// The acceptor SIGKILLed while a client holds a keep-alive connection, and started again on
// the same port at once: it must listen there and serve. Found by the fault suite: the
// uWS.js build (uSockets) binds without SO_REUSEADDR (strace: only IPV6_V6ONLY is set),
// so the server side of that connection sits in TIME_WAIT and the restart fails with
// "cannot listen ... (in use?)" for up to 60 s. Not one of issue 11's defects.
import test from 'ava'
import { startSystem, waitUntil } from '../helpers/system.js'

test.serial('SIGKILL the acceptor and restart it on the same port at once: it listens there and serves', async (t) => {
  t.timeout(60_000)
  const sys = await startSystem(t, { handlers: 1 })
  const port = sys.port
  t.is((await fetch(`${sys.url}/hello`)).status, 200)
  await sys.procs.find((p) => p.name === 'acceptor')!.stop('SIGKILL')
  const restartedAt = Date.now()
  await sys.startAcceptor({ SWITCHBOARD_PORT: String(port) })
  const listeningMs = Date.now() - restartedAt
  t.is(sys.port, port, 'the same port was free at once')
  let servedMs = 0
  await waitUntil(async () => {
    const r = await fetch(`${sys.url}/hello`).catch(() => null)
    if (r?.status === 200) servedMs = Date.now() - restartedAt
    return servedMs > 0
  }, 10_000, 'a 200 from the restarted acceptor')
  t.log(`listening again ${listeningMs} ms after the restart began, serving after ${servedMs} ms`)
  t.true(servedMs < 20_000)
})
