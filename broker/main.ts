/**
 * Broker process entry.
 *
 * Each native proxy holds one libuv pool thread for its whole life, and bind() also runs
 * on that pool: with too few threads the broker (or its binds) stalls silently. The pool
 * is sized from UV_THREADPOOL_SIZE when Node starts, before any of our code runs, so when
 * it is too small for this config the broker re-runs itself once with the right size and
 * forwards signals and the exit code (the Procfile sets a size that avoids this).
 */
import { spawn } from 'node:child_process'
import { createLogger } from '../shared/log.js'
import { loadConfigOrExit, stopOnSignals } from '../shared/process.js'
import { Broker } from './broker.js'

const log = createLogger('broker')
const config = await loadConfigOrExit(log)

const wanted = Broker.threadsNeeded(config) + 2
const have = Number(process.env.UV_THREADPOOL_SIZE ?? 4)
if (have < wanted) {
  log.info('re-running with a larger libuv pool', { UV_THREADPOOL_SIZE: wanted, had: have })
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: 'inherit', env: { ...process.env, UV_THREADPOOL_SIZE: String(wanted) }
  })
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => child.kill(signal))
  child.on('exit', (code, signal) => { process.exitCode = code ?? (signal ? 1 : 0) })
} else {
  const broker = new Broker(config, log)
  try {
    await broker.start()
  } catch (err) {
    log.error('could not start', { err })
    process.exit(1)
  }
  log.info('ready', { pid: process.pid, services: Object.keys(config.services).join(',') })
  stopOnSignals(log, async (signal) => {
    log.info('stopping', { signal })
    await broker.stop()
    log.info('stopped')
  })
}
