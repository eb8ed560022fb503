/** `npm run bench -- --help`, `npm run soak -- --help` and `npm run bench:fanout -- --help` print their knobs and start nothing; a stray argument exits 2. */
import { execFile } from 'node:child_process'
import test from 'ava'
import { kRoot } from '../helpers/system.js'

function npmRun (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    execFile('npm', ['run', '-s', ...args], { cwd: kRoot, timeout: 40_000 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
}

test('npm run bench -- --help (and -h) prints usage with every env knob and exits 0 without running', async (t) => {
  for (const flag of ['--help', '-h']) {
    const r = await npmRun('bench', '--', flag)
    t.is(r.code, 0, r.stderr)
    t.regex(r.stdout, /^usage: npm run bench/)
    for (const knob of ['DURATION', 'REPEATS', 'CONNS', 'ONLY', 'WARMUP', 'M2_ACCESS_LOG', 'SB_THREADS', 'SB_PROTOCOL', 'SB_TRANSPORT', 'SB_LINK']) {
      t.regex(r.stdout, new RegExp(`\\b${knob}=`), knob)
    }
    t.is(r.stderr, '', 'no progress lines: nothing started')
  }
})

test('npm run bench -- --bogus names the argument, prints usage on stderr and exits 2', async (t) => {
  const r = await npmRun('bench', '--', '--bogus')
  t.is(r.code, 2)
  t.is(r.stdout, '')
  t.regex(r.stderr, /unknown argument: --bogus\nusage: npm run bench/)
})

test('npm run soak -- --help prints its knobs and exits 0; a stray argument exits 2 (nothing starts)', async (t) => {
  const help = await npmRun('soak', '--', '--help')
  t.is(help.code, 0, help.stderr)
  t.regex(help.stdout, /^usage: npm run soak \[-- minutes\]/)
  for (const knob of ['SOAK_ECHO', 'SOAK_WAITS', 'SOAK_POST_MS', 'SOAK_ABORTS', 'SOAK_RESTART_S', 'SOAK_ROW_S']) t.regex(help.stdout, new RegExp(`\\b${knob}=`), knob)
  t.is(help.stderr, '')
  const bad = await npmRun('soak', '--', 'forever')
  t.is(bad.code, 2)
  t.regex(bad.stderr, /unknown argument: forever\nusage: npm run soak/)
})

test('npm run bench:fanout -- --help prints its knobs and how to get Pushpin, starts nothing; a stray argument exits 2', async (t) => {
  const help = await npmRun('bench:fanout', '--', '--help')
  t.is(help.code, 0, help.stderr)
  t.regex(help.stdout, /^usage: npm run bench:fanout/)
  for (const knob of ['FANOUT_N', 'FANOUT_KINDS', 'FANOUT_ONLY', 'REPEATS', 'FANOUT_PER_CLIENT', 'FANOUT_RATE', 'FANOUT_PUSHPIN_RATE', 'FANOUT_PUSHPIN_REPEATS', 'FANOUT_TIMEOUT', 'FANOUT_RSS', 'FANOUT_SETTLE', 'FANOUT_SERVER_ARGS']) {
    t.regex(help.stdout, new RegExp(`\\b${knob}=`), knob)
  }
  t.regex(help.stdout, /apt-get install -y pushpin/)
  t.is(help.stderr, '')
  const bad = await npmRun('bench:fanout', '--', '10000')
  t.is(bad.code, 2)
  t.regex(bad.stderr, /unknown argument: 10000\nusage: npm run bench:fanout/)
})
