/**
 * An EventSource-style client for tests: the parsing rules of the HTML standard's
 * "event stream interpretation" (lines end in CRLF, LF or CR; `:` comments; `data`,
 * `event`, `id`, `retry` fields; a blank line dispatches; an event with no data is not
 * dispatched; `id` with NUL is ignored), fed by Node's fetch body stream.
 */
export interface SseMessage { type: string; data: string; lastEventId: string }

export class SseParser {
  readonly events: SseMessage[] = []
  lastEventId = ''
  retry: number | null = null
  comments = 0
  #buf = ''
  #data = ''
  #hasData = false
  #type = ''

  push (text: string): void {
    this.#buf += text
    for (;;) {
      const m = /\r\n|\r|\n/.exec(this.#buf)
      if (m === null) return
      // A CR at the very end may be the first half of a CRLF: wait for the next byte.
      if (m[0] === '\r' && m.index === this.#buf.length - 1) return
      const line = this.#buf.slice(0, m.index)
      this.#buf = this.#buf.slice(m.index + m[0].length)
      this.#line(line)
    }
  }

  #line (line: string): void {
    if (line === '') {
      if (this.#hasData) {
        this.events.push({ type: this.#type === '' ? 'message' : this.#type, data: this.#data, lastEventId: this.lastEventId })
      }
      this.#data = ''
      this.#hasData = false
      this.#type = ''
      return
    }
    if (line.startsWith(':')) { this.comments++; return }
    const colon = line.indexOf(':')
    const field = colon < 0 ? line : line.slice(0, colon)
    let value = colon < 0 ? '' : line.slice(colon + 1)
    if (value.startsWith(' ')) value = value.slice(1)
    if (field === 'data') {
      this.#data = this.#hasData ? this.#data + '\n' + value : value
      this.#hasData = true
    } else if (field === 'event') {
      this.#type = value
    } else if (field === 'id') {
      if (!value.includes('\0')) this.lastEventId = value
    } else if (field === 'retry') {
      if (/^\d+$/.test(value)) this.retry = Number(value)
    }
  }
}

export interface SseRead { status: number; headers: Headers; parser: SseParser; ended: boolean }

/**
 * GETs `url` and parses its event stream until `until(parser)` holds (then the request is
 * aborted), the stream ends, or `ms` pass. `ended`: the server ended the response.
 */
export async function readSse (url: string, until: (p: SseParser) => boolean, ms = 10_000, headers: Record<string, string> = {}): Promise<SseRead> {
  const ac = new AbortController()
  const timer = setTimeout(() => { ac.abort() }, ms)
  const parser = new SseParser()
  let ended = false
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: ac.signal })
  try {
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) { ended = true; break }
      parser.push(value)
      if (until(parser)) break
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err
  } finally {
    clearTimeout(timer)
    ac.abort()
  }
  return { status: res.status, headers: res.headers, parser, ended }
}
