/**
 * Broker → acceptor status line, published on `broker.status` every `statusIntervalMs`
 * and on every change:
 *
 *   SWB-STATUS <broker-boot-id> <service>=<handlers> <service>=<handlers> ...
 *
 * An acceptor answers 503 at once for a service with 0 connected handlers, and for
 * every service when no status has arrived within its staleness window (broker gone).
 */
const kPrefix = 'SWB-STATUS '

export interface Status { boot: string; handlers: Map<string, number> }

export function encodeStatus (boot: string, handlers: ReadonlyMap<string, number>): Buffer {
  let line = kPrefix + boot
  for (const [service, count] of handlers) line += ` ${service}=${count}`
  return Buffer.from(line, 'latin1')
}

/** Returns null for anything that is not a status line (the acceptor logs and ignores it). */
export function decodeStatus (msg: Buffer): Status | null {
  const text = msg.toString('latin1')
  if (!text.startsWith(kPrefix)) return null
  const parts = text.slice(kPrefix.length).split(' ')
  const boot = parts[0]
  if (!boot) return null
  const handlers = new Map<string, number>()
  for (let i = 1; i < parts.length; i++) {
    const part = parts[i]!
    const eq = part.lastIndexOf('=')
    const count = Number(part.slice(eq + 1))
    if (eq <= 0 || !Number.isInteger(count) || count < 0) return null
    handlers.set(part.slice(0, eq), count)
  }
  return { boot, handlers }
}
