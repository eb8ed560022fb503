// The embedded defaults are what `npm start` runs with: they must validate and stay frozen.
import test from 'ava'
import { defaults, loadConfig, resolveConfig, validateConfig } from '../../../shared/config/index.js'

test('the defaults are valid and validate to themselves', t => {
  t.deepEqual(validateConfig(defaults), defaults)
})

test('the defaults match the documented values', t => {
  t.like(defaults.acceptor, { host: '127.0.0.1', port: 6767, sharePort: false, uuid: null, bodyLimit: 20480, maxIds: 128, defaultHost: 'localhost' })
  t.deepEqual(defaults.services, {
    demo: { sendSpec: 'tcp://127.0.0.1:9997', recvSpec: 'tcp://127.0.0.1:9996', requests: 'tcp://127.0.0.1:9995', replies: 'tcp://127.0.0.1:9994', protocol: 'json', batch: false }
  })
  t.deepEqual(defaults.hosts, [{ name: 'localhost', matching: '', routes: { '/': { service: 'demo', timeoutMs: 30000, keepAliveMs: 0, keepAliveBytes: '', websocket: true } } }])
  t.is(defaults.broker.status, 'tcp://127.0.0.1:9993')
  t.like(defaults.handler, { service: 'demo', app: 'examples/demo/app.ts', threads: 2 })
})

test('no file and no env gives the defaults', async t => {
  t.deepEqual(await loadConfig({ env: {}, argv: [] }), defaults)
})

test('the defaults are deeply frozen', t => {
  t.true(Object.isFrozen(defaults))
  t.true(Object.isFrozen(defaults.services.demo))
  t.true(Object.isFrozen(defaults.hosts[0]?.routes['/']))
  t.throws(() => { (defaults.acceptor as { port: number }).port = 1 }, { instanceOf: TypeError })
})

test('a loaded config is deeply frozen', t => {
  const config = resolveConfig({ hosts: [{ name: 'localhost', routes: { '/': 'demo' } }] })
  for (const part of [config, config.acceptor, config.broker, config.handler, config.services, config.services.demo,
    config.hosts, config.hosts[0], config.hosts[0]?.routes, config.hosts[0]?.routes['/']]) {
    t.true(Object.isFrozen(part))
  }
  t.throws(() => { (config.hosts as unknown[]).push({}) }, { instanceOf: TypeError })
  t.throws(() => { (config.handler as { threads: number }).threads = 9 }, { instanceOf: TypeError })
})

test('a loaded config shares nothing with the defaults or the input', t => {
  const input = { acceptor: { port: 1234 } }
  const config = resolveConfig(input)
  t.not(config.acceptor, defaults.acceptor as unknown)
  t.not(config.services.demo, defaults.services.demo as unknown)
  t.false(Object.isFrozen(input.acceptor))
})
