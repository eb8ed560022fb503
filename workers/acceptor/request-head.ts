/**
 * Reads a uWS request into the header map Mongrel2 sends (MONGREL2.md §2.1–2.2), in
 * Mongrel2's order: PATH, the client's headers (lower-cased by uWS; repeats become
 * arrays), x-forwarded-for, then METHOD, VERSION, URI, QUERY, PATTERN, URL_SCHEME,
 * REMOTE_ADDR. The last three are added by the route action once the route is known.
 *
 * PATH is the path exactly as the client sent it, percent-escapes kept, as Mongrel2 sends
 * it (MONGREL2.md §2): `/a%20b` stays `/a%20b`, and routing matches on the same bytes.
 *
 * uWS.js drops most malformed heads before JavaScript runs (README "Limits"); what it lets
 * through and a handler must not see is marked a bad request (400 + close) here:
 * a control byte (DEL, which uWS passes) in the target or a header value, a byte that is
 * not UTF-8 in the target (uWS turns it into U+FFFD: the raw bytes are lost), and any Transfer-Encoding but
 * `chunked` (uWS would de-chunk `gzip, chunked` or `xchunked` as if it were plain chunked).
 *
 * Everything must be read synchronously: uWS's HttpRequest is stack-allocated.
 */
import type { Headers } from '../../shared/protocol/request.js'
import type { HttpRequest, HttpResponse } from '../../shared/uws.js'
import type { Exchange } from './exchange.js'
import { createLogger } from '../../shared/log.js'

const log = createLogger('acceptor')

// forEach needs a callback; a module-level one with a module-level target avoids a
// closure per request.
let gHeaders: Headers = {}
let gBadValue = false
function collect (name: string, value: string): void {
  // uWS refuses the other control bytes in a value (RFC 9110 allows HTAB) but passes DEL.
  if (value.indexOf('\u007f') !== -1) gBadValue = true
  const prev = gHeaders[name]
  if (prev === undefined) gHeaders[name] = value
  else if (typeof prev === 'string') gHeaders[name] = [prev, value]
  else if (Array.isArray(prev)) prev.push(value)
  // `constructor` or `__proto__`: inherited, not a repeat (and `__proto__ =` would set the prototype).
  else Object.defineProperty(gHeaders, name, { value, enumerable: true, writable: true, configurable: true })
}

// Bytes uWS.js lets through in a request target that PATH/URI must not carry.
const kBadTarget = /[\u0000-\u001f\u007f\ufffd]/ // eslint-disable-line no-control-regex

/**
 * Sets ex.path, ex.host, ex.remote, ex.headers, ex.expected (-2 = malformed request: 400),
 * ex.hasBody. Never throws: this runs outside the state machine, where a throw would
 * take the whole process down.
 */
export function buildHeaders (ex: Exchange, req: HttpRequest, res: HttpResponse, noClobberXff: boolean): void {
  try {
    readHead(ex, req, res, noClobberXff)
  } catch (err) {
    gHeaders = {}
    ex.expected = -2
    log.error('could not read a request head; answered 400', { err })
  }
}

function readHead (ex: Exchange, req: HttpRequest, res: HttpResponse, noClobberXff: boolean): void {
  const url = req.getUrl()
  const query = req.getQuery()
  const path = url
  const headers: Headers = { PATH: path }
  gHeaders = headers
  gBadValue = false
  req.forEach(collect)
  gHeaders = {}
  const remote = remoteAddress(res)
  if (!noClobberXff || headers['x-forwarded-for'] === undefined) headers['x-forwarded-for'] = remote
  headers.METHOD = ex.method
  headers.VERSION = 'HTTP/1.1' // uWS serves HTTP/1.1 only
  headers.URI = query ? url + '?' + query : url
  if (query) headers.QUERY = query
  ex.path = path
  ex.headers = headers
  const host = headers.host
  ex.host = typeof host === 'string' ? host : ''
  const length = headers['content-length']
  const te = headers['transfer-encoding']
  if (length === undefined) {
    ex.expected = -1
    ex.hasBody = te !== undefined
  } else {
    ex.expected = typeof length === 'string' && /^\d{1,15}$/.test(length) ? Number(length) : -2
    ex.hasBody = ex.expected > 0
  }
  if (gBadValue || (te !== undefined && !isChunked(te)) || kBadTarget.test(url) || (query !== '' && kBadTarget.test(query))) ex.expected = -2
  ex.remote = remote
}

/** Exactly one `chunked` coding (any case): what uWS.js decodes, and nothing it would mis-decode. */
function isChunked (te: string | string[]): boolean {
  return typeof te === 'string' && te.length === 7 && te.toLowerCase() === 'chunked'
}

/** The keys that follow QUERY in Mongrel2's order; added once the route is known. */
export function addRouteHeaders (ex: Exchange, pattern: string): void {
  const headers = ex.headers
  headers.PATTERN = pattern
  headers.URL_SCHEME = 'http'
  headers.REMOTE_ADDR = ex.remote
}

// Formatting an address per request showed in profiles: IPv4 peers (4 bytes from
// uWS) are formatted once and cached by their 32-bit value.
const kIpv4Cache = new Map<number, string>()
const kIpv4CacheMax = 65536
const kMapped = '0000:0000:0000:0000:0000:ffff:'

function remoteAddress (res: HttpResponse): string {
  const raw = new Uint8Array(res.getRemoteAddress())
  if (raw.length === 4) {
    const key = ((raw[0]! << 24) | (raw[1]! << 16) | (raw[2]! << 8) | raw[3]!) >>> 0
    let text = kIpv4Cache.get(key)
    if (text === undefined) {
      text = `${raw[0]}.${raw[1]}.${raw[2]}.${raw[3]}`
      if (kIpv4Cache.size >= kIpv4CacheMax) kIpv4Cache.clear()
      kIpv4Cache.set(key, text)
    }
    return text
  }
  const text = Buffer.from(res.getRemoteAddressAsText()).toString('latin1')
  // IPv4 on a dual-stack socket may come back as an IPv4-mapped IPv6 address.
  if (text.startsWith('::ffff:')) return text.slice(7)
  if (text.startsWith(kMapped)) return text.slice(kMapped.length)
  return text
}
