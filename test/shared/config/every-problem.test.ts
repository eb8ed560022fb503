// A config with several mistakes is reported in one go: fixing them one run at a time is what this prevents.
import test from 'ava'
import { ConfigError } from '../../../shared/errors.js'
import { resolveConfig } from '../../../shared/config/index.js'

test('three bad fields give three problems', t => {
  const err = t.throws(() => resolveConfig({
    acceptor: { port: -1 },
    broker: { status: 'nowhere' },
    handler: { threads: 'two' }
  }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [
    'acceptor.port must be an integer from 0 to 65535, got -1',
    'broker.status must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name), got "nowhere"',
    'handler.threads must be an integer from 0 to 256, got "two"'
  ])
  // The summary line counts them and lists each one.
  t.true(err?.message.startsWith('invalid configuration (3 problems):\n  - acceptor.port'))
})

test('file, env and cross-field problems share one report', t => {
  const err = t.throws(() => resolveConfig({
    acceptor: { defaultHost: 'nope', uuid: 'a/b' },
    hosts: [{ name: 'localhost', routes: { '/': 'demo', '/x': 'ghost' } }]
  }, { env: { SWITCHBOARD_PORT: 'http' } }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [
    'acceptor.port must be an integer from 0 to 65535, got "http" (from SWITCHBOARD_PORT)',
    'acceptor.uuid must be null or match [A-Za-z0-9-]+ (at most 128 characters), got "a/b"',
    'hosts[0].routes["/x"].service names "ghost", which is not in services (known: demo)',
    'acceptor.defaultHost names "nope", which is not in hosts (known: localhost)'
  ])
})

test('one broken section does not cascade into problems elsewhere', t => {
  // services is unusable, so routes and handler.service are not checked against it.
  const err = t.throws(() => resolveConfig({ services: ['demo'] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, ['services must be an object mapping service names to services, got an array'])
})
