/**
 * `npm run bench:micro`: runs every `perf/micro/*.bench.ts` in turn, each in its own
 * process (a fresh heap and JIT per file, so one benchmark cannot warm up the next).
 * Optional argv: substrings to select files, e.g. `npm run bench:micro -- codecs`.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const kDir = dirname(fileURLToPath(import.meta.url))
const kRoot = join(kDir, '..', '..')
const filters = process.argv.slice(2)

const files = readdirSync(kDir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()

if (files.length === 0) {
  process.stderr.write(`bench:micro: no perf/micro/*.bench.ts${filters.length > 0 ? ` matching ${filters.join(', ')}` : ''}\n`)
  process.exit(1)
}

process.stdout.write(`node ${process.version}; ${files.length} micro-benchmark file(s)\n`)
const failed: string[] = []
for (const f of files) {
  const path = relative(kRoot, join(kDir, f))
  process.stdout.write(`\n=== ${path}\n`)
  const t0 = performance.now()
  const r = spawnSync(process.execPath, ['--import', 'tsx', path], { cwd: kRoot, stdio: 'inherit' })
  const secs = ((performance.now() - t0) / 1000).toFixed(1)
  if (r.status !== 0) failed.push(`${path} (exit ${r.status ?? r.signal})`)
  process.stdout.write(`=== ${path}: ${r.status === 0 ? 'ok' : 'FAILED'} in ${secs} s\n`)
}
if (failed.length > 0) {
  process.stdout.write(`\nfailed: ${failed.join(', ')}\n`)
  process.exitCode = 1
}
