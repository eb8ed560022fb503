/**
 * `npm start [-- nf args]`: preflight, then foreman.
 *
 *   args ─▶ --config taken out (→ SWITCHBOARD_CONFIG) ─▶ load + validate ─▶ bind checks ─▶ nf start …
 *
 * A config or bind problem prints one message and exits non-zero before anything starts
 * (78 for the configuration, 1 for an address). Otherwise nf runs in a process group of
 * its own. SIGINT, SIGTERM or SIGHUP to this process reach nf as SIGINT (which it passes on to every
 * process); another, a second or more later, kills the group. The exit code is nf's.
 */
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { constants } from 'node:os'
import { loadConfig } from '../shared/config/index.js'
import { ConfigError } from '../shared/errors.js'
import { bindTargets, checkBinds, type Formation } from '../shared/preflight.js'

/** nf start options that take a value (the formation is the one bare argument). */
const kValueOptions = new Set(['-j', '--procfile', '-e', '--env', '-p', '--port', '-x', '--proxy', '--ssl-key',
  '--ssl-cert', '-f', '--forward', '-i', '--intercept', '-t', '--trim'])

/** A second stop signal this long after the first kills foreman's whole group. */
const kForceAfterMs = 1000

function say (line: string): void { process.stderr.write(`switchboard: ${line}\n`) }

/** Splits our args into the config file (if any) and what nf gets. */
function parseArgs (args: readonly string[]): { config: string | undefined, nf: string[], formation: string | undefined, envFiles: string } {
  let config: string | undefined
  let formation: string | undefined
  let envFiles = '.env'   // nf's default
  const nf: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--config') {
      const path = args[++i]
      if (path === undefined || path === '' || path.startsWith('-')) throw new ConfigError(['--config needs a path: --config <file>'])
      config = path
    } else if (arg.startsWith('--config=')) {
      config = arg.slice(9)
      if (config === '') throw new ConfigError(['--config= needs a path'])
    } else {
      nf.push(arg)
      if (kValueOptions.has(arg)) {
        const value = args[++i] ?? ''
        nf.push(value)
        if (arg === '-e' || arg === '--env') envFiles = value
      } else if (arg.startsWith('--env=')) {
        envFiles = arg.slice(6)
      } else if (!arg.startsWith('-')) {
        formation = arg
      }
    }
  }
  return { config, nf, formation, envFiles }
}

/** `broker=1,acceptor=0,handler=2` or `acceptor`: which types start (none named: all). */
function parseFormation (formation: string | undefined): Formation {
  if (formation === undefined) return { broker: true, acceptor: true }
  const counts = new Map<string, number>()
  for (const item of formation.split(',')) {
    const [name, n] = item.trim().split('=')
    counts.set(name!, n === undefined ? 1 : Number.parseInt(n, 10))
  }
  return { broker: (counts.get('broker') ?? 0) > 0, acceptor: (counts.get('acceptor') ?? 0) > 0 }
}

/** nf's own reading of its env files (KEY=VALUE or JSON), so the preflight checks what the processes get. */
function foremanEnv (files: string): Record<string, string> {
  const { loadEnvs } = createRequire(import.meta.url)('foreman/lib/envs.js') as { loadEnvs: (path: string) => Record<string, string> }
  return loadEnvs(files)
}

async function main (): Promise<number> {
  let parsed
  try {
    parsed = parseArgs(process.argv.slice(2))
  } catch (err) {
    say((err as Error).message)
    return 78
  }
  const env: NodeJS.ProcessEnv = { ...process.env }
  // What the processes will see: nf adds its env files (default .env) over this environment.
  const checked: NodeJS.ProcessEnv = { ...env, ...foremanEnv(parsed.envFiles) }
  let config
  try {
    config = await loadConfig({ env: checked, argv: parsed.config === undefined ? [] : ['--config', parsed.config] })
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    say(`${err.message}\nnothing started (exit 78)`)
    return 78
  }
  const problems = await checkBinds(bindTargets(config, parseFormation(parsed.formation)))
  if (problems.length > 0) {
    say(`cannot bind ${problems.length === 1 ? 'an address' : `${problems.length} addresses`}:\n  - ${problems.join('\n  - ')}\nnothing started (exit 1)`)
    return 1
  }

  // nf passes no arguments on: the processes get the file the way the loader ranks it
  // (SWITCHBOARD_CONFIG beats --config).
  if (parsed.config !== undefined && (env.SWITCHBOARD_CONFIG ?? '') === '') env.SWITCHBOARD_CONFIG = parsed.config
  return runForeman(parsed.nf, env)
}

function runForeman (args: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const nfMain = createRequire(import.meta.url).resolve('foreman/nf.js')
  const nf = spawn(process.execPath, [nfMain, 'start', ...args], { env, stdio: 'inherit', detached: true })
  say(`foreman pid ${nf.pid} (its own process group): stop with Ctrl-C, or kill -INT ${process.pid}`)
  // npm forwards the terminal's SIGINT, so one Ctrl-C can arrive twice: only a signal a
  // second or more after the first means "force".
  let first = 0
  const forward = (): void => {
    const now = Date.now()
    try {
      if (first === 0) process.kill(nf.pid!, 'SIGINT')
      else if (now - first >= kForceAfterMs) process.kill(-nf.pid!, 'SIGKILL')
    } catch { /* already gone */ }
    if (first === 0) first = now
  }
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, forward)
  // Never leave foreman's group running without us (a crash here, a closed stdout).
  let nfExited = false
  nf.once('exit', () => { nfExited = true })
  process.once('exit', () => {
    if (!nfExited) try { process.kill(-nf.pid!, 'SIGINT') } catch {}
  })
  return new Promise((resolveExit) => {
    nf.once('error', (err) => { say(`cannot run foreman: ${err.message}`); resolveExit(1) })
    nf.once('exit', (code, signal) => {
      resolveExit(code ?? 128 + (signal === null ? 0 : constants.signals[signal]))
    })
  })
}

process.exitCode = await main()
