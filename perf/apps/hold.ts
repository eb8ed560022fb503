/**
 * The handler-host app of the held-connections benchmark (perf/held.ts): it answers
 * nothing, so every request stays held in the acceptor (a long-poll nobody answers).
 *
 * It counts what it saw, so the benchmark knows when all N requests have arrived: with
 * env HOLD_COUNT_FILE set, the count of held requests (and of disconnect notices) is
 * written there whenever it changed, at most every 200 ms. Run it with `handler.threads: 0`:
 * each worker thread would count only its own share.
 */
import { reportCounts } from '../lib/count-file.js'
import type { Handler } from '../../workers/handler/api.js'

const kCountFile = process.env.HOLD_COUNT_FILE
const kFlushMs = 200

let held = 0
let gone = 0
reportCounts(kCountFile, () => `${held} ${gone}\n`, kFlushMs)

const hold: Handler = () => {
  held++
  return undefined // held: no reply, ever
}
export default hold

/** A held client left (or the route timed out): counted, nothing else to do. */
export function onDisconnect (): void {
  gone++
}
