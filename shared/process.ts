/**
 * What every Switchboard process does at its edges: load the configuration or exit 78
 * (EX_CONFIG) with every problem listed, and stop once on SIGINT/SIGTERM.
 */
import { loadConfig, type LoadOptions } from './config/index.js'
import type { Config } from './config/types.js'
import { ConfigError } from './errors.js'
import type { Logger } from './log.js'

const kExitGraceMs = 2000

export async function loadConfigOrExit (log: Logger, opts: LoadOptions = { argv: process.argv.slice(2) }): Promise<Readonly<Config>> {
  try {
    return await loadConfig(opts)
  } catch (err) {
    if (err instanceof ConfigError) {
      log.error(err.message)
      process.exit(78)
    }
    throw err
  }
}

/**
 * Runs `stop` once on the first SIGINT or SIGTERM. The process then ends by draining, so
 * 'beforeExit' hooks (clinic's samplers) run; a handle left open cannot keep it alive
 * for more than a moment. Exit code 1 if `stop` throws.
 */
export function stopOnSignals (log: Logger, stop: (signal: NodeJS.Signals) => Promise<void>): void {
  let stopping = false
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return
      stopping = true
      stop(signal).then(() => {
        setTimeout(() => process.exit(0), kExitGraceMs).unref()
      }, (err: unknown) => {
        log.error('stop failed', { err })
        process.exit(1)
      })
    })
  }
}
