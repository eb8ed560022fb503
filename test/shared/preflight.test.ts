/** shared/preflight.ts: which addresses a formation binds, and what the bind checks report. */
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { resolveConfig } from '../../shared/config/index.js'
import { bindTargets, checkBinds } from '../../shared/preflight.js'

test('bindTargets: the acceptor port and every broker endpoint, only for the types that run', (t) => {
  const config = resolveConfig()
  const all = bindTargets(config, { broker: true, acceptor: true })
  t.deepEqual(all.map((x) => x.field), ['acceptor.port', 'broker.status', 'services.demo.sendSpec', 'services.demo.recvSpec',
    'services.demo.requests', 'services.demo.replies', 'broker.publishOut', 'broker.publishPull', 'broker.publishHttp'])
  t.is(all[0]!.endpoint, 'tcp://127.0.0.1:6767')
  t.deepEqual(all.slice(-3).map((x) => x.endpoint), ['tcp://127.0.0.1:9992', 'tcp://127.0.0.1:5560', 'tcp://127.0.0.1:5561'])
  // Publish inputs turned off bind nothing.
  const off = bindTargets(resolveConfig({ broker: { publishPull: '', publishHttp: '' } }), { broker: true, acceptor: false })
  t.false(off.some((x) => x.field === 'broker.publishPull' || x.field === 'broker.publishHttp'))
  t.deepEqual(bindTargets(config, { broker: false, acceptor: true }).map((x) => x.field), ['acceptor.port'])
  t.deepEqual(bindTargets(config, { broker: false, acceptor: false }), [])
  // Port 0 and a shared port are not checked.
  t.deepEqual(bindTargets(resolveConfig({ acceptor: { port: 0 } }), { broker: false, acceptor: true }), [])
  t.deepEqual(bindTargets(resolveConfig({ acceptor: { sharePort: true } }), { broker: false, acceptor: true }), [])
})

test('checkBinds: a port in use, a missing ipc dir and an over-long ipc path are named; free ones pass', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const dir = mkdtempSync(join(tmpdir(), 'swb-preflight-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const problems = await checkBinds([
    { field: 'acceptor.port', endpoint: `tcp://127.0.0.1:${port}` },
    { field: 'broker.status', endpoint: `ipc://${dir}/status` },
    { field: 'services.a.sendSpec', endpoint: `ipc://${dir}/missing/send` },
    { field: 'services.a.recvSpec', endpoint: `ipc://${dir}/${'x'.repeat(120)}` },
    { field: 'services.a.requests', endpoint: 'tcp://*:*' }
  ])
  t.is(problems.length, 3, problems.join('\n'))
  t.regex(problems[0]!, new RegExp(`^acceptor\\.port tcp://127\\.0\\.0\\.1:${port}: port ${port} is already in use`))
  t.regex(problems[1]!, /^services\.a\.sendSpec .*: directory .*missing does not exist$/)
  t.regex(problems[2]!, /^services\.a\.recvSpec .*: the socket path is longer than 107 bytes$/)
  server.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.deepEqual(await checkBinds([{ field: 'acceptor.port', endpoint: `tcp://127.0.0.1:${port}` }]), [])
})

test('checkBinds: a taken broker.publishHttp port is named', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.close() })
  const port = (server.address() as { port: number }).port
  const targets = bindTargets(resolveConfig({ broker: { publishHttp: `127.0.0.1:${port}`, publishPull: '', publishOut: 'ipc:///tmp/swb-x' } }), { broker: true, acceptor: false })
  const problems = await checkBinds(targets.filter((x) => x.field.startsWith('broker.publish')))
  t.deepEqual(problems.map((p) => p.split(':')[0]), ['broker.publishHttp tcp'])
  t.regex(problems[0]!, new RegExp(`port ${port} is already in use`))
})
