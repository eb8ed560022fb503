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

/**
 * The request, read synchronously from uWS (HttpRequest is stack-allocated), and the
 * answers made before it is sent: only until the request goes to the broker (or is
 * answered), then recycled, so a held exchange keeps none of it.
 */
class RequestState {
  method = ''
  path = ''
  host = ''
  remote = ''
  headers: Headers = kNoHeaders
  /** Declared Content-Length, -1 when absent (-2: malformed request). */
  expected = -1
  body: Buffer | null = null
  bodyLength = 0
  /** BodyWatch's view of the body: its length when last seen to grow, and since when. */
  bodySeen = 0
  bodySince = 0
  /** An answer that closes the connection, held in Closing until FLUSH (status line, body). */
  closingStatus = ''
  closingBody = ''
}

const kNoHeaders = Object.freeze({}) as Headers
/** A sent (or recycled) exchange's request: read-only defaults. */
const kNoRequest: RequestState = Object.freeze(new RequestState())
const gRequests: RequestState[] = []
const kSpareRequests = 256

/** A response written under backpressure: made at the first blocked write, dropped with the exchange. */
class WriteState {
  /** Body bytes that tryEnd could not take yet ('length' framing under backpressure). */
  pending: Buffer | null = null
  lastOffset = 0
  lastWriteOffset = 0
  /** 'chunked'/'close' bodies are written with write(); bytes written while blocked. */
  blockedBytes = 0
}

// Exchange flags (one integer); the 503 cause sits above them.
const F_IS_HEAD = 1
const F_HAS_BODY = 2
const F_SENT = 4
const F_PARSING = 8
const F_WRITTEN = 16
const F_COMPLETE = 32
const F_OVERFLOW = 64
const F_CLOSE_AFTER_DRAIN = 128
const F_WATCHING = 256
const F_STREAMING = 512
const F_NOT_WRITABLE = 1024
/** The reply message that carried the head is being written. */
const F_HEAD_MESSAGE = 2048
/** park() code of the parser given back between two messages of a stream (2 bits). */
const kParkShift = 12
const kParkMask = 3 << kParkShift
const kCauseShift = 16
const kCauseMask = 0xf << kCauseShift
/** Small writes past a quiet head message made before the stream watches for drains (3 bits, see #write). */
const kQuietWriteShift = 20
const kQuietWriteMask = 7 << kQuietWriteShift

/**
 * Times are kept as ms since this module loaded: small integers stay in the object
 * (a Date.now() value would be a heap number per field). 0 = never. After 24 days they
 * no longer fit a small integer: still right, only larger.
 */
const kEpoch = Date.now() - 1
function toClock (ms: number): number {
  if (ms === 0) return 0
  const t = ms - kEpoch
  return t < 0x7fffffff ? t | 0 : t
}
function fromClock (t: number): number { return t === 0 ? 0 : t + kEpoch }

/** A head message that writes at most this many bytes cannot block a fresh socket: no onWritable yet (see #watch). */
const kQuietBytes = 2048
/**
 * After a quiet head message, up to kQuietWrites writes of at most kQuietWrite bytes each
 * (a few published events) still cannot block: with the head they stay under 3.2 KiB, below
 * any TCP socket's smallest send buffer (4 KiB). Registering onWritable costs a native handler
 * and a global handle; for 10,000 streams given their first event it was ~10% of the publish.
 */
const kQuietWrite = 128
const kQuietWrites = 7

/** Parsers are lent per reply and given back between a stream's messages and at release. */
const gParsers: ResponseParser[] = []
const kSpareParsers = 64

// The cork callbacks are shared by all exchanges: the `corked…` getters name the exchange
// here, and uWS calls the callback synchronously inside cork().
let gCorked: Exchange | null = null
function takeCorked (): Exchange {
  const ex = gCorked!
  gCorked = null
  return ex
}
function corkReply (): void { const ex = takeCorked(); ex.owner.run(ex, Ev.REPLY) }
function corkTimeout (): void { const ex = takeCorked(); ex.owner.run(ex, Ev.TIMEOUT) }
function corkKeepAlive (): void { takeCorked().keepAlive() }
function corkUnavailable (): void { const ex = takeCorked(); ex.owner.run(ex, Ev.UNAVAILABLE) }
function corkFlush (): void { const ex = takeCorked(); ex.owner.run(ex, Ev.FLUSH) }

/**
 * Layout, for memory per held connection (perf/README.md "Where the memory goes"): a hot
 * core of fields, flags packed in one integer, times as small integers; the request
 * (RequestState), the backpressure state (WriteState) and the parser only while needed;
 * one bound callback serves uWS's onAborted, onData and onWritable. Accessors keep the
 * property names the actions use.
 */
export class Exchange implements ResponseSink {
  state: number = St.Start
  id = 0
  res: HttpResponse | null = null
  readonly owner: ExchangeOwner
  route: Route | null = null
  link: ServiceLink | null = null
  /** The wire sender it was sent under (replies must name it). */
  sender: Sender | null = null
  /** A WebSocket upgrade (Mongrel2's rules met) and, once open, its socket: websocket.ts. */
  wsx: WsState | null = null
  /** The reply message being written (set before REPLY, cleared by writeReply). */
  reply: Buffer | null = null
  /** The response head; for a started chunked/until-close stream, a shared one (kStreamHeads). */
  head: ResponseHead | null = null
  /** Why the reply failed (logged by the fail action). */
  failure: Error | null = null
  /** A GRIP hold (grip.ts) or a WebSocket's channels: null for almost every exchange. */
  grip: GripHold | null = null
  #flags = 0
  #rq: RequestState = kNoRequest
  #wq: WriteState | null = null
  #parser: ResponseParser | null = null
  #deadline = 0
  #lastMessage = 0
  #lastWrite = 0
  /** uWS's onAborted, onData and onWritable for this object (told apart by their arguments). */
  readonly #callback: (a?: number | ArrayBuffer, isLast?: boolean) => boolean

  constructor (owner: ExchangeOwner) {
    this.owner = owner
    this.#callback = this.#uwsCallback.bind(this)
  }

  #uwsCallback (a?: number | ArrayBuffer, isLast?: boolean): boolean {
    if (typeof a === 'number') return this.#onWritable(a)
    if (a === undefined) {
      if (this.res !== null) {
        this.res = null
        this.owner.run(this, Ev.REMOTE_CLOSE)
      }
    } else {
      this.#onData(a, isLast === true)
    }
    return true
  }

  get onAborted (): () => void { return this.#callback }
  get onData (): (chunk: ArrayBuffer, isLast: boolean) => void { return this.#callback }
  get onWritable (): (offset: number) => boolean { return this.#callback }

  #onWritable (offset: number): boolean {
    if (this.res === null) return true
    this.lastWriteOffset = offset
    // After the handler closed, the exchange is Done but its last bytes still drain.
    if (this.state === St.Responding) this.owner.run(this, Ev.WRITABLE)
    else this.drain()
    return this.writableOk
  }

  // For `res.cork(ex.corkedX)` / `ws.cork(…)` only: the getter names this exchange to the shared callback.
  get corkedReply (): () => void { gCorked = this; return corkReply }
  get corkedTimeout (): () => void { gCorked = this; return corkTimeout }
  get corkedKeepAlive (): () => void { gCorked = this; return corkKeepAlive }
  get corkedUnavailable (): () => void { gCorked = this; return corkUnavailable }
  get corkedFlush (): () => void { gCorked = this; return corkFlush }

  // The request (RequestState).
  #req (): RequestState {
    let rq = this.#rq
    if (rq === kNoRequest) rq = this.#rq = gRequests.pop() ?? new RequestState()
    return rq
  }

  get method (): string { return this.#rq.method }
  set method (v: string) { this.#req().method = v }
  get path (): string { return this.#rq.path }
  set path (v: string) { this.#req().path = v }
  get host (): string { return this.#rq.host }
  set host (v: string) { this.#req().host = v }
  get remote (): string { return this.#rq.remote }
  set remote (v: string) { this.#req().remote = v }
  get headers (): Headers { return this.#rq.headers }
  set headers (v: Headers) { this.#req().headers = v }
  get expected (): number { return this.#rq.expected }
  set expected (v: number) { this.#req().expected = v }
  get body (): Buffer | null { return this.#rq.body }
  set body (v: Buffer | null) { if (v !== null || this.#rq !== kNoRequest) this.#req().body = v }
  get bodyLength (): number { return this.#rq.bodyLength }
  set bodyLength (v: number) { this.#req().bodyLength = v }
  get bodySeen (): number { return this.#rq.bodySeen }
  set bodySeen (v: number) { this.#req().bodySeen = v }
  get bodySince (): number { return this.#rq.bodySince }
  set bodySince (v: number) { this.#req().bodySince = v }
  get closingStatus (): string { return this.#rq.closingStatus }
  set closingStatus (v: string) { this.#req().closingStatus = v }
  get closingBody (): string { return this.#rq.closingBody }
  set closingBody (v: string) { this.#req().closingBody = v }

  /** The request went to the broker (or the exchange ends): forget it. */
  dropRequest (): void {
    const rq = this.#rq
    if (rq === kNoRequest) return
    this.#rq = kNoRequest
    rq.method = rq.path = rq.host = rq.remote = rq.closingStatus = rq.closingBody = ''
    rq.headers = kNoHeaders
    rq.expected = -1
    rq.body = null
    rq.bodyLength = rq.bodySeen = rq.bodySince = 0
    if (gRequests.length < kSpareRequests) gRequests.push(rq)
  }

  // Flags.
  #flag (bit: number, on: boolean): void { this.#flags = on ? this.#flags | bit : this.#flags & ~bit }
  get isHead (): boolean { return (this.#flags & F_IS_HEAD) !== 0 }
  set isHead (v: boolean) { this.#flag(F_IS_HEAD, v) }
  /** Set when the request had a body to read (Content-Length > 0 or chunked). */
  get hasBody (): boolean { return (this.#flags & F_HAS_BODY) !== 0 }
  set hasBody (v: boolean) { this.#flag(F_HAS_BODY, v) }
  /** The request was handed to the broker: its end must be told to the handler. */
  get sent (): boolean { return (this.#flags & F_SENT) !== 0 }
  set sent (v: boolean) { this.#flag(F_SENT, v) }
  /** The parser was reset for this exchange's response. */
  get parsing (): boolean { return (this.#flags & F_PARSING) !== 0 }
  set parsing (v: boolean) { this.#flag(F_PARSING, v) }
  /** Something was written to the client (then timeouts no longer answer 504). */
  get written (): boolean { return (this.#flags & F_WRITTEN) !== 0 }
  set written (v: boolean) { this.#flag(F_WRITTEN, v) }
  /** The response is complete on the wire (end()/tryEnd finished). */
  get complete (): boolean { return (this.#flags & F_COMPLETE) !== 0 }
  set complete (v: boolean) { this.#flag(F_COMPLETE, v) }
  /** The write queue passed `maxQueuedBytes`: the client is cut off. */
  get overflow (): boolean { return (this.#flags & F_OVERFLOW) !== 0 }
  set overflow (v: boolean) { this.#flag(F_OVERFLOW, v) }
  /** Close the connection once the pending bytes are out (empty reply while blocked). */
  get closeAfterDrain (): boolean { return (this.#flags & F_CLOSE_AFTER_DRAIN) !== 0 }
  set closeAfterDrain (v: boolean) { this.#flag(F_CLOSE_AFTER_DRAIN, v) }
  /** onWritable is registered for this response (see #watch). */
  get watching (): boolean { return (this.#flags & F_WATCHING) !== 0 }
  set watching (v: boolean) { this.#flag(F_WATCHING, v) }
  /** Tracked by StreamIdle: the head went out, the body goes on. */
  get streaming (): boolean { return (this.#flags & F_STREAMING) !== 0 }
  set streaming (v: boolean) { this.#flag(F_STREAMING, v) }
  /** What onWritable returns to uWS: false keeps it armed. */
  get writableOk (): boolean { return (this.#flags & F_NOT_WRITABLE) === 0 }
  set writableOk (v: boolean) { this.#flag(F_NOT_WRITABLE, !v) }
  /** Why UNAVAILABLE (a `Cause` of actions.ts; 0 = maintenance filter). */
  get cause (): number { return (this.#flags & kCauseMask) >>> kCauseShift }
  set cause (v: number) { this.#flags = (this.#flags & ~kCauseMask) | ((v << kCauseShift) & kCauseMask) }

  // Times (Date.now() values).
  get deadline (): number { return fromClock(this.#deadline) }
  set deadline (v: number) { this.#deadline = toClock(v) }
  /** Date.now() of the last handler message to this stream (StreamIdle). */
  get lastMessage (): number { return fromClock(this.#lastMessage) }
  set lastMessage (v: number) { this.#lastMessage = toClock(v) }
  /** Date.now() of the last write to this stream, keep-alive bytes included (StreamIdle). */
  get lastWrite (): number { return fromClock(this.#lastWrite) }
  set lastWrite (v: number) { this.#lastWrite = toClock(v) }

  // Backpressure (WriteState, made when first needed).
  #writeState (): WriteState { return (this.#wq ??= new WriteState()) }
  get pending (): Buffer | null { return this.#wq === null ? null : this.#wq.pending }
  set pending (v: Buffer | null) { if (v !== null || this.#wq !== null) this.#writeState().pending = v }
  get lastOffset (): number { return this.#wq === null ? 0 : this.#wq.lastOffset }
  set lastOffset (v: number) { if (v !== 0 || this.#wq !== null) this.#writeState().lastOffset = v }
  get lastWriteOffset (): number { return this.#wq === null ? 0 : this.#wq.lastWriteOffset }
  set lastWriteOffset (v: number) { if (v !== 0 || this.#wq !== null) this.#writeState().lastWriteOffset = v }
  get blockedBytes (): number { return this.#wq === null ? 0 : this.#wq.blockedBytes }
  set blockedBytes (v: number) { if (v !== 0 || this.#wq !== null) this.#writeState().blockedBytes = v }

  /** The response parser, lent for this exchange's response (or resuming a parked stream). */
  get parser (): ResponseParser {
    let parser = this.#parser
    if (parser !== null && (this.#flags & F_PARSING) !== 0) return parser
    if (parser === null) parser = this.#parser = gParsers.pop() ?? new ResponseParser()
    const parked = (this.#flags & kParkMask) >>> kParkShift
    if (parked !== 0) {
      this.#flags &= ~kParkMask
      parser.resume(this, parked)
    } else {
      parser.reset(this, this.isHead)
    }
    this.#flags |= F_PARSING
    return parser
  }

  /**
   * A reply message of `bytes` was written and the response goes on. A stream between
   * messages gives its parser back (it resumes on the next message); past the head's own
   * message, or when that message was large, the stream watches for drains (#watch).
   */
  replyWritten (bytes: number): void {
    if ((this.#flags & F_HEAD_MESSAGE) !== 0) {
      this.#flags &= ~F_HEAD_MESSAGE
      if (bytes > kQuietBytes && this.res !== null) this.#watch(this.res)
    }
    const parser = this.#parser
    if (parser === null || (this.#flags & F_PARSING) === 0) return
    const code = parser.park()
    if (code === 0) return
    this.#parser = null
    this.#flags = (this.#flags & ~kParkMask) | (code << kParkShift)
    if (gParsers.length < kSpareParsers) gParsers.push(parser)
  }

  /** Gives the parser back (the response is over, or became a WebSocket). */
  dropParser (): void {
    const parser = this.#parser
    if (parser === null) return
    this.#parser = null
    this.#flags &= ~(F_PARSING | kParkMask)
    parser.reset(kIdleSink, false)
    if (gParsers.length < kSpareParsers) gParsers.push(parser)
  }

  /** Clears everything a previous exchange left, keeping the bound callback. */
  clear (): void {
    this.dropRequest()
    this.dropParser()
    this.state = St.Start
    this.id = 0
    this.res = null
    this.route = null
    this.link = null
    this.wsx = null
    this.sender = null
    this.reply = null
    this.head = null
    this.failure = null
    this.grip = null
    this.#flags = 0
    this.#wq = null
    this.#deadline = 0
    this.#lastMessage = 0
    this.#lastWrite = 0
  }

  #onData (chunk: ArrayBuffer, isLast: boolean): void {
    if (this.res === null || this.state !== St.Receiving) return
    const rq = this.#req()
    const size = chunk.byteLength
    const limit = this.owner.bodyLimit
    if (rq.bodyLength + size > limit) {
      this.owner.run(this, Ev.TOO_LARGE)
      return
    }
    if (size > 0) {
      // uWS neuters `chunk` when this callback returns: copy now.
      if (rq.body === null || rq.body.length < rq.bodyLength + size) {
        const grown = Buffer.allocUnsafe(Math.min(limit, Math.max(rq.expected, (rq.bodyLength + size) * 2)))
        if (rq.body !== null) rq.body.copy(grown, 0, 0, rq.bodyLength)
        rq.body = grown
      }
      rq.body.set(new Uint8Array(chunk), rq.bodyLength)
      rq.bodyLength += size
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
    const status = statusLine(head.status, head.reason)
    if (status !== null) res.writeStatus(status)
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
      const close = head.connectionClose || head.framing === 'close'
      if (close) {
        // uWS 20.30's end(…, true) after write() puts its "Connection: close" into the
        // chunked body; announce the close in the head instead and let the client close.
        res.writeHeader('Connection', 'close')
      }
      // Only the framing matters from here on (its status is >= 200): a shared head.
      this.head = kStreamHeads[(head.framing === 'close' ? 2 : 0) + (head.connectionClose ? 1 : 0)]!
      this.#flags |= F_HEAD_MESSAGE
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

  /**
   * A published `http-response` for a response hold (grip.ts), whole: one head and one end,
   * no ResponseHead. `statusLine` null: uWS's own "200 OK"; `headers` are already filtered
   * (no Date, framing or Grip ones). `noBody`: a HEAD request, 204 or 304 (length reported).
   */
  endPublished (statusLine: string | null, headers: ReadonlyArray<[string, string]>, body: Buffer, noBody: boolean): void {
    const res = this.res
    if (res === null) return
    if (statusLine !== null) res.writeStatus(statusLine)
    for (let i = 0; i < headers.length; i++) res.writeHeader(headers[i]![0], headers[i]![1])
    this.written = true
    if (noBody) res.endWithoutBody(body.length, false)
    else res.end(body, false)
    this.#ended()
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
    // Past the head's own message a write may block, maybe unseen (see #watch), once the
    // stream has written more than any socket takes (kQuietWrites).
    if ((this.#flags & (F_HEAD_MESSAGE | F_WATCHING)) === 0) {
      if (chunk.length <= kQuietWrite && (this.#flags & kQuietWriteMask) >>> kQuietWriteShift < kQuietWrites) this.#flags += 1 << kQuietWriteShift
      else this.#watch(res)
    }
    if (res.write(chunk)) {
      this.blockedBytes = 0
    } else {
      this.#watch(res)
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
   * A write inside cork() may block only when the cork is flushed, unseen by JavaScript,
   * so a stream registers before its writes past its head's message could fill a socket
   * (after the head message when it wrote over kQuietBytes, more than a fresh socket could
   * refuse; else before a write past kQuietWrites small ones): an idle stream that got only
   * a small head message and a few small events costs no registration.
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

function streamHead (framing: 'chunked' | 'close', connectionClose: boolean): ResponseHead {
  return Object.freeze({ status: 200, reason: '', headers: kWrittenHeaders, framing, contentLength: -1, connectionClose })
}
/** Started streams' heads by (framing close ? 2 : 0) + (connectionClose ? 1 : 0). */
const kStreamHeads: readonly ResponseHead[] = [
  streamHead('chunked', false), streamHead('chunked', true), streamHead('close', false), streamHead('close', true)
]

const kIdleSink: ResponseSink = { onHead () {}, onBody () {}, onEnd () {} }

/** A client that lets more than `max` bytes pile up is cut (SWB_ERR_RESPONSE_OVERFLOW). */
export function overflowError (max: number): ResponseError {
  return new ResponseError('SWB_ERR_RESPONSE_OVERFLOW', `client too slow: more than ${max} bytes queued`)
}

/**
 * The status line after `HTTP/1.1 `, or null for `200 OK`: uWS writes that itself when no
 * status is given, one native call less for most responses.
 */
export function statusLine (status: number, reason: string): string | null {
  if (status === 200 && reason === 'OK') return null
  return reason === '' ? String(status) : status + ' ' + reason
}
