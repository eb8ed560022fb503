/**
 * The broker's publishing side: Pushpin-compatible inputs, one fan-out to every acceptor.
 *
 *   publisher ──HTTP POST /publish/──▶ [broker.publishHttp]  ┐
 *   publisher ──ZeroMQ PUSH──────────▶ [PULL broker.publishPull] ├─▶ [PUB broker.publishOut] ──▶ acceptor SUBs
 *                                                            ┘  one encodeItem() frame per item
 *
 * Items are parsed (shared/protocol/pushpin.ts) and re-encoded once here, so acceptors read
 * one compact form. The PUB does not drop silently for a slow acceptor (ZMQ_XPUB_NODROP):
 * an item it cannot queue (an acceptor `broker.hwm` items behind) is dropped here, counted
 * and logged, and the next one is tried afresh. With `broker.publishRate` set, items over
 * that rate on one channel are dropped (counted) before. Request and reply messages never pass here.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import * as zmq from 'zeromq'
import { jwtVerify } from 'jose'
import type { Config } from '../shared/config/types.js'
import { isLoopbackHost } from '../shared/config/validate.js'
import { ProtocolError } from '../shared/errors.js'
import type { Logger } from '../shared/log.js'
import { encodeItem, type PublishItem } from '../shared/protocol/publish.js'
import { parseHttpBody, parseZmqMessage } from '../shared/protocol/pushpin.js'
import { ChannelRate } from './channel-rate.js'

/** Pushpin's push_in_http_max_body_size. */
export const kMaxBody = 1_000_000
/** Slow or stalled publishers are cut (headers and whole request). */
const kRequestTimeoutMs = 10_000

/** published: sent to acceptors; dropped: the PUB could not queue them; rejected: bad input; limited: over broker.publishRate. */
export interface PublishStats { published: number, dropped: number, rejected: number, limited: number }

interface Answer { status: number, reason: string, body: string, headers?: Record<string, string> }

export class PublishService {
  readonly #config: Readonly<Config>
  readonly #log: Logger
  readonly #key: Uint8Array | null
  #out: zmq.Publisher | null = null
  #pull: zmq.Pull | null = null
  #http: Server | null = null
  readonly stats: PublishStats = { published: 0, dropped: 0, rejected: 0, limited: 0 }
  readonly #rate: ChannelRate

  constructor (config: Readonly<Config>, log: Logger) {
    this.#config = config
    this.#log = log
    this.#rate = new ChannelRate(config.broker.publishRate)
    const key = config.broker.publishKey
    // Pushpin's convention for binary keys in config: "base64:…".
    this.#key = key === null ? null : key.startsWith('base64:') ? Buffer.from(key.slice(7), 'base64') : Buffer.from(key)
  }

  async start (): Promise<void> {
    const { publishOut, publishPull, publishHttp, hwm } = this.#config.broker
    const out = this.#out = new zmq.Publisher({ linger: 0, sendHighWaterMark: hwm, noDrop: true })
    // send() then never waits: a full pipe rejects at once with EAGAIN (dropped, counted).
    out.sendTimeout = 0
    await out.bind(publishOut)
    if (publishPull !== '') {
      this.#pull = new zmq.Pull({ linger: 0, receiveHighWaterMark: hwm })
      await this.#pull.bind(publishPull)
      void this.#receive(this.#pull)
    }
    if (publishHttp !== '') await this.#listen(publishHttp)
    this.#log.info('publish endpoints bound', { publishOut, publishPull, publishHttp, jwt: this.#key !== null })
  }

  async stop (): Promise<void> {
    this.#pull?.close()
    this.#pull = null
    const http = this.#http
    this.#http = null
    if (http !== null) {
      http.closeAllConnections()
      await new Promise((resolve) => http.close(resolve))
    }
    this.#out?.close()
    this.#out = null
    this.#log.info('publish stats', { ...this.stats })
  }

  /** Sends each item to every acceptor; an item the PUB cannot queue is dropped and counted. */
  #fanOut (items: readonly PublishItem[]): void {
    const out = this.#out
    if (out === null) return
    for (const item of items) {
      if (!this.#rate.allow(item.channel)) {
        this.stats.limited++
        this.#log.warn('dropped a published item over broker.publishRate', { channel: item.channel, limited: this.stats.limited })
        continue
      }
      out.send(encodeItem(item)).then(() => { this.stats.published++ }, (err: unknown) => {
        this.stats.dropped++
        this.#log.warn('dropped a published item', {
          channel: item.channel, reason: (err as { code?: string }).code === 'EAGAIN' ? 'an acceptor is broker.hwm items behind' : String(err), dropped: this.stats.dropped
        })
      })
    }
  }

  /** A plain receive() loop, not for-await: see shared/zmq-io.ts. */
  async #receive (pull: zmq.Pull): Promise<void> {
    try {
      while (!pull.closed) {
        const frames = await pull.receive()
        let item: PublishItem
        try {
          item = parseZmqMessage(frames)
        } catch (err) {
          this.stats.rejected++
          this.#log.warn('rejected a message on broker.publishPull', { reason: (err as Error).message, code: (err as ProtocolError).code })
          continue
        }
        this.#fanOut([item])
      }
    } catch (err) {
      if (this.#pull === pull) this.#log.error('publish pull loop failed', { err })
    }
  }

  #listen (address: string): Promise<void> {
    const colon = address.lastIndexOf(':')
    let host = address.slice(0, colon)
    if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
    const port = Number(address.slice(colon + 1))
    const http = this.#http = createServer({ requestTimeout: kRequestTimeoutMs, headersTimeout: kRequestTimeoutMs, maxHeaderSize: 16_384 }, (req, res) => {
      this.#serve(req, res).catch((err: unknown) => {
        this.#log.error('publish request failed', { err })
        if (!res.headersSent) send(res, { status: 500, reason: 'Internal Server Error', body: 'Internal error.\n' })
      })
    })
    if (this.#key === null && !isLoopbackHost(host)) {
      // validate.ts refuses this config; a second guard costs nothing.
      throw new Error(`broker.publishHttp ${address} is not a loopback address and broker.publishKey is not set`)
    }
    return new Promise((resolve, reject) => {
      http.once('error', reject)
      http.listen({ host, port, exclusive: true }, () => { http.off('error', reject); resolve() })
    })
  }

  async #serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?', 1)[0]!
    if (this.#key !== null) {
      const denied = await this.#authorize(req.headers.authorization)
      if (denied !== null) return send(res, denied, true)
    }
    const json = wantsJson(req.headers.accept)
    if (json === null) return send(res, { status: 406, reason: 'Not Acceptable', body: 'Not Acceptable. Supported formats are text/plain and application/json.\n' }, true)
    if (path === '/publish' || path === '/publish/') {
      if (req.method !== 'POST') return send(res, { status: 405, reason: 'Method Not Allowed', body: `Method not allowed: ${req.method}.\n`, headers: { Allow: 'POST' } }, true)
      const body = await readBody(req, kMaxBody)
      if (body === null) return send(res, { status: 413, reason: 'Payload Too Large', body: `Request body larger than ${kMaxBody} bytes.\n` }, true)
      let items: PublishItem[]
      try {
        items = parseHttpBody(body)
      } catch (err) {
        if (!(err instanceof ProtocolError)) throw err
        this.stats.rejected++
        // Pushpin's answers: all items are valid, or none is published.
        return send(res, { status: 400, reason: 'Bad Request', body: err.code === 'SWB_ERR_PUSHPIN_JSON' ? 'Body is not valid JSON.\n' : `Invalid format: ${err.message}\n` })
      }
      // Fanned out first: the answer's write is not on the way to the subscribers.
      this.#fanOut(items)
      send(res, json ? { status: 200, reason: 'OK', body: '{"message":"Published"}\n', headers: { 'Content-Type': 'application/json' } } : { status: 200, reason: 'OK', body: 'Published\n' })
      return
    }
    if (path === '/publish/stats' && req.method === 'GET') {
      return send(res, { status: 200, reason: 'OK', body: JSON.stringify(this.stats) + '\n', headers: { 'Content-Type': 'application/json' } })
    }
    send(res, { status: 404, reason: 'Not Found', body: 'Not Found\n' }, true)
  }

  /** GRIP's publisher auth: `Authorization: Bearer <JWT>`, HS256 with the shared key, `exp` required and in the future (Pushpin's token rule). */
  async #authorize (header: string | undefined): Promise<Answer | null> {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '')
    const challenge = { 'WWW-Authenticate': 'Bearer' }
    if (m === null) return { status: 401, reason: 'Unauthorized', body: 'Authorization required: Bearer JWT signed with broker.publishKey.\n', headers: challenge }
    try {
      await jwtVerify(m[1]!, this.#key!, { algorithms: ['HS256'], requiredClaims: ['exp'] })
      return null
    } catch (err) {
      return { status: 401, reason: 'Unauthorized', body: `Invalid token: ${(err as Error).message}.\n`, headers: { 'WWW-Authenticate': 'Bearer error="invalid_token"' } }
    }
  }
}

/** Pushpin's Accept handling: text/plain unless JSON is asked for; null = neither acceptable. */
function wantsJson (accept: string | undefined): boolean | null {
  if (accept === undefined || accept.trim() === '') return false
  let json: boolean | null = null
  for (const part of accept.split(',')) {
    const type = part.split(';', 1)[0]!.trim().toLowerCase()
    if (type === 'text/plain' || type === 'text/*' || type === '*/*' || type === '*') json = false
    else if (type === 'application/json' || type === 'application/*') json = true
  }
  return json
}

/** The body, or null once it passes `max` bytes (the rest is not read). */
function readBody (req: IncomingMessage, max: number): Promise<Buffer | null> {
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > max) return Promise.resolve(null)
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > max) {
        req.removeAllListeners('data')
        req.pause()
        resolve(null)
      } else {
        chunks.push(chunk)
      }
    })
    req.on('end', () => { resolve(Buffer.concat(chunks, size)) })
    req.on('error', reject)
  })
}

/** `close`: the request body may be unread; end the connection after the answer. */
function send (res: ServerResponse, a: Answer, close = false): void {
  const body = Buffer.from(a.body)
  res.writeHead(a.status, a.reason, {
    'Content-Type': 'text/plain',
    ...a.headers,
    'Content-Length': body.length,
    ...(close ? { Connection: 'close' } : {})
  })
  res.end(body)
}
