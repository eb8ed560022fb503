/**
 * The bench's target verdicts (perf/lib/targets.ts): a wrong verdict would misreport issue 3.
 */
import test from 'ava'
import type { Row } from '../../perf/lib/report.js'
import { formatTargets } from '../../perf/lib/targets.js'

function row (contender: string, conns: number, rps: number, p99Ms = 10): Row {
  return { contender, conns, runs: 2, rps, spreadPct: 0, p50Ms: 1, p99Ms, cpu: {}, wrkCpu: 0, errors: 0 }
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
