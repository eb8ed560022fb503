/**
 * The embedded configuration: what `npm start` runs with when no file is given.
 * One `demo` service on tcp 9994-9997, one catch-all host routing '/' to it.
 */
import type { Config } from './types.js'

/** Route timeout when a route gives none (also the string shorthand's). */
export const kDefaultRouteTimeoutMs = 30_000

/**
 * Freezes `value` and everything reachable from it, so a loaded config cannot be
 * changed behind the back of a module that read it at startup.
 * @internal
 */
export function deepFreeze<T> (value: T): Readonly<T> {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key])
  }
  return value
}

export const defaults: Readonly<Config> = deepFreeze({
  acceptor: {
    host: '127.0.0.1',
    port: 6767,
    sharePort: false,
    uuid: null,
    bodyLimit: 20_480,           // bytes (Mongrel2 limits.content_length)
    maxIds: 128,                 // ids per reply (Mongrel2 limits.handler_targets)
    maxQueuedBytes: 1_048_576,   // bytes per exchange
    streamIdleMs: 120_000,       // ms (Mongrel2 limits.min_ping)
    sendQueue: 10_000,           // requests per service
    noticeRate: 1_000,           // notices per second per service, for replies to unknown ids
    drainMs: 5_000,              // ms
    bodyTimeoutMs: 5_000,        // ms without a body byte: 408 (uWS.js closes idle sockets at ~10 s)
    defaultHost: 'localhost',
    noClobberXff: false,
    trace: false,
    maintenance: false,
    wsMaxMessage: 262_144,       // bytes (Mongrel2's MAX_WS_LENGTH)
    wsIdleSeconds: 120,          // s (uWS.js's default; Mongrel2's limits.min_ping)
    wsPing: true
  },
  broker: {
    status: 'tcp://127.0.0.1:9993',
    statusIntervalMs: 250,       // ms
    hwm: 10_000,                 // messages
    publishOut: 'tcp://127.0.0.1:9992',
    publishPull: 'tcp://127.0.0.1:5560', // Pushpin's
    publishHttp: '127.0.0.1:5561',       // Pushpin's
    publishKey: null,
    publishRate: 0               // items/s per channel; 0 = no limit
  },
  services: {
    demo: {
      sendSpec: 'tcp://127.0.0.1:9997',
      recvSpec: 'tcp://127.0.0.1:9996',
      requests: 'tcp://127.0.0.1:9995',
      replies: 'tcp://127.0.0.1:9994',
      protocol: 'json',
      batch: false
    }
  },
  hosts: [
    // matching '' is a suffix of every Host header: this host catches all.
    { name: 'localhost', matching: '', routes: { '/': { service: 'demo', timeoutMs: kDefaultRouteTimeoutMs, keepAliveMs: 0, keepAliveBytes: '', websocket: true } } }
  ],
  handler: {
    service: 'demo',
    app: 'examples/demo/app.ts',
    threads: 2,
    concurrentTasksPerWorker: 16,
    taskTimeoutMs: 10_000,       // ms
    maxBatch: 32                 // requests per pool task
  }
} satisfies Config)
