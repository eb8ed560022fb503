// One test per validation rule, each asserting the exact message a user would read.
import test from 'ava'
import { ConfigError } from '../../../shared/errors.js'
import { defaults, resolveConfig, validateConfig } from '../../../shared/config/index.js'

const kDemo = defaults.services.demo

/** `input` merged over the defaults must be rejected with exactly `problems`. */
const rejects = test.macro({
  exec (t, input: unknown, problems: string[]) {
    const err = t.throws(() => resolveConfig(input), { instanceOf: ConfigError })
    t.is(err?.code, 'SWB_ERR_CONFIG_INVALID')
    t.deepEqual(err?.problems, problems)
  },
  title: (given) => given ?? ''
})

test('acceptor.port out of range', rejects, { acceptor: { port: 70000 } },
  ['acceptor.port must be an integer from 0 to 65535, got 70000'])

test('acceptor.port not an integer', rejects, { acceptor: { port: 80.5 } },
  ['acceptor.port must be an integer from 0 to 65535, got 80.5'])

test('acceptor.port as a string in a file', rejects, { acceptor: { port: '8080' } },
  ['acceptor.port must be an integer from 0 to 65535, got "8080"'])

test('acceptor.host must be a non-empty string', rejects, { acceptor: { host: '' } },
  ['acceptor.host must be a non-empty string, got ""'])

test('booleans must be booleans', rejects, { acceptor: { trace: 'yes' } },
  ['acceptor.trace must be true or false, got "yes"'])

test('acceptor.uuid must match [A-Za-z0-9-]+', rejects, { acceptor: { uuid: 'has space' } },
  ['acceptor.uuid must be null or match [A-Za-z0-9-]+ (at most 128 characters), got "has space"'])

test('acceptor.uuid must not be empty', rejects, { acceptor: { uuid: '' } },
  ['acceptor.uuid must be null or match [A-Za-z0-9-]+ (at most 128 characters), got ""'])

test('acceptor.bodyLimit at most 1 GiB', rejects, { acceptor: { bodyLimit: 1_073_741_825 } },
  ['acceptor.bodyLimit must be an integer from 0 to 1073741824, got 1073741825'])

test('acceptor.maxIds at least 1', rejects, { acceptor: { maxIds: 0 } },
  ['acceptor.maxIds must be an integer from 1 to 65536, got 0'])

test('a section must be an object', rejects, { broker: [] },
  ['broker must be an object, got an array'])

test('unknown key with a close known key gets a suggestion', rejects, { acceptor: { prot: 80 } },
  ['acceptor.prot is not a known key; did you mean acceptor.port?'])

test('Mongrel2 snake_case names suggest the camelCase key', rejects,
  { services: { demo: { ...kDemo, send_spec: 'tcp://127.0.0.1:1' } } },
  ['services.demo.send_spec is not a known key; did you mean services.demo.sendSpec?'])

test('unknown key with no close known key lists the known ones', rejects, { broker: { zzzzzz: 1 } },
  ['broker.zzzzzz is not a known key (known: status, statusIntervalMs, hwm, publishOut, publishPull, publishHttp, publishKey, publishRate)'])

test('unknown top-level key', rejects, { acceptors: {} },
  ['acceptors is not a known key; did you mean acceptor?'])

test('a "__proto__" key in JSON is an unknown key, not a prototype', t => {
  const err = t.throws(() => resolveConfig(JSON.parse('{"acceptor":{"__proto__":{"port":1}}}')), { instanceOf: ConfigError })
  t.is(err?.problems.length, 1)
  t.true(err?.problems[0]?.startsWith('acceptor.__proto__ is not a known key'))
})

test('endpoints must be ZeroMQ endpoints', rejects, { services: { demo: { ...kDemo, sendSpec: '9997' } } },
  ['services.demo.sendSpec must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name), got "9997"'])

test('tcp endpoints need a real port: tcp://*:* cannot be connected to', rejects,
  { broker: { status: 'tcp://*:*' } },
  ['broker.status must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name), got "tcp://*:*"'])

test('tcp port above 65535', rejects, { services: { demo: { ...kDemo, replies: 'tcp://127.0.0.1:70000' } } },
  ['services.demo.replies must be a ZeroMQ endpoint (tcp://host:port, ipc://path or inproc://name), got "tcp://127.0.0.1:70000"'])

test('service protocol must be json, tnetstring or msgpack', rejects,
  { services: { demo: { ...kDemo, protocol: 'xml' } } },
  ['services.demo.protocol must be one of "json", "tnetstring" or "msgpack", got "xml"'])

test('service endpoints are required when services replace the defaults', rejects,
  { services: { demo: { sendSpec: 'tcp://127.0.0.1:9997', recvSpec: 'tcp://127.0.0.1:9996', requests: 'tcp://127.0.0.1:9995' } } },
  ['services.demo.replies is required'])

test('service names are letters, digits, _ . -', rejects,
  { services: { demo: kDemo, 'my api': { sendSpec: 'ipc:///tmp/a', recvSpec: 'ipc:///tmp/b', requests: 'ipc:///tmp/c', replies: 'ipc:///tmp/d' } } },
  ['services key "my api" must be letters, digits, \'_\', \'.\' or \'-\', starting with a letter or digit'])

test('a service must be an object', rejects, { services: { demo: kDemo, api: 'tcp://127.0.0.1:1' } },
  ['services.api must be an object with sendSpec, recvSpec, requests and replies, got "tcp://127.0.0.1:1"'])

test('an endpoint must not be used twice across services', rejects,
  { services: { demo: kDemo, api: { ...kDemo, sendSpec: 'tcp://127.0.0.1:8997', recvSpec: 'tcp://127.0.0.1:8996', requests: 'tcp://127.0.0.1:8995' } } },
  ['services.api.replies "tcp://127.0.0.1:9994" is already used by services.demo.replies'])

test('an endpoint must not be used by a service and broker.status', rejects,
  { broker: { status: 'tcp://127.0.0.1:9997' } },
  ['broker.status "tcp://127.0.0.1:9997" is already used by services.demo.sendSpec'])

test('a wildcard tcp bind clashes with the same port on any address', rejects,
  { broker: { status: 'tcp://*:9995' } },
  ['broker.status "tcp://*:9995" uses the same port as services.demo.requests "tcp://127.0.0.1:9995"'])

test('localhost and 127.0.0.1 are one address', rejects,
  { broker: { status: 'tcp://localhost:9996' } },
  ['broker.status "tcp://localhost:9996" uses the same port as services.demo.recvSpec "tcp://127.0.0.1:9996"'])

test('the acceptor port must not be a broker endpoint port', rejects, { acceptor: { port: 9993 } },
  ['acceptor.port 9993 is already used by broker.status "tcp://127.0.0.1:9993"'])

test('hosts must be an array', rejects, { hosts: { name: 'localhost', routes: {} } },
  ['hosts must be an array of hosts, got an object'])

test('a host must be an object', rejects, { hosts: ['localhost'] },
  ['hosts[0] must be an object with name, matching and routes, got "localhost"'])

test('host routes are required', rejects, { hosts: [{ name: 'localhost' }] },
  ['hosts[0].routes is required'])

test('route keys must start with /', rejects, { hosts: [{ name: 'localhost', routes: { api: 'demo' } }] },
  ['hosts[0].routes key "api" must start with \'/\' (a path prefix such as "/api")'])

test('a route must name a known service', rejects,
  { hosts: [{ name: 'localhost', routes: { '/api': { service: 'api' } } }] },
  ['hosts[0].routes["/api"].service names "api", which is not in services (known: demo)'])

test('a string route must name a known service', rejects,
  { hosts: [{ name: 'localhost', routes: { '/': 'demo', '/api': 'api' } }] },
  ['hosts[0].routes["/api"].service names "api", which is not in services (known: demo)'])

test('a route is a service name or an object', rejects, { hosts: [{ name: 'localhost', routes: { '/': 7 } }] },
  ['hosts[0].routes["/"] must be a service name or { service, timeoutMs, websocket }, got 7'])

test('route timeoutMs from 1 to 86400000', rejects,
  { hosts: [{ name: 'localhost', routes: { '/': { service: 'demo', timeoutMs: 0 } } }] },
  ['hosts[0].routes["/"].timeoutMs must be an integer from 1 to 86400000, got 0'])

test('unknown route key', rejects,
  { hosts: [{ name: 'localhost', routes: { '/': { service: 'demo', timeout: 5 } } }] },
  ['hosts[0].routes["/"].timeout is not a known key; did you mean hosts[0].routes["/"].timeoutMs?'])

test('host names are unique', rejects,
  { hosts: [{ name: 'localhost', routes: { '/': 'demo' } }, { name: 'localhost', matching: 'x', routes: {} }] },
  ['hosts[1].name "localhost" is already used by hosts[0]'])

test('host matching suffixes are unique', rejects,
  { hosts: [{ name: 'localhost', matching: '', routes: { '/': 'demo' } }, { name: 'other', matching: '', routes: {} }] },
  ['hosts[1].matching "" is already used by hosts[0]'])

test('host names have no spaces', rejects, { hosts: [{ name: 'local host', routes: {} }] },
  ['hosts[0].name must be a non-empty string without spaces, got "local host"'])

test('acceptor.defaultHost must name a host', rejects, { acceptor: { defaultHost: 'example.com' } },
  ['acceptor.defaultHost names "example.com", which is not in hosts (known: localhost)'])

test('handler.service must name a service', rejects, { handler: { service: 'api' } },
  ['handler.service names "api", which is not in services (known: demo)'])

test('a handler.service with no services at all', rejects, { services: {} },
  ['hosts[0].routes["/"].service names "demo", which is not in services (known: none)',
    'handler.service names "demo", which is not in services (known: none)'])

test('the configuration must be an object', t => {
  const err = t.throws(() => validateConfig('acceptor'), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, ['the configuration must be an object, got "acceptor"'])
})

test('validateConfig wants every section', t => {
  const err = t.throws(() => validateConfig({}), { instanceOf: ConfigError })
  t.deepEqual(err?.problems, ['acceptor is required', 'broker is required', 'services is required',
    'hosts is required', 'handler is required'])
})

test('long string values are cut in messages', t => {
  const err = t.throws(() => resolveConfig({ acceptor: { uuid: 'x'.repeat(200) } }), { instanceOf: ConfigError })
  t.is(err?.problems[0], `acceptor.uuid must be null or match [A-Za-z0-9-]+ (at most 128 characters), got "${'x'.repeat(77)}…"`)
})

// Every integer field, one below and one above its documented range.
const kRanges: Array<[string, string, number, number]> = [
  ['acceptor', 'port', 0, 65535],
  ['acceptor', 'bodyLimit', 0, 1_073_741_824],
  ['acceptor', 'maxIds', 1, 65_536],
  ['acceptor', 'maxQueuedBytes', 1, 1_073_741_824],
  ['acceptor', 'sendQueue', 1, 10_000_000],
  ['acceptor', 'drainMs', 0, 3_600_000],
  ['acceptor', 'bodyTimeoutMs', 100, 9_000],
  ['broker', 'statusIntervalMs', 10, 60_000],
  ['broker', 'hwm', 1, 10_000_000],
  ['handler', 'threads', 0, 256],
  ['handler', 'concurrentTasksPerWorker', 1, 1024],
  ['handler', 'taskTimeoutMs', 1, 86_400_000],
  ['handler', 'maxBatch', 1, 4096]
]
for (const [section, key, min, max] of kRanges) {
  test(`${section}.${key} range ${min}..${max}`, t => {
    for (const bad of [min - 1, max + 1]) {
      const err = t.throws(() => resolveConfig({ [section]: { [key]: bad } }), { instanceOf: ConfigError })
      t.deepEqual(err?.problems, [`${section}.${key} must be an integer from ${min} to ${max}, got ${bad}`])
    }
    // The bounds themselves are accepted (port 0 = ephemeral).
    for (const good of [min, max]) {
      const config = resolveConfig({ [section]: { [key]: good } }) as unknown as Record<string, Record<string, unknown>>
      t.is(config[section]?.[key], good)
    }
  })
}

test('valid uuids and null are accepted', t => {
  t.is(resolveConfig({ acceptor: { uuid: '54c6755b-9628-40a4-9a2d-cc82a816345e' } }).acceptor.uuid, '54c6755b-9628-40a4-9a2d-cc82a816345e')
  t.is(resolveConfig({ acceptor: { uuid: null } }).acceptor.uuid, null)
})

test('ipc and inproc endpoints are accepted', t => {
  const config = resolveConfig({
    services: { demo: { sendSpec: 'ipc:///tmp/swb-send', recvSpec: 'ipc://@abstract', requests: 'inproc://req', replies: 'tcp://[::1]:9000' } }
  })
  t.deepEqual(config.services.demo, {
    sendSpec: 'ipc:///tmp/swb-send', recvSpec: 'ipc://@abstract', requests: 'inproc://req', replies: 'tcp://[::1]:9000', protocol: 'json', batch: false
  })
})
