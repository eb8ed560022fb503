/**
 * bench:fanout's publisher (perf/lib/publisher.ts) against a real node:http server: a wrong
 * parse or a lost keep-alive would misreport the fan-out times.
 */
import test from 'ava'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Publisher } from '../../perf/lib/publisher.js'

interface Seen { bodies: string[], connections: number }

async function serve (answer: (body: string, res: import('node:http').ServerResponse) => void): Promise<{ server: Server, url: string, seen: Seen }> {
  const seen: Seen = { bodies: [], connections: 0 }
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString()
      seen.bodies.push(`${req.method} ${req.url} ${req.headers['content-type']} ${body}`)
      answer(body, res)
    })
  })
  server.on('connection', () => { seen.connections++ })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/publish/`, seen }
}

function stop (server: Server): Promise<void> {
  server.closeAllConnections()
  return new Promise((resolve) => server.close(() => { resolve() }))
}

test('publishes on one keep-alive connection: status, body and the time before the write', async (t) => {
  const { server, url, seen } = await serve((body, res) => {
    const text = body.includes('"bad"') ? 'Invalid format\n' : 'Published\n'
    res.writeHead(body.includes('"bad"') ? 400 : 200, { 'Content-Type': 'text/plain', 'Content-Length': text.length })
    res.end(text)
  })
  const p = new Publisher(url)
  try {
    t.true(await p.open())
    t.false(await p.open(), 'open() on an open connection does nothing')
    const before = performance.timeOrigin + performance.now()
    const a = await p.publish('{"items":[{"channel":"a"}]}')
    t.is(a.status, 200)
    t.is(a.body, 'Published\n')
    t.true(a.at >= before && a.at <= performance.timeOrigin + performance.now())
    const b = await p.publish('{"items":[{"channel":"bad"}]}')
    t.is(b.status, 400)
    t.is(b.body, 'Invalid format\n')
    t.deepEqual(seen.bodies, [
      'POST /publish/ application/json {"items":[{"channel":"a"}]}',
      'POST /publish/ application/json {"items":[{"channel":"bad"}]}'
    ])
    t.is(seen.connections, 1)
  } finally {
    p.close()
    await stop(server)
  }
})

test('a connection the server closes (Connection: close, as Pushpin) is opened again; an answer it cannot frame is an error', async (t) => {
  const { server, url, seen } = await serve((body, res) => {
    if (body === 'chunked') {
      res.writeHead(200)
      res.write('no length')
      res.end()
      return
    }
    res.writeHead(200, { Connection: 'close', 'Content-Length': 3 })
    res.end('ok\n')
  })
  const p = new Publisher(url)
  try {
    await p.open()
    t.is((await p.publish('x')).body, 'ok\n')
    t.false(p.connected, 'an answer with Connection: close ends the connection at once')
    await t.throwsAsync(p.publish('y'), { message: /not connected/ })
    t.true(await p.open())
    t.is((await p.publish('z')).status, 200)
    t.is(seen.connections, 2)
    await p.open()
    await t.throwsAsync(p.publish('chunked'), { message: /without Content-Length/ })
  } finally {
    p.close()
    await stop(server)
  }
})

test('a quiet send leaves the answer unread until answer(); one publish at a time', async (t) => {
  const { server, url, seen } = await serve((_body, res) => {
    res.writeHead(200, { 'Content-Length': 10 })
    res.end('Published\n')
  })
  const p = new Publisher(url)
  try {
    await p.open()
    const at = p.send('{"items":[]}', true)
    t.throws(() => p.send('{"items":[]}'), { message: /one publish at a time/ })
    while (seen.bodies.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const a = await p.answer()
    t.deepEqual(a, { at, status: 200, body: 'Published\n' })
    await t.throwsAsync(p.answer(), { message: /nothing was sent/ })
    t.is((await p.publish('{"items":[]}')).status, 200, 'the connection reads again after a quiet send')
    t.is(seen.connections, 1)
  } finally {
    p.close()
    await stop(server)
  }
})
