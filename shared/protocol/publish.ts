/**
 * Published items, broker → acceptors (`broker.publishOut`, PUB → SUB, one ZeroMQ message per
 * item, one msgpack frame). The broker takes Pushpin's item format on its HTTP and ZeroMQ
 * publish inputs, checks it, and sends this normalised form; each acceptor decodes an item
 * once and fans it out to its local subscribers of `channel`.
 *
 * Field meanings are Pushpin's (`channel`, `id`, `prev-id`, formats `http-response`,
 * `http-stream`, `ws-message`); bodies and contents are bytes here, whatever the input used
 * (`body`/`body-bin`, `content`/`content-bin`).
 */
import { Packr } from 'msgpackr'
import { ProtocolError } from '../errors.js'

export interface HttpResponseFormat {
  /** Status code; Pushpin's default 200. */
  code: number
  /** Reason phrase; '' = the standard one for `code`. */
  reason: string
  headers: Array<[string, string]>
  body: Buffer
}

/** `http-stream`: bytes appended to held streams, or `close` to end them. */
export interface HttpStreamFormat {
  content: Buffer
  close: boolean
}

/** `ws-message`: one message to subscribed WebSockets, or `close` (with an optional code). */
export interface WsMessageFormat {
  content: Buffer
  /** `content-bin` was given, or `type: 'binary'`: a binary frame; else text. */
  binary: boolean
  close: boolean
  /** Close code when `close`; 0 = none. */
  code: number
}

export interface PublishItem {
  channel: string
  /** Pushpin's `id`; null when absent. */
  id: string | null
  /** Pushpin's `prev-id`; null when absent. */
  prevId: string | null
  httpResponse: HttpResponseFormat | null
  httpStream: HttpStreamFormat | null
  wsMessage: WsMessageFormat | null
}

// Records off: a plain map per item, readable by any msgpack decoder.
const packr = new Packr({ useRecords: false, mapsAsObjects: true })

export function encodeItem (item: PublishItem): Buffer {
  // pack() returns a view of msgpackr's shared buffer: copy before the next pack().
  return Buffer.from(packr.pack(item))
}

/** Decodes what encodeItem made; throws ProtocolError SWB_ERR_PUBLISH_ITEM for anything else. */
export function decodeItem (msg: Buffer): PublishItem {
  let v: unknown
  try {
    v = packr.unpack(msg)
  } catch (err) {
    throw new ProtocolError('SWB_ERR_PUBLISH_ITEM', `undecodable item: ${(err as Error).message}`)
  }
  const item = v as PublishItem
  if (item === null || typeof item !== 'object' || typeof item.channel !== 'string' || item.channel === '') {
    throw new ProtocolError('SWB_ERR_PUBLISH_ITEM', 'item without a channel')
  }
  item.id ??= null
  item.prevId ??= null
  item.httpResponse ??= null
  item.httpStream ??= null
  item.wsMessage ??= null
  return item
}
