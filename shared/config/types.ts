/**
 * The shape of a Switchboard configuration. `Config` is what `loadConfig()` returns
 * (complete, validated, deep-frozen); `ConfigInput` is what a config file may hold
 * (every key optional, routes may be a bare service name).
 * docs/configuration.md documents every key, its default and its env override.
 */

/** How a service's request headers are encoded: Mongrel2's `json`/`tnetstring`, or Switchboard's `msgpack`. */
export type HeaderProtocol = 'json' | 'tnetstring' | 'msgpack'

/** One service: the four ZeroMQ endpoints the broker binds for it. */
export interface ServiceConfig {
  /** Handlers connect PULL here; the broker binds PUSH (Mongrel2's `send_spec`). */
  sendSpec: string
  /** Handlers connect PUB here; the broker binds XSUB (Mongrel2's `recv_spec`). */
  recvSpec: string
  /** Acceptor-facing: the broker binds PULL, acceptors connect PUSH. */
  requests: string
  /** Acceptor-facing: the broker binds XPUB, acceptors connect SUB. */
  replies: string
  /** Header encoding handlers of this service expect; default `'json'`. */
  protocol: HeaderProtocol
  /**
   * Switchboard-only links: the acceptor sends many requests per ZeroMQ message (one
   * frame each). Only for services whose handlers read every frame (Switchboard's handler
   * host does; so does a pyzmq `recv()` loop). Default false: one message per request.
   */
  batch: boolean
}

export interface RouteConfig {
  /** Name of a key in `Config.services`. */
  service: string
  /** No reply within this many milliseconds: 504. Default 30000, 1..86400000. */
  timeoutMs: number
  /** Write `keepAliveBytes` to a started chunked/until-close stream idle this long; 0 = off (default). */
  keepAliveMs: number
  /** Body bytes written as keep-alive (e.g. ':\n\n' for SSE); required when keepAliveMs > 0. Default ''. */
  keepAliveBytes: string
  /** WebSocket upgrades go to the handler (Mongrel2's WEBSOCKET_HANDSHAKE); false: served as plain HTTP. Default true. */
  websocket: boolean
}

export interface HostConfig {
  name: string
  /** Host header matched by SUFFIX against this (Mongrel2); default = `name`; '' matches every Host. */
  matching: string
  /** Key = path prefix starting with '/'; the longest matching prefix wins. */
  routes: Record<string, RouteConfig>
}

export interface AcceptorConfig {
  /** Listen address. Default '127.0.0.1'. */
  host: string
  /** Listen port, 0..65535 (0 = ephemeral, for tests). Default 6767. */
  port: number
  /** false: listen exclusively (LIBUS_LISTEN_EXCLUSIVE_PORT); true: share the port (SO_REUSEPORT). Default false. */
  sharePort: boolean
  /** Sender UUID, `[A-Za-z0-9-]+`; null = random per process. Default null. */
  uuid: string | null
  /** Request body limit in bytes, 0..1 GiB (Mongrel2 `limits.content_length`). Default 20480. */
  bodyLimit: number
  /** Max connection ids one reply may name, 1..65536 (Mongrel2 `limits.handler_targets`). Default 128. */
  maxIds: number
  /** Per-exchange write queue bound in bytes under backpressure (streams too). Default 1048576. */
  maxQueuedBytes: number
  /** A started stream with no handler message for this long is cut (Mongrel2 `limits.min_ping`); 0 = never. Default 120000. */
  streamIdleMs: number
  /** Max requests waiting to be sent to the broker, per service. Default 10000. */
  sendQueue: number
  /** Disconnect notices answering replies to unknown ids, per service per second (the excess is dropped and counted). Default 1000. */
  noticeRate: number
  /** Graceful shutdown deadline in milliseconds. Default 5000. */
  drainMs: number
  /** A request body that sends nothing for this long gets 408 and a close, 100..9000 (under uWS.js's ~10 s idle close). Default 5000. */
  bodyTimeoutMs: number
  /** Name of the host used when none matches. Default 'localhost'. */
  defaultHost: string
  /** Keep a client's X-Forwarded-For instead of overwriting it (Mongrel2 `no_clobber_xff`). Default false. */
  noClobberXff: boolean
  /** Log every FSM transition. Default false. */
  trace: boolean
  /** Maintenance filter: every routed request gets 503. Default false. */
  maintenance: boolean
  /** Largest WebSocket message (client's, reassembled) and handler frame, in bytes. Default 262144. */
  wsMaxMessage: number
  /** A WebSocket with no traffic for this many seconds is closed; 0 = never, else 8..960. Default 120. */
  wsIdleSeconds: number
  /** Ping idle WebSockets before wsIdleSeconds runs out (a client's pong keeps them open). Default true. */
  wsPing: boolean
}

export interface BrokerConfig {
  /** Broker PUB endpoint announcing handler counts to acceptors. Default tcp://127.0.0.1:9993. */
  status: string
  /** Milliseconds between status announcements. Default 250. */
  statusIntervalMs: number
  /** ZeroMQ high-water mark on every broker socket, in messages. Default 10000. */
  hwm: number
  /** Broker PUB endpoint fanning published items out to acceptors (their SUB connects). Default tcp://127.0.0.1:9992. */
  publishOut: string
  /** Pushpin-compatible ZeroMQ publish input: the broker binds PULL here; '' = off. Default tcp://127.0.0.1:5560. */
  publishPull: string
  /** Pushpin-compatible HTTP publish endpoint (`POST /publish/`), `host:port`; '' = off. Default 127.0.0.1:5561. */
  publishHttp: string
  /** Shared key for Pushpin's JWT check on publishHttp; required when it is bound beyond loopback. Default null. */
  publishKey: string | null
  /** Published items per second per channel the broker passes on; more are dropped and counted. 0 = no limit (default). */
  publishRate: number
}

export interface HandlerConfig {
  /** Which service this handler host serves. Default 'demo'. */
  service: string
  /** Module path of the app, relative to the working directory. Default 'examples/demo/app.ts'. */
  app: string
  /** piscina threads; 0 = run the app in the main thread. Default 2. */
  threads: number
  /** piscina `concurrentTasksPerWorker`. Default 16. */
  concurrentTasksPerWorker: number
  /**
   * Per-request limit in ms, from the handler call until its value or promise settles: past
   * it that request alone gets 500. A worker stuck that long is replaced (its in-flight
   * requests get 500). Default 10000.
   */
  taskTimeoutMs: number
  /** Requests per pool task. Default 32. */
  maxBatch: number
}

export interface Config {
  acceptor: AcceptorConfig
  broker: BrokerConfig
  services: Record<string, ServiceConfig>
  hosts: HostConfig[]
  handler: HandlerConfig
}

/** A route as a file may write it: `{ service, timeoutMs?, keepAliveMs?, keepAliveBytes?, websocket? }` or just the service name. */
export type RouteInput = string | { service: string; timeoutMs?: number; keepAliveMs?: number; keepAliveBytes?: string; websocket?: boolean }

/**
 * What a config file may hold. `acceptor`, `broker` and `handler` are merged over the
 * defaults; `services` and `hosts`, when present, replace the defaults entirely.
 *
 * @example
 * // switchboard.config.ts
 * import type { ConfigInput } from './shared/config/index.js'
 * export default { acceptor: { port: 8080 } } satisfies ConfigInput
 */
export interface ConfigInput {
  acceptor?: Partial<AcceptorConfig>
  broker?: Partial<BrokerConfig>
  services?: Record<string, Omit<ServiceConfig, 'protocol' | 'batch'> & { protocol?: HeaderProtocol, batch?: boolean }>
  hosts?: Array<{ name: string; matching?: string; routes: Record<string, RouteInput> }>
  handler?: Partial<HandlerConfig>
}
