/**
 * `ctx.hold(channels, opts)`: a reply carrying Pushpin's GRIP instructions, which the
 * acceptor turns into a hold (workers/acceptor/grip.ts): the client waits until something
 * is published to one of the channels (or, for a response hold, until `timeoutS` passes:
 * it then gets `response`).
 *
 *   ctx.hold('news')                                        // long-poll, 55 s, then 200 with an empty body
 *   ctx.hold([{ channel: 'news', prevId: last }], { timeoutS: 20, response: { status: 304 } })
 *   ctx.hold('ticks', { mode: 'stream', response: { headers: { 'Content-Type': 'text/event-stream' }, body: ':ok\n\n' },
 *                       keepAlive: { data: ':\n\n', timeoutS: 20 } })
 */
import type { Response } from './api.js'

export type HoldChannels = string | ReadonlyArray<string | { channel: string, prevId?: string | null }>

export interface HoldOptions {
  /** 'response' (default): a long-poll, answered by one published http-response; 'stream': an open stream. */
  mode?: 'response' | 'stream'
  /** Response holds: seconds until `response` is sent (Grip-Timeout; default 55). */
  timeoutS?: number
  /** Stream holds: bytes sent after `timeoutS` seconds without any (Grip-Keep-Alive). */
  keepAlive?: { data: string | Uint8Array, timeoutS: number }
  /** Response holds: what the client gets on timeout; stream holds: the head and first bytes. Default: 200, empty. */
  response?: Response | string
}

const kBadName = /[,;\s]/
const kPlain = /^[\x21-\x3a\x3c-\x7e](?:[\x20-\x3a\x3c-\x7e]*[\x21-\x3a\x3c-\x7e])?$/

function seconds (value: number, what: string): string {
  if (!Number.isInteger(value) || value < 1 || value > 86_400) throw new TypeError(`${what} must be whole seconds from 1 to 86400, got ${String(value)}`)
  return String(value)
}

/** The Response `ctx.hold` replies with: `response` plus the Grip headers. */
export function holdResponse (channels: HoldChannels, opts: HoldOptions = {}): Response {
  const list = typeof channels === 'string' ? [channels] : channels
  if (list.length === 0) throw new TypeError('ctx.hold needs at least one channel')
  const parts: string[] = []
  for (const c of list) {
    const name = typeof c === 'string' ? c : c.channel
    const prevId = typeof c === 'string' ? null : c.prevId ?? null
    if (typeof name !== 'string' || name === '' || kBadName.test(name)) throw new TypeError(`ctx.hold: bad channel name ${JSON.stringify(name)} (no spaces, commas or semicolons)`)
    if (prevId !== null && (prevId === '' || kBadName.test(prevId))) throw new TypeError(`ctx.hold: bad prevId ${JSON.stringify(prevId)} (no spaces, commas or semicolons)`)
    parts.push(prevId === null ? name : `${name}; prev-id=${prevId}`)
  }
  const mode = opts.mode ?? 'response'
  if (mode !== 'response' && mode !== 'stream') throw new TypeError(`ctx.hold: mode must be 'response' or 'stream', got ${String(mode)}`)
  const base: Response = typeof opts.response === 'string' ? { body: opts.response } : opts.response ?? {}
  const headers: Record<string, string | string[]> = { ...base.headers }
  headers['Grip-Hold'] = mode
  headers['Grip-Channel'] = parts.join(', ')
  if (opts.timeoutS !== undefined) headers['Grip-Timeout'] = seconds(opts.timeoutS, 'ctx.hold timeoutS')
  if (opts.keepAlive !== undefined) {
    const { data, timeoutS } = opts.keepAlive
    const text = typeof data === 'string' ? data : null
    // Printable text without ';' goes as is; anything else in base64 (the header grammar's safe form).
    const value = text !== null && kPlain.test(text) ? text : Buffer.from(data).toString('base64') + '; format=base64'
    headers['Grip-Keep-Alive'] = `${value}; timeout=${seconds(timeoutS, 'ctx.hold keepAlive.timeoutS')}`
  }
  return { ...base, headers }
}
