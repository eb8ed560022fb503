/**
 * GRIP holds (Pushpin's, pushpin.org/docs): the exchange machine's Holding actions.
 *
 *   response hold: nothing is written; a published `http-response` is written and ends the
 *     exchange; Grip-Timeout (default 55 s, not the route's timeout) sends the held
 *     response (head without Grip headers + body) as the handler gave it.
 *   stream hold: the head went out chunked with the handler's first bytes (holdHead,
 *     grip-headers.ts); published `http-stream` content is appended, `close` ends it;
 *     Grip-Keep-Alive bytes go out after its idle timeout (channels.ts ticks them); the
 *     handler may write on (REPLY in Holding).
 *   Ending a hold by publish or timeout sends no disconnect notice (the handler ended it
 *   through GRIP); the client leaving does (abort).
 *
 * prev-id (Pushpin's reliability rules): a channel held with `prev-id=X` takes only an item
 * whose prev-id is X, then expects that item's id. An item published just before the hold
 * (the race) is delivered from the channel's recent items (channels.ts). A gap (the channel
 * moved past X, or an item names another prev-id) is counted and recovered: Pushpin
 * retries the request to the origin; the acceptor keeps no request once sent (memory per
 * hold), so the nearest sound thing is done instead: a response hold gets its held
 * response at once and a stream hold ends, and the client's next request reaches the
 * handler, which answers from where the client is.
 */
import type { PublishItem, HttpResponseFormat } from '../../shared/protocol/publish.js'
import { STATUS_CODES } from 'node:http'
import type { Acceptor } from './acceptor.js'
import { overflowError, statusLine, type Exchange } from './exchange.js'
import { Ev, type GripActions } from './exchange-fsm.js'
import { current } from './channels.js'
import { internHeld, kHoldResponse, unpackHeaders } from './grip-headers.js'
import type { ResponseHead } from './response-parser.js'

/** Headers of a published response that uWS writes itself (Date, framing) or that must not pass. */
const kSkip = new Set(['content-length', 'transfer-encoding', 'connection', 'keep-alive', 'date'])

export function createGripActions (acceptor: Acceptor): GripActions<Exchange> {
  const { timeouts, channels, stats } = acceptor

  /** The exchange leaves its channels; its writes then go the ordinary way. */
  const unhold = (ex: Exchange): void => {
    const grip = ex.grip
    if (grip === null) return
    channels.leave(ex, grip)
    ex.grip = null
  }

  /** Sends the held response as the handler gave it (Exchange's own write path). */
  const sendHeld = (ex: Exchange): void => {
    const held = ex.grip!.held!
    const head: ResponseHead = {
      status: held.status,
      reason: held.reason,
      headers: unpackHeaders(held.headers),
      framing: held.framing,
      contentLength: held.contentLength,
      connectionClose: held.connectionClose
    }
    unhold(ex)
    ex.onHead(head)
    if (held.body !== '') ex.onBody(Buffer.from(held.body, 'latin1'))
    ex.onEnd()
  }

  /** A gap: counted, then recovered (see the module comment). */
  const recover = (ex: Exchange): number => {
    stats.gaps++
    if (ex.grip!.mode === kHoldResponse) {
      sendHeld(ex)
    } else {
      unhold(ex)
      ex.onEnd()
    }
    return Ev.RESP_SENT
  }

  // One item goes to every hold on its channel: its head is made once, not per hold.
  let lastFormat: HttpResponseFormat | null = null
  let lastHeaders: Array<[string, string]> = []
  let lastStatus: string | null = null

  const writeResponse = (ex: Exchange, r: HttpResponseFormat): void => {
    unhold(ex)
    if (r !== lastFormat) {
      lastHeaders = []
      for (const h of r.headers) {
        const lower = h[0].toLowerCase()
        if (!kSkip.has(lower) && !lower.startsWith('grip-')) lastHeaders.push(h)
      }
      lastStatus = statusLine(r.code, r.reason === '' ? STATUS_CODES[r.code] ?? '' : r.reason)
      lastFormat = r
    }
    ex.endPublished(lastStatus, lastHeaders, r.body, ex.isHead || r.code === 204 || r.code === 304)
  }

  /** One item for one held exchange, at `now`. Returns 0, RESP_SENT or FAILED. */
  const deliverItem = (ex: Exchange, item: PublishItem, now: number): number => {
    const grip = ex.grip
    if (grip === null || ex.res === null) return 0
    const prevIds = grip.prevIds
    if (prevIds !== null) {
      const i = grip.channels.indexOf(item.channel)
      const want = i < 0 ? null : prevIds[i]!
      if (want !== null) {
        if (item.prevId !== want) return recover(ex)
        prevIds[i] = item.id
      }
    }
    if (grip.mode === kHoldResponse) {
      if (item.httpResponse === null) return 0
      writeResponse(ex, item.httpResponse)
      return Ev.RESP_SENT
    }
    const stream = item.httpStream
    if (stream === null) return 0
    if (stream.close) {
      unhold(ex)
      ex.onEnd()
      return Ev.RESP_SENT
    }
    if (stream.content.length > 0) {
      ex.onBody(stream.content)
      ex.lastWrite = now
    }
    if (ex.overflow) {
      ex.failure = overflowError(acceptor.maxQueuedBytes)
      return Ev.FAILED
    }
    return 0
  }

  return {
    hold (ex) {
      const grip = ex.grip!
      if (grip.mode === kHoldResponse) {
        // The held response lives in grip.held, shared with holds given the same one.
        grip.held = internHeld(grip.held!)
        ex.head = null
        timeouts.arm(ex, grip.timeoutS * 1000)
      } else {
        // The stream idle cut is for forgotten streams; a hold lasts until published to close.
        acceptor.streams.untrack(ex)
        ex.lastWrite = Date.now()
        if (grip.keepAlive !== null) channels.trackKeepAlive(ex)
      }
      const missed = channels.join(ex, grip)
      if (missed === null) return recover(ex)
      const now = Date.now()
      for (let i = 0; i < missed.length; i++) {
        const ev = deliverItem(ex, missed[i]!, now)
        if (ev !== 0) return ev
      }
      return 0
    },

    deliver (ex) {
      return deliverItem(ex, current.item!, current.now)
    },

    holdTimeout (ex) {
      if (ex.grip !== null && ex.grip.mode === kHoldResponse) sendHeld(ex)
      else {
        unhold(ex)
        ex.onEnd()
      }
      acceptor.release(ex)
      return 0
    }
  }
}
