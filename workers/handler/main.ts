/** Handler host process entry: `node --import tsx workers/handler/main.ts [--config file] [app]`. */
import { loadConfig } from '../../shared/config/index.js'
import { ConfigError } from '../../shared/errors.js'
import { createLogger } from '../../shared/log.js'
import { HandlerHost } from './host.js'

const log = createLogger('handler')
const args = process.argv.slice(2)
// A bare argument names the app module (overrides handler.app and SWITCHBOARD_HANDLER_APP).
const appArg = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--config')
let config
try {
  const env = appArg === undefined ? process.env : { ...process.env, SWITCHBOARD_HANDLER_APP: appArg }
  config = await loadConfig({ argv: args, env })
} catch (err) {
  if (err instanceof ConfigError) {
    log.error(err.message)
    process.exit(78)
  }
  throw err
}
const host = new HandlerHost(config, log)
try {
  await host.start()
} catch (err) {
  log.error('could not start', { err, stack: (err as Error).stack })
  process.exit(1)
}
let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    log.info('stopping', { signal })
    host.stop().then(() => process.exit(0), () => process.exit(1))
  })
}
