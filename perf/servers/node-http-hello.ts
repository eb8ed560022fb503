/**
 * Contender 2: node:http answering in-process, what a Node user would run instead.
 * Usage: `PORT=3001 node --import tsx perf/servers/node-http-hello.ts` (or the port as argv[2]).
 */
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'

const kPort = Number(process.argv[2] ?? process.env.PORT ?? 3001)
const kBody = Buffer.from('Hello World\n')
const kHeaders = { 'Content-Length': String(kBody.length) }

function onRequest (_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(200, kHeaders)
  res.end(kBody)
}

const server = createServer(onRequest)
server.listen(kPort, '127.0.0.1', () => {
  process.stdout.write(`node-http-hello: listening on 127.0.0.1:${kPort} pid ${process.pid}\n`)
})

// Exit by draining, not process.exit: clinic's samplers flush on beforeExit.
function drain (): void {
  server.close()
  server.closeAllConnections()
}
process.once('SIGINT', drain)
process.once('SIGTERM', drain)
