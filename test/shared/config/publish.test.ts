// broker.publishHttp beyond loopback needs broker.publishKey (an open publish endpoint lets anyone push).
import test from 'ava'
import { ConfigError } from '../../../shared/errors.js'
import { resolveConfig } from '../../../shared/config/index.js'
import { isLoopbackHost } from '../../../shared/config/validate.js'

for (const host of ['0.0.0.0', '192.168.1.4', '[::]', 'example.com']) {
  test(`publishHttp on ${host} without publishKey is refused, naming the field and the fix`, (t) => {
    const err = t.throws(() => resolveConfig({ broker: { publishHttp: `${host}:5561` } }), { instanceOf: ConfigError })
    t.deepEqual(err.problems, [
      `broker.publishHttp "${host}:5561" is not a loopback address, so broker.publishKey must be set (publishers then sign a JWT with it), or bind publishHttp to 127.0.0.1`
    ])
  })
}

test('publishHttp beyond loopback with a key, on loopback without one, or off: accepted', (t) => {
  t.is(resolveConfig({ broker: { publishHttp: '0.0.0.0:5561', publishKey: 'secret' } }).broker.publishKey, 'secret')
  for (const publishHttp of ['127.0.0.1:5561', 'localhost:5561', '[::1]:5561', '127.0.0.2:6000', '']) {
    t.is(resolveConfig({ broker: { publishHttp } }).broker.publishHttp, publishHttp)
  }
})

test('isLoopbackHost', (t) => {
  for (const h of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) t.true(isLoopbackHost(h), h)
  for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'localhost.example.com', '']) t.false(isLoopbackHost(h), h)
})
