import test from 'ava'
import { encodeRequest, decodeRequest, type Headers } from '../../shared/protocol/request.js'
import { parseReply } from '../../shared/protocol/reply.js'
import { acceptKey, closePayload, readFrames } from '../../shared/protocol/ws-frame.js'
import { acceptResponse, isWebSocketMessage, runWebSocket, type WebSocketApp } from '../../workers/handler/websocket.js'

const kSender = 'acc-1'
const kBase: Headers = { PATH: '/chat', host: 'x', upgrade: 'websocket', METHOD: 'WEBSOCKET', QUERY: 'a=1' }

function message (method: string, body: Buffer, flags?: string): ReturnType<typeof decodeRequest> {
  const headers: Headers = { ...kBase, METHOD: method }
  if (flags !== undefined) headers.FLAGS = flags
  return decodeRequest(encodeRequest(Buffer.from(kSender), 7, '/chat', headers, body, 'json'))
}

/** Runs one event; returns the reply bodies (as the acceptor would parse them) for id 7. */
async function run (app: WebSocketApp, method: string, body: Buffer, flags?: string): Promise<Buffer[]> {
  const frames: Buffer[] = []
  const p = runWebSocket(app, message(method, body, flags), { push: (f) => frames.push(f) })
  if (p !== undefined) await p
  return frames.map((f) => {
    const r = parseReply(f, 128)
    if (r.ids.join() !== '7') throw new Error(`reply to ${r.ids.join()}`)
    return r.body
  })
}

function frames (body: Buffer): Array<[number, string]> {
  const out: Array<[number, string]> = []
  readFrames(body, 1 << 20, (_fin, op, payload) => { out.push([op, payload.toString('latin1')]); return true })
  return out
}

const kAccept = Buffer.from(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='))

test('isWebSocketMessage: the two METHODs Mongrel2 uses', t => {
  t.true(isWebSocketMessage(message('WEBSOCKET_HANDSHAKE', kAccept)))
  t.true(isWebSocketMessage(message('WEBSOCKET', Buffer.from('x'), '0x81')))
  t.false(isWebSocketMessage(message('GET', Buffer.alloc(0))))
})

test('handshake: no open() accepts with the 101 a Mongrel2 handler writes', async t => {
  const [reply] = await run({}, 'WEBSOCKET_HANDSHAKE', kAccept)
  t.is(reply!.toString(), 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n')
  t.deepEqual(acceptResponse('k', 'chat').toString().split('\r\n').slice(3), ['Sec-WebSocket-Accept: k', 'Sec-WebSocket-Protocol: chat', '', ''])
})

test('handshake: open() results — protocol, false (403), a Response, a throw (500)', async t => {
  const proto = await run({ open: () => ({ protocol: 'v2' }) }, 'WEBSOCKET_HANDSHAKE', kAccept)
  t.regex(proto[0]!.toString(), /^HTTP\/1\.1 101 [\s\S]*Sec-WebSocket-Protocol: v2\r\n\r\n$/)
  t.regex((await run({ open: () => false }, 'WEBSOCKET_HANDSHAKE', kAccept))[0]!.toString(), /^HTTP\/1\.1 403 /)
  const refusal = await run({ open: async () => ({ status: 401, body: 'no\n' }) }, 'WEBSOCKET_HANDSHAKE', kAccept)
  t.regex(refusal[0]!.toString(), /^HTTP\/1\.1 401 Unauthorized\r\n[\s\S]*\r\n\r\nno\n$/)
  const thrown = await run({ open: () => { throw new Error('x') } }, 'WEBSOCKET_HANDSHAKE', kAccept)
  t.regex(thrown[0]!.toString(), /^HTTP\/1\.1 500 /)
})

test('messages: text and binary events, socket fields, send and close as frames', async t => {
  const seen: string[] = []
  const app: WebSocketApp = {
    message (ws, msg) {
      seen.push(`${ws.sender} ${ws.id} ${ws.path} ${ws.query} ${msg.binary} ${msg.text()}`)
      ws.send(msg.binary ? msg.data : msg.text().toUpperCase())
      if (msg.text() === 'end') ws.close(4000, 'done')
    }
  }
  t.deepEqual((await run(app, 'WEBSOCKET', Buffer.from('hi'), '0x81')).map(frames), [[[1, 'HI']]])
  t.deepEqual((await run(app, 'WEBSOCKET', Buffer.from([1, 2]), '0x82')).map(frames), [[[2, '\x01\x02']]])
  t.deepEqual((await run(app, 'WEBSOCKET', Buffer.from('end'), '0x81')).map(frames), [[[1, 'END']], [[8, '\x0f\xa0done']]])
  t.deepEqual(seen, ['acc-1 7 /chat a=1 false hi', 'acc-1 7 /chat a=1 true \x01\x02', 'acc-1 7 /chat a=1 false end'])
})

test('close, ping and pong: close(code, reason) for 0x88; pings and pongs are not passed on; a throw closes 1011', async t => {
  const closes: string[] = []
  const app: WebSocketApp = {
    message () { throw new Error('boom') },
    close (_ws, code, reason) { closes.push(`${code} ${reason}`) }
  }
  t.deepEqual(await run(app, 'WEBSOCKET', closePayload(4001, 'bye'), '0x88'), [])
  t.deepEqual(await run(app, 'WEBSOCKET', Buffer.alloc(0), '0x88'), [])
  t.deepEqual(closes, ['4001 bye', '1005 '])
  t.deepEqual(await run(app, 'WEBSOCKET', Buffer.from('p'), '0x89'), [])
  t.deepEqual(await run(app, 'WEBSOCKET', Buffer.from('p'), '0x8A'), [])
  t.deepEqual((await run(app, 'WEBSOCKET', Buffer.from('x'), '0x81')).map(frames), [[[8, '\x03\xf3internal error']]])
})
