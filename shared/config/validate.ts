/**
 * Validation of a whole configuration. Every problem is collected, never just the
 * first: a bad config prints one report and the process exits before any socket binds.
 * Each message names the field path, the rule and what arrived, plus the env variable
 * when the value came from one:
 *
 *   acceptor.port must be an integer from 0 to 65535, got "abc" (from SWITCHBOARD_PORT)
 *
 * The result is a fresh object in the complete `Config` shape: per-item defaults
 * (service protocol, host matching, route timeout, string route shorthand) are filled
 * in here, because `services` and `hosts` from a file replace the defaults wholesale.
 */
import { ConfigError } from '../errors.js'
import { kDefaultRouteTimeoutMs } from './defaults.js'
import type { Config } from './types.js'

/** Field path (as printed in messages) → env variable that supplied the value. */
export type ConfigSources = ReadonlyMap<string, string>

type Obj = Record<string, unknown>

interface Field {
  /** Completes "<path> …, got <value>". */
  rule: string
  /** Rule text when the value came from an env variable (strings, not JSON, live there). */
  envRule?: string
  test (value: unknown): boolean
  /** Present = the key may be omitted and takes this value. */
  fallback?: unknown
  /** The key may be omitted; its caller fills it in. */
  optional?: true
}

interface Ctx {
  problems: string[]
  sources: ConfigSources
}

const kNoSources: ConfigSources = new Map()
const kIdent = /^[A-Za-z_$][\w$]*$/
const kUuid = /^[A-Za-z0-9-]{1,128}$/
const kServiceName = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/
// tcp://host:port with host '*', a name/IPv4, or a bracketed IPv6; ZeroMQ's ephemeral
// 'tcp://*:*' is refused because the other side could not know where to connect.
const kTcp = /^tcp:\/\/(\*|\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):(\d{1,5})$/
const kOtherTransport = /^(?:ipc|inproc):\/\/\S/
const kWildcardHosts = new Set(['*', '0.0.0.0', '::', '[::]'])
const kMaxShownChars = 80

function int (min: number, max: number, fallback?: number): Field {
  const field: Field = {
    rule: `must be an integer from ${min} to ${max}`,
    test: (v) => typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max
  }
  if (fallback !== undefined) field.fallback = fallback
  return field
}

const kString: Field = { rule: 'must be a non-empty string', test: (v) => typeof v === 'string' && v.length > 0 }
const kBool: Field = {
  rule: 'must be true or false',
  envRule: 'must be 1, 0, true or false',
  test: (v) => typeof v === 'boolean'
}
const kEndpoint: Field = {
  rule: 'must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)',
  test: (v) => typeof v === 'string' && (kOtherTransport.test(v) || tcpPort(v) > 0)
}
const kUuidField: Field = {
  rule: 'must be null or match [A-Za-z0-9-]+ (at most 128 characters)',
  test: (v) => v === null || (typeof v === 'string' && kUuid.test(v))
}
const kProtocol: Field = {
  rule: 'must be one of "json", "tnetstring" or "msgpack"',
  test: (v) => v === 'json' || v === 'tnetstring' || v === 'msgpack',
  fallback: 'json'
}
const kHostName: Field = {
  rule: 'must be a non-empty string without spaces',
  test: (v) => typeof v === 'string' && v.length > 0 && !/\s/.test(v)
}
// Omitted = the host's name, filled in by checkHosts.
const kMatching: Field = {
  rule: "must be a string without spaces ('' matches every Host)",
  test: (v) => typeof v === 'string' && !/\s/.test(v),
  optional: true
}

const kTopKeys = ['acceptor', 'broker', 'services', 'hosts', 'handler']

const kAcceptorFields: Record<string, Field> = {
  host: kString,
  port: int(0, 65535),
  sharePort: kBool,
  uuid: kUuidField,
  bodyLimit: int(0, 1_073_741_824),
  maxIds: int(1, 65_536),
  maxQueuedBytes: int(1, 1_073_741_824),
  streamIdleMs: int(0, 86_400_000),
  sendQueue: int(1, 10_000_000),
  noticeRate: int(0, 10_000_000),
  drainMs: int(0, 3_600_000),
  bodyTimeoutMs: int(100, 9_000),
  defaultHost: kHostName,
  noClobberXff: kBool,
  trace: kBool,
  maintenance: kBool,
  wsMaxMessage: int(1, 1_073_741_824),
  // uWS.js aborts the process on other values
  wsIdleSeconds: {
    rule: 'must be 0 (never) or an integer from 8 to 960',
    test: (v) => v === 0 || (typeof v === 'number' && Number.isSafeInteger(v) && v >= 8 && v <= 960)
  },
  wsPing: kBool
}

const kBrokerFields: Record<string, Field> = {
  status: kEndpoint,
  statusIntervalMs: int(10, 60_000),
  hwm: int(1, 10_000_000),
  publishOut: kEndpoint,
  publishPull: {
    rule: "must be '' (off) or a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name)",
    test: (v) => v === '' || (typeof v === 'string' && (kOtherTransport.test(v) || tcpPort(v) > 0))
  },
  publishHttp: {
    rule: "must be '' (off) or host:port with a port from 1 to 65535",
    test: (v) => v === '' || (typeof v === 'string' && httpPort(v) > 0)
  },
  publishKey: {
    rule: 'must be null or a non-empty string',
    test: (v) => v === null || (typeof v === 'string' && v.length > 0)
  },
  publishRate: int(0, 1_000_000)
}

const kHandlerFields: Record<string, Field> = {
  service: kString,
  app: kString,
  threads: int(0, 256),
  concurrentTasksPerWorker: int(1, 1024),
  taskTimeoutMs: int(1, 86_400_000),
  maxBatch: int(1, 4096)
}

const kServiceFields: Record<string, Field> = {
  sendSpec: kEndpoint,
  recvSpec: kEndpoint,
  requests: kEndpoint,
  replies: kEndpoint,
  protocol: kProtocol,
  batch: { ...kBool, fallback: false }
}

const kHostFields: Record<string, Field> = {
  name: kHostName,
  matching: kMatching,
  routes: { rule: 'must be an object mapping path prefixes to routes', test: isPlainObject }
}

const kRouteFields: Record<string, Field> = {
  service: kString,
  timeoutMs: int(1, 86_400_000, kDefaultRouteTimeoutMs),
  keepAliveMs: int(0, 86_400_000, 0),
  keepAliveBytes: { rule: 'must be a string', test: (v) => typeof v === 'string', fallback: '' },
  websocket: { ...kBool, fallback: true }
}

/**
 * Checks a complete configuration (every section present) and returns it normalized.
 * Throws `ConfigError` whose `problems` lists every rule broken.
 *
 * @example
 * const config = validateConfig({ ...defaults, acceptor: { ...defaults.acceptor, port: 0 } })
 */
export function validateConfig (raw: unknown, sources?: ConfigSources): Config {
  const { config, problems } = checkConfig(raw, sources)
  if (config === undefined) throw new ConfigError(problems)
  return config
}

/**
 * `validateConfig` without the throw, so the loader can add its own problems to the report.
 * `config` is set only when `problems` is empty.
 * @internal
 */
export function checkConfig (raw: unknown, sources: ConfigSources = kNoSources): { config?: Config, problems: string[] } {
  const ctx: Ctx = { problems: [], sources }
  if (!isPlainObject(raw)) {
    ctx.problems.push(`the configuration must be an object, got ${show(raw)}`)
    return { problems: ctx.problems }
  }
  rejectUnknown(ctx, '', raw, kTopKeys)
  const acceptor = checkSection(ctx, 'acceptor', raw.acceptor, kAcceptorFields)
  const broker = checkSection(ctx, 'broker', raw.broker, kBrokerFields)
  const services = checkServices(ctx, raw.services)
  const serviceNames = services === undefined ? undefined : Object.keys(services)
  const hosts = checkHosts(ctx, raw.hosts, serviceNames)
  const handler = checkSection(ctx, 'handler', raw.handler, kHandlerFields)

  if (handler !== undefined && serviceNames !== undefined && typeof handler.service === 'string') {
    checkReference(ctx, 'handler.service', handler.service, serviceNames, 'services')
  }
  if (acceptor !== undefined && hosts !== undefined && typeof acceptor.defaultHost === 'string') {
    checkReference(ctx, 'acceptor.defaultHost', acceptor.defaultHost, hosts.names, 'hosts')
  }
  checkEndpointClashes(ctx, acceptor, broker, services)
  checkPublishKey(ctx, broker)

  if (ctx.problems.length > 0) return { problems: ctx.problems }
  const config = { acceptor, broker, services, hosts: hosts?.list, handler } as unknown as Config
  return { config, problems: ctx.problems }
}

/** An object section with a fixed set of keys; returns the checked copy, or undefined if it is not an object. */
function checkSection (ctx: Ctx, path: string, raw: unknown, fields: Record<string, Field>): Obj | undefined {
  if (raw === undefined) {
    ctx.problems.push(`${path} is required`)
    return undefined
  }
  if (!isPlainObject(raw)) {
    report(ctx, path, 'must be an object', raw)
    return undefined
  }
  const out: Obj = {}
  checkFields(ctx, path, raw, fields, out)
  return out
}

function checkFields (ctx: Ctx, path: string, raw: Obj, fields: Record<string, Field>, out: Obj): void {
  rejectUnknown(ctx, path, raw, Object.keys(fields))
  for (const key in fields) {
    const field = fields[key] as Field
    const at = join(path, key)
    const value = Object.hasOwn(raw, key) ? raw[key] : undefined
    if (value === undefined) {
      if ('fallback' in field) out[key] = field.fallback
      else if (field.optional !== true) ctx.problems.push(`${at} is required`)
    } else if (field.test(value)) {
      out[key] = value
    } else {
      report(ctx, at, ctx.sources.has(at) && field.envRule !== undefined ? field.envRule : field.rule, value)
    }
  }
}

function checkServices (ctx: Ctx, raw: unknown): Record<string, Obj> | undefined {
  if (raw === undefined) {
    ctx.problems.push('services is required')
    return undefined
  }
  if (!isPlainObject(raw)) {
    report(ctx, 'services', 'must be an object mapping service names to services', raw)
    return undefined
  }
  const out: Record<string, Obj> = {}
  for (const name of Object.keys(raw)) {
    const at = join('services', name)
    if (!kServiceName.test(name)) {
      ctx.problems.push(`services key ${JSON.stringify(name)} must be letters, digits, '_', '.' or '-', starting with a letter or digit`)
    }
    const entry = raw[name]
    const copy: Obj = {}
    if (isPlainObject(entry)) checkFields(ctx, at, entry, kServiceFields, copy)
    else report(ctx, at, 'must be an object with sendSpec, recvSpec, requests and replies', entry)
    // defineProperty: a JSON key "__proto__" must stay a key, not become a prototype.
    Object.defineProperty(out, name, { value: copy, enumerable: true, writable: true, configurable: true })
  }
  return out
}

interface CheckedHosts { list: Obj[], names: string[] }

function checkHosts (ctx: Ctx, raw: unknown, serviceNames: string[] | undefined): CheckedHosts | undefined {
  if (raw === undefined) {
    ctx.problems.push('hosts is required')
    return undefined
  }
  if (!Array.isArray(raw)) {
    report(ctx, 'hosts', 'must be an array of hosts', raw)
    return undefined
  }
  const list: Obj[] = []
  const names: string[] = []
  const nameAt = new Map<string, number>()
  const matchingAt = new Map<string, number>()
  let allNamed = true
  for (let i = 0; i < raw.length; i++) {
    const at = `hosts[${i}]`
    const entry: unknown = raw[i]
    if (!isPlainObject(entry)) {
      report(ctx, at, 'must be an object with name, matching and routes', entry)
      allNamed = false
      continue
    }
    const host: Obj = {}
    checkFields(ctx, at, entry, kHostFields, host)
    if (typeof host.name !== 'string') {
      allNamed = false
    } else {
      if (entry.matching === undefined) host.matching = host.name
      const first = nameAt.get(host.name)
      if (first !== undefined) {
        ctx.problems.push(`${at}.name ${JSON.stringify(host.name)} is already used by hosts[${first}]`)
      } else {
        nameAt.set(host.name, i)
        names.push(host.name)
        // A second host with the same suffix could never be chosen.
        const m = host.matching
        const clash = typeof m === 'string' ? matchingAt.get(m) : undefined
        if (clash !== undefined) ctx.problems.push(`${at}.matching ${JSON.stringify(m)} is already used by hosts[${clash}]`)
        else if (typeof m === 'string') matchingAt.set(m, i)
      }
    }
    if (isPlainObject(entry.routes)) host.routes = checkRoutes(ctx, `${at}.routes`, entry.routes, serviceNames)
    list.push(host)
  }
  // An unnamed host might be the one defaultHost means: don't pile a second problem on it.
  return allNamed ? { list, names } : undefined
}

function checkRoutes (ctx: Ctx, path: string, raw: Obj, serviceNames: string[] | undefined): Record<string, Obj> {
  const out: Record<string, Obj> = {}
  for (const key of Object.keys(raw)) {
    // Always bracketed: route keys are paths, and `routes.api` would hide the missing '/'.
    const at = `${path}[${JSON.stringify(key)}]`
    if (!key.startsWith('/')) {
      ctx.problems.push(`${path} key ${JSON.stringify(key)} must start with '/' (a path prefix such as "/api")`)
    }
    const value = raw[key]
    const route: Obj = {}
    if (typeof value === 'string' && value.length > 0) {
      route.service = value
      route.timeoutMs = kDefaultRouteTimeoutMs
      route.keepAliveMs = 0
      route.keepAliveBytes = ''
      route.websocket = true
    } else if (isPlainObject(value)) {
      checkFields(ctx, at, value, kRouteFields, route)
      if (typeof route.keepAliveMs === 'number' && route.keepAliveMs > 0 && route.keepAliveBytes === '') {
        ctx.problems.push(`${at}.keepAliveBytes must be non-empty when keepAliveMs is set (e.g. ":\\n\\n" for server-sent events)`)
      }
    } else {
      report(ctx, at, 'must be a service name or { service, timeoutMs, websocket }', value)
      continue
    }
    if (serviceNames !== undefined && typeof route.service === 'string') {
      checkReference(ctx, `${at}.service`, route.service, serviceNames, 'services')
    }
    Object.defineProperty(out, key, { value: route, enumerable: true, writable: true, configurable: true })
  }
  return out
}

function checkReference (ctx: Ctx, path: string, name: string, known: string[], where: string): void {
  if (known.includes(name)) return
  ctx.problems.push(`${path} names ${JSON.stringify(name)}, which is not in ${where} (known: ${known.length > 0 ? known.join(', ') : 'none'})${from(ctx, path)}`)
}

interface Bound { path: string, spec: string, host: string, port: number }

/**
 * Every endpoint is bound once, by the broker (the acceptor binds its HTTP port): two
 * fields naming the same one, or tcp ports that overlap through a wildcard, fail at bind.
 */
function checkEndpointClashes (ctx: Ctx, acceptor: Obj | undefined, broker: Obj | undefined, services: Record<string, Obj> | undefined): void {
  const bound: Bound[] = []
  const add = (path: string, spec: unknown): void => {
    if (typeof spec !== 'string') return
    const port = tcpPort(spec)
    const host = port > 0 ? canonicalHost(spec.slice(6, spec.lastIndexOf(':'))) : spec
    const clash = bound.find((b) => b.spec === spec || (port > 0 && b.port === port &&
      (b.host === host || kWildcardHosts.has(b.host) || kWildcardHosts.has(host))))
    if (clash === undefined) {
      bound.push({ path, spec, host, port })
    } else if (clash.spec === spec) {
      ctx.problems.push(`${path} ${JSON.stringify(spec)} is already used by ${clash.path}${from(ctx, path)}`)
    } else {
      ctx.problems.push(`${path} ${JSON.stringify(spec)} uses the same port as ${clash.path} ${JSON.stringify(clash.spec)}${from(ctx, path)}`)
    }
  }
  if (services !== undefined) {
    for (const name of Object.keys(services)) {
      const service = services[name] as Obj
      for (const key of ['sendSpec', 'recvSpec', 'requests', 'replies']) add(join(join('services', name), key), service[key])
    }
  }
  if (broker !== undefined) {
    add('broker.status', broker.status)
    add('broker.publishOut', broker.publishOut)
    if (broker.publishPull !== '') add('broker.publishPull', broker.publishPull)
    if (typeof broker.publishHttp === 'string' && httpPort(broker.publishHttp) > 0) {
      add('broker.publishHttp', 'tcp://' + broker.publishHttp)
    }
  }
  if (acceptor !== undefined && typeof acceptor.port === 'number' && acceptor.port > 0 && typeof acceptor.host === 'string') {
    const host = canonicalHost(acceptor.host)
    const port = acceptor.port
    const clash = bound.find((b) => b.port === port && (b.host === host || kWildcardHosts.has(b.host) || kWildcardHosts.has(host)))
    if (clash !== undefined) {
      ctx.problems.push(`acceptor.port ${port} is already used by ${clash.path} ${JSON.stringify(clash.spec)}${from(ctx, 'acceptor.port')}`)
    }
  }
}

/**
 * Publishing beyond this machine needs a key: an open `POST /publish/` would let anyone
 * push to every subscriber.
 */
function checkPublishKey (ctx: Ctx, broker: Obj | undefined): void {
  if (broker === undefined || typeof broker.publishKey === 'string' || typeof broker.publishHttp !== 'string') return
  const spec = broker.publishHttp
  if (httpPort(spec) === 0) return
  const host = spec.slice(0, spec.lastIndexOf(':'))
  if (isLoopbackHost(host)) return
  ctx.problems.push(`broker.publishHttp ${JSON.stringify(spec)} is not a loopback address, so broker.publishKey must be set ` +
    `(publishers then sign a JWT with it), or bind publishHttp to 127.0.0.1${from(ctx, 'broker.publishHttp')}`)
}

/** 127.0.0.0/8, ::1 (bracketed or not) and localhost: reachable from this machine only. */
export function isLoopbackHost (host: string): boolean {
  const h = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

/** The port of a valid `host:port` HTTP listen address, else 0. */
function httpPort (spec: string): number {
  const colon = spec.lastIndexOf(':')
  if (colon <= 0 || /\s/.test(spec)) return 0
  const text = spec.slice(colon + 1)
  const port = /^[0-9]{1,5}$/.test(text) ? Number(text) : 0
  return port <= 65535 ? port : 0
}

/** The port of a valid tcp:// endpoint, else 0. */
function tcpPort (spec: string): number {
  const m = kTcp.exec(spec)
  if (m === null) return 0
  const port = Number(m[2])
  return port <= 65535 ? port : 0
}

function canonicalHost (host: string): string {
  return host === 'localhost' ? '127.0.0.1' : host
}

function rejectUnknown (ctx: Ctx, path: string, raw: Obj, known: string[]): void {
  for (const key of Object.keys(raw)) {
    if (known.includes(key)) continue
    const guess = suggest(key, known)
    ctx.problems.push(guess === undefined
      ? `${join(path, key)} is not a known key (known: ${known.join(', ')})`
      : `${join(path, key)} is not a known key; did you mean ${join(path, guess)}?`)
  }
}

/** The known key a typo most likely meant: same letters ignoring case and `_`/`-`, a prefix, or 1-2 edits away. */
function suggest (key: string, known: string[]): string | undefined {
  const norm = key.toLowerCase().replace(/[_-]/g, '')
  let best: string | undefined
  let bestDistance = key.length <= 4 ? 1 : 2
  for (const candidate of known) {
    const c = candidate.toLowerCase()
    if (c === norm) return candidate
    if (norm.length >= 3 && c.startsWith(norm)) return candidate
    const d = editDistance(norm, c)
    if (d <= bestDistance) {
      if (d < bestDistance || best === undefined) best = candidate
      bestDistance = d
    }
  }
  return best
}

/** Optimal string alignment distance: Levenshtein plus adjacent transpositions ('prot' → 'port' is 1). */
function editDistance (a: string, b: string): number {
  const rows = a.length + 1
  const cols = b.length + 1
  const d = new Array<number>(rows * cols).fill(0)
  for (let i = 0; i < rows; i++) d[i * cols] = i
  for (let j = 0; j < cols; j++) d[j] = j
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let v = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[(i - 2) * cols + j - 2]! + 1)
      d[i * cols + j] = v
    }
  }
  return d[rows * cols - 1]!
}

function report (ctx: Ctx, path: string, rule: string, value: unknown): void {
  ctx.problems.push(`${path} ${rule}, got ${show(value)}${from(ctx, path)}`)
}

function from (ctx: Ctx, path: string): string {
  const name = ctx.sources.get(path)
  return name === undefined ? '' : ` (from ${name})`
}

function join (path: string, key: string): string {
  if (kIdent.test(key)) return path === '' ? key : `${path}.${key}`
  return `${path}[${JSON.stringify(key)}]`
}

/** A value as a message shows it: JSON for primitives, a noun for containers. */
export function show (value: unknown): string {
  if (typeof value === 'string') {
    const text = JSON.stringify(value)
    return text.length > kMaxShownChars ? `${text.slice(0, kMaxShownChars - 2)}…"` : text
  }
  if (value === null || typeof value === 'number' || typeof value === 'boolean' || value === undefined) return String(value)
  if (typeof value === 'bigint') return `${value}n`
  if (Array.isArray(value)) return 'an array'
  if (typeof value === 'object') return 'an object'
  return `a ${typeof value}`
}

/** @internal */
export function isPlainObject (value: unknown): value is Obj {
  if (value === null || typeof value !== 'object') return false
  const proto: unknown = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}
