/**
 * One-line logs on stderr: `time level process message key=value…`. foreman prefixes
 * each line with the process name; keep lines greppable and free of JSON round trips.
 *
 * WARN and ERROR lines are rate-limited per message (the `msg` text is the key): a peer
 * (a client, a handler, a rogue publisher) can trigger them at line rate, and unbounded
 * they cost more than the work they report. Per message, at most `perSecond` lines pass
 * in each 1 s window; the rest are counted and reported by one summary line when the
 * window ends:
 *
 *   … WARN acceptor: rejected a reply (suppressed 4990 similar lines in 1000 ms) suppressed=4990
 *
 * Messages must therefore be constant text; variable parts go in the fields.
 */
type Level = 'debug' | 'info' | 'warn' | 'error'
const kDebug = process.env.SWITCHBOARD_DEBUG === '1'

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void
  info(msg: string, fields?: Record<string, unknown>): void
  warn(msg: string, fields?: Record<string, unknown>): void
  error(msg: string, fields?: Record<string, unknown>): void
}

export interface LimitOptions {
  /** Lines per key per window (default 10). */
  perWindow?: number
  /** Window length (default 1000 ms). */
  windowMs?: number
  /** Clock (tests pass a fake one). */
  now?: () => number
  /** Runs `fn` after `ms`; the default is an unref'd setTimeout (never keeps a process alive). */
  schedule?: (fn: () => void, ms: number) => void
}

interface Window { start: number; passed: number; suppressed: number; level: Level }

// Message keys are constant texts from the code, so the map stays small; the cap guards
// against a caller that puts variable text in the message.
const kMaxKeys = 1000

/**
 * Per-key line budget: `allow(key)` says whether a line may be written now; suppressed
 * lines are counted and `report(key, level, count)` is called once when their window ends.
 */
export class LogLimiter {
  readonly perWindow: number
  readonly windowMs: number
  readonly #now: () => number
  readonly #schedule: (fn: () => void, ms: number) => void
  readonly #report: (key: string, level: Level, suppressed: number, windowMs: number) => void
  readonly #windows = new Map<string, Window>()

  constructor (report: (key: string, level: Level, suppressed: number, windowMs: number) => void, opts: LimitOptions = {}) {
    this.#report = report
    this.perWindow = opts.perWindow ?? 10
    this.windowMs = opts.windowMs ?? 1000
    this.#now = opts.now ?? Date.now
    this.#schedule = opts.schedule ?? ((fn, ms) => { setTimeout(fn, ms).unref() })
  }

  allow (key: string, level: Level): boolean {
    const now = this.#now()
    let w = this.#windows.get(key)
    if (w === undefined) {
      if (this.#windows.size >= kMaxKeys) this.#reset()
      w = { start: now, passed: 0, suppressed: 0, level }
      this.#windows.set(key, w)
    } else if (now - w.start >= this.windowMs) {
      this.#flush(key, w)
      w.start = now
      w.passed = 0
    }
    if (w.passed < this.perWindow) {
      w.passed++
      return true
    }
    if (w.suppressed++ === 0) {
      w.level = level
      const start = w.start
      this.#schedule(() => { if (w.start === start) this.#flush(key, w) }, w.start + this.windowMs - now)
    }
    return false
  }

  #flush (key: string, w: Window): void {
    if (w.suppressed === 0) return
    const count = w.suppressed
    w.suppressed = 0
    this.#report(key, w.level, count, this.windowMs)
  }

  /** Too many keys (variable text in messages): report what is pending and start over. */
  #reset (): void {
    for (const [key, w] of this.#windows) this.#flush(key, w)
    this.#windows.clear()
  }
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

/** A logger for one process; `limit` tunes the WARN/ERROR rate limit (see above). */
export function createLogger (name: string, limit: LimitOptions = {}): Logger {
  const limiter = new LogLimiter((msg, level, suppressed, windowMs) => {
    write(name, level, `${msg} (suppressed ${suppressed} similar lines in ${windowMs} ms)`, { suppressed })
  }, limit)
  return {
    debug: (msg, fields) => { if (kDebug) write(name, 'debug', msg, fields) },
    info: (msg, fields) => write(name, 'info', msg, fields),
    warn: (msg, fields) => { if (limiter.allow(msg, 'warn')) write(name, 'warn', msg, fields) },
    error: (msg, fields) => { if (limiter.allow(msg, 'error')) write(name, 'error', msg, fields) }
  }
}
