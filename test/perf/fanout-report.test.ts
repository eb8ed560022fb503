/**
 * bench:fanout's tables and verdicts (perf/lib/fanout-report.ts) and the Pushpin config it
 * generates (perf/contenders/pushpin.ts): a wrong verdict or a rate-limited Pushpin would
 * misreport issue 10's targets.
 */
import test from 'ava'
import { pushpinConfig } from '../../perf/contenders/pushpin.js'
import { aggregateRuns, rssTable, targetLines, timeTable } from '../../perf/lib/fanout-report.js'
import type { ContenderName, Kind, RunResult } from '../../perf/lib/fanout-report.js'

function run (contender: ContenderName, kind: Kind, n: number, lastMs: number, extra: Partial<RunResult> = {}): RunResult {
  return {
    contender, kind, n, round: 1, held: n, received: n, firstMs: lastMs / 10, lastMs, openSecs: 1, publishStatus: 200, refused: 0, errors: 0, firstError: '',
    cpuMs: { server: lastMs / 2, clients: lastMs }, ...extra
  }
}

test('rows take the median over complete runs only; failed and short runs are counted, not averaged in', (t) => {
  const rows = aggregateRuns([
    run('switchboard', 'sse', 1000, 10), run('switchboard', 'sse', 1000, 30), run('switchboard', 'sse', 1000, 20),
    run('switchboard', 'sse', 1000, 5, { received: 990 }), // 10 subscribers never got it
    run('switchboard', 'sse', 1000, Number.NaN, { received: 0, failure: 'publish answered 500' }),
    run('uws-raw', 'sse', 1000, 10)
  ], ['sse'], [1000], ['switchboard', 'uws-raw'])
  t.is(rows.length, 2)
  const sb = rows[0]!
  t.is(sb.contender, 'switchboard')
  t.is(sb.lastMs, 20)
  t.is(sb.missed, 1000 + 10)
  t.is(sb.runs.length, 5)
  const cells = timeTable(rows)
  t.deepEqual(cells[1], ['SSE', '1000', 'switchboard', '1000', '20.0', '2.00', '100', '3/5 (1010 missed)', '2.00x', '-', '10/20'])
})

test('targets: within 1.2x of raw uWS.js per kind, and 4x faster than Pushpin\'s best kind at that N', (t) => {
  const rows = aggregateRuns([
    run('switchboard', 'ws', 10_000, 110), run('uws-raw', 'ws', 10_000, 100), run('pushpin', 'ws', 10_000, 2000),
    run('switchboard', 'lp', 10_000, 300), run('uws-raw', 'lp', 10_000, 200), run('pushpin', 'lp', 10_000, 1000, { held: 9700, received: 9700 })
  ], ['ws', 'lp'], [10_000], ['switchboard', 'uws-raw', 'pushpin'])
  const lines = targetLines(rows, [10_000])
  t.is(lines[0], 'N=10000: Switchboard last delivery / raw uWS.js <= 1.2x: WebSocket 1.10x met, long-poll 1.50x MISSED')
  // Pushpin's best is its long-poll row (1,000 ms, only 9,700 held): 9.09x and 3.33x.
  t.is(lines[1], 'N=10000: Pushpin\'s best (long-poll 1000 ms, 9700 held) / Switchboard >= 4x: WebSocket 9.09x met, long-poll 3.33x MISSED')
  const cells = timeTable(rows)
  t.is(cells.find((c) => c[0] === 'long-poll' && c[2] === 'pushpin')?.[3], '9700/10000')
})

test('the RSS table judges Switchboard\'s long-poll and SSE against 1.2 KiB on the larger reading; the others are references', (t) => {
  const rss = (kib: number, secondHalf = kib): RunResult['rss'] => ({
    label: 'acceptor', beforeKiB: 80 * 1024, midKiB: 80 * 1024 + kib * 5_000, afterKiB: 80 * 1024 + kib * 10_000, midHeld: 5_000,
    kibPerSub: kib, kibSecondHalf: secondHalf, trace: { before: [], mid: [], after: [] }
  })
  const cells = rssTable([
    run('switchboard', 'lp', 10_000, 1, { rss: rss(1.1) }), run('switchboard', 'sse', 10_000, 1, { rss: rss(2.5) }),
    run('switchboard', 'ws', 10_000, 1, { rss: rss(4) }), run('pushpin', 'sse', 10_000, 1, { rss: rss(46) }), run('uws-raw', 'sse', 10_000, 1),
    run('pushpin', 'ws', 10_000, 1, { held: 90, rss: rss(11_000) }),
    // Met over all N, but the second half grew faster: the larger reading decides.
    run('switchboard', 'lp', 10_000, 2, { rss: rss(1.1, 1.3) })
  ])
  t.is(cells.length, 7, 'a run without an RSS reading has no row')
  t.deepEqual(cells.map((c) => c[9]), ['target', '<= 1.2: met', '<= 1.2: MISSED', '-', 'reference', 'only 90/10000 held', '<= 1.2: MISSED'])
  t.deepEqual(cells[1]!.slice(4, 9), ['80.0', '85.4', '90.7', '1.10', '1.10'])
  t.deepEqual(cells[6]!.slice(7, 9), ['1.10', '1.30'])
})

test('the Pushpin config turns its publish rate limit off and uses only the ports given', (t) => {
  const conf = pushpinConfig({ dir: '/tmp/x', ports: { http: 40001, publish: 40002, pull: 40003, sub: 40004, command: 40005 }, maxConn: 19_000 })
  t.regex(conf, /^message_rate=0$/m)
  t.regex(conf, /^message_hwm=0$/m)
  t.regex(conf, /^http_port=127\.0\.0\.1:40001$/m)
  t.regex(conf, /^push_in_http_port=40002$/m)
  t.regex(conf, /^push_in_spec=tcp:\/\/127\.0\.0\.1:40003$/m)
  t.regex(conf, /^client_maxconn=19000$/m)
  t.regex(conf, /^rundir=\/tmp\/x\/run$/m)
  for (const port of ['7999', '5560', '5561', '5562', '5563']) t.notRegex(conf, new RegExp(`\\b${port}\\b`), `default port ${port}`)
  t.regex(conf, /^services=.*\bzurl\b/m, 'zurl started with it')
})
