/**
 * Published items, broker → acceptors (`broker.publishOut`, PUB → SUB, one ZeroMQ message per
 * item, one item frame: below). The broker takes Pushpin's item format on its HTTP and ZeroMQ
 * publish inputs, checks it, and sends this normalised form; each acceptor decodes an item
 * once and fans it out to its local subscribers of `channel`.
 *
 * Field meanings are Pushpin's (`channel`, `id`, `prev-id`, formats `http-response`,
 * `http-stream`, `ws-message`); bodies and contents are bytes here, whatever the input used
 * (`body`/`body-bin`, `content`/`content-bin`).
 */
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

/*
 * The item frame: fixed layout, lengths first. It is made once per publish by the broker and
 * read once by each acceptor, both rarely enough to run as cold code: msgpackr's general
 * pack/unpack took 0.1-1.5 ms per item there (interpreted, compiled on the way), about as
 * long as the ZeroMQ hop itself; this takes a few microseconds.
 *
 *   u8 kFrameVersion   u8 flags (kF…)   str channel   [str id]   [str prev-id]
 *   http-response: u16 code, str reason, u16 header count, (str name, str value)…, bin body
 *   http-stream:   bin content
 *   ws-message:    u16 code, bin content
 *   str: u32 byte length + UTF-8; bin: u32 byte length + bytes. Integers big-endian.
 */
const kFrameVersion = 1
const kFResponse = 0x01
const kFStream = 0x02
const kFWs = 0x04
const kFId = 0x08
const kFPrevId = 0x10
const kFStreamClose = 0x20
const kFWsClose = 0x40
const kFWsBinary = 0x80

export function encodeItem (item: PublishItem): Buffer {
  const { channel, id, prevId, httpResponse: r, httpStream: st, wsMessage: ws } = item
  let size = 2 + 4 + Buffer.byteLength(channel)
  let flags = 0
  if (id !== null) { flags |= kFId; size += 4 + Buffer.byteLength(id) }
  if (prevId !== null) { flags |= kFPrevId; size += 4 + Buffer.byteLength(prevId) }
  if (r !== null) {
    flags |= kFResponse
    size += 2 + 4 + Buffer.byteLength(r.reason) + 2 + 4 + r.body.length
    for (const [name, value] of r.headers) size += 8 + Buffer.byteLength(name) + Buffer.byteLength(value)
  }
  if (st !== null) { flags |= kFStream | (st.close ? kFStreamClose : 0); size += 4 + st.content.length }
  if (ws !== null) { flags |= kFWs | (ws.close ? kFWsClose : 0) | (ws.binary ? kFWsBinary : 0); size += 2 + 4 + ws.content.length }
  const out = Buffer.allocUnsafe(size)
  out[0] = kFrameVersion
  out[1] = flags
  let at = writeStr(out, 2, channel)
  if (id !== null) at = writeStr(out, at, id)
  if (prevId !== null) at = writeStr(out, at, prevId)
  if (r !== null) {
    at = out.writeUInt16BE(r.code, at)
    at = writeStr(out, at, r.reason)
    at = out.writeUInt16BE(r.headers.length, at)
    for (const [name, value] of r.headers) at = writeStr(out, writeStr(out, at, name), value)
    at = writeBin(out, at, r.body)
  }
  if (st !== null) at = writeBin(out, at, st.content)
  if (ws !== null) writeBin(out, out.writeUInt16BE(ws.code, at), ws.content)
  return out
}

function writeStr (out: Buffer, at: number, s: string): number {
  const n = out.write(s, at + 4, 'utf8')
  out.writeUInt32BE(n, at)
  return at + 4 + n
}

function writeBin (out: Buffer, at: number, b: Buffer): number {
  out.writeUInt32BE(b.length, at)
  out.set(b, at + 4)
  return at + 4 + b.length
}

/** Reads an item frame, bounds checked. */
class FrameReader {
  at = 2
  constructor (readonly buf: Buffer) {}

  need (n: number, what: string): void {
    if (this.at + n > this.buf.length) throw bad(`truncated at ${what}`)
  }

  u16 (what: string): number {
    this.need(2, what)
    const v = this.buf.readUInt16BE(this.at)
    this.at += 2
    return v
  }

  bin (what: string): Buffer {
    this.need(4, what)
    const n = this.buf.readUInt32BE(this.at)
    this.need(4 + n, what)
    // A view: the frame is the item's own message buffer.
    const b = this.buf.subarray(this.at + 4, this.at + 4 + n)
    this.at += 4 + n
    return b
  }

  str (what: string): string {
    return this.bin(what).toString('utf8')
  }
}

function bad (reason: string): ProtocolError {
  return new ProtocolError('SWB_ERR_PUBLISH_ITEM', `undecodable item: ${reason}`)
}

/** Decodes what encodeItem made; throws ProtocolError SWB_ERR_PUBLISH_ITEM for anything else. */
export function decodeItem (msg: Buffer): PublishItem {
  if (msg.length < 2 || msg[0] !== kFrameVersion) throw bad(msg.length < 2 ? 'too short' : `unknown frame version ${msg[0]}`)
  const flags = msg[1]!
  const rd = new FrameReader(msg)
  const channel = rd.str('channel')
  if (channel === '') throw new ProtocolError('SWB_ERR_PUBLISH_ITEM', 'item without a channel')
  const id = (flags & kFId) !== 0 ? rd.str('id') : null
  const prevId = (flags & kFPrevId) !== 0 ? rd.str('prev-id') : null
  let httpResponse: HttpResponseFormat | null = null
  if ((flags & kFResponse) !== 0) {
    const code = rd.u16('http-response code')
    const reason = rd.str('http-response reason')
    const count = rd.u16('http-response headers')
    const headers: Array<[string, string]> = []
    for (let i = 0; i < count; i++) headers.push([rd.str('header name'), rd.str('header value')])
    httpResponse = { code, reason, headers, body: rd.bin('http-response body') }
  }
  const httpStream = (flags & kFStream) !== 0 ? { content: rd.bin('http-stream content'), close: (flags & kFStreamClose) !== 0 } : null
  let wsMessage: WsMessageFormat | null = null
  if ((flags & kFWs) !== 0) {
    const code = rd.u16('ws-message code')
    wsMessage = { content: rd.bin('ws-message content'), binary: (flags & kFWsBinary) !== 0, close: (flags & kFWsClose) !== 0, code }
  }
  if (rd.at !== msg.length) throw bad(`${msg.length - rd.at} bytes after the item`)
  return { channel, id, prevId, httpResponse, httpStream, wsMessage }
}
