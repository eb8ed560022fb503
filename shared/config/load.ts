/**
 * Where a configuration comes from, in order:
 *
 *   embedded defaults ◀── file (JSON or a module's default export) ◀── SWITCHBOARD_* env ──▶ validate ──▶ deep freeze
 *
 * `acceptor`, `broker` and `handler` from a file are merged key by key over the
 * defaults; `services` and `hosts` replace them whole (a file that lists its own
 * services does not want the demo one too). Env overrides come last so foreman and
 * containers can tweak one value without a file. Every problem, from the file, the
 * env or the rules, ends up in one ConfigError.
 */
import { access, readFile } from 'node:fs/promises'
import { extname, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ConfigError } from '../errors.js'
import { deepFreeze, defaults } from './defaults.js'
import type { Config } from './types.js'
import { checkConfig, isPlainObject, show } from './validate.js'

type Obj = Record<string, unknown>

export interface LoadOptions {
  /** Config file path, relative to the working directory. Beats SWITCHBOARD_CONFIG and `--config`. */
  file?: string
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv
  /** Searched for `--config <path>` or `--config=<path>`. Default `process.argv`. */
  argv?: string[]
}

/** One scalar env override: variable name → `section.key`, and how its text is read. */
export interface EnvOverride {
  name: string
  section: 'acceptor' | 'broker' | 'handler'
  key: string
  kind: 'string' | 'integer' | 'boolean'
}

// Never PORT: foreman sets it for every process it starts, broker and handlers included.
export const envOverrides: readonly EnvOverride[] = Object.freeze([
  { name: 'SWITCHBOARD_HOST', section: 'acceptor', key: 'host', kind: 'string' },
  { name: 'SWITCHBOARD_PORT', section: 'acceptor', key: 'port', kind: 'integer' },
  { name: 'SWITCHBOARD_UUID', section: 'acceptor', key: 'uuid', kind: 'string' },
  { name: 'SWITCHBOARD_SHARE_PORT', section: 'acceptor', key: 'sharePort', kind: 'boolean' },
  { name: 'SWITCHBOARD_TRACE', section: 'acceptor', key: 'trace', kind: 'boolean' },
  { name: 'SWITCHBOARD_MAINTENANCE', section: 'acceptor', key: 'maintenance', kind: 'boolean' },
  { name: 'SWITCHBOARD_BODY_LIMIT', section: 'acceptor', key: 'bodyLimit', kind: 'integer' },
  { name: 'SWITCHBOARD_BROKER_STATUS', section: 'broker', key: 'status', kind: 'string' },
  { name: 'SWITCHBOARD_HANDLER_SERVICE', section: 'handler', key: 'service', kind: 'string' },
  { name: 'SWITCHBOARD_HANDLER_APP', section: 'handler', key: 'app', kind: 'string' },
  { name: 'SWITCHBOARD_HANDLER_THREADS', section: 'handler', key: 'threads', kind: 'integer' }
] as const)

/** `SWITCHBOARD_SERVICE_<NAME>_<SUFFIX>` suffix → service field. */
export const serviceEnvSuffixes: Readonly<Record<string, string>> = Object.freeze({
  SEND_SPEC: 'sendSpec',
  RECV_SPEC: 'recvSpec',
  REQUESTS: 'requests',
  REPLIES: 'replies',
  PROTOCOL: 'protocol'
})

const kServicePrefix = 'SWITCHBOARD_SERVICE_'
const kModuleExts = new Set(['.js', '.mjs', '.cjs', '.ts', '.mts', '.cts'])
const kMergedSections = new Set(['acceptor', 'broker', 'handler'])

/**
 * Loads, overrides, validates and freezes the configuration. The file is `opts.file`,
 * else `SWITCHBOARD_CONFIG`, else `--config <path>` in argv, else none (embedded defaults).
 * Rejects with a ConfigError listing every problem.
 *
 * @example
 * const config = await loadConfig()            // process.env, process.argv
 * const test = await loadConfig({ file: 'test/fixtures/config.json', env: {} })
 */
export async function loadConfig (opts: LoadOptions = {}): Promise<Readonly<Config>> {
  const env = opts.env ?? process.env
  const chosen = chooseFile(opts.file, env, opts.argv ?? process.argv)
  const input = chosen === undefined ? undefined : await readConfigFile(chosen.path, chosen.origin)
  return resolveConfig(input, { env })
}

/**
 * The synchronous core of `loadConfig`, for a config already in memory (tests build
 * one this way): `input` over the defaults, then `opts.env` (default: none), then
 * validation and deep freeze.
 *
 * @example
 * const config = resolveConfig({ acceptor: { port: 0 }, handler: { threads: 0 } })
 */
export function resolveConfig (input?: unknown, opts: { env?: NodeJS.ProcessEnv } = {}): Readonly<Config> {
  let merged: unknown = input
  if (input === undefined) merged = structuredClone(defaults)
  else if (isPlainObject(input)) merged = mergeOverDefaults(input)
  const { sources, problems: envProblems } = applyEnv(merged, opts.env ?? {})
  const { config, problems } = checkConfig(merged, sources)
  if (config === undefined || envProblems.length > 0) throw new ConfigError([...problems, ...envProblems])
  return deepFreeze(config)
}

/** The prefix of a service's env variables: upper-cased, non-alphanumerics → '_'. */
export function serviceEnvPrefix (service: string): string {
  return `${kServicePrefix}${service.toUpperCase().replace(/[^A-Z0-9]/g, '_')}_`
}

function chooseFile (file: string | undefined, env: NodeJS.ProcessEnv, argv: string[]): { path: string, origin: string } | undefined {
  if (file !== undefined) return { path: file, origin: '' }
  const fromEnv = env.SWITCHBOARD_CONFIG
  if (fromEnv !== undefined && fromEnv !== '') return { path: fromEnv, origin: 'SWITCHBOARD_CONFIG' }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg.startsWith('--config=')) {
      const path = arg.slice(9)
      if (path === '') throw new ConfigError(['--config= needs a path'])
      return { path, origin: '--config' }
    }
    if (arg === '--config') {
      const path = argv[i + 1]
      if (path === undefined || path === '' || path.startsWith('--')) throw new ConfigError(['--config needs a path: --config <file>'])
      return { path, origin: '--config' }
    }
  }
  return undefined
}

async function readConfigFile (path: string, origin: string): Promise<unknown> {
  const abs = resolve(path)
  const name = `config file ${JSON.stringify(abs)}`
  const where = origin === '' ? '' : ` (from ${origin})`
  const ext = extname(abs)
  if (ext !== '.json' && !kModuleExts.has(ext)) {
    throw new ConfigError([`${name} must end in .json, .js, .mjs, .cjs, .ts, .mts or .cts${where}`])
  }
  try {
    await access(abs)
  } catch (err) {
    throw new ConfigError([(err as NodeJS.ErrnoException).code === 'ENOENT'
      ? `${name} not found${where}`
      : `${name} cannot be read: ${(err as Error).message}${where}`])
  }
  let value: unknown
  if (ext === '.json') {
    let text: string
    try {
      text = await readFile(abs, 'utf8')
    } catch (err) {
      throw new ConfigError([`${name} cannot be read: ${(err as Error).message}${where}`])
    }
    if (text.charCodeAt(0) === 0xfeff) text = text.slice(1)
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw new ConfigError([`${name} is not valid JSON: ${(err as Error).message}${lineAndColumn(text, (err as Error).message)}${where}`])
    }
  } else {
    let mod: Obj
    try {
      mod = await import(pathToFileURL(abs).href) as Obj
    } catch (err) {
      throw new ConfigError([`${name} failed to load: ${(err as Error).message}${where}`])
    }
    value = mod.default
    if (value === undefined) throw new ConfigError([`${name} must export the configuration object as its default export${where}`])
  }
  if (!isPlainObject(value)) throw new ConfigError([`${name} must hold an object, got ${show(value)}${where}`])
  return value
}

/** V8 says "at position N"; people read lines. */
function lineAndColumn (text: string, message: string): string {
  const m = / at position (\d+)/.exec(message)
  if (m === null || message.includes('line')) return ''
  const before = text.slice(0, Number(m[1]))
  const line = before.split('\n').length
  const column = before.length - before.lastIndexOf('\n')
  return ` (line ${line}, column ${column})`
}

function mergeOverDefaults (input: Obj): Obj {
  const out = structuredClone(defaults) as unknown as Obj
  for (const key of Object.keys(input)) {
    const value = input[key]
    if (value === undefined) continue
    // services/hosts replace; unknown keys are copied so the validator can name them.
    const merged = kMergedSections.has(key) && isPlainObject(value) ? deepMerge(out[key] as Obj, value) : value
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true })
  }
  return out
}

function deepMerge (base: Obj, over: Obj): Obj {
  const out: Obj = { ...base }
  for (const key of Object.keys(over)) {
    const value = over[key]
    if (value === undefined) continue
    const prior = out[key]
    const merged = isPlainObject(prior) && isPlainObject(value) ? deepMerge(prior, value) : value
    // defineProperty: a JSON key "__proto__" must stay a key the validator can reject.
    Object.defineProperty(out, key, { value: merged, enumerable: true, writable: true, configurable: true })
  }
  return out
}

/**
 * Writes env overrides into `merged` (copy on write: file objects are never mutated, a
 * module's default export may be shared) and records which variable set which path.
 */
function applyEnv (merged: unknown, env: NodeJS.ProcessEnv): { sources: Map<string, string>, problems: string[] } {
  const sources = new Map<string, string>()
  const problems: string[] = []
  if (!isPlainObject(merged)) return { sources, problems }
  for (const o of envOverrides) {
    const text = env[o.name]
    if (text === undefined || text === '') continue
    const section = merged[o.section]
    if (!isPlainObject(section)) continue   // the validator reports the section itself
    merged[o.section] = { ...section, [o.key]: parseEnv(o.kind, text) }
    sources.set(`${o.section}.${o.key}`, o.name)
  }

  const services = merged.services
  if (!isPlainObject(services)) return { sources, problems }
  const used = new Set<string>()
  const copy: Obj = { ...services }
  for (const service of Object.keys(services)) {
    const entry = services[service]
    const prefix = serviceEnvPrefix(service)
    let patched: Obj | undefined
    for (const suffix of Object.keys(serviceEnvSuffixes)) {
      const name = prefix + suffix
      const text = env[name]
      if (text === undefined || text === '') continue
      used.add(name)
      if (!isPlainObject(entry)) continue   // the validator reports the entry itself
      const key = serviceEnvSuffixes[suffix] as string
      patched ??= { ...entry }
      patched[key] = text
      sources.set(`${servicePath(service)}.${key}`, name)
    }
    if (patched !== undefined) Object.defineProperty(copy, service, { value: patched, enumerable: true, writable: true, configurable: true })
  }
  merged.services = copy
  // A variable aimed at a service that does not exist is a mistake to report, not skip.
  for (const name of Object.keys(env)) {
    if (!name.startsWith(kServicePrefix) || used.has(name) || env[name] === undefined || env[name] === '') continue
    const known = Object.keys(services).map((s) => `${serviceEnvPrefix(s)}*`).join(', ')
    problems.push(`${name} does not name a service field (${known === '' ? 'no services' : `known: ${known}`}; fields: ${Object.keys(serviceEnvSuffixes).join(', ')})`)
  }
  return { sources, problems }
}

function servicePath (service: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(service) ? `services.${service}` : `services[${JSON.stringify(service)}]`
}

/** Text that does not parse is passed on as text, so the validator reports it with its rule. */
function parseEnv (kind: EnvOverride['kind'], text: string): unknown {
  if (kind === 'string') return text
  const t = text.trim().toLowerCase()
  if (kind === 'integer') return /^[+-]?\d+$/.test(t) ? Number(t) : text
  if (t === '1' || t === 'true') return true
  if (t === '0' || t === 'false') return false
  return text
}
