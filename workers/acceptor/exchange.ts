/**
 * One exchange: a request awaiting its reply, or one open stream. It is the state
 * machine's context, the response parser's sink, and the owner of its uWS response's
 * callbacks. Exchanges are pooled: the callbacks are bound once per object, never per
 * request, and every callback checks that the exchange still holds the same response.
 *
 * Lifetime of `res`: valid from the request until onAborted fires or end()/tryEnd()
 * completes (uWS docs); after that it is set to null and never touched again.
 */
import { ResponseError } from '../../shared/errors.js'
import type { HttpResponse } from '../../shared/uws.js'
import type { Headers } from '../../shared/protocol/request.js'
import { ResponseParser, type ResponseHead, type ResponseSink } from './response-parser.js'
import type { Route } from './router.js'
import type { ServiceLink } from './broker-link.js'
import type { Sender } from './senders.js'
import { Ev, St } from './exchange-fsm.js'
import type { WsState } from './websocket.js'
import { holdHead, keepHeld, kHoldResponse, type GripHold } from './grip-headers.js'

/** What an exchange needs from the acceptor that owns it. */
export interface ExchangeOwner {
  run (ex: Exchange, ev: number): void
  readonly maxQueuedBytes: number
  readonly bodyLimit: number
}

export class Exchange implements ResponseSink {
  state: number = St.Start
  id = 0
  res: HttpResponse | null = null
  readonly owner: ExchangeOwner

  // The request, read synchronously from uWS (HttpRequest is stack-allocated).
  method = ''
  path = ''
  host = ''
  remote = ''
  headers: Headers = {}
  isHead = false
  route: Route | null = null
  link: ServiceLink | null = null
  /** Declared Content-Length, -1 when absent. */
  expected = -1
  /** Set when the request had a body to read (Content-Length > 0 or chunked). */
  hasBody = false
  body: Buffer | null = null
  bodyLength = 0
  /** A WebSocket upgrade (Mongrel2's rules met) and, once open, its socket: websocket.ts. */
  wsx: WsState | null = null
  /** BodyWatch's view of the body: its length when last seen to grow, and since when. */
  bodySeen = 0
  bodySince = 0
  /** The request was handed to the broker: its end must be told to the handler. */
  sent = false
  /** The wire sender it was sent under (replies must name it). */
  sender: Sender | null = null
  /** Why UNAVAILABLE (a `Cause` of actions.ts; 0 = maintenance filter). */
  cause = 0
  deadline = 0

  // The response.
  /** Made at the first reply and kept with the pooled object: a held exchange has none. */
  #parser: ResponseParser | null = null
  /** The parser was reset for this exchange's response. */
  parsing = false
  /** The reply message being written (set before REPLY, cleared by writeReply). */
  reply: Buffer | null = null
  head: ResponseHead | null = null
  /** Something was written to the client (then timeouts no longer answer 504). */
  written = false
  /** The response is complete on the wire (end()/tryEnd finished). */
  complete = false
  /** Body bytes that tryEnd could not take yet ('length' framing under backpressure). */
  pending: Buffer | null = null
  lastOffset = 0
  /** 'chunked'/'close' bodies are written with write(); bytes written while blocked. */
  blockedBytes = 0
  /** The write queue passed `maxQueuedBytes`: the client is cut off. */
  overflow = false
  /** Close the connection once the pending bytes are out (empty reply while blocked). */
  closeAfterDrain = false
  /** An answer that closes the connection, held in Closing until FLUSH (status line, body). */
  closingStatus = ''
  closingBody = ''
  /** Why the reply failed (logged by the fail action). */
  failure: Error | null = null
  /** onWritable is registered for this response (see #watch). */
  watching = false
  /** Tracked by StreamIdle: the head went out, the body goes on. */
  streaming = false
  /** Date.now() of the last handler message to this stream (StreamIdle). */
  lastMessage = 0
  /** Date.now() of the last write to this stream, keep-alive bytes included (StreamIdle, Grip-Keep-Alive). */
  lastWrite = 0
  /** A GRIP hold (grip.ts) or a WebSocket's channels: null for almost every exchange. */
  grip: GripHold | null = null

  // Callbacks bound once per pooled object.
  readonly onAborted: () => void
  #onDataFn: ((chunk: ArrayBuffer, isLast: boolean) => void) | null = null
  #onWritableFn: ((offset: number) => boolean) | null = null
  #corkedTimeoutFn: (() => void) | null = null
  #corkedKeepAliveFn: (() => void) | null = null
  #corkedUnavailableFn: (() => void) | null = null
  #corkedFlushFn: (() => void) | null = null
  readonly corkedReply: () => void
  writableOk = true

  constructor (owner: ExchangeOwner) {
    this.owner = owner
    this.onAborted = () => {
      if (this.res === null) return
      this.res = null
      this.owner.run(this, Ev.REMOTE_CLOSE)
    }
    this.corkedReply = () => { this.owner.run(this, Ev.REPLY) }
  }

  lastWriteOffset = 0

  // Callbacks most exchanges never need are made on first use (memory per held exchange).

  get onData (): (chunk: ArrayBuffer, isLast: boolean) => void {
    return (this.#onDataFn ??= (chunk, isLast) => { this.#onData(chunk, isLast) })
  }

  get onWritable (): (offset: number) => boolean {
    return (this.#onWritableFn ??= (offset) => {
      if (this.res === null) return true
      this.lastWriteOffset = offset
      // After the handler closed, the exchange is Done but its last bytes still drain.
      if (this.state === St.Responding) this.owner.run(this, Ev.WRITABLE)
      else this.drain()
      return this.writableOk
    })
  }

  get corkedTimeout (): () => void {
    return (this.#corkedTimeoutFn ??= () => { this.owner.run(this, Ev.TIMEOUT) })
  }

  get corkedKeepAlive (): () => void {
    return (this.#corkedKeepAliveFn ??= () => { this.keepAlive() })
  }

  get corkedUnavailable (): () => void {
    return (this.#corkedUnavailableFn ??= () => { this.owner.run(this, Ev.UNAVAILABLE) })
  }

  get corkedFlush (): () => void {
    return (this.#corkedFlushFn ??= () => { this.owner.run(this, Ev.FLUSH) })
  }

  /** The response parser, reset for this exchange on first use. */
  get parser (): ResponseParser {
    const parser = (this.#parser ??= new ResponseParser())
    if (!this.parsing) {
      this.parsing = true
      parser.reset(this, this.isHead)
    }
    return parser
  }

  /** Clears everything a previous exchange left, keeping the bound callbacks and parser. */
  clear (): void {
    this.state = St.Start
    this.id = 0
    this.res = null
    this.method = ''
    this.path = ''
    this.host = ''
    this.remote = ''
    this.headers = {}
    this.isHead = false
    this.route = null
    this.link = null
    this.wsx = null
    this.expected = -1
    this.hasBody = false
    this.body = null
    this.bodyLength = 0
    this.sent = false
    this.sender = null
    this.cause = 0
    this.deadline = 0
    this.reply = null
    this.parsing = false
    this.head = null
    this.written = false
    this.complete = false
    this.pending = null
    this.lastOffset = 0
    this.lastWriteOffset = 0
    this.blockedBytes = 0
    this.overflow = false
    this.closeAfterDrain = false
    this.closingStatus = ''
    this.closingBody = ''
    this.failure = null
    this.writableOk = true
    this.watching = false
    this.streaming = false
    this.lastMessage = 0
    this.lastWrite = 0
    this.grip = null
  }

  #onData (chunk: ArrayBuffer, isLast: boolean): void {
    if (this.res === null || this.state !== St.Receiving) return
    const size = chunk.byteLength
    const limit = this.owner.bodyLimit
    if (this.bodyLength + size > limit) {
      this.owner.run(this, Ev.TOO_LARGE)
      return
    }
    if (size > 0) {
      // uWS neuters `chunk` when this callback returns: copy now.
      if (this.body === null || this.body.length < this.bodyLength + size) {
        const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(this.expected, (this.bodyLength + size) * 2)))
        if (this.body !== null) this.body.copy(grown, 0, 0, this.bodyLength)
        this.body = grown
      }
      this.body.set(new Uint8Array(chunk), this.bodyLength)
      this.bodyLength += size
    }
    if (isLast) this.owner.run(this, Ev.REQ_RECV)
  }

  // ResponseSink: called synchronously from parser.push()/close() inside writeReply.

  onHead (head: ResponseHead): void {
    this.head = head
    const res = this.res
    if (res === null || head.status < 200) return
    // Grip headers never reach the client; a response hold writes nothing now (grip.ts).
    if (this.grip === null && holdHead(this, head)) return
    // uWS writes "200 OK" itself when no status is given: one native call less for most.
    if (head.status !== 200 || head.reason !== 'OK') res.writeStatus(statusLine(head.status, head.reason))
    const headers = head.headers
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i]!
      // uWS always writes its own Date; a second one would confuse caches.
      if (name.length === 4 && name.toLowerCase() === 'date') continue
      res.writeHeader(name, value)
    }
    // Written: a held stream need not keep the header strings (nor the head text they slice).
    head.headers = kWrittenHeaders
    this.written = true
    if (head.framing === 'chunked' || head.framing === 'close') {
      if (head.connectionClose || head.framing === 'close') {
        // uWS 20.30's end(…, true) after write() puts its "Connection: close" into the
        // chunked body; announce the close in the head instead and let the client close.
        res.writeHeader('Connection', 'close')
      }
      this.#watch(res)
    }
    if (head.framing === 'none') {
      res.endWithoutBody(head.contentLength >= 0 ? head.contentLength : undefined, head.connectionClose)
      this.#ended()
    } else if (head.framing === 'length' && head.contentLength === 0) {
      // No body byte will come to finish it (onBody never runs): end it now.
      res.end(undefined, head.connectionClose)
      this.#ended()
    }
  }

  onBody (chunk: Buffer): void {
    if (this.grip !== null && this.grip.mode === kHoldResponse) {
      keepHeld(this.grip, chunk, this.owner.maxQueuedBytes)
      return
    }
    const res = this.res
    const head = this.head
    if (res === null || head === null || this.complete) return
    if (head.framing === 'length') {
      if (this.pending !== null) {
        this.#queue(chunk)
      } else if (chunk.length === head.contentLength) {
        // The whole body in one piece: the common case.
        res.end(chunk, head.connectionClose)
        this.#ended()
      } else if (head.connectionClose) {
        // tryEnd cannot close the connection afterwards: collect the body and end() once.
        this.#queue(chunk)
      } else {
        this.#tryEnd(chunk)
      }
      return
    }
    this.#write(res, chunk)
  }

  /**
   * 'chunked' and 'close' bodies: uWS chunk-encodes write()s and buffers what the socket
   * refuses. A write that succeeds found that buffer empty (uWS drains it first), so the
   * bytes written since the last success bound it: past maxQueuedBytes the client is cut.
   */
  #write (res: HttpResponse, chunk: Buffer): void {
    if (res.write(chunk)) {
      this.blockedBytes = 0
    } else {
      this.blockedBytes += chunk.length
      if (this.blockedBytes > this.owner.maxQueuedBytes) this.overflow = true
    }
  }

  /** Keep-alive bytes for an idle stream (StreamIdle, inside cork). */
  keepAlive (): void {
    const res = this.res
    const head = this.head
    const bytes = this.grip !== null ? this.grip.keepAlive : this.route?.keepAlive
    if (res === null || head === null || this.complete || bytes == null) return
    if (head.framing !== 'chunked' && head.framing !== 'close') return
    this.#write(res, bytes)
    if (this.overflow) {
      // Nobody reads this stream: end it as a slow client (the fail action counts and notifies).
      this.failure = overflowError(this.owner.maxQueuedBytes)
      this.owner.run(this, Ev.FAILED)
    }
  }

  /**
   * Registers onWritable for the rest of this response. uWS.js arms its 10 s timer on a
   * blocked write and, when the socket drains without an onWritable handler, again "for
   * the next request": a stream that was blocked once would be closed 10 s after it went
   * quiet. With a handler, uWS clears the timer on every drain instead.
   */
  #watch (res: HttpResponse): void {
    if (this.watching) return
    this.watching = true
    res.onWritable(this.onWritable)
  }

  onEnd (): void {
    // A held response waits for its publish or timeout; a stream hold's first bytes ended, not the stream.
    if (this.grip !== null) return
    const res = this.res
    const head = this.head
    if (res === null || head === null || this.complete) return
    if (head.framing === 'length') {
      if (head.connectionClose && this.pending !== null) {
        res.end(this.pending, true)
        this.pending = null
        this.#ended()
      } else if (head.contentLength === 0) {
        // No body byte ever comes to end it (a GET answered `Content-Length: 0`).
        res.end(undefined, head.connectionClose)
        this.#ended()
      }
      // Otherwise tryEnd finishes the response when the last byte is taken.
      return
    }
    if (head.framing === 'chunked' || head.framing === 'close') {
      res.end()
      this.#ended()
    }
  }

  /** Streams part of a Content-Length body; keeps what the socket refuses. */
  #tryEnd (chunk: Buffer): void {
    const res = this.res!
    this.lastOffset = res.getWriteOffset()
    const [ok, done] = res.tryEnd(chunk, this.head!.contentLength)
    if (done) {
      this.#ended()
    } else {
      // Also when ok: the cork around this reply may fail to flush later (see #watch).
      this.#watch(res)
      if (!ok) this.pending = chunk
    }
  }

  #queue (chunk: Buffer): void {
    const size = (this.pending?.length ?? 0) + chunk.length
    if (size > this.owner.maxQueuedBytes) { this.overflow = true; return }
    // Reply frames are fresh buffers per message, but a view must not outlive its message
    // batch: copy into one buffer.
    this.pending = this.pending === null ? Buffer.from(chunk) : Buffer.concat([this.pending, chunk], size)
  }

  /**
   * The socket can take more (WRITABLE). Returns true when the response is complete.
   * Sets `writableOk` for uWS: false keeps onWritable armed.
   */
  drain (): boolean {
    const res = this.res
    const head = this.head
    if (res === null || head === null) return false
    if (head.framing === 'length' && this.pending !== null && !head.connectionClose) {
      const [ok, done] = res.tryEnd(this.pending.subarray(this.lastWriteOffset - this.lastOffset), head.contentLength)
      if (done) {
        this.pending = null
        this.#ended()
      } else if (ok) {
        this.pending = null
      }
      this.writableOk = ok
    } else {
      // With an onWritable handler uWS leaves its own buffer alone: cork() flushes it on
      // uncork (and re-arms the writable poll if the socket still refuses).
      res.cork(kNoop)
      this.writableOk = true
    }
    if (this.closeAfterDrain && this.pending === null && this.res !== null) {
      const res = this.res
      this.res = null
      res.close()
    }
    return this.complete
  }

  #ended (): void {
    this.complete = true
    this.res = null
  }
}

function kNoop (): void {}

const kWrittenHeaders = Object.freeze([]) as unknown as ResponseHead['headers']

/** A client that lets more than `max` bytes pile up is cut (SWB_ERR_RESPONSE_OVERFLOW). */
export function overflowError (max: number): ResponseError {
  return new ResponseError('SWB_ERR_RESPONSE_OVERFLOW', `client too slow: more than ${max} bytes queued`)
}

/** The status line after `HTTP/1.1 ` (never `200 OK`: uWS's default). */
function statusLine (status: number, reason: string): string {
  return reason === '' ? String(status) : status + ' ' + reason
}
