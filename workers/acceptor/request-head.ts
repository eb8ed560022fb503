/**
 * Reads a uWS request into the header map Mongrel2 sends (MONGREL2.md §2.1–2.2), in
 * Mongrel2's order: PATH, the client's headers (lower-cased by uWS; repeats become
 * arrays), x-forwarded-for, then METHOD, VERSION, URI, QUERY, PATTERN, URL_SCHEME,
 * REMOTE_ADDR. The last three are added by the route action once the route is known.
 *
 * Everything must be read synchronously: uWS's HttpRequest is stack-allocated.
 */
import type { Headers } from '../../shared/protocol/request.js'
import type { HttpRequest, HttpResponse } from '../../shared/uws.js'
import type { Exchange } from './exchange.js'

// forEach needs a callback; a module-level one with a module-level target avoids a
// closure per request.
let gHeaders: Headers = {}
function collect (name: string, value: string): void {
  const prev = gHeaders[name]
  if (prev === undefined) gHeaders[name] = value
  else if (typeof prev === 'string') gHeaders[name] = [prev, value]
  else prev.push(value)
}

/** Sets ex.path, ex.host, ex.remote, ex.headers, ex.expected (-2 = invalid Content-Length), ex.hasBody. */
export function buildHeaders (ex: Exchange, req: HttpRequest, res: HttpResponse, noClobberXff: boolean): void {
  const url = req.getUrl()
  const query = req.getQuery()
  const path = url.includes('%') ? decodePath(url) : url
  const headers: Headers = { PATH: path }
  gHeaders = headers
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
  if (length === undefined) {
    ex.expected = -1
    const te = headers['transfer-encoding']
    ex.hasBody = te !== undefined
  } else {
    ex.expected = typeof length === 'string' && /^\d{1,15}$/.test(length) ? Number(length) : -2
    ex.hasBody = ex.expected > 0
  }
  ex.remote = remote
}

/** The keys that follow QUERY in Mongrel2's order; added once the route is known. */
export function addRouteHeaders (ex: Exchange, pattern: string): void {
  const headers = ex.headers
  headers.PATTERN = pattern
  headers.URL_SCHEME = 'http'
  headers.REMOTE_ADDR = ex.remote
}

function decodePath (url: string): string {
  try {
    return decodeURIComponent(url)
  } catch {
    return url // malformed escapes are passed on as sent
  }
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
