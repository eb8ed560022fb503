import test from 'ava'
import { createLogger, LogLimiter } from '../../shared/log.js'

/** A limiter on a fake clock: `at(ms)` moves time, `fire()` runs timers due by then. */
function fake (perWindow = 3, windowMs = 1000) {
  let now = 0
  const timers: Array<{ at: number, fn: () => void }> = []
  const reports: Array<{ key: string, level: string, suppressed: number }> = []
  const limiter = new LogLimiter((key, level, suppressed) => { reports.push({ key, level, suppressed }) }, {
    perWindow, windowMs, now: () => now, schedule: (fn, ms) => { timers.push({ at: now + ms, fn }) }
  })
  const at = (ms: number): void => {
    now = ms
    for (const t of timers.filter((t) => t.at <= now)) { timers.splice(timers.indexOf(t), 1); t.fn() }
  }
  const clock = (ms: number): void => { now = ms }
  return { limiter, reports, timers, at, clock }
}

test('per key, N lines a window pass; the rest are counted and reported once when the window ends', (t) => {
  const { limiter, reports, timers, at } = fake(3)
  const passed = Array.from({ length: 1000 }, () => limiter.allow('rejected a reply', 'warn')).filter(Boolean).length
  t.is(passed, 3)
  t.deepEqual(reports, [], 'no summary before the window ends')
  t.is(timers.length, 1, 'one timer for the whole window, not one per suppressed line')
  at(999)
  t.deepEqual(reports, [])
  at(1000)
  t.deepEqual(reports, [{ key: 'rejected a reply', level: 'warn', suppressed: 997 }])
  // A new window: lines pass again.
  at(1500)
  t.true(limiter.allow('rejected a reply', 'warn'))
})

test('keys are limited independently', (t) => {
  const { limiter } = fake(2)
  for (let i = 0; i < 5; i++) limiter.allow('a', 'warn')
  t.true(limiter.allow('b', 'error'))
  t.true(limiter.allow('b', 'error'))
  t.false(limiter.allow('b', 'error'))
  t.false(limiter.allow('a', 'warn'))
})

test('a timer that runs late: the next line in a new window reports the old count first, and only once', (t) => {
  const { limiter, reports, timers, clock } = fake(1)
  limiter.allow('k', 'warn')
  t.false(limiter.allow('k', 'warn'))
  t.false(limiter.allow('k', 'warn'))
  const late = timers.shift()!
  clock(1200) // the event loop was busy: the window is over but its timer has not run
  t.true(limiter.allow('k', 'warn'), 'a new window')
  t.deepEqual(reports, [{ key: 'k', level: 'warn', suppressed: 2 }])
  late.fn()
  t.is(reports.length, 1, 'the late timer reports nothing twice')
  t.false(limiter.allow('k', 'warn'))
  clock(2200)
  timers.shift()!.fn()
  t.deepEqual(reports.at(-1), { key: 'k', level: 'warn', suppressed: 1 })
})

test('createLogger: WARN and ERROR are limited per message with a summary line; INFO is not', async (t) => {
  const lines: string[] = []
  const write = process.stderr.write
  process.stderr.write = ((chunk: string) => { lines.push(String(chunk)); return true }) as typeof process.stderr.write
  try {
    const log = createLogger('acceptor', { perWindow: 5, windowMs: 200 })
    for (let i = 0; i < 500; i++) log.warn('rejected a reply', { i })
    for (let i = 0; i < 20; i++) log.info('listening', { i })
    for (let i = 0; i < 3; i++) log.error('exchange state machine error', { i })
    await new Promise((resolve) => setTimeout(resolve, 400))
  } finally {
    process.stderr.write = write
  }
  t.is(lines.filter((l) => / WARN acceptor: rejected a reply i=/.test(l)).length, 5)
  t.is(lines.filter((l) => / INFO acceptor: listening/.test(l)).length, 20)
  t.is(lines.filter((l) => / ERROR acceptor: exchange state machine error/.test(l)).length, 3)
  const summary = lines.filter((l) => /suppressed/.test(l))
  t.is(summary.length, 1, summary.join(''))
  t.regex(summary[0]!, / WARN acceptor: rejected a reply \(suppressed 495 similar lines in 200 ms\) suppressed=495\n$/)
})
