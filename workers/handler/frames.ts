/**
 * Many messages in one buffer, so a batch crosses the thread boundary as one
 * transferable ArrayBuffer instead of one structured clone per message:
 *
 *   [u32 length][bytes][u32 length][bytes]...
 */
export function pack (frames: readonly Uint8Array[]): Buffer {
  let size = 0
  for (const f of frames) size += 4 + f.length
  const out = Buffer.allocUnsafeSlow(size) // own ArrayBuffer: transferable
  let offset = 0
  for (const f of frames) {
    out.writeUInt32LE(f.length, offset)
    out.set(f, offset + 4)
    offset += 4 + f.length
  }
  return out
}

/** Views into `buf`; throws RangeError on a truncated buffer. */
export function unpack (buf: Buffer): Buffer[] {
  const frames: Buffer[] = []
  let offset = 0
  while (offset < buf.length) {
    const length = buf.readUInt32LE(offset)
    const end = offset + 4 + length
    if (end > buf.length) throw new RangeError(`packed frame at ${offset} runs past the end`)
    frames.push(buf.subarray(offset + 4, end))
    offset = end
  }
  return frames
}
