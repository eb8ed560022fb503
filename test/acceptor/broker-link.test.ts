// BrokerLink's staleness judgement against a real ZeroMQ status publisher in this process.
import test from 'ava'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as zmq from 'zeromq'
import { defaults } from '../../shared/config/defaults.js'
import { createLogger } from '../../shared/log.js'
import { encodeStatus } from '../../shared/protocol/status.js'
import { BrokerLink } from '../../workers/acceptor/broker-link.js'

function sleep (ms: number): Promise<void> { return new Promise((resolve) => setTimeout(resolve, ms)) }

test('a loop kept busy past the window does not make a live broker look silent; a broker that stops does', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'swb-link-'))
  const endpoint = `ipc://${join(dir, 'status')}`
  const pub = new zmq.Publisher({ linger: 0 })
  await pub.bind(endpoint)
  const config = { ...defaults, broker: { ...defaults.broker, status: endpoint, statusIntervalMs: 100 }, services: {} }
  const link = new BrokerLink(config, createLogger('test'))
  let publishing = true
  const status = encodeStatus('boot1', new Map())
  const publisher = (async () => { while (publishing) { await pub.send(status); await sleep(50) } })()
  t.teardown(async () => {
    publishing = false
    await publisher
    link.close()
    pub.close()
    rmSync(dir, { recursive: true, force: true })
  })
  t.true(await link.start(() => {}, 5000), 'the first status arrived')
  await sleep(300)
  t.false(link.silent())
  // One long turn of this loop (as a burst of connections makes it): 1.5 s > the 1 s window.
  const until = Date.now() + 1500
  while (Date.now() < until) { /* busy */ }
  t.false(link.silent(), 'the statuses sent meanwhile wait unread: not the broker\'s silence')
  await sleep(300)
  t.false(link.silent(), 'read once the loop turned')
  publishing = false
  await publisher
  await sleep(1500)
  t.true(link.silent(), 'no status for 1.5 s while the loop ran freely: silent')
})
