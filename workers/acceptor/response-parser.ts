/**
 * Streaming parser for the raw HTTP/1.x response a handler writes as its reply BODY.
 *
 * uWS.js allows no raw socket writes, so the acceptor parses the head and the body framing
 * and re-writes both through uWS (`writeStatus`, `writeHeader`, `write`/`tryEnd`/`end`).
 * A response may arrive split over any number of reply messages, at any byte boundary:
 *
 *   HTTP/1.1 200 OK\r\n          status line (HTTP/1.0 or 1.1; bare LF line ends tolerated)
 *   Name: value\r\n ...          headers, in order; framing headers are consumed, not passed on
 *   \r\n                         end of head → onHead()
 *   body                         Content-Length | chunked (de-chunked) | until close() | none
 *   [next response ...]          NOT consumed: push() returns how far it read
 *
 * Only a head cut by a push boundary is ever copied (into a per-parser buffer that grows in
 * 4 KiB steps up to maxHeadBytes). Body bytes go to the sink as views of the pushed chunk, and
 * chunk-size lines are parsed byte by byte, so no split inside the body needs a copy.
 */
import { ResponseError, SwitchboardError } from '../../shared/errors.js'

export type Framing = 'length' | 'chunked' | 'close' | 'none'

export interface ResponseHead {
  /** 100..999 */
  status: number
  /** May be ''. */
  reason: string
  /** In order, original case, latin1-decoded, EXCLUDING the headers uWS writes itself:
   *  content-length, transfer-encoding, connection, keep-alive. */
  headers: Array<[name: string, value: string]>
  framing: Framing
  /** The Content-Length for 'length'. For 'none' (HEAD, 204, 304, 1xx) the value the head
   *  carried, if any, so a HEAD/304 answer can report the size a GET would have
   *  (`res.endWithoutBody(len)`). Otherwise -1. */
  contentLength: number
  /** The head had `Connection: close`. */
  connectionClose: boolean
}

/** Receives the parsed response. Methods are called synchronously from push()/close(). */
export interface ResponseSink {
  /** The head object is new for every response; the sink may keep it. */
  onHead (head: ResponseHead): void
  /** De-chunked body bytes, never empty. A VIEW of the pushed chunk, valid only during the
   *  call (copy to keep). */
  onBody (chunk: Buffer): void
  /** Response complete: length reached, last chunk + trailers read, or close() in until-close. */
  onEnd (): void
}

// Parser states. Chunked framing is a byte-level machine so a split anywhere needs no buffer.
const kHead = 0
const kLength = 1
const kClose = 2
const kChunkSize = 3        // hex digits of a chunk size
const kChunkSizeWs = 4      // BWS after the digits, before ';' or the line end
const kChunkExt = 5         // chunk extension: skipped up to LF
const kChunkSizeLf = 6      // CR seen, LF must follow
const kChunkData = 7
const kChunkDataCr = 8      // CRLF (or bare LF) after chunk data
const kChunkDataLf = 9
const kTrailerStart = 10    // start of a trailer line, or the final empty line
const kTrailerLine = 11     // trailer field: skipped up to LF
const kTrailerEndLf = 12    // CR of the final empty line seen
const kDone = 13
const kClosed = 14          // close() before the response was complete
const kError = 15

const kCR = 0x0d
const kLF = 0x0a
const kSP = 0x20
const kHT = 0x09
const kDefaultMaxHeadBytes = 65536
const kPartialStep = 4096
// 13 hex digits = 2^52: stays an exact integer in a double.
const kMaxChunkSizeDigits = 13
// 15 decimal digits stay below Number.MAX_SAFE_INTEGER.
const kMaxLengthDigits = 15

// Shared until a split head needs a buffer (appendPartial never writes into it: length 0),
// and the headers a parser holds between onHead and reset(): per-stream memory (bench:push).
const kNoPartial = Buffer.alloc(0)
const kNoHeaders: Array<[name: string, value: string]> = Object.freeze([]) as unknown as Array<[name: string, value: string]>

const kCodeHead = 'SWB_ERR_RESPONSE_HEAD'
const kCodeLength = 'SWB_ERR_RESPONSE_LENGTH'
const kCodeChunk = 'SWB_ERR_RESPONSE_CHUNK'

/** RFC 9110 tchar, indexed by byte. */
const kToken = new Uint8Array(256)
for (const c of "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ") {
  kToken[c.charCodeAt(0)] = 1
}
/** Bytes not allowed in a reason phrase or field value: CTLs but HTAB, and DEL. */
const kCtl = new Uint8Array(256)
for (let c = 0; c < 0x20; c++) kCtl[c] = c === 0x09 ? 0 : 1
kCtl[0x7f] = 1
/** Hex digit value by byte, -1 for anything else. */
const kHex = new Int8Array(256).fill(-1)
for (let i = 0; i < 16; i++) {
  kHex['0123456789abcdef'.charCodeAt(i)] = i
  kHex['0123456789ABCDEF'.charCodeAt(i)] = i
}

const kHttp1 = Buffer.from('HTTP/1.', 'latin1')
const kContentLength = Buffer.from('content-length', 'latin1')
const kTransferEncoding = Buffer.from('transfer-encoding', 'latin1')
const kConnection = Buffer.from('connection', 'latin1')
const kKeepAlive = Buffer.from('keep-alive', 'latin1')
const kChunked = Buffer.from('chunked', 'latin1')
const kCloseToken = Buffer.from('close', 'latin1')

// scanHead's results. Module scratch, not per parser: the head is parsed right after the scan
// that fills it, before any sink callback could run another parser.
let gLineEnds = new Int32Array(64)
let gLineCount = 0
let gLineStart = 0
const kIncomplete = -1
const kTooLarge = -2

/**
 * Finds the empty line ending a head that starts at `buf[0]`, scanning from line start `p` up to
 * `end`. Records each LF offset in gLineEnds (gLineCount of them). Returns the offset just past
 * the head, kIncomplete (gLineStart = start of the unfinished line), or kTooLarge when the head
 * would exceed `max` bytes.
 */
function scanHead (buf: Buffer, p: number, end: number, max: number): number {
  let n = 0
  while (true) {
    const lf = buf.indexOf(kLF, p)
    if (lf === -1 || lf >= end) {
      gLineStart = p
      return end > max ? kTooLarge : kIncomplete
    }
    if (lf >= max) return kTooLarge
    if (n === gLineEnds.length) {
      const grown = new Int32Array(n * 2)
      grown.set(gLineEnds)
      gLineEnds = grown
    }
    gLineEnds[n++] = lf
    if (lf === p || (lf === p + 1 && buf[p] === kCR)) {
      gLineCount = n
      return lf + 1
    }
    p = lf + 1
  }
}

const kNoopSink: ResponseSink = { onHead () {}, onBody () {}, onEnd () {} }

/** park() codes (never 0). */
export const kParkClose = 1
export const kParkChunked = 2
export const kParkDone = 3

/**
 * One parser per exchange slot, reused with reset() for every response it hosts.
 *
 * @example
 * const parser = new ResponseParser()
 * parser.reset(sink, req.method === 'HEAD')
 * const used = parser.push(replyBody)      // may call sink.onHead/onBody/onEnd
 * if (used < replyBody.length) { ... }     // bytes after the end of the response
 * if (emptyReply) clean = parser.close()   // ends an until-close body
 */
export class ResponseParser {
  private readonly maxHeadBytes: number
  private sink: ResponseSink = kNoopSink
  private isHeadRequest = false
  private state = kHead
  private headDoneFlag = false
  // head
  private partial: Buffer = kNoPartial        // a head cut by a push boundary (split pushes only)
  private partialLen = 0
  private scanPos = 0                         // start of the first unfinished line in `partial`
  private status = 0
  private reason = ''
  private headers: Array<[name: string, value: string]> = []
  private contentLength = -1
  private hasTransferEncoding = false
  private lastCodingChunked = false
  private connectionClose = false
  // body
  private remaining = 0                    // body bytes left ('length') or chunk bytes left
  private sizeDigits = 0
  private trailerBytes = 0

  constructor (maxHeadBytes: number = kDefaultMaxHeadBytes) {
    if (!Number.isInteger(maxHeadBytes) || maxHeadBytes < 16) {
      throw new SwitchboardError('SWB_ERR_RESPONSE_OPTION',
        `maxHeadBytes must be an integer >= 16, got ${String(maxHeadBytes)}`)
    }
    this.maxHeadBytes = maxHeadBytes
  }

  /** The response ended: onEnd was called. */
  get done (): boolean { return this.state === kDone }

  /** onHead was called. */
  get headDone (): boolean { return this.headDoneFlag }

  /** Prepare for a new response. Keeps the partial-head buffer, so a reused parser allocates
   *  nothing but the head it hands to the sink (and body views). */
  reset (sink: ResponseSink, isHeadRequest: boolean): void {
    this.sink = sink
    this.isHeadRequest = isHeadRequest
    this.state = kHead
    this.headDoneFlag = false
    this.partialLen = 0
    this.scanPos = 0
    this.status = 0
    this.reason = ''
    this.headers = []
    this.contentLength = -1
    this.hasTransferEncoding = false
    this.lastCodingChunked = false
    this.connectionClose = false
    this.remaining = 0
    this.sizeDigits = 0
    this.trailerBytes = 0
  }

  /**
   * Between two reply messages of a stream, the state another parser can take over from
   * (resume), so a held stream keeps no parser: kParkClose (until-close body), kParkChunked
   * (chunked body, at a chunk boundary), kParkDone (the response ended: a GRIP stream hold's
   * first body); 0 when this parser holds more than that (a head or chunk cut by the message
   * end, a Content-Length body under way). Drops the sink when parkable.
   */
  park (): number {
    let code = 0
    if (this.state === kClose) code = kParkClose
    else if (this.state === kChunkSize && this.sizeDigits === 0) code = kParkChunked
    else if (this.state === kDone) code = kParkDone
    if (code !== 0) this.sink = kNoopSink
    return code
  }

  /** Takes over a parked stream's state (`code` from park()): the head is done, the body goes on. */
  resume (sink: ResponseSink, code: number): void {
    this.reset(sink, false)
    this.headDoneFlag = true
    this.headers = kNoHeaders
    this.state = code === kParkClose ? kClose : code === kParkDone ? kDone : kChunkSize
  }

  /**
   * Feed bytes. Returns how many were consumed: fewer than `chunk.length` only when the
   * response ended inside `chunk` (then `done` is true). After done, close() before the end,
   * or an error, it consumes nothing. Throws ResponseError SWB_ERR_RESPONSE_HEAD / _LENGTH /
   * _CHUNK on malformed input; the parser then stays failed until reset().
   */
  push (chunk: Buffer): number {
    const len = chunk.length
    let off = 0
    if (this.state === kHead) off = this.pushHead(chunk)
    while (off < len) {
      switch (this.state) {
        case kLength: {
          const avail = len - off
          const rem = this.remaining
          if (avail <= rem) {
            this.remaining = rem - avail
            this.sink.onBody(off === 0 ? chunk : chunk.subarray(off))
            off = len
            if (rem === avail) this.end()
          } else {
            this.remaining = 0
            this.sink.onBody(chunk.subarray(off, off + rem))
            off += rem
            this.end()
          }
          break
        }
        case kClose:
          this.sink.onBody(off === 0 ? chunk : chunk.subarray(off))
          off = len
          break
        case kHead: case kDone: case kClosed: case kError:
          return off
        default:
          off = this.pushChunked(chunk, off)
      }
    }
    return off
  }

  /**
   * The handler closed the exchange (empty reply). Ends an until-close body (onEnd).
   * Returns true if the response is complete, false if the head or body was cut short.
   */
  close (): boolean {
    switch (this.state) {
      case kDone: return true
      case kClose: this.end(); return true
      case kError: return false
      default: this.state = kClosed; return false
    }
  }

  // ---- head -----------------------------------------------------------------------------

  /**
   * Common case: the whole head is in `chunk`. One indexOf per line finds its end, one latin1
   * decode makes every string (slices of one string cost far less than a decode per field).
   * A head cut by the chunk end is copied into `partial` until its empty line arrives.
   */
  private pushHead (chunk: Buffer): number {
    const len = chunk.length
    const max = this.maxHeadBytes
    if (this.partialLen === 0) {
      const headEnd = scanHead(chunk, 0, len, max)
      if (headEnd >= 0) {
        this.parseHead(chunk, headEnd)
        return headEnd
      }
      if (headEnd === kTooLarge) this.headTooLarge()
      this.checkStatusPrefix(chunk, len)
      this.appendPartial(chunk, len)
      this.scanPos = gLineStart
      return len
    }
    // The head began in an earlier push. Take at most one byte past the limit: enough to fail.
    const from = this.partialLen
    const room = max + 1 - from
    this.appendPartial(chunk, len < room ? len : room)
    const headEnd = scanHead(this.partial, this.scanPos, this.partialLen, max)
    if (headEnd === kTooLarge) this.headTooLarge()
    if (headEnd === kIncomplete) {
      this.checkStatusPrefix(this.partial, this.partialLen)
      this.scanPos = gLineStart
      return len
    }
    // Re-scan from the top: another parser may have reused the line-end scratch since.
    scanHead(this.partial, 0, headEnd, max)
    this.partialLen = 0
    this.parseHead(this.partial, headEnd)
    return headEnd - from
  }

  private appendPartial (src: Buffer, n: number): void {
    const need = this.partialLen + n
    if (need > this.partial.length) {
      // Never more than maxHeadBytes + 1: pushHead fails before anything larger is kept.
      const grown = Buffer.allocUnsafe(Math.min(this.maxHeadBytes + 1, Math.ceil(need / kPartialStep) * kPartialStep))
      this.partial.copy(grown, 0, 0, this.partialLen)
      this.partial = grown
    }
    src.copy(this.partial, this.partialLen, 0, n)
    this.partialLen = need
  }

  /** Fails at once on bytes that can never start a status line, instead of buffering them. */
  private checkStatusPrefix (buf: Buffer, end: number): void {
    const n = end < kHttp1.length ? end : kHttp1.length
    for (let i = 0; i < n; i++) {
      if (buf[i] !== kHttp1[i]) this.badStatusLine(buf, 0, end)
    }
  }

  /** Parses the complete head `buf[0..headEnd)` whose line ends scanHead left in gLineEnds. */
  private parseHead (buf: Buffer, headEnd: number): void {
    const str = buf.toString('latin1', 0, headEnd)
    const last = gLineCount - 1           // the empty line
    if (last === 0) this.fail(kCodeHead, 'response starts with an empty line, not a status line')
    let start = 0
    for (let k = 0; k < last; k++) {
      const lf = gLineEnds[k]!
      const end = lf > start && buf[lf - 1] === kCR ? lf - 1 : lf
      if (k === 0) this.parseStatusLine(buf, str, end)
      else this.parseHeaderLine(buf, str, start, end)
      start = lf + 1
    }
    this.finishHead()
  }

  /** `HTTP/1.x SP 3DIGIT [SP reason]` at offset 0, CR and LF already stripped. */
  private parseStatusLine (buf: Buffer, str: string, end: number): void {
    if (end < 12) this.badStatusLine(buf, 0, end)
    for (let i = 0; i < 7; i++) {
      if (buf[i] !== kHttp1[i]) this.badStatusLine(buf, 0, end)
    }
    const minor = buf[7]! - 0x30
    const d1 = buf[9]! - 0x30
    const d2 = buf[10]! - 0x30
    const d3 = buf[11]! - 0x30
    if (minor < 0 || minor > 9 || buf[8] !== kSP ||
        d1 < 1 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9) {
      this.badStatusLine(buf, 0, end)
    }
    if (end > 12) {
      if (buf[12] !== kSP) this.badStatusLine(buf, 0, end)
      for (let i = 13; i < end; i++) {
        if (kCtl[buf[i]!] === 1) this.badStatusLine(buf, 0, end)
      }
      this.reason = str.slice(13, end)
    }
    this.status = d1 * 100 + d2 * 10 + d3
  }

  /** `name: OWS value OWS`, CR and LF already stripped. */
  private parseHeaderLine (buf: Buffer, str: string, start: number, end: number): void {
    let i = start
    while (i < end && kToken[buf[i]!] === 1) i++
    const nameEnd = i
    if (i === start || i === end || buf[i] !== 0x3a) {
      const c = buf[start]
      this.fail(kCodeHead, c === kSP || c === kHT
        ? `obsolete line folding in the response head: ${snippet(buf, start, end)}`
        : `bad response header line (want 'token: value'): ${snippet(buf, start, end)}`)
    }
    i++
    while (i < end && (buf[i] === kSP || buf[i] === kHT)) i++
    const valueStart = i
    for (; i < end; i++) {
      if (kCtl[buf[i]!] === 1) {
        this.fail(kCodeHead, `control byte 0x${buf[i]!.toString(16)} in a response header value: ${snippet(buf, start, end)}`)
      }
    }
    let valueEnd = end
    while (valueEnd > valueStart && (buf[valueEnd - 1] === kSP || buf[valueEnd - 1] === kHT)) valueEnd--
    // Framing headers are recognised by length first: other names skip the byte compare.
    const nameLen = nameEnd - start
    if (nameLen === 14 && equalsLower(buf, start, kContentLength)) {
      const length = this.parseContentLength(buf, valueStart, valueEnd)
      if (this.contentLength !== -1 && this.contentLength !== length) {
        this.fail(kCodeLength, `conflicting Content-Length headers: ${this.contentLength} and ${length}`)
      }
      this.contentLength = length
    } else if (nameLen === 17 && equalsLower(buf, start, kTransferEncoding)) {
      this.hasTransferEncoding = true
      this.scanTransferEncoding(buf, valueStart, valueEnd)
    } else if (nameLen === 10 && equalsLower(buf, start, kConnection)) {
      if (hasToken(buf, valueStart, valueEnd, kCloseToken)) this.connectionClose = true
    } else if (!(nameLen === 10 && equalsLower(buf, start, kKeepAlive))) {
      this.headers.push([str.slice(start, nameEnd), str.slice(valueStart, valueEnd)])
    }
  }

  /** `1*DIGIT`, or a list of identical ones (`42, 42`), which RFC 9110 §8.6 lets us accept. */
  private parseContentLength (buf: Buffer, start: number, end: number): number {
    let value = -1
    let i = start
    while (true) {
      let n = 0
      const digitsStart = i
      while (i < end) {
        const d = buf[i]! - 0x30
        if (d < 0 || d > 9) break
        n = n * 10 + d
        i++
      }
      const digits = i - digitsStart
      if (digits === 0 || digits > kMaxLengthDigits || (value !== -1 && n !== value)) {
        this.fail(kCodeLength, `bad Content-Length (want 1-${kMaxLengthDigits} digits): ${snippet(buf, start, end)}`)
      }
      value = n
      while (i < end && (buf[i] === kSP || buf[i] === kHT)) i++
      if (i === end) return value
      if (buf[i] !== 0x2c) {
        this.fail(kCodeLength, `bad Content-Length (want 1-${kMaxLengthDigits} digits): ${snippet(buf, start, end)}`)
      }
      i++
      while (i < end && (buf[i] === kSP || buf[i] === kHT)) i++
    }
  }

  /** Records whether the final transfer coding is chunked (RFC 9112 §6.3: else until-close). */
  private scanTransferEncoding (buf: Buffer, start: number, end: number): void {
    // The last list element of the last header decides; empty elements are ignored.
    let e = end
    while (e > start && (buf[e - 1] === kSP || buf[e - 1] === kHT || buf[e - 1] === 0x2c)) e--
    if (e === start) return
    let s = e
    while (s > start && buf[s - 1] !== 0x2c) s--
    while (s < e && (buf[s] === kSP || buf[s] === kHT)) s++
    this.lastCodingChunked = e - s === kChunked.length && equalsLower(buf, s, kChunked)
  }

  private finishHead (): void {
    const status = this.status
    let framing: Framing
    let contentLength = -1
    if (this.isHeadRequest || status < 200 || status === 204 || status === 304) {
      framing = 'none'
      contentLength = this.contentLength
      this.state = kLength
      this.remaining = 0
    } else if (this.hasTransferEncoding) {
      // Transfer-Encoding wins over Content-Length (RFC 9112 §6.3).
      if (this.lastCodingChunked) {
        framing = 'chunked'
        this.state = kChunkSize
        this.remaining = 0
        this.sizeDigits = 0
      } else {
        framing = 'close'
        this.state = kClose
      }
    } else if (this.contentLength >= 0) {
      framing = 'length'
      contentLength = this.contentLength
      this.state = kLength
      this.remaining = contentLength
    } else {
      framing = 'close'
      this.state = kClose
    }
    this.headDoneFlag = true
    this.sink.onHead({
      status,
      reason: this.reason,
      headers: this.headers,
      framing,
      contentLength,
      connectionClose: this.connectionClose
    })
    // The sink owns the head now: a held stream's parser keeps no header strings.
    this.headers = kNoHeaders
    this.reason = ''
    if (this.state === kLength && this.remaining === 0) this.end()
  }

  // ---- chunked body -----------------------------------------------------------------------

  /**
   *   1a;ext=x\r\n  <0x1a bytes>\r\n  ...  0\r\n  Trailer: x\r\n  \r\n
   * Extensions and trailers are skipped; bare LF is accepted wherever CRLF is.
   */
  private pushChunked (chunk: Buffer, off: number): number {
    const len = chunk.length
    while (off < len) {
      switch (this.state) {
        case kChunkSize: {
          const c = chunk[off]!
          const h = kHex[c]!
          if (h >= 0) {
            if (++this.sizeDigits > kMaxChunkSizeDigits) {
              this.fail(kCodeChunk, `chunk size longer than ${kMaxChunkSizeDigits} hex digits`)
            }
            this.remaining = this.remaining * 16 + h
          } else if (this.sizeDigits === 0) {
            this.fail(kCodeChunk, `bad chunk size: byte 0x${c.toString(16)} where a hex digit must be`)
          } else if (c === kSP || c === kHT) {
            this.state = kChunkSizeWs
          } else {
            this.sizeLineEnd(c)
          }
          off++
          break
        }
        case kChunkSizeWs: {
          const c = chunk[off++]!
          if (c !== kSP && c !== kHT) this.sizeLineEnd(c)
          break
        }
        case kChunkExt: {
          const lf = chunk.indexOf(kLF, off)
          if (lf === -1) return len
          off = lf + 1
          this.startChunkData()
          break
        }
        case kChunkSizeLf:
          if (chunk[off++] !== kLF) this.fail(kCodeChunk, 'chunk size line: CR not followed by LF')
          this.startChunkData()
          break
        case kChunkData: {
          const avail = len - off
          const rem = this.remaining
          const n = avail < rem ? avail : rem
          this.remaining = rem - n
          if (n === rem) this.state = kChunkDataCr
          this.sink.onBody(n === len ? chunk : chunk.subarray(off, off + n))
          off += n
          break
        }
        case kChunkDataCr: {
          const c = chunk[off++]
          if (c === kCR) this.state = kChunkDataLf
          else if (c === kLF) this.startChunkSize()
          else this.fail(kCodeChunk, 'chunk data not followed by CRLF (chunk size too small?)')
          break
        }
        case kChunkDataLf:
          if (chunk[off++] !== kLF) this.fail(kCodeChunk, 'chunk data: CR not followed by LF')
          this.startChunkSize()
          break
        case kTrailerStart: {
          const c = chunk[off]
          if (c === kCR) {
            this.state = kTrailerEndLf
            off++
          } else if (c === kLF) {
            this.end()
            return off + 1
          } else {
            this.state = kTrailerLine
          }
          break
        }
        case kTrailerLine: {
          const lf = chunk.indexOf(kLF, off)
          const next = lf === -1 ? len : lf + 1
          this.trailerBytes += next - off
          if (this.trailerBytes > this.maxHeadBytes) {
            this.fail(kCodeChunk, `chunked trailer section larger than ${this.maxHeadBytes} bytes`)
          }
          off = next
          if (lf !== -1) this.state = kTrailerStart
          break
        }
        case kTrailerEndLf:
          if (chunk[off] !== kLF) this.fail(kCodeChunk, 'chunked trailer section: CR not followed by LF')
          this.end()
          return off + 1
        default:
          return off
      }
    }
    return off
  }

  /** A byte that ends the size digits or their BWS: `;` starts an extension, else CR/LF. */
  private sizeLineEnd (c: number): void {
    if (c === 0x3b) this.state = kChunkExt
    else if (c === kCR) this.state = kChunkSizeLf
    else if (c === kLF) this.startChunkData()
    else this.fail(kCodeChunk, `bad chunk size line: byte 0x${c.toString(16)} after the size`)
  }

  private startChunkData (): void {
    this.state = this.remaining === 0 ? kTrailerStart : kChunkData
  }

  private startChunkSize (): void {
    this.state = kChunkSize
    this.remaining = 0
    this.sizeDigits = 0
  }

  // ---- end and errors ---------------------------------------------------------------------

  private end (): void {
    this.state = kDone
    this.sink.onEnd()
  }

  private headTooLarge (): never {
    this.fail(kCodeHead, `response head larger than ${this.maxHeadBytes} bytes`)
  }

  private badStatusLine (buf: Buffer, start: number, end: number): never {
    this.fail(kCodeHead, `bad response status line (want 'HTTP/1.x NNN reason'): ${snippet(buf, start, end)}`)
  }

  private fail (code: string, message: string): never {
    this.state = kError
    throw new ResponseError(code, message)
  }
}

/** `buf[start..]` equals `lower` (lower-case letters and '-') ignoring ASCII case. Only called
 *  on names (token bytes) and CTL-free values, where `| 0x20` cannot turn any other byte
 *  into one of those (only CR would become '-'). */
function equalsLower (buf: Buffer, start: number, lower: Buffer): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[start + i]! | 0x20) !== lower[i]) return false
  }
  return true
}

/** A comma-separated list in `buf[start..end)` holds `token` (lower-case), ignoring case. */
function hasToken (buf: Buffer, start: number, end: number, token: Buffer): boolean {
  let i = start
  while (i < end) {
    while (i < end && (buf[i] === kSP || buf[i] === kHT || buf[i] === 0x2c)) i++
    const s = i
    while (i < end && buf[i] !== 0x2c) i++
    let e = i
    while (e > s && (buf[e - 1] === kSP || buf[e - 1] === kHT)) e--
    if (e - s === token.length && equalsLower(buf, s, token)) return true
  }
  return false
}

/** The offending line for an error message, quoted and cut to 80 bytes. */
function snippet (buf: Buffer, start: number, end: number): string {
  const cut = end - start > 80
  return JSON.stringify(buf.toString('latin1', start, cut ? start + 80 : end)) + (cut ? '…' : '')
}
