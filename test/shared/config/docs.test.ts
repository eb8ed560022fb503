// docs/configuration.md must keep up with the code: every key, its default and every env variable.
import { readFile } from 'node:fs/promises'
import test from 'ava'
import { defaults, envOverrides, serviceEnvSuffixes } from '../../../shared/config/index.js'

const kDoc = readFile(new URL('../../../docs/configuration.md', import.meta.url), 'utf8')

/** The doc's table row for `key`, e.g. "| `acceptor.port` | integer | `6767` | …". */
function row (doc: string, key: string): string | undefined {
  return doc.split('\n').find((line) => line.startsWith(`| \`${key}\` |`))
}

test('every acceptor, broker and handler key has a row showing its default', async t => {
  const doc = await kDoc
  for (const section of ['acceptor', 'broker', 'handler'] as const) {
    const values = defaults[section] as unknown as Record<string, unknown>
    for (const key of Object.keys(values)) {
      const line = row(doc, `${section}.${key}`)
      if (line === undefined) {
        t.fail(`docs/configuration.md has no row for ${section}.${key}`)
        continue
      }
      const value = values[key]
      const shown = typeof value === 'string' ? `\`'${value}'\`` : `\`${String(value)}\``
      t.true(line.includes(shown), `${section}.${key} row should show default ${shown}`)
    }
  }
})

test('every service, host and route key has a row', async t => {
  const doc = await kDoc
  for (const key of Object.keys(defaults.services.demo as object)) t.truthy(row(doc, `services.<name>.${key}`), key)
  for (const key of Object.keys(defaults.hosts[0] as object)) t.truthy(row(doc, `hosts[i].${key}`), key)
  for (const key of ['service', 'timeoutMs', 'keepAliveMs', 'keepAliveBytes', 'websocket']) t.truthy(row(doc, `hosts[i].routes[prefix].${key}`), key)
})

test('every env variable is documented with the key it sets', async t => {
  const doc = await kDoc
  for (const o of envOverrides) {
    const line = row(doc, o.name)
    t.truthy(line?.includes(`\`${o.section}.${o.key}\``), `${o.name} → ${o.section}.${o.key}`)
  }
  for (const suffix of Object.keys(serviceEnvSuffixes)) {
    t.truthy(row(doc, `SWITCHBOARD_SERVICE_<NAME>_${suffix}`), suffix)
  }
})

test('the doc names no env variable the code does not read', async t => {
  const doc = await kDoc
  const known = new Set<string>(['SWITCHBOARD_CONFIG', 'SWITCHBOARD_SERVICE_', ...envOverrides.map((o) => o.name)])
  const named = new Set(doc.match(/SWITCHBOARD_[A-Z_]+/g))
  for (const name of named) {
    if (name.startsWith('SWITCHBOARD_SERVICE_')) continue
    t.true(known.has(name), `${name} is documented but not read`)
  }
  t.true(named.size > envOverrides.length)
})
