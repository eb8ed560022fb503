/** Acceptor process entry: config, start, graceful drain on SIGINT/SIGTERM. */
import { loadConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { createLogger } from '../../shared/log.js'
import { Acceptor } from './acceptor.js'

const log = createLogger('acceptor')
let config
try {
  config = await loadConfig({ argv: process.argv.slice(2) })
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(err.message)
    process.exit(78)
  }
  throw err
}
const acceptor = new Acceptor(config, log)
try {
  await acceptor.start()
} catch (err) {
  log.error('could not start', { err })
  process.exit(1)
}

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    log.info('draining', { signal, inFlight: acceptor.exchanges.size })
    acceptor.stop().then(() => process.exit(0), (err: unknown) => {
      log.error('stop failed', { err })
      process.exit(1)
    })
  })
}
