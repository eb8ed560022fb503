/**
 * Load with self-checking answers for the misdelivery and fault suites: clients send
 * `/echo` requests carrying a unique token in the query, a header and the body, and check
 * that the demo's echo of each names that token and nothing else. A 200 for another
 * request is a wrong reply; any other status is counted by code.
 */
import { randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'

export interface LoadTally {
  ok: number
  wrong: number
  /** Wrong replies, for the failure message (first 10). */
  wrongSamples: string[]
  statuses: Record<string, number>
  /** Fetch failures (connection reset or refused, timeout). */
  errors: number
  /** [time, status] of every answer, for recovery-time figures. */
  timeline: Array<[number, number]>
}

export function newTally (): LoadTally {
  return { ok: 0, wrong: 0, wrongSamples: [], statuses: {}, errors: 0, timeline: [] }
}

/** One checked /echo exchange. */
export async function echoOnce (url: string, tally: LoadTally, timeoutMs = 10_000): Promise<void> {
  const token = randomUUID()
  let status = 0
  try {
    const res = await fetch(`${url}/echo?t=${token}`, { method: 'POST', body: token, headers: { 'x-token': token }, signal: AbortSignal.timeout(timeoutMs) })
    status = res.status
    const text = await res.text()
    if (status === 200) {
      const got = JSON.parse(text) as { query?: string, body?: string, headers?: Record<string, unknown> }
      if (got.query === `t=${token}` && got.body === token && got.headers?.['x-token'] === token) tally.ok++
      else {
        tally.wrong++
        if (tally.wrongSamples.length < 10) tally.wrongSamples.push(`sent ${token}, got ${text.slice(0, 300)}`)
      }
    } else {
      tally.statuses[status] = (tally.statuses[status] ?? 0) + 1
    }
  } catch {
    tally.errors++
  }
  tally.timeline.push([Date.now(), status])
}

/** `clients` concurrent loops of echoOnce until `stop()` returns true. */
export async function runLoad (url: string, clients: number, stop: () => boolean, tally: LoadTally, timeoutMs?: number): Promise<void> {
  await Promise.all(Array.from({ length: clients }, async () => {
    while (!stop()) await echoOnce(url, tally, timeoutMs)
  }))
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** A route table like the default one, with a shorter reply timeout so lost requests end fast. */
export function shortTimeoutHosts (timeoutMs: number): Array<Record<string, unknown>> {
  return [{ name: 'localhost', matching: '', routes: { '/': { service: 'demo', timeoutMs } } }]
}

/** Resident memory of a process, in MiB (Linux /proc). */
export function rssMb (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : 0
}
