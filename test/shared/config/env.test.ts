// SWITCHBOARD_* variables override the file and the defaults, and are validated like file values.
import test from 'ava'
import { ConfigError } from '../../../shared/errors.js'
import { defaults, envOverrides, loadConfig, resolveConfig, serviceEnvPrefix } from '../../../shared/config/index.js'

const problemsOf = (input: unknown, env: NodeJS.ProcessEnv): readonly string[] | undefined => {
  try {
    resolveConfig(input, { env })
  } catch (err) {
    if (err instanceof ConfigError) return err.problems
    throw err
  }
  return undefined
}

test('every scalar override is applied', t => {
  const config = resolveConfig({ services: { demo: defaults.services.demo, api: {
    sendSpec: 'ipc:///tmp/a', recvSpec: 'ipc:///tmp/b', requests: 'ipc:///tmp/c', replies: 'ipc:///tmp/d'
  } } }, {
    env: {
      SWITCHBOARD_HOST: '0.0.0.0',
      SWITCHBOARD_PORT: '8080',
      SWITCHBOARD_UUID: 'acceptor-1',
      SWITCHBOARD_SHARE_PORT: '1',
      SWITCHBOARD_TRACE: 'true',
      SWITCHBOARD_MAINTENANCE: 'TRUE',
      SWITCHBOARD_BODY_LIMIT: '1024',
      SWITCHBOARD_BROKER_STATUS: 'tcp://127.0.0.1:7993',
      SWITCHBOARD_HANDLER_SERVICE: 'api',
      SWITCHBOARD_HANDLER_APP: 'examples/other/app.ts',
      SWITCHBOARD_HANDLER_THREADS: '0'
    }
  })
  t.like(config.acceptor, { host: '0.0.0.0', port: 8080, uuid: 'acceptor-1', sharePort: true, trace: true, maintenance: true, bodyLimit: 1024 })
  t.is(config.broker.status, 'tcp://127.0.0.1:7993')
  t.like(config.handler, { service: 'api', app: 'examples/other/app.ts', threads: 0 })
  t.is(envOverrides.length, 11)
})

test('booleans read 0 and false as false', t => {
  const config = resolveConfig(undefined, { env: { SWITCHBOARD_SHARE_PORT: '0', SWITCHBOARD_TRACE: 'false' } })
  t.false(config.acceptor.sharePort)
  t.false(config.acceptor.trace)
  // Case and surrounding spaces do not matter; env beats a file's true.
  t.false(resolveConfig({ acceptor: { trace: true } }, { env: { SWITCHBOARD_TRACE: ' FALSE ' } }).acceptor.trace)
})

test('PORT is never read: foreman sets it for every process', t => {
  t.is(resolveConfig(undefined, { env: { PORT: '5000' } }).acceptor.port, 6767)
})

test('empty variables count as unset', t => {
  t.deepEqual(resolveConfig(undefined, { env: { SWITCHBOARD_PORT: '', SWITCHBOARD_UUID: '' } }), defaults)
})

test('env beats the file', t => {
  t.is(resolveConfig({ acceptor: { port: 8080 } }, { env: { SWITCHBOARD_PORT: '9090' } }).acceptor.port, 9090)
})

test('a bad env value is reported naming the variable', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_PORT: 'abc' }),
    ['acceptor.port must be an integer from 0 to 65535, got "abc" (from SWITCHBOARD_PORT)'])
})

test('a bad env boolean says which spellings work', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_SHARE_PORT: 'yes' }),
    ['acceptor.sharePort must be 1, 0, true or false, got "yes" (from SWITCHBOARD_SHARE_PORT)'])
})

test('env integers are range checked', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_BODY_LIMIT: '-1', SWITCHBOARD_HANDLER_THREADS: '1e3' }), [
    'acceptor.bodyLimit must be an integer from 0 to 1073741824, got -1 (from SWITCHBOARD_BODY_LIMIT)',
    'handler.threads must be an integer from 0 to 256, got "1e3" (from SWITCHBOARD_HANDLER_THREADS)'
  ])
})

test('an env reference to a missing service names the variable', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_HANDLER_SERVICE: 'api' }),
    ['handler.service names "api", which is not in services (known: demo) (from SWITCHBOARD_HANDLER_SERVICE)'])
})

test('an env endpoint that clashes names the variable', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_BROKER_STATUS: 'tcp://127.0.0.1:9997' }),
    ['broker.status "tcp://127.0.0.1:9997" is already used by services.demo.sendSpec (from SWITCHBOARD_BROKER_STATUS)'])
})

test('per-service overrides use the upper-cased service name', t => {
  t.is(serviceEnvPrefix('my-api.v2'), 'SWITCHBOARD_SERVICE_MY_API_V2_')
  const config = resolveConfig({
    services: { demo: defaults.services.demo, 'my-api': { sendSpec: 'ipc:///tmp/a', recvSpec: 'ipc:///tmp/b', requests: 'ipc:///tmp/c', replies: 'ipc:///tmp/d' } }
  }, {
    env: {
      SWITCHBOARD_SERVICE_DEMO_SEND_SPEC: 'tcp://127.0.0.1:7997',
      SWITCHBOARD_SERVICE_DEMO_RECV_SPEC: 'tcp://127.0.0.1:7996',
      SWITCHBOARD_SERVICE_DEMO_REQUESTS: 'tcp://127.0.0.1:7995',
      SWITCHBOARD_SERVICE_DEMO_REPLIES: 'tcp://127.0.0.1:7994',
      SWITCHBOARD_SERVICE_MY_API_PROTOCOL: 'tnetstring'
    }
  })
  t.deepEqual(config.services.demo, {
    sendSpec: 'tcp://127.0.0.1:7997', recvSpec: 'tcp://127.0.0.1:7996', requests: 'tcp://127.0.0.1:7995', replies: 'tcp://127.0.0.1:7994', protocol: 'json', batch: false
  })
  t.is(config.services['my-api']?.protocol, 'tnetstring')
})

test('a bad per-service value names the variable', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_SERVICE_DEMO_PROTOCOL: 'xml', SWITCHBOARD_SERVICE_DEMO_SEND_SPEC: 'localhost:1' }), [
    'services.demo.sendSpec must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name), got "localhost:1" (from SWITCHBOARD_SERVICE_DEMO_SEND_SPEC)',
    'services.demo.protocol must be one of "json", "tnetstring" or "msgpack", got "xml" (from SWITCHBOARD_SERVICE_DEMO_PROTOCOL)'
  ])
})

test('a per-service variable for no known service is reported, not ignored', t => {
  t.deepEqual(problemsOf(undefined, { SWITCHBOARD_SERVICE_API_SEND_SPEC: 'tcp://127.0.0.1:7997' }), [
    'SWITCHBOARD_SERVICE_API_SEND_SPEC does not name a service field (known: SWITCHBOARD_SERVICE_DEMO_*; fields: SEND_SPEC, RECV_SPEC, REQUESTS, REPLIES, PROTOCOL)'
  ])
})

test('loadConfig reads process-style env and reports with every other problem', async t => {
  const err = await t.throwsAsync(loadConfig({ env: { SWITCHBOARD_PORT: 'x', SWITCHBOARD_TRACE: 'maybe' }, argv: [] }), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, [
    'acceptor.port must be an integer from 0 to 65535, got "x" (from SWITCHBOARD_PORT)',
    'acceptor.trace must be 1, 0, true or false, got "maybe" (from SWITCHBOARD_TRACE)'
  ])
})
