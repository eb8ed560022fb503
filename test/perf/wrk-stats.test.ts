/**
 * The benchmark's pure parts: wrk report parsing and the statistics the table prints.
 * A wrong parse would print a wrong ratio, so they are pinned here.
 */
import test from 'ava'
import { median, spreadPct } from '../../perf/lib/stats.js'
import { parseDurationMs, parseWrk } from '../../perf/lib/wrk.js'

// wrk 4.1.0 with --latency, as Debian's build prints it.
const kReport = `Running 5s test @ http://127.0.0.1:6767/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     6.56ms    3.15ms  31.90ms   78.92%
    Req/Sec     3.90k     0.98k    6.34k    66.88%
  Latency Distribution
     50%  569.00us
     75%    7.81ms
     90%    9.93ms
     99%    1.20s
  38246 requests in 5.03s, 3.83MB read
  Socket errors: connect 0, read 2, write 1, timeout 4
  Non-2xx or 3xx responses: 5
Requests/sec:   7609.70
Transfer/sec:    780.29KB
`

test('parseWrk reads req/s, p50, p99 (units normalised to ms), requests and errors', (t) => {
  const r = parseWrk(kReport)
  t.is(r.rps, 7609.7)
  t.true(Math.abs(r.p50Ms - 0.569) < 1e-9, String(r.p50Ms))
  t.is(r.p99Ms, 1200)
  t.is(r.requests, 38246)
  t.is(r.errors, 2 + 1 + 4 + 5)
})

test('parseWrk refuses a report without the latency distribution', (t) => {
  t.throws(() => parseWrk(kReport.replace(/ {5}50%.*\n/, '')), { message: /cannot parse wrk output/ })
})

test('parseDurationMs handles wrk units and rejects anything else', (t) => {
  t.is(parseDurationMs('1.50ms'), 1.5)
  t.is(parseDurationMs('2.00s'), 2000)
  t.true(Math.abs(parseDurationMs('250.00us') - 0.25) < 1e-9)
  t.true(Number.isNaN(parseDurationMs('12 parsecs')))
})

test('median and spread of repeats', (t) => {
  t.is(median([3, 1, 2]), 2)
  t.is(median([4, 1, 2, 3]), 2.5)
  t.true(Number.isNaN(median([])))
  t.is(spreadPct([90, 110, 100]), 20)
  t.true(Number.isNaN(spreadPct([100])))
})
