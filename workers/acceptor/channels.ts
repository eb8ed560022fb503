/**
 * Channels: which held exchanges and WebSockets of this acceptor listen on each channel,
 * and the published items the broker fans out to every acceptor (`broker.publishOut`, one
 * `encodeItem()` frame per item, shared/protocol/publish.ts).
 *
 *   broker PUB ─▶ SUB ─▶ decodeItem ─▶ publish(item) ─▶ per channel, in order:
 *       WebSockets: one uWS.js app.publish(channel) (native fan-out); `close` ends each socket
 *       stream holds: owner.deliver(ex)          (PUBLISH through the exchange machine, grip.ts)
 *       response holds: owner.deliver(ex); an `http-response` ends every one of them, so the
 *         channel hands over its whole set rather than each hold deleting itself from it
 *
 * Ordering, as Pushpin documents for `id`/`prev-id` (pushpin.org/docs/advanced, "Sequence IDs"):
 * an item whose prev-id is not the channel's last id waits (≤ kSeqWaitMs) for the item it
 * names, then both go out in order; the first item of a channel goes out at once; one that
 * waited in vain goes out anyway and counts as a gap. The last kRecentItems items of each
 * channel are kept kRecentMs so a hold naming a prev-id that was published just before the
 * hold arrived (the handler's answer raced the publish) still gets what followed it.
 * Per subscriber prev-id checks (and recovery) are grip.ts's.
 */
import * as zmq from 'zeromq'
import type { Logger } from '../../shared/log.js'
import { decodeItem, type PublishItem } from '../../shared/protocol/publish.js'
import { isClosed } from '../../shared/zmq-io.js'
import type { Exchange } from './exchange.js'
import { GripHold, kHoldResponse, kHoldSocket, kHoldStream, type GripHold as Hold } from './grip-headers.js'

/** How long and how many recent items a channel keeps for holds that raced their publish. */
export const kRecentMs = 10_000
export const kRecentItems = 8
/** How long an out-of-order item waits for its prev-id (Pushpin: "around 5-10 seconds"). */
export const kSeqWaitMs = 5000
const kMaxPending = 32
/** Past this many channels, one without subscribers here keeps no history (order, recent items). */
const kMaxIdleChannels = 10_000
const kTickMs = 250
/** A WebSocket joins at most this many channels. */
const kMaxSocketChannels = 64

export interface ChannelStats {
  /** Items received from the broker (decoded). */
  published: number
  /** Frames that did not decode as items: dropped. */
  badItems: number
  /** Items delivered out of order after waiting for their prev-id, plus holds recovered for a gap (grip.ts). */
  gaps: number
}

export interface ChannelsOwner {
  readonly log: Logger
  readonly stats: ChannelStats
  /** Hands `current.item` to a held exchange (corked, through the machine). */
  deliver (ex: Exchange): void
  /** uWS.js app.publish to a topic. */
  publishWs (topic: string, content: Buffer, binary: boolean): void
  /** Closes an open WebSocket with `code` (0: without one). */
  closeWs (ex: Exchange, code: number): void
  /** Keep-alive bytes for an idle stream hold. */
  keepAlive (ex: Exchange): void
}

/** The item being delivered and when it came (read by the PUBLISH action): no closure, nor clock read, per delivery. */
export const current: { item: PublishItem | null, now: number } = { item: null, now: 0 }

/** One channel. Sets and lists are made on first use: a channel per user is common (memory per hold). */
class Channel {
  /** The name, shared by every hold on it (join interns it). */
  readonly name: string
  /** The channel list of a hold on this channel alone, shared by all of them. */
  solo: readonly string[] | null = null
  /** Response holds (long-polls) and stream holds apart: an `http-response` item ends all of the first. */
  responses: Set<Exchange> | null = null
  streams: Set<Exchange> | null = null
  ws: Set<Exchange> | null = null
  /** The id of the last item delivered (null: unknown or it had none). */
  lastId: string | null = null
  recent: PublishItem[] | null = null
  recentAt: number[] | null = null
  /** Items waiting for their prev-id, with when they came. */
  pending: PublishItem[] | null = null
  pendingAt: number[] | null = null
  touched = 0

  constructor (name: string) {
    this.name = name
  }

  /** The shared, frozen channel list of a hold on this channel alone. */
  soloList (): readonly string[] {
    return (this.solo ??= Object.freeze([this.name]))
  }
}

const kNone: PublishItem[] = []

export class Channels {
  readonly #owner: ChannelsOwner
  readonly #map = new Map<string, Channel>()
  /** Stream holds with Grip-Keep-Alive. */
  readonly #keepAlives = new Set<Exchange>()
  #timer: NodeJS.Timeout | null = null
  #sub: zmq.Subscriber | null = null

  constructor (owner: ChannelsOwner) {
    this.#owner = owner
  }

  get size (): number { return this.#map.size }

  /** Connects to the broker's publish endpoint (SUB, everything) and reads items until stop(). */
  start (endpoint: string, hwm: number): void {
    const sub = new zmq.Subscriber({ linger: 0, receiveHighWaterMark: hwm })
    sub.connect(endpoint)
    sub.subscribe()
    this.#sub = sub
    this.#timer = setInterval(() => { this.tick(Date.now()) }, kTickMs)
    this.#timer.unref()
    this.#read(sub).catch((err: unknown) => {
      if (!isClosed(err)) this.#owner.log.error('publish loop failed', { err })
    })
  }

  async #read (sub: zmq.Subscriber): Promise<void> {
    try {
      while (!sub.closed) {
        const frames = await sub.receive()
        for (let i = 0; i < frames.length; i++) this.receive(frames[i]!)
      }
    } catch (err) {
      if (!sub.closed) throw err
    }
  }

  /** One frame from the broker: decoded and delivered; a bad one is counted and logged, never thrown. */
  receive (frame: Buffer): void {
    let item: PublishItem
    try {
      item = decodeItem(frame)
    } catch (err) {
      this.#owner.stats.badItems++
      this.#owner.log.warn('dropped a published item', { code: (err as { code?: string }).code, reason: (err as Error).message, bytes: frame.length })
      return
    }
    try {
      this.publish(item, Date.now())
    } catch (err) {
      this.#owner.log.error('delivering a published item failed', { channel: item.channel, err, stack: (err as Error).stack })
    }
  }

  stop (): void {
    if (this.#timer !== null) clearInterval(this.#timer)
    this.#timer = null
    this.#sub?.close()
    this.#sub = null
  }

  publish (item: PublishItem, now: number): void {
    this.#owner.stats.published++
    let ch = this.#map.get(item.channel)
    if (ch === undefined) {
      // Nobody listens here: keep the channel only for its order and recent items, bounded.
      if (this.#map.size >= kMaxIdleChannels) return
      ch = new Channel(item.channel)
      this.#map.set(item.channel, ch)
    }
    ch.touched = now
    if (item.prevId !== null && ch.lastId !== null && item.prevId !== ch.lastId) {
      // Out of order: wait for the item it follows (Pushpin's sequence buffer).
      ch.pending ??= []
      ch.pendingAt ??= []
      ch.pending.push(item)
      ch.pendingAt.push(now)
      if (ch.pending.length > kMaxPending) this.#flushPending(item.channel, ch, now, true)
      return
    }
    this.#emit(item.channel, ch, item, now)
    if (ch.pending !== null) this.#flushPending(item.channel, ch, now, false)
  }

  /** Sends pending items that now follow the last id; with `force`, the oldest regardless (a gap). */
  #flushPending (name: string, ch: Channel, now: number, force: boolean): void {
    let pending = ch.pending!
    let at = ch.pendingAt!
    for (;;) {
      let i = pending.findIndex((p) => p.prevId === ch.lastId)
      if (i < 0) {
        if (!force || pending.length === 0) break
        i = 0
        force = false
        this.#owner.stats.gaps++
      }
      const item = pending[i]!
      pending.splice(i, 1)
      at.splice(i, 1)
      this.#emit(name, ch, item, now)
      pending = ch.pending!
      at = ch.pendingAt!
    }
    if (pending.length === 0) {
      ch.pending = null
      ch.pendingAt = null
    }
  }

  #emit (name: string, ch: Channel, item: PublishItem, now: number): void {
    ch.lastId = item.id
    const recent = (ch.recent ??= [])
    const recentAt = (ch.recentAt ??= [])
    if (recent.length >= kRecentItems) {
      recent.shift()
      recentAt.shift()
    }
    recent.push(item)
    recentAt.push(now)
    const ws = item.wsMessage
    if (ws !== null && ch.ws !== null && ch.ws.size > 0) {
      if (ws.close) {
        for (const ex of [...ch.ws]) this.#owner.closeWs(ex, ws.code)
      } else {
        this.#owner.publishWs(name, ws.content, ws.binary)
      }
    }
    const streams = item.httpStream !== null && ch.streams !== null && ch.streams.size > 0 ? ch.streams : null
    // Every response hold here ends with this item (written, or its held response sent for a
    // gap): the set is handed over whole, and each hold's leave() finds nothing to delete.
    const responses = item.httpResponse !== null && ch.responses !== null && ch.responses.size > 0 ? ch.responses : null
    if (responses !== null) ch.responses = null
    if (streams === null && responses === null) return
    current.item = item
    current.now = now
    try {
      if (streams !== null) for (const ex of streams) this.#owner.deliver(ex)
      if (responses !== null) for (const ex of responses) this.#owner.deliver(ex)
    } finally {
      current.item = null
      if (responses !== null) this.#forgetIfIdle(name, ch)
    }
  }

  /**
   * A hold starts: its exchange joins its channels. Returns the items it missed (a prev-id
   * that was published just before: the race), in order, or null for a gap: a channel
   * whose last id is known, differs, and whose recent items do not follow the prev-id.
   */
  join (ex: Exchange, grip: Hold): PublishItem[] | null {
    let missed = kNone
    let gap = false
    const names = grip.channels
    // The hold keeps the channels' own name strings (and, on one channel, its shared list).
    const interned = names.length === 1 ? null : names.slice()
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      let ch = this.#map.get(name)
      if (ch === undefined) {
        ch = new Channel(name)
        this.#map.set(name, ch)
      }
      if (interned === null) grip.channels = ch.soloList()
      else interned[i] = ch.name
      if (grip.mode === kHoldResponse) (ch.responses ??= new Set()).add(ex)
      else (ch.streams ??= new Set()).add(ex)
      const want = grip.prevIds?.[i] ?? null
      if (want === null || ch.lastId === null || ch.lastId === want) continue
      const recent = ch.recent ?? kNone
      const k = recent.findIndex((item) => item.prevId === want)
      if (k < 0) { gap = true; continue }
      missed = missed === kNone ? recent.slice(k) : missed.concat(recent.slice(k))
    }
    if (interned !== null) grip.channels = interned
    return gap ? null : missed
  }

  /** The exchange's hold ended (or its socket closed): it leaves all its channels. */
  leave (ex: Exchange, grip: Hold): void {
    const mode = grip.mode
    const names = grip.channels
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!
      const ch = this.#map.get(name)
      if (ch === undefined) continue
      const set = mode === kHoldResponse ? ch.responses : mode === kHoldStream ? ch.streams : ch.ws
      // Not in it: an item is ending every response hold of the channel (#emit).
      if (set === null || !set.delete(ex)) continue
      this.#forgetIfIdle(name, ch)
    }
    if (mode === kHoldStream) this.#keepAlives.delete(ex)
  }

  /** `X` subscribe / unsubscribe of an open WebSocket (uWS.js topics do the fan-out). Returns false at the channel limit. */
  socket (ex: Exchange, name: string, on: boolean): boolean {
    const ws = ex.wsx!.ws!
    let grip = ex.grip
    if (on) {
      grip ??= ex.grip = new GripHold(kHoldSocket, [])
      if (grip.channels.includes(name)) return true
      if (grip.channels.length >= kMaxSocketChannels) return false
      ws.subscribe(name)
      let ch = this.#map.get(name)
      if (ch === undefined) {
        ch = new Channel(name)
        this.#map.set(name, ch)
      }
      // Copied on change (lists are shared, see GripHold.channels); exact size, unlike push().
      grip.channels = grip.channels.length === 0 ? ch.soloList() : [...grip.channels, ch.name]
      ;(ch.ws ??= new Set()).add(ex)
      return true
    }
    const i = grip?.channels.indexOf(name) ?? -1
    if (i < 0) return true
    grip!.channels = grip!.channels.filter((_, k) => k !== i)
    ws.unsubscribe(name)
    const ch = this.#map.get(name)
    if (ch !== undefined) {
      ch.ws?.delete(ex)
      this.#forgetIfIdle(name, ch)
    }
    return true
  }

  /** A stream hold with Grip-Keep-Alive: its bytes go out after keepAliveMs without a write. */
  trackKeepAlive (ex: Exchange): void {
    this.#keepAlives.add(ex)
  }

  #forgetIfIdle (name: string, ch: Channel): void {
    if ((ch.responses?.size ?? 0) === 0 && (ch.streams?.size ?? 0) === 0 && (ch.ws?.size ?? 0) === 0 && ch.recent === null && ch.pending === null) this.#map.delete(name)
  }

  /** Subscribers of a channel (tests, stats). */
  count (name: string): number {
    const ch = this.#map.get(name)
    return ch === undefined ? 0 : (ch.responses?.size ?? 0) + (ch.streams?.size ?? 0) + (ch.ws?.size ?? 0)
  }

  tick (now: number): void {
    for (const [name, ch] of this.#map) {
      const at = ch.recentAt
      if (at !== null) {
        let old = 0
        while (old < at.length && now - at[old]! >= kRecentMs) old++
        if (old === at.length) {
          ch.recent = null
          ch.recentAt = null
        } else if (old > 0) {
          ch.recent!.splice(0, old)
          at.splice(0, old)
        }
      }
      if (ch.pending !== null && now - ch.pendingAt![0]! >= kSeqWaitMs) this.#flushPending(name, ch, now, true)
      // An idle channel keeps its last id as long as its recent items: then it is forgotten.
      if (ch.recent === null) this.#forgetIfIdle(name, ch)
    }
    for (const ex of this.#keepAlives) {
      const grip = ex.grip
      if (ex.res === null || grip === null) {
        this.#keepAlives.delete(ex)
      } else if (now - ex.lastWrite >= grip.keepAliveMs) {
        ex.lastWrite = now
        this.#owner.keepAlive(ex)
      }
    }
  }
}
