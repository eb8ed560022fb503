/**
 * The exchange machine's actions: the acceptor's real I/O. Each returns the next event
 * (or 0 to wait for I/O), as Mongrel2's connection.c actions do; the table in
 * exchange-fsm.ts says which transition runs which action.
 *
 * Answers Switchboard makes itself: 400 bad request, 404 no route, 408 body stalled, 413 body over the
 * limit, 502 bad handler response, 503 no handler / broker gone / queue full /
 * maintenance / shutting down / handler or broker lost (each says which in its body and
 * log line), 504 no reply in time, 500 internal error.
 */
import { ResponseError } from '../../shared/errors.js'
import { encodeRequest } from '../../shared/protocol/request.js'
import type { Acceptor } from './acceptor.js'
import type { BrokerLink } from './broker-link.js'
import { overflowError, type Exchange } from './exchange.js'
import { Fault } from '../../shared/fsm/machine.js'
import { Ev, St, eventName, type HttpActions } from './exchange-fsm.js'
import { kHoldResponse, kHoldStream } from './grip-headers.js'
import { addRouteHeaders } from './request-head.js'
import type { Sender } from './senders.js'

const kEmpty = Buffer.alloc(0)
const kFaultNames: Record<number, string> = Object.fromEntries(Object.entries(Fault).map(([name, n]) => [n, name]))

/** Why a 503: `Exchange.cause`. 0 is the maintenance filter's (it only rewrites the event). */
export const Cause = {
  Maintenance: 0,
  NoHandler: 1,
  BrokerSilent: 2,
  QueueFull: 3,
  ShuttingDown: 4,
  HandlerLost: 5,
  BrokerRestarted: 6
} as const

/** Per cause: the name in log lines and the 503 body. */
export const kCauses: ReadonlyArray<readonly [name: string, body: string]> = [
  ['maintenance', 'down for maintenance\n'],
  ['no handler', 'no handler connected for this service\n'],
  ['broker silent', 'the broker has not answered for more than a second\n'],
  ['queue full', 'too many requests waiting for the broker\n'],
  ['shutting down', 'shutting down\n'],
  ['handler lost', 'a handler of this service went away; the request may not have been handled\n'],
  ['broker restarted', 'the broker restarted; the request may not have been handled\n']
]

/** Seconds a client is asked to wait before retrying a request cut by shutdown. */
export const kRetryAfter = '1'

function answer (ex: Exchange, status: string, body: string, close: boolean, retryAfter?: string): void {
  const res = ex.res
  if (res === null) return
  ex.res = null
  ex.written = true
  res.writeStatus(status).writeHeader('Content-Type', 'text/plain; charset=utf-8')
  if (retryAfter !== undefined) res.writeHeader('Retry-After', retryAfter)
  res.end(body, close)
}

/**
 * Ends a response that has started without answering it again: a chunked or until-close
 * body gets its last chunk (uWS chunk-encodes what it writes), a Content-Length body that
 * cannot be completed is cut.
 */
function endStarted (ex: Exchange): void {
  const res = ex.res
  if (res === null) return
  const framing = ex.head?.framing
  if (framing !== 'chunked' && framing !== 'close') {
    cut(ex)
    return
  }
  ex.res = null
  ex.complete = true
  res.end()
}

/** Holds an answer that closes the connection until the turn ends (Closing, see exchange-fsm.ts). */
function answerLater (acceptor: Acceptor, ex: Exchange, status: string, body: string): number {
  ex.closingStatus = status
  ex.closingBody = body
  acceptor.closeLater(ex)
  return 0
}

/** Cuts the client's connection (uWS fires no onAborted for it once `res` is cleared). */
function cut (ex: Exchange): void {
  const res = ex.res
  if (res === null) return
  ex.res = null
  res.close()
}

/** Why a route's service cannot take a request now: the broker is silent, or it counts no handler. */
export function unavailableCause (link: BrokerLink): number {
  return link.silent() ? Cause.BrokerSilent : Cause.NoHandler
}

/**
 * Hands an exchange's request message to its service under `sender` and registers the
 * exchange for replies; false (cause: queue full) when the link refuses it. A held
 * exchange keeps only what it needs to answer: not the request.
 */
export function sendRequest (acceptor: Acceptor, ex: Exchange, sender: Sender, msg: Buffer): boolean {
  ex.dropRequest()
  if (!ex.link!.send(msg)) {
    ex.cause = Cause.QueueFull
    return false
  }
  ex.sent = true
  ex.sender = sender
  sender.live++
  acceptor.exchanges.set(ex.id, ex)
  return true
}

export function createActions (acceptor: Acceptor): HttpActions<Exchange> {
  const { router, link, log, timeouts, stats, streams } = acceptor
  const tooLargeBody = `request body over the limit of ${acceptor.bodyLimit} bytes\n`
  const stalledBody = `no request body byte for ${acceptor.config.acceptor.bodyTimeoutMs} ms\n`

  const notify = (ex: Exchange): void => {
    if (ex.sent && ex.link !== null && ex.sender !== null) acceptor.notifyDisconnect(ex.link, ex.id, ex.sender.wire)
  }

  return {
    route (ex) {
      if (ex.expected === -2) return Ev.BAD_REQUEST
      const route = router.match(ex.host, ex.path)
      if (route === null) return Ev.NOT_FOUND
      ex.route = route
      ex.link = link.services.get(route.service) ?? null
      if (ex.expected > acceptor.bodyLimit) return Ev.TOO_LARGE
      addRouteHeaders(ex, route.pattern)
      if (ex.wsx === null) return Ev.HANDLER
      if (route.websocket) return Ev.HANDSHAKE
      ex.wsx = null // WebSocket off on this route: a plain GET
      return Ev.HANDLER
    },

    readBody (ex) {
      if (ex.link === null || !link.available(ex.link)) {
        ex.cause = unavailableCause(link)
        return Ev.UNAVAILABLE
      }
      if (!ex.hasBody) return Ev.REQ_RECV
      if (ex.expected > 0) ex.body = Buffer.allocUnsafe(ex.expected)
      ex.res!.onData(ex.onData)
      acceptor.bodies.watch(ex)
      return 0
    },

    toHandler (ex) {
      const svc = ex.link!
      // uWS frames the body by Content-Length: isLast comes with exactly `expected` bytes.
      const body = ex.body === null ? kEmpty : ex.body.subarray(0, ex.bodyLength)
      const sender = acceptor.senders.current
      const msg = encodeRequest(sender.wire, ex.id, ex.path, ex.headers, body, svc.protocol)
      ex.body = null
      return sendRequest(acceptor, ex, sender, msg) ? Ev.REQ_SENT : Ev.UNAVAILABLE
    },

    wait (ex) {
      timeouts.arm(ex, ex.route!.timeoutMs)
      return 0
    },

    writeReply (ex) {
      const body = ex.reply ?? kEmpty
      ex.reply = null
      if (body.length === 0) return Ev.CLOSE
      if (ex.state === St.Holding && ex.grip !== null && ex.grip.mode === kHoldResponse) {
        log.warn('reply to an exchange held for a publish; ignored', { id: ex.id, bytes: body.length })
        return 0
      }
      if (ex.parser.done) {
        if (ex.grip === null || ex.grip.mode !== kHoldStream) {
          log.warn('reply after the response ended; ignored', { id: ex.id, bytes: body.length })
          return 0
        }
        // A stream hold's handler writes on after a Content-Length first body, Mongrel2-style:
        // its bytes are stream content.
        ex.onBody(body)
      } else {
        try {
          let offset = 0
          for (;;) {
            const used = ex.parser.push(offset === 0 ? body : body.subarray(offset))
            if (!ex.parser.done) break
            offset += used
            const status = ex.head!.status
            if (status >= 200) {
              if (offset < body.length) log.warn('bytes after the end of a response; ignored', { id: ex.id, bytes: body.length - offset })
              break
            }
            if (status === 101) {
              if (ex.wsx === null) throw new ResponseError('SWB_ERR_RESPONSE_UPGRADE', '101 Switching Protocols on an HTTP route')
              if (offset < body.length) ex.wsx.early = Buffer.from(body.subarray(offset)) // frames sent with the 101
              return Ev.UPGRADE
            }
            // An interim response (100 Continue, 103): uWS cannot relay it; skip to the final one.
            ex.head = null
            ex.parser.reset(ex, ex.isHead)
            if (offset >= body.length) break
          }
        } catch (err) {
          ex.failure = err as Error
          return Ev.FAILED
        }
      }
      if (ex.overflow) {
        ex.failure = overflowError(acceptor.maxQueuedBytes)
        return Ev.FAILED
      }
      // Grip-Hold: a stream holds once its head is out, a response once it is complete.
      if (ex.grip !== null) {
        if (ex.state === St.Holding) {
          ex.lastWrite = Date.now() // the handler wrote: Grip-Keep-Alive counts idleness from here
          ex.replyWritten(body.length)
          return 0
        }
        if (ex.grip.mode !== kHoldStream) {
          if (!ex.parser.done) return 0
          // Held whole: the hold writes its response itself, never through the parser.
          ex.dropParser()
          return Ev.HOLD
        }
        // A held stream gives its parser back between messages, as any stream does.
        ex.replyWritten(body.length)
        return Ev.HOLD
      }
      if (ex.complete) return Ev.RESP_SENT
      // A started response is a stream: its idle clock replaces the reply timeout.
      if (ex.written) streams.touch(ex)
      ex.replyWritten(body.length)
      return 0
    },

    ping (ex) {
      if (ex.grip !== null) return 0 // a hold's clocks are GRIP's
      if (ex.written) streams.touch(ex)
      else timeouts.arm(ex, ex.route!.timeoutMs)
      return 0
    },

    cancel (ex) {
      // Mongrel2 closes at once (Register_disconnect) and sends no notice for a cancel.
      ex.pending = null
      ex.closeAfterDrain = false
      cut(ex)
      acceptor.release(ex)
      return 0
    },

    drain (ex) {
      const done = ex.drain()
      return done ? Ev.RESP_SENT : 0
    },

    finish (ex) {
      acceptor.release(ex)
      return 0
    },

    timeout (ex) {
      if (!ex.written) answer(ex, '504 Gateway Timeout', 'no reply from the handler in time\n', false)
      else cut(ex)
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    abort (ex) {
      ex.res = null
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    close (ex) {
      // The handler ended the exchange (empty message): close after what is queued.
      const heldWhole = ex.grip !== null && ex.grip.mode === kHoldResponse
      if (ex.res !== null && ex.head !== null && !heldWhole && !ex.parser.done) ex.parser.close()
      if (ex.res !== null) {
        if (ex.pending !== null || ex.blockedBytes > 0) ex.closeAfterDrain = true
        else cut(ex)
      }
      acceptor.release(ex)
      return 0
    },

    fail (ex) {
      if (ex.overflow) stats.slowClients++
      else stats.badResponses++
      log.warn('bad response from handler', {
        service: ex.link?.name, id: ex.id, code: (ex.failure as { code?: string } | null)?.code, reason: ex.failure?.message
      })
      if (!ex.written) answer(ex, '502 Bad Gateway', 'the handler sent a malformed response\n', false)
      else cut(ex)
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    notFound (ex) {
      answer(ex, '404 Not Found', 'no route for this host and path\n', false)
      acceptor.release(ex)
      return 0
    },

    tooLarge (ex) {
      return answerLater(acceptor, ex, '413 Payload Too Large', tooLargeBody)
    },

    bodyTimeout (ex) {
      return answerLater(acceptor, ex, '408 Request Timeout', stalledBody)
    },

    badRequest (ex) {
      return answerLater(acceptor, ex, '400 Bad Request', 'malformed request\n')
    },

    flushAnswer (ex) {
      answer(ex, ex.closingStatus, ex.closingBody, true)
      acceptor.release(ex)
      return 0
    },

    unavailable (ex) {
      stats.unavailable++
      const cause = kCauses[ex.cause]!
      acceptor.noteUnavailable(ex.cause, ex.link?.name)
      if (!ex.written) answer(ex, '503 Service Unavailable', cause[1], false, ex.cause === Cause.ShuttingDown ? kRetryAfter : undefined)
      else endStarted(ex)
      notify(ex)
      acceptor.release(ex)
      return 0
    },

    error (ex, ev, fault) {
      log.error('exchange state machine error', { id: ex.id, event: eventName(ev), fault: kFaultNames[fault] ?? 'action threw' })
      if (!ex.written) answer(ex, '500 Internal Server Error', 'internal error\n', true)
      else cut(ex)
      notify(ex)
      acceptor.release(ex)
    }
  }
}
