/** Handler host process entry: `node --import tsx workers/handler/main.ts [--config file] [app]`. */
import { createLogger } from '../../shared/log.js'
import { loadConfigOrExit, stopOnSignals } from '../../shared/process.js'
import { HandlerHost } from './host.js'

const log = createLogger('handler')
const args = process.argv.slice(2)
// A bare argument names the app module (overrides handler.app and SWITCHBOARD_HANDLER_APP).
const appArg = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--config')
const env = appArg === undefined ? process.env : { ...process.env, SWITCHBOARD_HANDLER_APP: appArg }
const config = await loadConfigOrExit(log, { argv: args, env })
const host = new HandlerHost(config, log)
try {
  await host.start()
} catch (err) {
  log.error('could not start', { err, stack: (err as Error).stack })
  process.exit(1)
}
stopOnSignals(log, async (signal) => {
  log.info('stopping', { signal })
  await host.stop()
})
