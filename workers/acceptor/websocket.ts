/**
 * WebSocket exchanges, Mongrel2 1.12's way (MONGREL2.md §2.5), on uWS.js's WebSocket
 * support. The exchange machine's table (exchange-fsm.ts) says when each action runs:
 *
 *   upgrade request (Mongrel2's rules) ─▶ handshake: WEBSOCKET_HANDSHAKE, body = accept key
 *   handler's 101 ─▶ upgrade: res.upgrade() with its headers      (any other reply: plain HTTP)
 *   client message / ping / pong ─▶ wsForward: METHOD WEBSOCKET, FLAGS 0x81…, unmasked payload
 *   handler's raw frames ─▶ wsWrite: parsed, sent with ws.send / sendFragment / ping / end
 *   client close, drop, idle ─▶ wsEnd: 0x88 message (a close frame), disconnect notice
 *   `X` ctl cancel ─▶ wsCancel: dropped, no notice; ctl keep-alive ─▶ wsPing: nothing to do
 *
 * uWS.js reassembles fragments and answers pings itself, so a handler's pong frames are
 * dropped. Per open socket the acceptor keeps its Exchange and one WsState holding the
 * frame messages' bytes up to the body (the handshake's headers, encoded once) with a
 * 4-byte FLAGS slot overwritten per message.
 */
import type { HeaderProtocol } from '../../shared/config/types.js'
import { encodeRequest, type Headers } from '../../shared/protocol/request.js'
import { acceptKey, closePayload, flagsText, Opcode, readFrames } from '../../shared/protocol/ws-frame.js'
import { ProtocolError } from '../../shared/errors.js'
import type { HttpRequest, WebSocket } from '../../shared/uws.js'
import type { WebSocketBehavior } from 'uWebSockets.js'
import type { Acceptor } from './acceptor.js'
import type { Exchange } from './exchange.js'
import { Ev, St, type ExchangeActions, type HttpActions, type WsActions } from './exchange-fsm.js'
import { sendRequest, unavailableCause } from './actions.js'

type UwsContext = Parameters<NonNullable<WebSocketBehavior<unknown>['upgrade']>>[2]

/** What uWS keeps per socket (it copies this object's properties at upgrade). */
export interface WsUserData { ex: Exchange, id: number }
type Ws = WebSocket<WsUserData>

const kEmpty = Buffer.alloc(0)
/** Headers of the handler's 101 that uWS writes itself, or that cannot apply. */
const kOwnHeaders = new Set(['upgrade', 'connection', 'sec-websocket-accept', 'sec-websocket-extensions', 'date', 'content-length', 'transfer-encoding'])
const kFlagsA = '0x81'
const kFlagsB = '0x82'

export class WsState {
  /** The client's Sec-WebSocket-Key and uWS's context: needed until the upgrade. */
  key = ''
  context: UwsContext | null = null
  ws: Ws | null = null
  /**
   * `SENDER ID PATH HEADERS` of every frame message (METHOD WEBSOCKET), FLAGS at `flagsAt`:
   * bytes as a latin1 string, in the JS heap (a Buffer of its own costs ~0.5 KiB more per socket).
   */
  template = ''
  flagsAt = 0
  /** Frames that came after the handler's 101 head, sent once the socket is open. */
  early: Buffer | null = null
  /** A handler frame cut at the end of a reply. */
  partial: Buffer | null = null
  /** Inside a fragmented message from the handler. */
  fragmented = false
  /** An action is using the socket: uWS's close callback (which end() runs at once) must not re-enter the machine. */
  busy = false
  /** uWS closed the socket: the client's close code (1006: no close frame) and reason. */
  closed = false
  closeCode = 0
  closeReason: Buffer = kEmpty
  /** The handler's close frame (0 = none yet; 1005 = without a code), or the code wsFail closes with. */
  endCode = 0
  endReason: Buffer = kEmpty
  /** Channels an `X` subscribe named before the socket opened (a handler subscribing in its handshake answer). */
  pendingChannels: string[] | null = null
}

/**
 * Called for requests uWS routes to the WebSocket behaviour (a 24-byte Sec-WebSocket-Key),
 * after buildHeaders: Mongrel2's `Request_is_websocket` decides whether this is a
 * WebSocket request; if not, it goes on as plain HTTP.
 */
export function readUpgrade (ex: Exchange, req: HttpRequest, context: UwsContext): void {
  const h = ex.headers
  const upgrade = h.upgrade
  const connection = h.connection
  if (h['sec-websocket-version'] === undefined || h.host === undefined || typeof upgrade !== 'string' ||
      upgrade.toLowerCase() !== 'websocket' || typeof connection !== 'string' || !connection.toLowerCase().includes('upgrade')) {
    return
  }
  const wsx = new WsState()
  wsx.key = req.getHeader('sec-websocket-key')
  wsx.context = context
  ex.wsx = wsx
}

/** The frame messages' headers: the handshake's, FLAGS before METHOD, METHOD WEBSOCKET (Mongrel2 repeats them on every frame). */
function frameHeaders (headers: Headers, flags: string): Headers {
  const out: Headers = {}
  for (const key in headers) {
    if (key === 'METHOD') {
      out.FLAGS = flags
      out.METHOD = 'WEBSOCKET'
    } else {
      out[key] = headers[key]!
    }
  }
  return out
}

/** Encodes the frame message once with two FLAGS values: where they differ is the slot. */
function buildTemplate (wsx: WsState, sender: Buffer, ex: Exchange, protocol: HeaderProtocol): void {
  const a = encodeRequest(sender, ex.id, ex.path, frameHeaders(ex.headers, kFlagsA), kEmpty, protocol)
  const b = encodeRequest(sender, ex.id, ex.path, frameHeaders(ex.headers, kFlagsB), kEmpty, protocol)
  let i = 0
  while (a[i] === b[i]) i++
  const size = a.length - 3 // without the empty body `0:,`
  wsx.template = a.toString('latin1', 0, size)
  wsx.flagsAt = i - 3
}

/** A frame message: the template, this frame's FLAGS, `LEN:payload,`. */
function frameMessage (wsx: WsState, byte0: number, payload: Uint8Array): Buffer {
  const t = wsx.template
  const len = payload.length
  const lenText = String(len)
  const out = Buffer.allocUnsafe(t.length + lenText.length + 2 + len)
  out.write(t, 0, 'latin1')
  out.write(flagsText(byte0), wsx.flagsAt, 'latin1')
  let p = t.length + out.write(lenText, t.length, 'latin1')
  out[p++] = 0x3a // ':'
  out.set(payload, p)
  out[p + len] = 0x2c // ','
  return out
}

// The client message being forwarded (set by uWS's callback for the run it starts).
let gInFlags = 0
let gInPayload: Uint8Array = kEmpty

// The frame sink reads its socket from here: no closure per reply.
let gWsx: WsState | null = null

function sendFrame (fin: boolean, opcode: number, payload: Buffer): boolean {
  const wsx = gWsx!
  const ws = wsx.ws
  if (ws === null) return false // uWS closed it during this reply
  switch (opcode) {
    case Opcode.TEXT:
    case Opcode.BINARY:
      if (wsx.fragmented) throw new ProtocolError('SWB_ERR_WS_SEQUENCE', 'websocket frame: a new message inside a fragmented one')
      if (fin) ws.send(payload, opcode === Opcode.BINARY)
      else {
        ws.sendFirstFragment(payload, opcode === Opcode.BINARY)
        wsx.fragmented = true
      }
      break
    case Opcode.CONTINUATION:
      if (!wsx.fragmented) throw new ProtocolError('SWB_ERR_WS_SEQUENCE', 'websocket frame: a continuation outside a fragmented message')
      if (fin) {
        ws.sendLastFragment(payload)
        wsx.fragmented = false
      } else {
        ws.sendFragment(payload)
      }
      break
    case Opcode.CLOSE:
      if (payload.length === 1) throw new ProtocolError('SWB_ERR_WS_CLOSE', 'websocket frame: a close payload of 1 byte')
      wsx.endCode = payload.length === 0 ? 1005 : payload.readUInt16BE(0)
      wsx.endReason = payload.length > 2 ? Buffer.from(payload.subarray(2)) : kEmpty
      return false
    case Opcode.PING:
      ws.ping(payload)
      break
    default: // PONG: uWS.js answered the client's ping already
  }
  return true
}

/** The WebSocket actions, plus `error` wrapped so a broken open socket is closed too. */
export function createWsActions (acceptor: Acceptor, http: HttpActions<Exchange>): WsActions<Exchange> & Pick<ExchangeActions<Exchange>, 'error'> {
  const { link, log, timeouts, stats } = acceptor
  const maxMessage = acceptor.config.acceptor.wsMaxMessage

  const notify = (ex: Exchange): void => {
    if (ex.sent && ex.link !== null && ex.sender !== null) acceptor.notifyDisconnect(ex.link, ex.id, ex.sender.wire)
  }
  /** Closes the socket from our side (uWS runs the close callback inside end()/close()). */
  const shut = (wsx: WsState, code: number, reason: Buffer | string): void => {
    const ws = wsx.ws
    if (ws === null) return
    wsx.busy = true
    if (code === 0) ws.close()
    else if (code === 1005) ws.end()
    else ws.end(code, reason)
    wsx.busy = false
    wsx.ws = null
  }
  /** Sends the handler's frames in `buf` (a reply, or what followed the 101). */
  const write = (ex: Exchange, wsx: WsState, body: Buffer): number => {
    let buf = body
    if (wsx.partial !== null) {
      buf = Buffer.concat([wsx.partial, body])
      wsx.partial = null
    }
    let used: number
    wsx.busy = true
    gWsx = wsx
    try {
      used = readFrames(buf, maxMessage, sendFrame)
    } catch (err) {
      ex.failure = err as Error
      return Ev.FAILED
    } finally {
      gWsx = null
      wsx.busy = false
    }
    if (wsx.closed) return Ev.REMOTE_CLOSE
    if (wsx.endCode !== 0) return Ev.CLOSE
    if (used < buf.length) wsx.partial = Buffer.from(buf.subarray(used))
    return 0
  }

  return {
    handshake (ex) {
      const svc = ex.link
      const wsx = ex.wsx!
      if (svc === null || !link.available(svc)) {
        ex.cause = unavailableCause(link)
        return Ev.UNAVAILABLE
      }
      ex.headers.METHOD = 'WEBSOCKET_HANDSHAKE'
      const sender = acceptor.senders.current
      const msg = encodeRequest(sender.wire, ex.id, ex.path, ex.headers, Buffer.from(acceptKey(wsx.key), 'latin1'), svc.protocol)
      buildTemplate(wsx, sender.wire, ex, svc.protocol)
      if (!sendRequest(acceptor, ex, sender, msg)) return Ev.UNAVAILABLE
      timeouts.arm(ex, ex.route!.timeoutMs)
      return 0
    },

    upgrade (ex) {
      const res = ex.res
      const wsx = ex.wsx!
      const head = ex.head!
      if (res === null) return Ev.FAILED
      let protocol = ''
      res.writeStatus('101 Switching Protocols')
      for (const [name, value] of head.headers) {
        const lower = name.toLowerCase()
        if (lower === 'sec-websocket-protocol') protocol = value
        else if (!kOwnHeaders.has(lower)) res.writeHeader(name, value)
      }
      ex.res = null
      ex.written = true
      ex.head = null
      ex.dropParser()
      wsx.busy = true
      // uWS runs `open` (which sets wsx.ws) inside upgrade().
      res.upgrade<WsUserData>({ ex, id: ex.id }, wsx.key, protocol, '', wsx.context!)
      wsx.busy = false
      wsx.key = ''
      wsx.context = null
      if (wsx.ws === null) return wsx.closed ? Ev.REMOTE_CLOSE : Ev.FAILED
      if (wsx.pendingChannels !== null) {
        for (const name of wsx.pendingChannels) acceptor.channels.socket(ex, name, true)
        wsx.pendingChannels = null
      }
      const early = wsx.early
      if (early === null) return 0
      wsx.early = null
      return write(ex, wsx, early)
    },

    wsForward (ex) {
      const wsx = ex.wsx!
      if (ex.link!.send(frameMessage(wsx, gInFlags, gInPayload))) return 0
      wsx.endCode = 1013 // Try Again Later: the link to the broker is full
      ex.failure = new Error('the send queue to the broker is full')
      return Ev.FAILED
    },

    wsWrite (ex) {
      const body = ex.reply ?? kEmpty
      ex.reply = null
      if (body.length === 0) return Ev.CLOSE
      return write(ex, ex.wsx!, body)
    },

    wsEnd (ex) {
      const wsx = ex.wsx!
      const code = wsx.closeCode
      // A close frame from the client reaches the handler as Mongrel2 forwards it (0x88).
      if (code !== 1006 && code !== 0 && ex.link !== null) {
        const payload = code === 1005 ? kEmpty : Buffer.concat([closePayload(code), wsx.closeReason])
        ex.link.send(frameMessage(wsx, 0x80 | Opcode.CLOSE, payload))
      }
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    wsClose (ex) {
      const wsx = ex.wsx!
      shut(wsx, wsx.endCode === 0 ? 1005 : wsx.endCode, wsx.endReason)
      acceptor.release(ex)
      return 0
    },

    wsFail (ex) {
      const wsx = ex.wsx!
      stats.badResponses++
      log.warn('websocket closed: bad frames from the handler or link full', {
        service: ex.link?.name, id: ex.id, code: (ex.failure as { code?: string } | null)?.code, reason: ex.failure?.message
      })
      shut(wsx, wsx.endCode === 1013 ? 1013 : 1011, wsx.endCode === 1013 ? 'try again later' : 'bad frames from the handler')
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    wsTimeout (ex) {
      shut(ex.wsx!, 1001, 'going away')
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    wsPing () {
      return 0
    },

    wsCancel (ex) {
      // As Mongrel2's ctl cancel: the connection is dropped, the handler gets no notice.
      shut(ex.wsx!, 0, '')
      acceptor.release(ex)
      return 0
    },

    error (ex, ev, fault) {
      if (ex.wsx !== null && ex.wsx.ws !== null) shut(ex.wsx, 0, '')
      return http.error(ex, ev, fault)
    }
  }
}

function target (ws: Ws): Exchange | null {
  const { ex, id } = ws.getUserData()
  return ex.id === id && ex.wsx !== null && ex.state === St.Open ? ex : null
}

/** uWS.js's WebSocket behaviour: the acceptor's upgrade handler plus socket callbacks feeding the machine. */
export function wsBehavior (acceptor: Acceptor, upgrade: NonNullable<WebSocketBehavior<WsUserData>['upgrade']>): WebSocketBehavior<WsUserData> {
  const cfg = acceptor.config.acceptor
  const forward = (ws: Ws, byte0: number, data: ArrayBuffer): void => {
    const ex = target(ws)
    if (ex === null) return
    gInFlags = byte0
    gInPayload = new Uint8Array(data)
    acceptor.run(ex, Ev.WS_MESSAGE)
    gInPayload = kEmpty
  }
  return {
    maxPayloadLength: cfg.wsMaxMessage,
    idleTimeout: cfg.wsIdleSeconds,
    sendPingsAutomatically: cfg.wsPing,
    maxBackpressure: acceptor.maxQueuedBytes,
    // A client too slow for maxQueuedBytes is closed (then wsEnd: disconnect notice).
    closeOnBackpressureLimit: true as unknown as number,
    upgrade,
    open: (ws) => {
      const { ex, id } = ws.getUserData()
      if (ex.id !== id || ex.wsx === null) { ws.close(); return }
      ex.wsx.ws = ws
    },
    message: (ws, data, isBinary) => { forward(ws, isBinary ? 0x82 : 0x81, data) },
    ping: (ws, data) => { forward(ws, 0x89, data) },
    pong: (ws, data) => { forward(ws, 0x8a, data) },
    close: (ws, code, message) => {
      const { ex, id } = ws.getUserData()
      const wsx = ex.wsx
      if (ex.id !== id || wsx === null) return
      wsx.ws = null
      wsx.closed = true
      wsx.closeCode = code
      wsx.closeReason = message.byteLength > 0 ? Buffer.from(new Uint8Array(message)) : kEmpty
      if (!wsx.busy && ex.state === St.Open) acceptor.run(ex, Ev.REMOTE_CLOSE)
    }
  }
}

/** Shutdown: every open WebSocket is closed with 1001 Going Away (TIMEOUT in Open). */
export function closeWebSockets (acceptor: Acceptor): void {
  for (const ex of [...acceptor.exchanges.values()]) {
    const ws = ex.wsx?.ws
    if (ws != null && ex.state === St.Open) ws.cork(ex.corkedTimeout)
  }
}
