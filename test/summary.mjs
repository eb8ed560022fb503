#!/usr/bin/env node
// ava never prints "N passed, N failed"; CI reads that line. Run ava with TAP, pass its
// output through, count the results and print the closing line with ava's exit code.
import { spawn } from 'node:child_process'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'

const require = createRequire(import.meta.url)
// ava's exports map hides its CLI entry; it sits beside the main entry.
const avaCli = join(dirname(require.resolve('ava')), 'cli.mjs')
const child = spawn(process.execPath, [avaCli, '--tap', ...process.argv.slice(2)], { stdio: ['ignore', 'pipe', 'inherit'] })

let passed = 0
let failed = 0
let skipped = 0
let rest = ''
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk)
  const lines = (rest + chunk.toString('utf8')).split('\n')
  rest = lines.pop() ?? ''
  for (const line of lines) count(line)
})
function count (line) {
  if (/^not ok \d+/.test(line)) {
    if (/# (TODO|SKIP)/i.test(line)) skipped++
    else failed++
  } else if (/^ok \d+/.test(line)) {
    if (/# (TODO|SKIP)/i.test(line)) skipped++
    else passed++
  }
}
child.on('close', (code) => {
  if (rest) count(rest)
  if (code !== 0 && failed === 0) failed = 1 // ava crashed without a failing test line
  process.stdout.write(`\n${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  process.exitCode = code ?? 1
})
