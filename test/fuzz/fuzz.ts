/**
 * Shared settings for the property-based fuzz suites (fast-check). `npm test` runs each
 * property FUZZ_RUNS times (default 150) from a fixed seed, so a failure reproduces
 * exactly; `npm run fuzz` runs many more (FUZZ_RUNS, default 20000). FUZZ_SEED picks
 * another seed: fast-check prints the seed and path of any counterexample it finds.
 */
import fc from 'fast-check'
import { ProtocolError } from '../../shared/errors.js'

export const kRuns = Number(process.env.FUZZ_RUNS ?? 150)
export const kSeed = Number(process.env.FUZZ_SEED ?? 0x5eed)

export function params (runs = kRuns): fc.Parameters<unknown> {
  return { numRuns: runs, seed: kSeed, endOnFailure: false }
}

/** Runs fn; returns the error code of a ProtocolError it throws, or 'ok'. Any other throw escapes. */
export function protocolOutcome (fn: () => unknown, errorClass: new (...args: never[]) => Error = ProtocolError): string {
  try {
    fn()
    return 'ok'
  } catch (err) {
    if (err instanceof errorClass) return (err as Error & { code: string }).code
    throw err
  }
}

/** Bytes biased toward the structural bytes of Mongrel2's grammars, so random input gets past the first check. */
export const structuralBytes = fc.uint8Array({ maxLength: 200 }).chain((noise) =>
  fc.array(fc.oneof(
    fc.constantFrom(...Buffer.from(' :,}]{[#^!~0123456789X+-\r\n', 'latin1')),
    fc.integer({ min: 0, max: 255 })
  ), { maxLength: 120 }).map((picked) => Buffer.concat([Buffer.from(picked), Buffer.from(noise.subarray(0, noise.length >> 2))]))
)

/** Cut `buf` at arbitrary points (sorted, deduplicated), as a socket or message boundary may. */
export function splitAtPoints (buf: Buffer, points: number[]): Buffer[] {
  const cuts = [...new Set(points.map((p) => p % (buf.length + 1)))].sort((a, b) => a - b)
  const out: Buffer[] = []
  let prev = 0
  for (const c of cuts) { out.push(buf.subarray(prev, c)); prev = c }
  out.push(buf.subarray(prev))
  return out
}

/** A Mongrel2 sender: the reply grammar allows [A-Za-z0-9-]+. */
export const senderArb = fc.stringMatching(/^[A-Za-z0-9-]{1,40}$/)
export const idArb = fc.integer({ min: 0, max: 0xffffffff })

/** Decode a stream fed in pieces: SHORT means "wait for more bytes"; anything else is fatal. */
export function decodeChunked<T> (chunks: Buffer[], decode: (buf: Buffer, offset: number) => { value: T, end: number }): T[] {
  const out: T[] = []
  let pending = Buffer.alloc(0)
  for (const chunk of chunks) {
    pending = Buffer.concat([pending, chunk])
    for (;;) {
      if (pending.length === 0) break
      try {
        const { value, end } = decode(pending, 0)
        out.push(Buffer.isBuffer(value) ? (Buffer.from(value) as T) : value)
        pending = pending.subarray(end)
      } catch (err) {
        if (err instanceof ProtocolError && err.code.endsWith('_SHORT')) break
        throw err
      }
    }
  }
  if (pending.length !== 0) throw new Error(`${pending.length} bytes left over`)
  return out
}
