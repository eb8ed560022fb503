// Config files: JSON or a module's default export, merged over the defaults, found through
// opts.file, SWITCHBOARD_CONFIG or --config. Files are written to a temp dir per test.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { ConfigError } from '../../../shared/errors.js'
import { defaults, loadConfig } from '../../../shared/config/index.js'

/** Writes `files` into a fresh temp dir removed after the test; returns the dir. */
async function tempDir (t: ExecutionContext, files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'swb-config-'))
  t.teardown(() => rm(dir, { recursive: true, force: true }))
  for (const name of Object.keys(files)) await writeFile(join(dir, name), files[name] as string)
  return dir
}

const kApi = { sendSpec: 'tcp://127.0.0.1:8997', recvSpec: 'tcp://127.0.0.1:8996', requests: 'tcp://127.0.0.1:8995', replies: 'tcp://127.0.0.1:8994' }

test('a JSON file is merged key by key over acceptor, broker and handler', async t => {
  const dir = await tempDir(t, { 'c.json': JSON.stringify({ acceptor: { port: 8080, trace: true }, broker: { hwm: 500 }, handler: { threads: 0 } }) })
  const config = await loadConfig({ file: join(dir, 'c.json'), env: {}, argv: [] })
  t.deepEqual(config.acceptor, { ...defaults.acceptor, port: 8080, trace: true })
  t.deepEqual(config.broker, { ...defaults.broker, hwm: 500 })
  t.deepEqual(config.handler, { ...defaults.handler, threads: 0 })
  t.deepEqual(config.services, defaults.services)
  t.deepEqual(config.hosts, defaults.hosts)
})

test('services and hosts in a file replace the defaults entirely', async t => {
  const dir = await tempDir(t, {
    'c.json': JSON.stringify({
      services: { api: kApi },
      hosts: [{ name: 'example.com', routes: { '/': 'api', '/slow': { service: 'api', timeoutMs: 120000 } } }],
      acceptor: { defaultHost: 'example.com' },
      handler: { service: 'api' }
    })
  })
  const config = await loadConfig({ file: join(dir, 'c.json'), env: {}, argv: [] })
  t.deepEqual(Object.keys(config.services), ['api'])
  t.deepEqual(config.services.api, { ...kApi, protocol: 'json', batch: false })
  // String shorthand → { service, timeoutMs: 30000, keepAliveMs: 0, keepAliveBytes: '', websocket: true }; matching defaults to the name.
  t.deepEqual(config.hosts, [{
    name: 'example.com',
    matching: 'example.com',
    routes: {
      '/': { service: 'api', timeoutMs: 30000, keepAliveMs: 0, keepAliveBytes: '', websocket: true },
      '/slow': { service: 'api', timeoutMs: 120000, keepAliveMs: 0, keepAliveBytes: '', websocket: true }
    }
  }])
})

test('a TypeScript module config file is its default export', async t => {
  const dir = await tempDir(t, {
    // Type annotations prove it went through the TypeScript loader.
    'c.ts': 'const port: number = 7001\n' +
      'export default { acceptor: { port, defaultHost: "a" }, hosts: [{ name: "a", routes: { "/": "demo" } }] } as Record<string, unknown>\n'
  })
  const config = await loadConfig({ file: join(dir, 'c.ts'), env: {}, argv: [] })
  t.is(config.acceptor.port, 7001)
  t.is(config.hosts[0]?.name, 'a')
})

test('a JavaScript module config file (.mjs, and .js in a type:module package)', async t => {
  const dir = await tempDir(t, {
    'c.mjs': 'export default { acceptor: { port: 7002 } }\n',
    'package.json': '{"type":"module"}',
    'c.js': 'export default { handler: { maxBatch: 4 } }\n'
  })
  t.is((await loadConfig({ file: join(dir, 'c.mjs'), env: {}, argv: [] })).acceptor.port, 7002)
  t.is((await loadConfig({ file: join(dir, 'c.js'), env: {}, argv: [] })).handler.maxBatch, 4)
})

test('env overrides do not mutate a module\'s exported object', async t => {
  const dir = await tempDir(t, { 'c.mjs': `export default { services: { demo: ${JSON.stringify({ ...defaults.services.demo })} } }\n` })
  const file = join(dir, 'c.mjs')
  const config = await loadConfig({ file, env: { SWITCHBOARD_SERVICE_DEMO_SEND_SPEC: 'tcp://127.0.0.1:7997' }, argv: [] })
  t.is(config.services.demo?.sendSpec, 'tcp://127.0.0.1:7997')
  const mod = await import(new URL(`file://${file}`).href) as { default: { services: { demo: { sendSpec: string } } } }
  t.is(mod.default.services.demo.sendSpec, 'tcp://127.0.0.1:9997')
})

test('the file comes from opts.file, else SWITCHBOARD_CONFIG, else --config', async t => {
  const dir = await tempDir(t, {
    'a.json': '{"acceptor":{"port":7101}}',
    'b.json': '{"acceptor":{"port":7102}}',
    'c.json': '{"acceptor":{"port":7103}}'
  })
  const a = join(dir, 'a.json')
  const b = join(dir, 'b.json')
  const c = join(dir, 'c.json')
  const argv = ['node', 'main.ts', '--config', c]
  t.is((await loadConfig({ file: a, env: { SWITCHBOARD_CONFIG: b }, argv })).acceptor.port, 7101)
  t.is((await loadConfig({ env: { SWITCHBOARD_CONFIG: b }, argv })).acceptor.port, 7102)
  t.is((await loadConfig({ env: {}, argv })).acceptor.port, 7103)
  t.is((await loadConfig({ env: {}, argv: ['node', 'main.ts', `--config=${b}`] })).acceptor.port, 7102)
  t.deepEqual(await loadConfig({ env: {}, argv: ['node', 'main.ts'] }), defaults)
})

test('--config without a path', async t => {
  const err = await t.throwsAsync(loadConfig({ env: {}, argv: ['node', 'main.ts', '--config'] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, ['--config needs a path: --config <file>'])
})

test('a missing file is named, with where the name came from', async t => {
  const dir = await tempDir(t, {})
  const file = join(dir, 'missing.json')
  const err = await t.throwsAsync(loadConfig({ env: { SWITCHBOARD_CONFIG: file }, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [`config file ${JSON.stringify(file)} not found (from SWITCHBOARD_CONFIG)`])
  const err2 = await t.throwsAsync(loadConfig({ file, env: {}, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err2?.problems, [`config file ${JSON.stringify(file)} not found`])
})

test('unparseable JSON names the file, the parse error and the line', async t => {
  const dir = await tempDir(t, { 'bad.json': '{\n  "acceptor": { "port": 1 },\n}\n' })
  const err = await t.throwsAsync(loadConfig({ file: join(dir, 'bad.json'), env: {}, argv: [] }), { instanceOf: ConfigError })
  t.is(err?.problems.length, 1)
  t.regex(err?.problems[0] ?? '', /^config file ".*bad\.json" is not valid JSON: .+ \(line 3, column 1\)$/)
})

test('a file holding something other than an object', async t => {
  const dir = await tempDir(t, { 'list.json': '[1, 2]' })
  const file = join(dir, 'list.json')
  const err = await t.throwsAsync(loadConfig({ file, env: {}, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [`config file ${JSON.stringify(file)} must hold an object, got an array`])
})

test('a module without a default export', async t => {
  const dir = await tempDir(t, { 'named.mjs': 'export const acceptor = { port: 1 }\n' })
  const file = join(dir, 'named.mjs')
  const err = await t.throwsAsync(loadConfig({ file, env: {}, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [`config file ${JSON.stringify(file)} must export the configuration object as its default export`])
})

test('a module that throws while loading', async t => {
  const dir = await tempDir(t, { 'boom.mjs': 'throw new Error("boom")\n' })
  const file = join(dir, 'boom.mjs')
  const err = await t.throwsAsync(loadConfig({ file, env: {}, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [`config file ${JSON.stringify(file)} failed to load: boom`])
})

test('an unsupported file type', async t => {
  const dir = await tempDir(t, { 'c.yaml': 'acceptor: {}' })
  const file = join(dir, 'c.yaml')
  const err = await t.throwsAsync(loadConfig({ file, env: {}, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [`config file ${JSON.stringify(file)} must end in .json, .js, .mjs, .cjs, .ts, .mts or .cts`])
})

test('bad values in a file are validated like any other', async t => {
  const dir = await tempDir(t, { 'c.json': '{"acceptor":{"prot":8080}}' })
  const err = await t.throwsAsync(loadConfig({ file: join(dir, 'c.json'), env: {}, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, ['acceptor.prot is not a known key; did you mean acceptor.port?'])
})
