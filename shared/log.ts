/**
 * One-line logs on stderr: `time level process message key=value…`. foreman prefixes
 * each line with the process name; keep lines greppable and free of JSON round trips.
 */
type Level = 'debug' | 'info' | 'warn' | 'error'
const kDebug = process.env.SWITCHBOARD_DEBUG === '1'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

function format (value: unknown): string {
  if (typeof value === 'string') return /[\s"=]/.test(value) || value === '' ? JSON.stringify(value) : value
  if (value instanceof Error) return JSON.stringify(value.message)
  return String(value)
}

function write (name: string, level: Level, msg: string, fields?: Record<string, unknown>): void {
  let line = `${new Date().toISOString()} ${level.toUpperCase()} ${name}: ${msg}`
  if (fields) for (const key in fields) line += ` ${key}=${format(fields[key])}`
  process.stderr.write(line + '\n')
}

export function createLogger (name: string): Logger {
  return {
    debug: (msg, fields) => { if (kDebug) write(name, 'debug', msg, fields) },
    info: (msg, fields) => write(name, 'info', msg, fields),
    warn: (msg, fields) => write(name, 'warn', msg, fields),
    error: (msg, fields) => write(name, 'error', msg, fields)
  }
}
