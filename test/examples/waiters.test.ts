/**
 * The demo's waiter store (examples/demo/waiters.ts) in this process: a disconnect notice
 * that arrives before its request (another thread or host took the notice first) keeps
 * that id from being held, so it is never counted as delivered.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'

const dir = mkdtempSync(join(tmpdir(), 'swb-waiters-'))
process.env.SWITCHBOARD_DEMO_DIR = dir
const w = await import('../../examples/demo/waiters.js')
test.after.always(() => { rmSync(dir, { recursive: true, force: true }) })

test.serial('a notice after the hold forgets the waiter', (t) => {
  t.true(w.hold('acc', 1))
  t.true(w.hold('acc', 2))
  w.forget('acc', 1)
  t.deepEqual(w.claimAll().map((x) => x.id), [2])
  t.deepEqual(w.claimAll(), [])
})

test.serial('a notice before the hold refuses the hold (once)', (t) => {
  w.forget('acc', 7)
  t.false(w.hold('acc', 7))
  t.deepEqual(w.claimAll(), [])
  t.true(w.hold('acc', 7), 'the tombstone is used up: a new exchange with this id may wait')
  t.deepEqual(w.claimAll().map((x) => x.id), [7])
})

test.serial('SWITCHBOARD_DEMO_DIR given: the store uses it and leaves it to its owner', (t) => {
  t.is(w.waitersDir, dir)
})
