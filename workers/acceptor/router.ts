/**
 * Host and route matching, as Mongrel2 does it: the Host header (port stripped, lower
 * case) picks the host whose `matching` is its longest suffix ('' matches any host),
 * else the default host; then the longest path prefix among that host's routes wins.
 * Tables are built once at start; a match is a few string comparisons.
 */
import type { Config, RouteConfig } from '../../shared/config/types.js'

export interface Route {
  /** The route key that matched: Mongrel2's PATTERN. */
  readonly pattern: string
  readonly service: string
  readonly timeoutMs: number
  /** WebSocket upgrades go to the handler (RouteConfig.websocket). */
  readonly websocket: boolean
  /** Keep-alive bytes for idle streams on this route, every `keepAliveMs`; null = off. */
  readonly keepAlive: Buffer | null
  readonly keepAliveMs: number
}

interface HostTable { readonly matching: string; readonly routes: readonly Route[] }

export class Router {
  readonly #hosts: HostTable[]
  readonly #fallback: HostTable | undefined

  constructor (config: Readonly<Config>) {
    this.#hosts = config.hosts
      .map((h) => ({ matching: h.matching.toLowerCase(), routes: compileRoutes(h.routes) }))
      .sort((a, b) => b.matching.length - a.matching.length)
    const fallback = config.hosts.find((h) => h.name === config.acceptor.defaultHost)
    this.#fallback = fallback && { matching: fallback.matching.toLowerCase(), routes: compileRoutes(fallback.routes) }
  }

  /** `host` is the raw Host header ('' when absent); `path` the raw request path (escapes kept, as Mongrel2 matches). */
  match (host: string, path: string): Route | null {
    const table = this.#host(host)
    if (!table) return null
    for (const route of table.routes) if (path.startsWith(route.pattern)) return route
    return null
  }

  #host (header: string): HostTable | undefined {
    let name = header
    const colon = name.lastIndexOf(':')
    if (colon >= 0 && !name.endsWith(']')) name = name.slice(0, colon)
    name = name.toLowerCase()
    for (const h of this.#hosts) if (name.endsWith(h.matching)) return h
    return this.#fallback
  }
}

function compileRoutes (routes: Readonly<Record<string, RouteConfig>>): Route[] {
  return Object.entries(routes)
    .map(([pattern, r]) => ({
      pattern,
      service: r.service,
      timeoutMs: r.timeoutMs,
      websocket: r.websocket,
      keepAlive: r.keepAliveMs > 0 ? Buffer.from(r.keepAliveBytes) : null,
      keepAliveMs: r.keepAliveMs
    }))
    .sort((a, b) => b.pattern.length - a.pattern.length)
}
