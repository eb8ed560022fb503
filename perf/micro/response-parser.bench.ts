/**
 * Micro benchmark of the response parser on a reused parser (as an exchange slot reuses it).
 *   node --import tsx perf/micro/response-parser.bench.ts
 * Knobs: ITERATIONS (default 500000), ROUNDS (default 5; the best round is reported).
 */
import os from 'node:os'
import { ResponseParser } from '../../workers/acceptor/response-parser.js'
import type { ResponseHead, ResponseSink } from '../../workers/acceptor/response-parser.js'

const kIterations = Number(process.env.ITERATIONS ?? 500_000)
const kRounds = Number(process.env.ROUNDS ?? 5)

/** Counts what arrives; keeps the head so the work cannot be optimised away. */
class CountingSink implements ResponseSink {
  heads = 0
  bodyBytes = 0
  ends = 0
  last: ResponseHead | null = null
  onHead (head: ResponseHead): void { this.heads++; this.last = head }
  onBody (chunk: Buffer): void { this.bodyBytes += chunk.length }
  onEnd (): void { this.ends++ }
}

interface Scenario { name: string, input: Buffer, bodyBytes: number, iterations: number }

const kHead = 'HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nDate: Mon, 01 Jan 2024 00:00:00 GMT\r\nServer: sb\r\n'
const kBig = 64 * 1024

const scenarios: Scenario[] = [
  {
    name: 'Content-Length 12, one chunk',
    input: Buffer.from(`${kHead}Content-Length: 12\r\n\r\nHello World\n`, 'latin1'),
    bodyBytes: 12,
    iterations: kIterations
  },
  {
    name: 'chunked, 3 chunks + trailer',
    input: Buffer.from(`${kHead}Transfer-Encoding: chunked\r\n\r\n5\r\nHello\r\n1;ext=1\r\n \r\n6\r\nWorld\n\r\n0\r\nX-T: 1\r\n\r\n`, 'latin1'),
    bodyBytes: 12,
    iterations: kIterations
  },
  {
    name: 'Content-Length 64 KiB, one chunk',
    input: Buffer.concat([Buffer.from(`${kHead}Content-Length: ${kBig}\r\n\r\n`, 'latin1'), Buffer.alloc(kBig, 0x61)]),
    bodyBytes: kBig,
    iterations: kIterations
  }
]

function run (s: Scenario, parser: ResponseParser, sink: CountingSink, n: number): bigint {
  const input = s.input
  const t0 = process.hrtime.bigint()
  for (let i = 0; i < n; i++) {
    parser.reset(sink, false)
    parser.push(input)
  }
  return process.hrtime.bigint() - t0
}

console.log(`node ${process.version}, ${os.cpus()[0]?.model ?? 'unknown cpu'} x${os.cpus().length}`)
console.log(`${'scenario'.padEnd(36)} ${'ops/s'.padStart(12)} ${'ns/op'.padStart(8)} ${'MB/s in'.padStart(9)}`)
for (const s of scenarios) {
  const parser = new ResponseParser()
  const sink = new CountingSink()
  // Check the result before timing it.
  run(s, parser, sink, 1)
  if (sink.heads !== 1 || sink.ends !== 1 || sink.bodyBytes !== s.bodyBytes || sink.last?.headers.length !== 3) {
    throw new Error(`${s.name}: wrong parse (heads ${sink.heads}, ends ${sink.ends}, body ${sink.bodyBytes})`)
  }
  run(s, parser, sink, Math.min(s.iterations, 50_000))   // warm-up
  let best = -1n
  for (let r = 0; r < kRounds; r++) {
    const ns = run(s, parser, sink, s.iterations)
    if (best < 0n || ns < best) best = ns
  }
  const nsPerOp = Number(best) / s.iterations
  const opsPerSec = 1e9 / nsPerOp
  const mbPerSec = opsPerSec * s.input.length / 1e6
  console.log(`${s.name.padEnd(36)} ${Math.round(opsPerSec).toLocaleString('en-US').padStart(12)} ` +
    `${nsPerOp.toFixed(0).padStart(8)} ${mbPerSec.toFixed(0).padStart(9)}`)
}
