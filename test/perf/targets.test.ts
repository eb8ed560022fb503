/**
 * The bench's target verdicts (perf/lib/targets.ts): a wrong verdict would misreport issue 3.
 */
import test from 'ava'
import type { Row } from '../../perf/lib/report.js'
import { formatBudgets, formatTargets } from '../../perf/lib/targets.js'

function row (contender: string, conns: number, rps: number, p99Ms = 10, cpu: Record<string, number> = {}, wrkCpu = 0): Row {
  return { contender, conns, runs: 2, rps, spreadPct: 0, p50Ms: 1, p99Ms, cpu, wrkCpu, errors: 0 }
}

test('ratios are judged per connection count >= 50, and one miss fails the target', (t) => {
  const out = formatTargets([
    row('uws-raw', 50, 60_000), row('node-http', 50, 20_000), row('mongrel2', 50, 10_000),
    row('sb-ts-1', 50, 31_000), row('uws-raw', 1, 5_000), row('sb-ts-1', 1, 1_000)
  ])
  t.regex(out, /sb-ts-1 \/ uws-raw >= 0\.5x\s+c=50 0\.52x: met/)
  t.regex(out, /sb-ts-1 \/ node-http >= 1\.5x\s+c=50 1\.55x: met/)
  t.regex(out, /sb-ts-1 \/ mongrel2 >= 3x\s+c=50 3\.10x: met/)
  t.regex(out, /p50 at 1 connection: uws-raw 1\.00 ms, sb-ts-1 1\.00 ms/)
})

test('p99 counts for sb-m2, and a goal above raw uWS.js is called out', (t) => {
  const out = formatTargets([
    row('uws-raw', 256, 50_000), row('mongrel2', 256, 20_000, 20), row('sb-m2', 256, 26_000, 25), row('sb-ts-1', 256, 30_000)
  ])
  t.regex(out, /sb-m2 \/ mongrel2 >= 1\.25x, p99 no worse\s+c=256 1\.30x \(p99 25\.0 vs 20\.0 ms\): MISSED/)
  t.regex(out, /sb-ts-1 \/ mongrel2 >= 3x\s+c=256 1\.50x \(goal 60000 > uws-raw 50000 req\/s\): MISSED/)
  t.regex(out, /sb-ts-1 \/ node-http >= 1\.5x\s+not measured/)
})

test('budgets: CPU per request of each process beside what each missed goal allows', (t) => {
  const rows = [
    row('uws-raw', 256, 60_000), row('node-http', 256, 15_000), row('mongrel2', 256, 20_000, 30),
    row('sb-ts-1', 256, 25_000, 10, { broker: 15, acceptor: 90, handler: 30, machine: 170 }, 40),
    // Below the ratio only through p99: no CPU budget to show.
    row('sb-m2', 256, 26_000, 40, { acceptor: 80 }, 30)
  ]
  const out = formatBudgets(rows, 2)
  t.regex(out, /^CPU per request against each missed goal's budget \(2 cores/)
  // 15% of a core at 25k req/s is 6 µs per request; wrk's 40% is 16; 6 + 36 + 12 + 16 = 70.
  t.regex(out, /sb-ts-1 c=256 +spent 70\.0 \(broker 6\.0, acceptor 36\.0, handler 12\.0, wrk 16\.0\) at machine 170%; budget 33\.3 for 3x mongrel2, 66\.7 for 0\.5x uws-raw\n/)
  t.notRegex(out, /node-http/) // 1.67x: met
  t.notRegex(out, /sb-m2/)
  t.is(formatBudgets([row('uws-raw', 50, 60_000), row('node-http', 50, 10_000), row('sb-ts-1', 50, 31_000)], 2), '')
})
