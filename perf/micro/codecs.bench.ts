/**
 * Micro benchmark of the Mongrel2 protocol codecs (shared/protocol): request encoding per header
 * protocol (JSON vs tnetstring vs msgpack), request decoding, reply parsing. Each group has a
 * naive string-based baseline so the ratio column shows what the byte-level code buys.
 *   node --import tsx perf/micro/codecs.bench.ts
 * Knobs: ITERATIONS (default 300000), ROUNDS (default 5; the best round is reported).
 */
import os from 'node:os'
import { decodeRequest, encodeRequest, type HeaderProtocol, type Headers } from '../../shared/protocol/request.js'
import { encodeReply, parseReply } from '../../shared/protocol/reply.js'

const kIterations = Number(process.env.ITERATIONS ?? 300_000)
const kRounds = Number(process.env.ROUNDS ?? 5)

const kSender = Buffer.from('54c6755b-9628-40a4-9a2d-cc82a816345e')
const kPath = '/api/v1/items/42'
/** 12 typical headers: what a browser sends plus Mongrel2's own keys. */
const kHeaders: Headers = {
  PATH: kPath,
  host: 'example.com',
  'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36',
  accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-encoding': 'gzip, deflate, br',
  'accept-language': 'en-US,en;q=0.9',
  cookie: 'session=3f9a1c0e7b2d4a58; theme=dark',
  'x-forwarded-for': '127.0.0.1',
  METHOD: 'GET',
  VERSION: 'HTTP/1.1',
  URI: '/api/v1/items/42?full=1',
  QUERY: 'full=1',
  PATTERN: '/api/',
  URL_SCHEME: 'http',
  REMOTE_ADDR: '127.0.0.1'
}
const kBody = Buffer.alloc(0)
const kResponse = Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 12\r\n\r\nHello World\n')

/** Consumed results, so V8 cannot drop the work. */
let gSink = 0

/** The obvious implementation: strings and concatenation. */
function naiveEncodeJson (sender: Buffer, id: number, path: string, headers: Headers, body: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(headers))
  return Buffer.concat([Buffer.from(`${sender.toString()} ${id} ${path} ${json.length}:`), json, Buffer.from(`,${body.length}:`), body, Buffer.from(',')])
}

/** The obvious reply parser: toString + split + parseInt. */
function naiveParseReply (msg: Buffer): number {
  const s = msg.toString('latin1')
  const sp = s.indexOf(' ')
  const colon = s.indexOf(':', sp)
  const len = parseInt(s.slice(sp + 1, colon), 10)
  const ids = s.slice(colon + 1, colon + 1 + len).split(' ').map((x) => parseInt(x, 10))
  const body = msg.subarray(colon + len + 3)
  return ids.length + body.length
}

interface Case { group: string, name: string, fn: () => void, baseline?: boolean }

const encode = (p: HeaderProtocol) => () => { gSink += encodeRequest(kSender, 12345, kPath, kHeaders, kBody, p).length }
const encoded = {
  json: encodeRequest(kSender, 12345, kPath, kHeaders, kBody, 'json'),
  tnetstring: encodeRequest(kSender, 12345, kPath, kHeaders, kBody, 'tnetstring'),
  msgpack: encodeRequest(kSender, 12345, kPath, kHeaders, kBody, 'msgpack')
}
const decode = (p: HeaderProtocol) => () => { gSink += decodeRequest(encoded[p]).id }
const reply1 = encodeReply(kSender, [12345], kResponse)
const reply128 = encodeReply(kSender, Array.from({ length: 128 }, (_, i) => 100000 + i), kResponse)

const cases: Case[] = [
  { group: 'encodeRequest', name: 'naive JSON (strings + concat)', fn: () => { gSink += naiveEncodeJson(kSender, 12345, kPath, kHeaders, kBody).length }, baseline: true },
  { group: 'encodeRequest', name: 'json', fn: encode('json') },
  { group: 'encodeRequest', name: 'tnetstring', fn: encode('tnetstring') },
  { group: 'encodeRequest', name: 'msgpack', fn: encode('msgpack') },
  { group: 'decodeRequest', name: 'json', fn: decode('json'), baseline: true },
  { group: 'decodeRequest', name: 'tnetstring', fn: decode('tnetstring') },
  { group: 'decodeRequest', name: 'msgpack', fn: decode('msgpack') },
  { group: 'parseReply', name: 'naive (toString + split), 1 id', fn: () => { gSink += naiveParseReply(reply1) }, baseline: true },
  { group: 'parseReply', name: '1 id', fn: () => { gSink += parseReply(reply1).ids.length } },
  { group: 'parseReply', name: '128 ids', fn: () => { gSink += parseReply(reply128).ids.length } }
]

function time (fn: () => void, n: number): bigint {
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) fn()
  return process.hrtime.bigint() - t0
}

// Check the codecs agree before timing them.
for (const p of ['json', 'tnetstring', 'msgpack'] as const) {
  const req = decodeRequest(encoded[p])
  if (req.protocol !== p || JSON.stringify(Object.entries(req.headers)) !== JSON.stringify(Object.entries(kHeaders))) throw new Error(`${p}: round trip mismatch`)
}
if (!naiveEncodeJson(kSender, 12345, kPath, kHeaders, kBody).equals(encoded.json)) throw new Error('naive JSON encoder disagrees')
if (parseReply(reply128).ids.length !== 128 || naiveParseReply(reply1) !== parseReply(reply1).ids.length + kResponse.length) throw new Error('reply parse mismatch')

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}, ${kIterations} iterations, best of ${kRounds}`)
console.log(`message sizes: json ${encoded.json.length} B, tnetstring ${encoded.tnetstring.length} B, msgpack ${encoded.msgpack.length} B (${Object.keys(kHeaders).length} headers)`)
console.log(`${'group'.padEnd(14)} ${'case'.padEnd(32)} ${'ops/s'.padStart(12)} ${'ns/op'.padStart(8)} ${'vs baseline'.padStart(12)}`)
let baselineOps = 0
let lastGroup = ''
for (const c of cases) {
  time(c.fn, Math.min(kIterations, 50_000)) // warm-up
  let best = -1n
  for (let r = 0; r < kRounds; r++) {
    const ns = time(c.fn, kIterations)
    if (best < 0n || ns < best) best = ns
  }
  const nsPerOp = Number(best) / kIterations
  const ops = 1e9 / nsPerOp
  if (c.baseline === true) baselineOps = ops
  const ratio = c.baseline === true ? '1.00x (base)' : `${(ops / baselineOps).toFixed(2)}x`
  console.log(`${(c.group === lastGroup ? '' : c.group).padEnd(14)} ${c.name.padEnd(32)} ${Math.round(ops).toLocaleString('en-US').padStart(12)} ${nsPerOp.toFixed(0).padStart(8)} ${ratio.padStart(12)}`)
  lastGroup = c.group
}
if (gSink === 0) console.log('(sink empty)')
