/**
 * Where the demo keeps held long-polls: one empty file per waiting exchange, named
 * `<sender>_<id>_<pid>`, in a directory every handler process on this machine shares.
 * Claiming a waiter is unlink(): exactly one process wins, so no exchange is answered
 * twice. (A real app would keep this in Redis or a database: handlers stay stateless.)
 */
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const kDir = process.env.SWITCHBOARD_DEMO_DIR ?? join(tmpdir(), 'switchboard-demo')
mkdirSync(kDir, { recursive: true })

export interface Waiter { sender: string; id: number; heldBy: number }

export function hold (sender: string, id: number): void {
  writeFileSync(join(kDir, `${sender}_${id}_${process.pid}`), '')
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

/** Forgets a waiter whose client left (disconnect notice), whichever process held it. */
export function forget (sender: string, id: number): void {
  for (const name of readdirSync(kDir)) {
    if (name.startsWith(`${sender}_${id}_`)) claim(sender, id, Number(name.slice(name.lastIndexOf('_') + 1)))
  }
}
