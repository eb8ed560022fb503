import test from 'ava'
import { pack } from 'msgpackr'
import { ProtocolError, SwitchboardError } from '../../../shared/errors.js'
import { encode as encodeTnet } from '../../../shared/protocol/tnetstring.js'
import { decodeRequest, encodeDisconnect, encodeRequest, isDisconnect, type HeaderProtocol, type Headers } from '../../../shared/protocol/request.js'

const kEmpty = Buffer.alloc(0)
const b = (s: string): Buffer => Buffer.from(s)

// MONGREL2.md §2.1 [captured], JSON handler: GET /hello/world?a=1&b=2 with a repeated x-dup header.
const kJsonSender = b('54c6755b-9628-40a4-9a2d-cc82a816345e')
const kJsonHeaders: Headers = {
  PATH: '/hello/world',
  'x-dup': ['one', 'two'],
  'x-forwarded-for': '127.0.0.1',
  host: 'localhost',
  METHOD: 'GET',
  VERSION: 'HTTP/1.1',
  URI: '/hello/world?a=1&b=2',
  QUERY: 'a=1&b=2',
  PATTERN: '/',
  URL_SCHEME: 'http',
  REMOTE_ADDR: '127.0.0.1'
}
const kJsonCaptured = '54c6755b-9628-40a4-9a2d-cc82a816345e 2 /hello/world 237:{"PATH":"/hello/world","x-dup":["one","two"],"x-forwarded-for":"127.0.0.1","host":"localhost","METHOD":"GET","VERSION":"HTTP/1.1","URI":"/hello/world?a=1&b=2","QUERY":"a=1&b=2","PATTERN":"/","URL_SCHEME":"http","REMOTE_ADDR":"127.0.0.1"},0:,'

// MONGREL2.md §2.1 [captured], tnetstring handler: GET /tnet/x?q=1 (the doc elides the sender UUID as "…").
// Mongrel2 inserts these keys in this order and renders the dict back to front.
const kTnetSender = b('8a1b3c2d-…')
const kTnetHeaders: Headers = {
  'x-forwarded-for': '127.0.0.1',
  host: 'localhost',
  PATH: '/tnet/x',
  VERSION: 'HTTP/1.1',
  URI: '/tnet/x?q=1',
  QUERY: 'q=1',
  PATTERN: '/tnet/',
  URL_SCHEME: 'http',
  METHOD: 'GET',
  REMOTE_ADDR: '127.0.0.1'
}
const kTnetCaptured = '8a1b3c2d-… 4 /tnet/x 205:11:REMOTE_ADDR,9:127.0.0.1,6:METHOD,3:GET,10:URL_SCHEME,4:http,7:PATTERN,6:/tnet/,5:QUERY,3:q=1,3:URI,11:/tnet/x?q=1,7:VERSION,8:HTTP/1.1,4:PATH,7:/tnet/x,4:host,9:localhost,15:x-forwarded-for,9:127.0.0.1,}0:,'

test('JSON: reproduces the captured Mongrel2 request byte for byte (237: included)', (t) => {
  const msg = encodeRequest(kJsonSender, 2, '/hello/world', kJsonHeaders, kEmpty, 'json')
  t.deepEqual(msg, b(kJsonCaptured))
})

test('tnetstring: reproduces the captured Mongrel2 request byte for byte (reversed dict)', (t) => {
  const msg = encodeRequest(kTnetSender, 4, '/tnet/x', kTnetHeaders, kEmpty, 'tnetstring')
  t.deepEqual(msg, b(kTnetCaptured))
})

test('decoding the captured messages gives back the header maps in insertion order', (t) => {
  const json = decodeRequest(b(kJsonCaptured))
  t.is(json.protocol, 'json')
  t.is(json.sender, '54c6755b-9628-40a4-9a2d-cc82a816345e')
  t.is(json.id, 2)
  t.is(json.path, '/hello/world')
  t.deepEqual(Object.entries(json.headers), Object.entries(kJsonHeaders))
  t.is(json.body.length, 0)

  const tnet = decodeRequest(b(kTnetCaptured))
  t.is(tnet.protocol, 'tnetstring')
  t.is(tnet.sender, '8a1b3c2d-…')
  t.is(tnet.id, 4)
  t.is(tnet.path, '/tnet/x')
  t.deepEqual(Object.entries(tnet.headers), Object.entries(kTnetHeaders))
})

test('repeated headers: JSON array, tnetstring list, list order kept', (t) => {
  const headers: Headers = { PATH: '/', 'x-dup': ['one', 'two'] }
  t.is(encodeRequest(b('U'), 1, '/', headers, kEmpty, 'json').toString(), 'U 1 / 34:{"PATH":"/","x-dup":["one","two"]},0:,')
  t.is(encodeRequest(b('U'), 1, '/', headers, kEmpty, 'tnetstring').toString(), 'U 1 / 35:5:x-dup,12:3:one,3:two,]4:PATH,1:/,}0:,')
})

test('the same request in JSON, tnetstring and msgpack decodes to equal header maps', (t) => {
  const body = b('a=1')
  const decoded = (['json', 'tnetstring', 'msgpack'] as const).map((p) => decodeRequest(encodeRequest(kJsonSender, 7, '/hello/world', kJsonHeaders, body, p)))
  for (const req of decoded) {
    t.deepEqual(Object.entries(req.headers), Object.entries(kJsonHeaders))
    t.deepEqual(req.body, body)
  }
  t.deepEqual(decoded.map((r) => r.protocol), ['json', 'tnetstring', 'msgpack'])
})

for (const protocol of ['json', 'tnetstring', 'msgpack'] as HeaderProtocol[]) {
  test(`${protocol}: round trip with UTF-8, binary body, max id and repeated headers`, (t) => {
    const headers: Headers = {
      PATH: '/café/é',
      METHOD: 'POST',
      'x-naïve': 'snow ☃ "quoted" \\ back',
      'set-thing': ['a', '', 'ü'],
      empty: ''
    }
    const body = Buffer.from([0, 255, 0x2c, 0x3a, 0x20, 0x7d])
    const msg = encodeRequest(b('sender-1'), 4294967295, '/café/é', headers, body, protocol)
    const req = decodeRequest(msg)
    t.is(req.sender, 'sender-1')
    t.is(req.id, 4294967295)
    t.is(req.path, '/café/é')
    t.deepEqual(Object.entries(req.headers), Object.entries(headers))
    t.deepEqual(req.body, body)
    t.is(req.body.buffer, msg.buffer, 'body is a view into the message')
    t.is(req.protocol, protocol)
  })
}

test('tnetstring: many headers and long lists (scratch arrays grow)', (t) => {
  const headers: Headers = {}
  for (let i = 0; i < 300; i++) headers[`x-h${i}`] = `v${i}`
  headers['x-list'] = Array.from({ length: 150 }, (_, i) => `e${i}`)
  const req = decodeRequest(encodeRequest(b('U'), 9, '/', headers, kEmpty, 'tnetstring'))
  t.deepEqual(Object.entries(req.headers), Object.entries(headers))
  // a second, smaller message must not see stale scratch state
  t.is(encodeRequest(b('U'), 1, '/', { a: 'b' }, kEmpty, 'tnetstring').toString(), 'U 1 / 8:1:a,1:b,}0:,')
})

test('JSON: header bytes equal JSON.stringify, escapes included', (t) => {
  const headers: Headers = {
    plain: 'text/html,application/xhtml+xml;q=0.9',
    quote: 'say "hi"',
    backslash: 'C:\\path\\',
    control: 'a\tb\nc\u0001\u001f',
    del: 'x\u007fy',
    unicode: 'naïve ☃ 😀',
    lone: 'half \ud800 surrogate',
    'ключ': ['значение', '', '"'],
    big: 'z'.repeat(20_000) + '"'
  }
  const json = JSON.stringify(headers)
  const msg = encodeRequest(b('U'), 1, '/', headers, kEmpty, 'json')
  t.deepEqual(msg, Buffer.concat([b(`U 1 / ${Buffer.byteLength(json)}:`), b(json), b(',0:,')]))
  t.deepEqual(decodeRequest(msg).headers, JSON.parse(json))
})

test('tnetstring: header bytes equal the generic encoder on the reversed map (UTF-8 widths, big values)', (t) => {
  const headers: Headers = {
    a: 'ééééé', // 5 chars, 10 bytes: the length prefix grows a digit
    b: '☃'.repeat(40), // 40 chars, 120 bytes: long non-ASCII path
    c: ['x'.repeat(200), 'é', ''], // list payload needs 3 digits
    d: ['é'.repeat(600)], // list payload needs 4 digits
    e: 'y'.repeat(40_000), // bigger than the scratch buffer
    'ключ': 'значение'
  }
  const reversed: Record<string, string | string[]> = {}
  for (const key of Object.keys(headers).reverse()) reversed[key] = headers[key]!
  const dict = encodeTnet(reversed)
  const msg = encodeRequest(b('U'), 1, '/', headers, kEmpty, 'tnetstring')
  t.deepEqual(msg, Buffer.concat([b('U 1 / '), dict, b('0:,')]))
  t.deepEqual(Object.entries(decodeRequest(msg).headers), Object.entries(headers))
})

test('msgpack headers are a netstring of a msgpack map', (t) => {
  const msg = encodeRequest(b('U'), 3, '/m', { METHOD: 'GET' }, b('x'), 'msgpack')
  const packed = pack({ METHOD: 'GET' })
  t.deepEqual(msg, Buffer.concat([b(`U 3 /m ${packed.length}:`), packed, b(',1:x,')]))
})

test('disconnect notices are byte-exact', (t) => {
  const uuid = b('UUID')
  t.is(encodeDisconnect(uuid, 2, 'json').toString(), 'UUID 2 @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},')
  t.is(encodeDisconnect(uuid, 4, 'tnetstring').toString(), 'UUID 4 @* 16:6:METHOD,4:JSON,}21:{"type":"disconnect"},')
  t.is(encodeDisconnect(uuid, 2, 'msgpack').toString(), 'UUID 2 @* 17:{"METHOD":"JSON"},21:{"type":"disconnect"},')
})

test('isDisconnect recognises notices in every protocol and nothing else', (t) => {
  for (const p of ['json', 'tnetstring', 'msgpack'] as const) {
    const req = decodeRequest(encodeDisconnect(b('UUID'), 12, p))
    t.is(req.path, '@*')
    t.is(req.id, 12)
    t.true(isDisconnect(req), p)
  }
  const json = (h: Headers, body: string) => decodeRequest(encodeRequest(b('U'), 1, '@*', h, b(body), 'json'))
  t.true(isDisconnect(json({ METHOD: 'JSON' }, '{ "type" : "disconnect" }')))
  t.false(isDisconnect(json({ METHOD: 'JSON' }, '{"type":"credits"}')))
  t.false(isDisconnect(json({ METHOD: 'JSON' }, 'disconnect')))
  t.false(isDisconnect(json({ METHOD: 'GET' }, '{"type":"disconnect"}')))
  t.false(isDisconnect(decodeRequest(b(kJsonCaptured))))
})

test('JSON from Mongrel2 with raw control bytes in a value still decodes', (t) => {
  // Mongrel2 escapes only \ and ": a tab in a header value reaches the handler unescaped
  const json = '{"PATH":"/","x-odd":"a\tb\u0001"}'
  const msg = b(`U 1 / ${Buffer.byteLength(json)}:${json},0:,`)
  t.is(decodeRequest(msg).headers['x-odd'], 'a\tb\u0001')
})

const decodeErrors: Array<[string, string, string]> = [
  ['', 'SWB_ERR_REQUEST_SENDER', 'empty message'],
  [' 1 / 2:{},0:,', 'SWB_ERR_REQUEST_SENDER', 'empty sender'],
  ['UUID', 'SWB_ERR_REQUEST_SENDER', 'no space after the sender'],
  ['UUID x / 2:{},0:,', 'SWB_ERR_REQUEST_ID', 'non-numeric id'],
  ['UUID  / 2:{},0:,', 'SWB_ERR_REQUEST_ID', 'empty id'],
  ['UUID 4294967296 / 2:{},0:,', 'SWB_ERR_REQUEST_ID', 'id beyond uint32'],
  ['UUID 12', 'SWB_ERR_REQUEST_ID', 'message ends after the id'],
  ['UUID 1x / 2:{},0:,', 'SWB_ERR_REQUEST_ID', 'junk after the id'],
  ['UUID 1 /nospace', 'SWB_ERR_REQUEST_PATH', 'no space after the path'],
  ['UUID 1 / {}', 'SWB_ERR_REQUEST_HEADERS', 'no length prefix'],
  ['UUID 1 / 02:{},0:,', 'SWB_ERR_REQUEST_HEADERS', 'leading zero in header length'],
  ['UUID 1 / 9:{},0:,', 'SWB_ERR_REQUEST_HEADERS', 'header length too long'],
  ['UUID 1 / 2:{}X0:,', 'SWB_ERR_REQUEST_HEADERS', 'bad header terminator'],
  ['UUID 1 / 2:{x,0:,', 'SWB_ERR_REQUEST_HEADERS', 'invalid JSON'],
  ['UUID 1 / 7:{"a":1},0:,', 'SWB_ERR_REQUEST_HEADERS', 'JSON value not a string'],
  ['UUID 1 / 9:{"a":[1]},0:,', 'SWB_ERR_REQUEST_HEADERS', 'JSON list of non-strings'],
  ['UUID 1 / 0:,0:,', 'SWB_ERR_REQUEST_HEADERS', 'empty netstring headers'],
  ['UUID 1 / 2:[],0:,', 'SWB_ERR_REQUEST_HEADERS', 'neither JSON nor msgpack map'],
  ['UUID 1 / 8:1:1#1:a,}0:,', 'SWB_ERR_REQUEST_HEADERS', 'tnetstring key not a string'],
  ['UUID 1 / 8:1:a,1:1#}0:,', 'SWB_ERR_REQUEST_HEADERS', 'tnetstring value not a string'],
  ['UUID 1 / 4:1:a,}0:,', 'SWB_ERR_REQUEST_HEADERS', 'tnetstring key without value'],
  ['UUID 1 / 2:{},', 'SWB_ERR_REQUEST_BODY', 'missing body'],
  ['UUID 1 / 2:{},3:ab,', 'SWB_ERR_REQUEST_BODY', 'body too short'],
  ['UUID 1 / 2:{},2:abc', 'SWB_ERR_REQUEST_BODY', 'body terminator wrong'],
  ['UUID 1 / 2:{},0:,x', 'SWB_ERR_REQUEST_BODY', 'trailing bytes']
]
for (const [input, code, what] of decodeErrors) {
  test(`decodeRequest rejects: ${what}`, (t) => {
    const err = t.throws(() => decodeRequest(b(input)), { instanceOf: ProtocolError, code })
    t.regex(err!.message, /^request: /)
  })
}

test('decodeRequest accepts an empty path and an empty JSON map', (t) => {
  const req = decodeRequest(b('UUID 0  2:{},0:,'))
  t.is(req.id, 0)
  t.is(req.path, '')
  t.deepEqual(req.headers, {})
})

test('msgpack map headers are validated like JSON', (t) => {
  const packed = pack({ a: 1 })
  const msg = Buffer.concat([b(`U 1 / ${packed.length}:`), packed, b(',0:,')])
  t.throws(() => decodeRequest(msg), { instanceOf: ProtocolError, code: 'SWB_ERR_REQUEST_HEADERS' })
})

test('encodeRequest refuses what the envelope cannot carry', (t) => {
  t.throws(() => encodeRequest(b('U'), 1, '/a b', {}, kEmpty, 'json'), { instanceOf: SwitchboardError, code: 'SWB_ERR_REQUEST_PATH' })
  for (const id of [-1, 1.5, 2 ** 32, NaN]) {
    t.throws(() => encodeRequest(b('U'), id, '/', {}, kEmpty, 'json'), { code: 'SWB_ERR_REQUEST_ID' })
  }
  t.throws(() => encodeRequest(b('U'), 1, '/', {}, kEmpty, 'xml' as HeaderProtocol), { code: 'SWB_ERR_REQUEST_PROTOCOL' })
  for (const p of ['json', 'tnetstring'] as const) {
    t.throws(() => encodeRequest(b('U'), 1, '/', { a: 'ok', b: 1 } as unknown as Headers, kEmpty, p), { code: 'SWB_ERR_REQUEST_HEADERS' })
    t.throws(() => encodeRequest(b('U'), 1, '/', { c: undefined } as unknown as Headers, kEmpty, p), { code: 'SWB_ERR_REQUEST_HEADERS' })
    t.throws(() => encodeRequest(b('U'), 1, '/', { d: ['x', 2] } as unknown as Headers, kEmpty, p), { code: 'SWB_ERR_REQUEST_HEADERS' })
  }
  // a failed call leaves no state behind
  t.is(encodeRequest(b('U'), 1, '/', { a: 'b' }, kEmpty, 'tnetstring').toString(), 'U 1 / 8:1:a,1:b,}0:,')
})
