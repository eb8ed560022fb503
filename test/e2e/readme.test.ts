/**
 * Commands the README gives, run exactly as written. The Python handler's line connects
 * to the demo service's default endpoints (9997/9996), under holdDefaultPorts.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { holdDefaultPorts, kRoot, startSystem, waitUntil } from '../helpers/system.js'

/** The one line of a ```sh block in README.md that contains `needle`. */
function readmeCommand (needle: string): string {
  const readme = readFileSync(join(kRoot, 'README.md'), 'utf8')
  const lines: string[] = []
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const line of block[1]!.split('\n')) if (line.includes(needle)) lines.push(line.trim())
  }
  if (lines.length !== 1) throw new Error(`README.md: expected one sh line with ${needle}, found ${lines.length}`)
  return lines[0]!
}

test('the README\'s Python handler command answers through the demo service (with this PATH\'s python3 whatever it is)', async (t) => {
  await holdDefaultPorts(t)
  const command = readmeCommand('examples/python/handler.py')
  t.regex(command, /tcp:\/\/127\.0\.0\.1:9997 tcp:\/\/127\.0\.0\.1:9996$/, 'the demo service\'s default endpoints')
  const sys = await startSystem(t, {
    handlers: 0,
    env: { SWITCHBOARD_SERVICE_DEMO_SEND_SPEC: 'tcp://127.0.0.1:9997', SWITCHBOARD_SERVICE_DEMO_RECV_SPEC: 'tcp://127.0.0.1:9996' }
  })
  // As a user's shell runs it (exec: the test stops the handler by this PID).
  const py = sys.spawn('python', '/bin/sh', ['-c', `exec ${command}`])
  await py.waitFor(/python handler ready/)
  await waitUntil(async () => (await fetch(sys.url + '/probe', { signal: AbortSignal.timeout(500) }).catch(() => null))?.status === 200,
    10000, `the Python handler; output:\n${py.output}`)
  const res = await fetch(sys.url + '/from/readme')
  t.is(await res.text(), 'Hello from Python: /from/readme\n')
})
