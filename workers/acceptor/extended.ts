/**
 * Mongrel2's extended replies (`UUID LEN:X id id, BODY`, MONGREL2.md §3.2): BODY is one
 * tnetstring list `[key, args]`, key a string. Only `ctl` is built in, with a dict of args:
 *
 *   ["ctl", {"keep-alive": …}]  refresh the connection (its timeout or its stream idle clock)
 *   ["ctl", {"cancel": …}]      close the connection at once, no disconnect notice back
 *   ["ctl", {"credits": N}]     upload credits: Switchboard has no streamed uploads, a no-op
 *
 * and, for open WebSockets, GRIP's channels (uWS.js topics, channels.ts):
 *
 *   ["subscribe", {"channel": "room"}]     the socket gets what is published to `room`
 *   ["unsubscribe", {"channel": "room"}]
 *
 * Any other key went to a Mongrel2 plugin; with none registered, as here, Mongrel2 closes
 * the connection, and so does a malformed body. `cancel` wins over `keep-alive`.
 */
import { decode, type TnetValue } from '../../shared/protocol/tnetstring.js'

export const kPing = 1
export const kCancel = 2
/** Credits, or a ctl dict with no key Mongrel2 acts on: nothing to do. */
export const kCredits = 3
export type Control = typeof kPing | typeof kCancel | typeof kCredits

/** `subscribe`/`unsubscribe` of a channel. */
export interface ChannelControl { subscribe: boolean, channel: string }
const kMaxChannelBytes = 255

/** The control an `X` body asks for, or why it is refused (the connections get closed). */
export function parseExtended (body: Buffer): Control | ChannelControl | string {
  let value: TnetValue
  try {
    const parsed = decode(body)
    if (parsed.end !== body.length) return 'extra bytes after the tnetstring'
    value = parsed.value
  } catch (err) {
    return (err as Error).message
  }
  if (!Array.isArray(value) || value.length !== 2) return 'body is not a tnetstring list of 2 elements'
  const [key, args] = value
  if (typeof key !== 'string') return 'key is not a string'
  if (key === 'subscribe' || key === 'unsubscribe') return channelControl(key === 'subscribe', args!)
  if (key !== 'ctl') return `unknown key ${JSON.stringify(key.slice(0, 40))}`
  if (args === null || typeof args !== 'object' || Array.isArray(args) || Buffer.isBuffer(args)) return 'ctl args are not a dict'
  if (Object.hasOwn(args, 'cancel')) return kCancel
  if (Object.hasOwn(args, 'keep-alive')) return kPing
  return kCredits
}

function channelControl (subscribe: boolean, args: TnetValue): ChannelControl | string {
  if (args === null || typeof args !== 'object' || Array.isArray(args) || Buffer.isBuffer(args)) return `${subscribe ? '' : 'un'}subscribe args are not a dict`
  const channel = (args as Record<string, TnetValue>).channel
  const name = Buffer.isBuffer(channel) ? channel.toString() : channel
  if (typeof name !== 'string' || name === '' || Buffer.byteLength(name) > kMaxChannelBytes) return `${subscribe ? '' : 'un'}subscribe needs a "channel" of 1 to ${kMaxChannelBytes} bytes`
  return { subscribe, channel: name }
}
