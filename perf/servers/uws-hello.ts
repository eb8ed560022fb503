/**
 * Contender 1: raw uWS.js answering in-process, the ceiling for any uWS.js front end.
 * Usage: `PORT=3000 node --import tsx perf/servers/uws-hello.ts` (or the port as argv[2]).
 */
import { uws } from '../../shared/uws.js'
import type { ListenableApp } from '../../shared/uws.js'

const kPort = Number(process.argv[2] ?? process.env.PORT ?? 3000)
// One ArrayBuffer reused for every answer: uWS copies it into the socket buffer.
const kBody = new TextEncoder().encode('Hello World\n').buffer

const app = uws.App()
app.any('/*', (res) => { res.end(kBody) })
;(app as unknown as ListenableApp).listen('127.0.0.1', kPort, uws.LIBUS_LISTEN_EXCLUSIVE_PORT, (ls) => {
  if (ls === false) {
    process.stderr.write(`uws-hello: cannot listen on 127.0.0.1:${kPort}\n`)
    process.exit(1)
  }
  process.stdout.write(`uws-hello: listening on 127.0.0.1:${kPort} pid ${process.pid}\n`)
  // Exit by draining, not process.exit: clinic's samplers flush on beforeExit.
  const drain = (): void => {
    uws.us_listen_socket_close(ls)
    ;(app as unknown as ListenableApp).close()
  }
  process.once('SIGINT', drain)
  process.once('SIGTERM', drain)
})
