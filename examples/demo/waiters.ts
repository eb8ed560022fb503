/**
 * Where the demo keeps held long-polls: one empty file per waiting exchange, named
 * `<sender>_<id>_<pid>`, in a directory of this run. Claiming a waiter is unlink():
 * exactly one process wins, so no exchange is answered twice. (A real app would keep
 * this in Redis or a database: handlers stay stateless.)
 *
 * The directory is SWITCHBOARD_DEMO_DIR when set: `npm start` makes one per run, shared
 * by all its handler processes, and removes it at exit. A handler host run alone makes
 * its own, `switchboard-demo-<pid>-<start time>` in the temp dir (the same for every
 * thread of the process), removes it at exit, and removes those of processes that are
 * gone (killed) when it starts. So no waiter outlives its run.
 *
 * A disconnect notice can arrive before the request it names (another thread or process
 * took it first): the notice leaves a tombstone in `gone/`, and hold() refuses an id
 * that has one. Tombstones older than a minute are swept.
 */
import { mkdirSync, readFileSync, readdirSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'

const kPrefix = 'switchboard-demo-'
const kTombstoneMs = 60_000

/** Linux's start time of a process (clock ticks since boot), to tell a reused pid apart. */
function startTime (pid: number | 'self'): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null
  } catch {
    return null
  }
}

/** Removes the waiter directories of handler hosts that no longer run. */
function sweepDead (): void {
  for (const name of readdirSync(tmpdir())) {
    const m = new RegExp(`^${kPrefix}(\\d+)-(\\d+)$`).exec(name)
    if (m === null || startTime(Number(m[1])) === m[2]) continue
    rmSync(join(tmpdir(), name), { recursive: true, force: true })
  }
}

function runDir (): string {
  const given = process.env.SWITCHBOARD_DEMO_DIR
  if (given !== undefined && given !== '') return given
  const started = startTime('self')
  const dir = join(tmpdir(), `${kPrefix}${process.pid}-${started ?? 0}`)
  if (isMainThread) {
    if (started !== null) sweepDead()   // without /proc, a live process cannot be told from a gone one
    process.once('exit', () => { rmSync(dir, { recursive: true, force: true }) })
  }
  return dir
}

const kDir = runDir()
const kGone = join(kDir, 'gone')
mkdirSync(kDir, { recursive: true })
let gLastSweep = 0

export interface Waiter { sender: string; id: number; heldBy: number }

/** The directory of this run's waiters. */
export const waitersDir = kDir

/** Holds the exchange; false when its client already left (a notice came first). */
export function hold (sender: string, id: number): boolean {
  try {
    unlinkSync(join(kGone, `${sender}_${id}`))
    return false
  } catch {}
  writeFileSync(join(kDir, `${sender}_${id}_${process.pid}`), '')
  return true
}

/** Takes the waiter if it is still there; false when another process already answered it. */
export function claim (sender: string, id: number, heldBy: number): boolean {
  try {
    unlinkSync(join(kDir, `${sender}_${id}_${heldBy}`))
    return true
  } catch {
    return false
  }
}

/** Claims every waiter. */
export function claimAll (): Waiter[] {
  const taken: Waiter[] = []
  for (const name of readdirSync(kDir)) {
    const [sender, id, pid] = name.split('_')
    if (!sender || !id || !pid) continue
    const waiter = { sender, id: Number(id), heldBy: Number(pid) }
    if (claim(waiter.sender, waiter.id, waiter.heldBy)) taken.push(waiter)
  }
  return taken
}

/**
 * Forgets a waiter whose client left (disconnect notice), whichever process held it;
 * when there is none yet, leaves a tombstone so a late hold() of that id is refused.
 */
export function forget (sender: string, id: number): void {
  let found = false
  for (const name of readdirSync(kDir)) {
    if (name.startsWith(`${sender}_${id}_`)) found = claim(sender, id, Number(name.slice(name.lastIndexOf('_') + 1))) || found
  }
  if (found) return
  mkdirSync(kGone, { recursive: true })
  writeFileSync(join(kGone, `${sender}_${id}`), '')
  sweepTombstones()
}

/** Most notices name ids that were never held (answered already, not a /wait): keep `gone/` small. */
function sweepTombstones (): void {
  const now = Date.now()
  if (now - gLastSweep < kTombstoneMs / 4) return
  gLastSweep = now
  for (const name of readdirSync(kGone)) {
    try {
      if (now - statSync(join(kGone, name)).mtimeMs > kTombstoneMs) unlinkSync(join(kGone, name))
    } catch {}
  }
}
