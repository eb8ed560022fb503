import test from 'ava'
import { formatResponse, holdResponse } from '../../workers/handler/api.js'
import { readGrip } from '../../workers/acceptor/grip-headers.js'

function headers (bytes: Buffer): Array<[string, string]> {
  const head = bytes.toString('latin1').split('\r\n\r\n')[0]!.split('\r\n').slice(1)
  return head.map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()] as [string, string])
}

test('ctx.hold\'s reply: Grip headers the acceptor reads back as the same hold', (t) => {
  const bytes = formatResponse(holdResponse([{ channel: 'a', prevId: '7' }, 'b'], { timeoutS: 20, response: { status: 200, headers: { 'X-Y': 'z' }, body: 'late\n' } }))
  t.regex(bytes.toString(), /\r\n\r\nlate\n$/)
  const h = headers(bytes)
  const grip = readGrip(h)!
  t.deepEqual(grip.channels, ['a', 'b'])
  t.deepEqual(grip.prevIds, ['7', null])
  t.is(grip.timeoutS, 20)
  t.true(h.some(([n, v]) => n === 'X-Y' && v === 'z'))
})

test('a stream hold with keep-alive data: printable text as is, anything else in base64', (t) => {
  const plain = readGrip(headers(formatResponse(holdResponse('s', { mode: 'stream', keepAlive: { data: ':ka', timeoutS: 15 } }))))!
  t.deepEqual(plain.keepAlive, Buffer.from(':ka'))
  t.is(plain.keepAliveMs, 15_000)
  const nl = readGrip(headers(formatResponse(holdResponse('s', { mode: 'stream', keepAlive: { data: ':\n\n', timeoutS: 20 } }))))!
  t.deepEqual(nl.keepAlive, Buffer.from(':\n\n'))
  const semi = readGrip(headers(formatResponse(holdResponse('s', { mode: 'stream', keepAlive: { data: 'a;b', timeoutS: 20 } }))))!
  t.deepEqual(semi.keepAlive, Buffer.from('a;b'))
})

test('ctx.hold refuses what the header grammar cannot carry', (t) => {
  t.throws(() => holdResponse([]), { message: /at least one channel/ })
  t.throws(() => holdResponse('a,b'), { message: /bad channel name/ })
  t.throws(() => holdResponse([{ channel: 'a', prevId: 'x y' }]), { message: /bad prevId/ })
  t.throws(() => holdResponse('a', { timeoutS: 0 }), { message: /timeoutS must be whole seconds/ })
  t.throws(() => holdResponse('a', { mode: 'forever' as 'stream' }), { message: /mode must be/ })
})
