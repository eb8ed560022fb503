/**
 * The counts a benchmark server or handler reports to its bench: `line()` written to `file`
 * every 200 ms when it changed (the bench polls the file). No file named: nothing is written.
 * Returns a function that writes at once (call it at exit so the last counts are there).
 */
import { writeFileSync } from 'node:fs'

export function reportCounts (file: string | undefined, line: () => string, everyMs = 200): () => void {
  if (file === undefined || file === '') return () => {}
  let written = ''
  const write = (): void => {
    const next = line()
    if (next === written) return
    written = next
    writeFileSync(file, next)
  }
  setInterval(write, everyMs).unref()
  return write
}
