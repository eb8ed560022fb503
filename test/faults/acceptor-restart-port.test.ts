// The acceptor SIGKILLed while a client holds a keep-alive connection, and started again on
// the same port at once: it must listen there and serve. Found by the fault suite: uSockets
// sets SO_REUSEADDR only when given a port number (strace: on port 0 only IPV6_V6ONLY is
// set), so with port 0 the server side of that connection sat in TIME_WAIT without it and
// the restart failed with "cannot listen ... (in use?)" for up to 60 s. The acceptor now
// turns port 0 into a port number before listening. Not one of issue 11's defects.
import test from 'ava'
import { freePort, startSystem, waitUntil } from '../helpers/system.js'

const restart = test.macro(async (t, fixedPort: boolean) => {
  t.timeout(60_000)
  const env = fixedPort ? { SWITCHBOARD_PORT: String(await freePort()) } : undefined
  const sys = await startSystem(t, { handlers: 1, env })
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

test.serial('SIGKILL the acceptor (started on port 0) and restart it on the same port at once: it listens there and serves', restart, false)
test.serial('SIGKILL the acceptor (on a fixed port, as users run it) and restart it at once: it listens there and serves', restart, true)
