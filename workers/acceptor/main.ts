/** Acceptor process entry: config, start, graceful drain on SIGINT/SIGTERM. */
import { createLogger } from '../../shared/log.js'
import { loadConfigOrExit, stopOnSignals } from '../../shared/process.js'
import { Acceptor } from './acceptor.js'

const log = createLogger('acceptor')
const config = await loadConfigOrExit(log)
const acceptor = new Acceptor(config, log)
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
