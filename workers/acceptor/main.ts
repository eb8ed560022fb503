/** Acceptor process entry: config, start, graceful drain on SIGINT/SIGTERM. */
import { setFlagsFromString } from 'node:v8'
import { createLogger } from '../../shared/log.js'
import { loadConfigOrExit, stopOnSignals } from '../../shared/process.js'
import { Acceptor } from './acceptor.js'

// Held connections' objects all survive their first scavenges, so V8 would double the young
// generation up to 2 × 16 MiB while they open and never give it back: more than the
// connections themselves take (perf/README.md "Where the memory goes"). Keep it at its
// start size: the price, more scavenges under request load, was 5-8% of sb-m2's req/s in
// the quiet-machine A/B of `npm run bench` (perf/README.md).
setFlagsFromString('--semi-space-growth-factor=1')

const log = createLogger('acceptor')
const config = await loadConfigOrExit(log)
// For tests of the id wrap only: the first connection id (default 1).
const firstId = Number(process.env.SWITCHBOARD_TEST_FIRST_ID ?? 1)
if (!Number.isInteger(firstId) || firstId < 1 || firstId > 0xffffffff) {
  log.error('SWITCHBOARD_TEST_FIRST_ID must be an integer from 1 to 4294967295', { value: process.env.SWITCHBOARD_TEST_FIRST_ID })
  process.exit(78)
}
const acceptor = new Acceptor(config, log, { lastId: firstId - 1 })
try {
  await acceptor.start()
} catch (err) {
  log.error('could not start', { err })
  process.exit(1)
}
stopOnSignals(log, async (signal) => {
  log.info('draining', { signal, inFlight: acceptor.exchanges.size })
  await acceptor.stop()
})
