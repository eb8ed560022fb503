/**
 * System tools the suite needs (Debian packages): installed on demand with apt-get, so a
 * fresh clone on a fresh Debian box runs with one command. `apt-get update` only when the
 * first install attempt fails (the package index may be empty in a fresh container).
 */
import { execFileSync, spawnSync } from 'node:child_process'

const kDone = new Set<string>()

function have (binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`], { stdio: 'ignore' }).status === 0
}

function apt (args: string[]): boolean {
  const r = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } })
  return r.status === 0
}

/**
 * Makes sure every binary in `binaries` is on PATH, installing Debian package `pkg` if not.
 *
 * ```ts
 * ensureTool('wrk', ['wrk'])
 * ensureTool('mongrel2-core', ['mongrel2', 'm2sh'])
 * ```
 */
export function ensureTool (pkg: string, binaries: readonly string[]): void {
  if (kDone.has(pkg) || binaries.every(have)) { kDone.add(pkg); return }
  process.stderr.write(`perf: installing Debian package ${pkg} (needs root and apt)\n`)
  if (!apt(['install', '-y', '-q', pkg])) {
    apt(['update', '-q'])
    if (!apt(['install', '-y', '-q', pkg])) {
      throw new Error(`perf: could not install ${pkg}; run as root: apt-get update && apt-get install -y ${pkg}`)
    }
  }
  const missing = binaries.filter((b) => !have(b))
  if (missing.length > 0) throw new Error(`perf: ${pkg} installed but ${missing.join(', ')} not on PATH`)
  kDone.add(pkg)
}

/** `wrk --version` first line, or `?`. */
export function toolVersion (cmd: string, args: string[]): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
    return out.split('\n')[0]?.trim() ?? '?'
  } catch (err) {
    // wrk prints its version with exit code 1
    const e = err as { stdout?: string; stderr?: string }
    return (e.stdout || e.stderr || '?').split('\n')[0]?.trim() ?? '?'
  }
}
