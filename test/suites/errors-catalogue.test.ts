// docs/errors.md must not rot: every SWB_ERR_ code the source can raise has a row, every
// row's code still exists in the source, and every status the acceptor answers itself has
// a row. Codes built from templates (`SWB_ERR_REPLY_${what}` with fail('IDS'), or
// `SWB_ERR_${area}_SHORT` with readLength(…, 'BATCH')) are expanded the way the code does.
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import test from 'ava'
import { kRoot } from '../helpers/system.js'

const kSourceDirs = ['broker', 'workers', 'shared', 'examples', 'perf', 'bin', 'scripts']
const kSourceExt = /\.(ts|mts|js|mjs|cjs|py)$/

function sourceFiles (): Array<{ file: string, text: string }> {
  const out: Array<{ file: string, text: string }> = []
  const walk = (dir: string): void => {
    let entries
    try { entries = readdirSync(dir, { withFileTypes: true }) } catch { return }
    for (const e of entries) {
      const path = join(dir, e.name)
      if (e.isDirectory()) { if (e.name !== 'node_modules') walk(path) } else if (kSourceExt.test(e.name)) out.push({ file: relative(kRoot, path), text: readFileSync(path, 'utf8') })
    }
  }
  for (const d of kSourceDirs) walk(join(kRoot, d))
  return out
}

interface Found { codes: Map<string, Set<string>>, unexpandable: string[] }

function codesInSource (): Found {
  const files = sourceFiles()
  const codes = new Map<string, Set<string>>()
  const unexpandable: string[] = []
  const add = (code: string, file: string): void => {
    let set = codes.get(code)
    if (set === undefined) codes.set(code, set = new Set())
    set.add(file)
  }
  // Areas passed to netstring.readLength, which builds SWB_ERR_${area}_LENGTH / _SHORT.
  const lengthAreas = new Set<string>()
  for (const { text } of files) for (const m of text.matchAll(/readLength\([^)]*'([A-Z][A-Z0-9_]*)'\)/g)) lengthAreas.add(m[1]!)
  for (const { file, text } of files) {
    for (const m of text.matchAll(/SWB_ERR_[A-Z0-9]+(?:_[A-Z0-9]+)*(?![A-Z0-9_]|\$\{)/g)) add(m[0], file)
    for (const m of text.matchAll(/SWB_ERR_([A-Z0-9_]*)\$\{(\w+)\}([A-Z0-9_]*)/g)) {
      const [whole, prefix, , suffix] = m
      const line = text.slice(0, m.index).split('\n').length
      if (prefix !== '' && suffix === '' && /\bfunction fail \(/.test(text)) {
        // A local fail('WHAT', …) helper: every literal first argument is a code.
        const whats = [...text.matchAll(/\bfail\('([A-Z][A-Z0-9_]*)'/g)].map((w) => w[1]!)
        if (whats.length === 0) unexpandable.push(`${file}:${line} ${whole}`)
        for (const w of whats) add(`SWB_ERR_${prefix}${w}`, file)
      } else if (prefix === '' && suffix !== '' && /export function readLength/.test(text)) {
        for (const area of lengthAreas) add(`SWB_ERR_${area}${suffix}`, file)
      } else {
        unexpandable.push(`${file}:${line} ${whole}`)
      }
    }
  }
  return { codes, unexpandable }
}

const kDoc = readFileSync(join(kRoot, 'docs/errors.md'), 'utf8')
const kDocCodes = new Set([...kDoc.matchAll(/^\| `(SWB_ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!))
const kDocStatuses = new Set([...kDoc.matchAll(/^\| ([1-5]\d\d) \|/gm)].map((m) => Number(m[1])))

test('every SWB_ERR_ code in the source has a row in docs/errors.md', (t) => {
  const { codes, unexpandable } = codesInSource()
  t.deepEqual(unexpandable, [], 'codes built from a template this test cannot expand: write them out literally, or teach test/suites/errors-catalogue.test.ts the pattern')
  t.true(codes.size >= 30, `found only ${codes.size} codes: is the scan broken?`)
  const missing = [...codes].filter(([code]) => !kDocCodes.has(code)).map(([code, where]) => `${code} (raised in ${[...where].join(', ')})`)
  t.deepEqual(missing, [], `add a row (| \`CODE\` | raised by | cause | fix |) to docs/errors.md for each of:\n  ${missing.join('\n  ')}`)
})

test('every code in docs/errors.md still exists in the source', (t) => {
  const { codes } = codesInSource()
  t.true(kDocCodes.size >= 30)
  const stale = [...kDocCodes].filter((code) => !codes.has(code))
  t.deepEqual(stale, [], `docs/errors.md lists codes no source raises any more; remove or rename their rows: ${stale.join(', ')}`)
})

test('every status the acceptor or handler host answers itself has a row in docs/errors.md', (t) => {
  const answered = new Map<number, Set<string>>()
  for (const { file, text } of sourceFiles()) {
    if (!/^(workers|broker)\//.test(file)) continue
    const patterns = [/'([1-5]\d\d) [A-Z][A-Za-z -]+'/g, /textResponse\(([1-5]\d\d)\b/g, /\bstatus: ([1-5]\d\d)\b/g]
    for (const re of patterns) {
      for (const m of text.matchAll(re)) {
        const status = Number(m[1])
        if (status < 400) continue
        let set = answered.get(status)
        if (set === undefined) answered.set(status, set = new Set())
        set.add(file)
      }
    }
  }
  t.true(answered.has(503) && answered.has(504), 'the scan finds the acceptor\'s own answers')
  const missing = [...answered].filter(([s]) => !kDocStatuses.has(s)).map(([s, where]) => `${s} (answered in ${[...where].join(', ')})`)
  t.deepEqual(missing, [], `add a row (| NNN | who | cause | fix |) to docs/errors.md for each of:\n  ${missing.join('\n  ')}`)
})
