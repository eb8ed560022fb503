/**
 * Helpers for the hostile-client suites: send raw bytes on a fresh connection and time what
 * the acceptor does (answers, closes, or leaves it hanging), and a spy that answers
 * whatever reaches the handler so nothing waits for the route timeout.
 */
import { RawClient } from '../helpers/raw-http.js'
import type { Spy } from '../helpers/spy.js'

/** uWS.js closes idle HTTP sockets after ~10 s, checked on a 4 s tick: allow the tick and a loaded machine. */
export const kIdleBoundMs = 18_000

export interface RawOutcome {
  /** First status line's code, or 0 when nothing came back. */
  status: number
  closed: boolean
  /** Time until an answer or a close; kIdleBoundMs + 1 when neither came. */
  ms: number
  data: string
}

/** Writes `bytes` (in pieces, with `gapMs` between them) and waits for a whole status line or a close. */
export async function sendRaw (port: number, bytes: string | Buffer | Array<string | Buffer>, waitMs = kIdleBoundMs, gapMs = 0): Promise<RawOutcome> {
  const c = new RawClient(port)
  const start = Date.now()
  try {
    await c.ready
    for (const piece of Array.isArray(bytes) ? bytes : [bytes]) {
      if (c.closed) break
      c.socket.write(piece)
      if (gapMs > 0) await new Promise((resolve) => setTimeout(resolve, gapMs))
    }
    const r = await c.until((d) => /^HTTP\/1\.[01] \d{3}/.test(d) && d.includes('\r\n\r\n'), waitMs)
    const done = r.closed || r.data.length > 0
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(r.data)
    return { status: m ? Number(m[1]) : 0, closed: r.closed, ms: done ? Date.now() - start : waitMs + 1, data: r.data }
  } finally {
    c.destroy()
  }
}

/** Answers every request that reaches the spy with 200 and a body naming its path; returns a stop function. */
export function autoAnswer (spy: Spy): () => void {
  let next = 0
  const timer = setInterval(() => {
    for (; next < spy.messages.length; next++) {
      const m = spy.messages[next]!
      if (m.disconnect) continue
      const body = `reached ${m.req.path}\n`
      void spy.reply(m.req.sender, [m.req.id], `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
    }
  }, 20)
  return () => clearInterval(timer)
}

/** Paths of the requests (not notices) that reached the spy. */
export function reachedPaths (spy: Spy): string[] {
  return spy.messages.filter((m) => !m.disconnect).map((m) => m.req.path)
}
