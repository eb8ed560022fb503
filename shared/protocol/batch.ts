/**
 * Batch frames: many messages in ONE ZeroMQ frame, on links only Switchboard's own
 * processes use (services.X.batch). Every frame costs zeromq.js a fixed toll on each side
 * (a zmq_msg, a Buffer with an external backing store and a global handle): measured
 * here at ~7.8 µs per 300-byte frame sent and received as parts of multipart messages,
 * against ~2.2 µs for the same bytes packed into one frame (perf/README.md).
 *
 * ```
 *   request batch:  LEN:MSG,LEN:MSG,…                  each MSG one Mongrel2 request message
 *   reply batch:    SENDER SP "+" LEN:FRAME,LEN:FRAME,…  each FRAME one whole reply frame
 * ```
 *
 * Neither can be mistaken for a single message: a request starts with the sender UUID
 * ([A-Za-z0-9-]+, so never digits then ':'), and a reply has digits or "X" after the
 * sender's space, never "+". The reply batch keeps the sender in front so the broker's
 * prefix subscription still routes it to its acceptor alone.
 */
import { ProtocolError } from '../errors.js'
import { decimalLength, encodedLength, readLength, write as writeNetstring } from './netstring.js'

/** Bytes after which a sender starts a new batch frame (one message bigger than this goes alone). */
export const kBatchMaxBytes = 1 << 20

const kColon = 0x3a
const kComma = 0x2c
const kSpace = 0x20
const kPlus = 0x2b
const kZero = 0x30
const kNine = 0x39
/** LEN of a netstring has at most 9 digits (netstring.ts). */
const kMaxDigits = 9

/** Bytes of the batch of `frames[from..to)`, envelope prefix included. */
function batchLength (frames: readonly Uint8Array[], from: number, to: number, prefix: number): number {
  let size = prefix
  for (let i = from; i < to; i++) size += encodedLength(frames[i]!.length)
  return size
}

function writeItems (out: Buffer, offset: number, frames: readonly Uint8Array[], from: number, to: number): void {
  let p = offset
  for (let i = from; i < to; i++) p = writeNetstring(out, p, frames[i]!)
}

/**
 * Where the batch that starts at `frames[start]` ends (exclusive): it takes frames up to
 * `last` while their bytes stay within kBatchMaxBytes; the first frame always goes, even
 * a bigger one, alone.
 */
export function batchEnd (frames: readonly Uint8Array[], start: number, last: number): number {
  let end = start + 1
  let bytes = frames[start]!.length
  while (end < last && bytes + frames[end]!.length <= kBatchMaxBytes) bytes += frames[end++]!.length
  return end
}

/**
 * One request batch frame from `frames[from..to)` (default: all).
 * @example encodeRequestBatch([Buffer.from('U 1 / 2:{},0:,')]).toString() // '14:U 1 / 2:{},0:,,'
 */
export function encodeRequestBatch (frames: readonly Uint8Array[], from = 0, to = frames.length): Buffer {
  const out = Buffer.allocUnsafe(batchLength(frames, from, to, 0))
  writeItems(out, 0, frames, from, to)
  return out
}

/** One reply batch frame for `sender` (every frame must be a reply to that sender). */
export function encodeReplyBatch (sender: Uint8Array, frames: readonly Uint8Array[]): Buffer {
  const head = sender.length + 2
  const out = Buffer.allocUnsafe(batchLength(frames, 0, frames.length, head))
  out.set(sender, 0)
  out[sender.length] = kSpace
  out[sender.length + 1] = kPlus
  writeItems(out, head, frames, 0, frames.length)
  return out
}

/** True when `frame` is a request batch: it starts with 1-9 digits and ':'. */
export function isRequestBatch (frame: Uint8Array): boolean {
  const end = Math.min(frame.length, kMaxDigits + 1)
  let i = 0
  while (i < end && frame[i]! >= kZero && frame[i]! <= kNine) i++
  return i > 0 && i < end && frame[i] === kColon
}

/**
 * Where a reply batch's items start (after `SENDER SP +`), or -1 when `frame` is not a
 * reply batch. Only the bytes up to the first space are looked at.
 */
export function replyBatchStart (frame: Uint8Array): number {
  const space = frame.indexOf(kSpace)
  return space > 0 && frame[space + 1] === kPlus ? space + 2 : -1
}

/**
 * The messages of a batch, as views into `frame`, from `offset` to the end.
 * Throws ProtocolError `SWB_ERR_BATCH_LENGTH` / `_SHORT` / `_TERMINATOR` / `_EMPTY`:
 * a batch is all or nothing, since a bad item leaves no safe place to resume.
 */
export function splitBatch (frame: Buffer, offset = 0): Buffer[] {
  const items: Buffer[] = []
  const end = frame.length
  let p = offset
  while (p < end) {
    const len = readLength(frame, p, end, 'BATCH')
    const start = p + decimalLength(len) + 1
    const stop = start + len
    if (stop >= end) throw new ProtocolError('SWB_ERR_BATCH_SHORT', `batch: item at offset ${p} says ${len} bytes + ',' but only ${end - start} remain`, p)
    if (frame[stop] !== kComma) throw new ProtocolError('SWB_ERR_BATCH_TERMINATOR', `batch: item at offset ${p} is not followed by ','`, stop)
    items.push(frame.subarray(start, stop))
    p = stop + 1
  }
  if (items.length === 0) throw new ProtocolError('SWB_ERR_BATCH_EMPTY', 'batch: no items', offset)
  return items
}
