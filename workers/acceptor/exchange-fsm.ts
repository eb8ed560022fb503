/**
 * The exchange machine: one connection id = one exchange (a request awaiting its reply,
 * or one stream), not a TCP connection (ARCHITECTURE.md, "Connection ids and delivery").
 * This file is data and types only; the actions (real I/O) live in the acceptor and are
 * injected, as in Mongrel2's `state_machine.rl` / `connection.c` split.
 *
 * ```
 *  Start ─OPEN─▶ Routing ─HANDLER─▶ Receiving ─REQ_RECV─▶ Queueing ─REQ_SENT─▶ Waiting ─REPLY─▶ Responding ⟲ REPLY, WRITABLE
 *                   │                   │                     │                   │                 │
 *                   ▼                   ▼                     ▼                   ▼                 ▼
 *                 Done                Done                  Done                Done              Done
 *      NOT_FOUND TOO_LARGE     TOO_LARGE UNAVAILABLE   UNAVAILABLE       TIMEOUT CLOSE      RESP_SENT TIMEOUT
 *      BAD_REQUEST UNAVAILABLE REMOTE_CLOSE TIMEOUT    REMOTE_CLOSE      FAILED REMOTE_CLOSE CLOSE FAILED REMOTE_CLOSE
 *                                                                        CANCEL             CANCEL
 *  Waiting and Responding also take PING (⟲, an `X` ctl keep-alive).
 *  TOO_LARGE, BAD_REQUEST and Receiving's TIMEOUT go to Closing instead of Done: their answer
 *  (413, 400, 408, with `Connection: close`) is written on FLUSH, once the turn ends; a
 *  pipelined request behind it makes uWS.js close the connection (REMOTE_CLOSE) unseen.
 *  any (state, event) pair not in the table ─▶ Error: `error` runs, the machine stops
 *
 *  WebSocket (Mongrel2's WSRouting/WSEstablished, MONGREL2.md §2.5):
 *  Routing ─HANDSHAKE─▶ Upgrading ─REPLY─▶ Responding ─UPGRADE─▶ Open ⟲ WS_MESSAGE (client → handler), REPLY (frames)
 *                          │  (a refusal is an HTTP response)       │
 *                          ▼                                        ▼
 *                        Done  TIMEOUT REMOTE_CLOSE CLOSE FAILED  Done  REMOTE_CLOSE CLOSE FAILED TIMEOUT
 *                              CANCEL                                   CANCEL
 *  Upgrading and Open also take PING (⟲); in Open it only keeps the exchange (uWS.js's
 *  idle timer follows the client, not the handler).
 *
 *  GRIP holds (Pushpin's, workers/acceptor/grip.ts): a reply whose head says Grip-Hold
 *  Responding ─HOLD─▶ Holding ⟲ PUBLISH (a published item), REPLY (a stream hold's handler writes on), PING
 *                        │
 *                        ▼
 *                      Done  RESP_SENT (answered by a publish, or a stream closed by one) TIMEOUT (Grip-Timeout:
 *                            the held response) REMOTE_CLOSE CLOSE FAILED CANCEL UNAVAILABLE
 *  Ending a hold by publish or Grip-Timeout sends no disconnect notice; the client leaving does.
 * ```
 * `npm run fsm -- dot|mermaid` prints the full diagram.
 */
import { compile, type Context, type Machine, type MachineDef, type Table } from '../../shared/fsm/machine.js'

/** Event names, numbered from 1 in this order (0 = no event: wait for I/O). Never reorder: append. */
export const EVENTS = [
  'OPEN', 'HANDLER', 'NOT_FOUND', 'TOO_LARGE', 'BAD_REQUEST', 'UNAVAILABLE', 'REQ_RECV', 'REQ_SENT', 'REPLY',
  'WRITABLE', 'RESP_SENT', 'REMOTE_CLOSE', 'TIMEOUT', 'CLOSE', 'FAILED', 'PING', 'CANCEL',
  'HANDSHAKE', 'UPGRADE', 'WS_MESSAGE', 'FLUSH', 'HOLD', 'PUBLISH'
] as const
export type EventName = typeof EVENTS[number]

/** State names, numbered from 0 in this order. */
export const STATES = ['Start', 'Routing', 'Receiving', 'Queueing', 'Waiting', 'Responding', 'Done', 'Error', 'Upgrading', 'Open', 'Closing', 'Holding'] as const
export type StateName = typeof STATES[number]

/** Event numbers (`EVENTS.indexOf(name) + 1`; a test checks they agree). */
export const Ev = {
  OPEN: 1,
  HANDLER: 2,
  NOT_FOUND: 3,
  TOO_LARGE: 4,
  BAD_REQUEST: 5,
  UNAVAILABLE: 6,
  REQ_RECV: 7,
  REQ_SENT: 8,
  REPLY: 9,
  WRITABLE: 10,
  RESP_SENT: 11,
  REMOTE_CLOSE: 12,
  TIMEOUT: 13,
  CLOSE: 14,
  FAILED: 15,
  PING: 16,
  CANCEL: 17,
  HANDSHAKE: 18,
  UPGRADE: 19,
  WS_MESSAGE: 20,
  FLUSH: 21,
  HOLD: 22,
  PUBLISH: 23
} as const satisfies Record<EventName, number>
export type ExchangeEvent = typeof Ev[EventName]

/** State numbers (`STATES.indexOf(name)`). */
export const St = {
  Start: 0,
  Routing: 1,
  Receiving: 2,
  Queueing: 3,
  Waiting: 4,
  Responding: 5,
  Done: 6,
  Error: 7,
  Upgrading: 8,
  Open: 9,
  Closing: 10,
  Holding: 11
} as const satisfies Record<StateName, number>
export type ExchangeState = typeof St[StateName]

/**
 * What the acceptor does on each transition. Each action receives the exchange and the
 * event that triggered it, and returns the next event, or 0 to wait for I/O (a body
 * chunk, a reply, a drain, a timer). The comments say which events the table accepts
 * back from each action; anything else sends the exchange to Error.
 */
export interface ExchangeActions<C> {
  /** Start→Routing on OPEN: match host and route. Returns HANDLER (HANDSHAKE for a WebSocket upgrade), NOT_FOUND, TOO_LARGE or BAD_REQUEST. */
  route(ctx: C, ev: number): number
  /** Routing→Receiving on HANDLER: collect the body. Returns REQ_RECV, UNAVAILABLE, TOO_LARGE or 0 (more to come). */
  readBody(ctx: C, ev: number): number
  /** Receiving→Queueing on REQ_RECV: send the request to the broker. Returns REQ_SENT or UNAVAILABLE. */
  toHandler(ctx: C, ev: number): number
  /** Queueing→Waiting on REQ_SENT: arm the reply timeout. Usually returns 0. */
  wait(ctx: C, ev: number): number
  /** →Responding on REPLY: write a reply message. Returns 0, RESP_SENT, CLOSE, FAILED, or UPGRADE (a 101 to a handshake). */
  writeReply(ctx: C, ev: number): number
  /** Responding on WRITABLE: resume a blocked write. Returns 0, RESP_SENT, CLOSE or FAILED. */
  drain(ctx: C, ev: number): number
  /** Responding→Done on RESP_SENT: the response is complete; release the exchange. */
  finish(ctx: C, ev: number): number
  /** Waiting/Responding→Done on TIMEOUT: 504 if nothing was written, else cut the stream. */
  timeout(ctx: C, ev: number): number
  /** →Done on REMOTE_CLOSE: the client left; tell the handler (disconnect notice). */
  abort(ctx: C, ev: number): number
  /** Waiting/Responding→Done on CLOSE: the handler closed (empty reply, `Connection: close`). */
  close(ctx: C, ev: number): number
  /** Waiting/Responding→Done on FAILED: malformed reply or write failure; 502 if nothing was written. */
  fail(ctx: C, ev: number): number
  /**
   * Waiting/Responding/Upgrading on PING (`X` `ctl` `keep-alive`, Mongrel2's Register_ping): restart the
   * reply timeout if nothing was written, else the stream's idle clock. Returns 0.
   */
  ping(ctx: C, ev: number): number
  /** Waiting/Responding/Upgrading→Done on CANCEL (`X` `ctl` `cancel`, or a bad `X` reply): close at once, no notice back. */
  cancel(ctx: C, ev: number): number
  /** Routing→Done on NOT_FOUND: 404. */
  notFound(ctx: C, ev: number): number
  /** Routing/Receiving→Closing on TOO_LARGE: 413, written on FLUSH. Returns 0. */
  tooLarge(ctx: C, ev: number): number
  /** Receiving→Closing on TIMEOUT: the body stalled for `acceptor.bodyTimeoutMs`; 408, written on FLUSH. Returns 0. */
  bodyTimeout(ctx: C, ev: number): number
  /** Routing→Closing on BAD_REQUEST: 400, written on FLUSH. Returns 0. */
  badRequest(ctx: C, ev: number): number
  /**
   * Closing→Done on FLUSH (after the turn that chose the answer): write it with
   * `Connection: close`. Until then the response is pending, so uWS.js closes the
   * connection itself if a pipelined request follows, before JavaScript sees it.
   */
  flushAnswer(ctx: C, ev: number): number
  /**
   * Routing/Receiving/Queueing→Done on UNAVAILABLE: 503 (no handler, broker down, queue
   * full, maintenance). Waiting/Responding→Done too: shutdown's drain deadline, or a lost
   * handler or broker restart cutting a fresh exchange; a response already started is
   * ended (last chunk) or closed instead.
   */
  unavailable(ctx: C, ev: number): number
  /** Routing→Upgrading on HANDSHAKE: send WEBSOCKET_HANDSHAKE (body: the accept key), arm the route's timeout. Returns 0 or UNAVAILABLE. */
  handshake(ctx: C, ev: number): number
  /** Responding→Open on UPGRADE: the handler's 101 upgrades the connection (its headers passed on). Returns 0, CLOSE or FAILED (frames sent with the 101). */
  upgrade(ctx: C, ev: number): number
  /** Open on WS_MESSAGE: a client message (or ping/pong) to the handler, METHOD WEBSOCKET with FLAGS. Returns 0 or FAILED. */
  wsForward(ctx: C, ev: number): number
  /** Open on REPLY: the handler's raw frames, sent through uWS.js. Returns 0, CLOSE (close frame or empty reply), FAILED or REMOTE_CLOSE. */
  wsWrite(ctx: C, ev: number): number
  /** Open→Done on REMOTE_CLOSE: client close (forwarded as a 0x88 message), drop or idle timeout; disconnect notice. */
  wsEnd(ctx: C, ev: number): number
  /** Open→Done on CLOSE: the handler closed the socket (its close frame's code, or none). */
  wsClose(ctx: C, ev: number): number
  /** Open→Done on FAILED: malformed frames or an overloaded link: close 1011/1013, log, disconnect notice. */
  wsFail(ctx: C, ev: number): number
  /** Open→Done on TIMEOUT (shutdown): close 1001 Going Away, disconnect notice. */
  wsTimeout(ctx: C, ev: number): number
  /** Open on PING (`X` `ctl` `keep-alive`): nothing to refresh (uWS.js times out idle clients itself). Returns 0. */
  wsPing(ctx: C, ev: number): number
  /** Open→Done on CANCEL (`X` `ctl` `cancel`, or a bad `X` reply): drop the socket at once, no notice back. */
  wsCancel(ctx: C, ev: number): number
  /**
   * Responding→Holding on HOLD (writeReply read a Grip-Hold head, grip.ts): subscribe to its channels, arm
   * Grip-Timeout (response holds), deliver items it missed. Returns 0, RESP_SENT (answered or recovered at once) or FAILED.
   */
  hold(ctx: C, ev: number): number
  /** Holding on PUBLISH: write the published item (grip.ts). Returns 0, RESP_SENT (response written, stream closed) or FAILED. */
  deliver(ctx: C, ev: number): number
  /** Holding→Done on TIMEOUT: Grip-Timeout passed: the held response goes out as the handler gave it; no notice. */
  holdTimeout(ctx: C, ev: number): number
  /**
   * The exchange is in Error: (state, event) was not in the table, an action returned a
   * non-event, or a run looped (`fault`, see `Fault`). Log with names, answer 500 or drop,
   * release. The return value is ignored: the machine stops.
   */
  error(ctx: C, ev: number, fault: number): unknown
}

/** The WebSocket actions (workers/acceptor/websocket.ts); the rest are HTTP's (actions.ts). */
export type WsActionName = 'handshake' | 'upgrade' | 'wsForward' | 'wsWrite' | 'wsEnd' | 'wsClose' | 'wsFail' | 'wsTimeout' | 'wsPing' | 'wsCancel'
/** The GRIP hold actions (workers/acceptor/grip.ts). */
export type GripActionName = 'hold' | 'deliver' | 'holdTimeout'
export type HttpActions<C> = Omit<ExchangeActions<C>, WsActionName | GripActionName>
export type WsActions<C> = Pick<ExchangeActions<C>, WsActionName>
export type GripActions<C> = Pick<ExchangeActions<C>, GripActionName>

/** Names the table may use: every action but `error`, which only the Error state runs. */
export type ExchangeActionName = Exclude<keyof ExchangeActions<unknown>, 'error'>
export type ExchangeTable = Table<StateName, EventName, ExchangeActionName>

/** Reads like Mongrel2's state_machine.rl: `State: { EVENT: [action, Next] }`. Done and Error have no edges. */
export const EXCHANGE_TABLE = {
  Start: { OPEN: ['route', 'Routing'] },
  Routing: {
    HANDLER: ['readBody', 'Receiving'],
    NOT_FOUND: ['notFound', 'Done'],
    TOO_LARGE: ['tooLarge', 'Closing'],
    BAD_REQUEST: ['badRequest', 'Closing'],
    UNAVAILABLE: ['unavailable', 'Done'], // the maintenance filter rewrites HANDLER and HANDSHAKE to this
    HANDSHAKE: ['handshake', 'Upgrading']
  },
  Receiving: {
    REQ_RECV: ['toHandler', 'Queueing'],
    TOO_LARGE: ['tooLarge', 'Closing'],
    UNAVAILABLE: ['unavailable', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done'],
    TIMEOUT: ['bodyTimeout', 'Closing']
  },
  // Answers that close the connection (400, 408, 413) wait here for the end of the turn.
  Closing: {
    FLUSH: ['flushAnswer', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done']
  },
  Queueing: {
    REQ_SENT: ['wait', 'Waiting'],
    UNAVAILABLE: ['unavailable', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done']
  },
  Waiting: {
    REPLY: ['writeReply', 'Responding'],
    TIMEOUT: ['timeout', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done'],
    CLOSE: ['close', 'Done'],
    FAILED: ['fail', 'Done'],
    PING: ['ping', 'Waiting'],
    CANCEL: ['cancel', 'Done'],
    UNAVAILABLE: ['unavailable', 'Done'] // shutdown deadline, lost handler or broker
  },
  Responding: {
    REPLY: ['writeReply', 'Responding'],
    WRITABLE: ['drain', 'Responding'],
    RESP_SENT: ['finish', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done'],
    CLOSE: ['close', 'Done'],
    FAILED: ['fail', 'Done'],
    TIMEOUT: ['timeout', 'Done'],
    PING: ['ping', 'Responding'],
    CANCEL: ['cancel', 'Done'],
    UNAVAILABLE: ['unavailable', 'Done'],
    UPGRADE: ['upgrade', 'Open'],
    HOLD: ['hold', 'Holding']
  },
  Upgrading: {
    REPLY: ['writeReply', 'Responding'],
    UNAVAILABLE: ['unavailable', 'Done'],
    TIMEOUT: ['timeout', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done'],
    CLOSE: ['close', 'Done'],
    FAILED: ['fail', 'Done'],
    PING: ['ping', 'Upgrading'],
    CANCEL: ['cancel', 'Done']
  },
  Open: {
    WS_MESSAGE: ['wsForward', 'Open'],
    REPLY: ['wsWrite', 'Open'],
    REMOTE_CLOSE: ['wsEnd', 'Done'],
    CLOSE: ['wsClose', 'Done'],
    FAILED: ['wsFail', 'Done'],
    TIMEOUT: ['wsTimeout', 'Done'],
    PING: ['wsPing', 'Open'],
    CANCEL: ['wsCancel', 'Done']
  },
  // A GRIP hold: subscribed to channels until a publish, Grip-Timeout or the client ends it.
  Holding: {
    PUBLISH: ['deliver', 'Holding'],
    REPLY: ['writeReply', 'Holding'],
    RESP_SENT: ['finish', 'Done'],
    TIMEOUT: ['holdTimeout', 'Done'],
    REMOTE_CLOSE: ['abort', 'Done'],
    CLOSE: ['close', 'Done'],
    FAILED: ['fail', 'Done'],
    PING: ['ping', 'Holding'],
    CANCEL: ['cancel', 'Done'],
    UNAVAILABLE: ['unavailable', 'Done']
  }
} as const satisfies ExchangeTable

/** The exchange machine's definition (data); `compile` it, or render it with shared/fsm/render.ts. */
export const EXCHANGE = {
  name: 'exchange',
  states: STATES,
  events: EVENTS,
  initial: 'Start',
  final: 'Done',
  error: 'Error',
  table: EXCHANGE_TABLE
} as const satisfies MachineDef<StateName, EventName, ExchangeActionName>

export type ExchangeMachine<C extends Context> = Machine<C, ExchangeActionName>

/**
 * A new exchange machine (its own filters and tracer) for contexts of type C.
 *
 * @example
 * const fsm = createExchangeMachine<Slot>()
 * fsm.reset(slot); fsm.run(slot, Ev.OPEN, actions)   // actions: ExchangeActions<Slot>
 */
export function createExchangeMachine<C extends Context> (): ExchangeMachine<C> {
  return compile<C, ExchangeActionName>(EXCHANGE)
}

// Compiled at import so a broken table fails at startup; also serves the name lookups.
const kNames = createExchangeMachine<Context>()

/** `eventName(Ev.REPLY) === 'REPLY'`; out-of-range numbers print as `BAD_EVENT(n)`. */
export function eventName (ev: number): string { return kNames.eventName(ev) }
/** `stateName(St.Waiting) === 'Waiting'`; out-of-range numbers print as `BadState(n)`. */
export function stateName (state: number): string { return kNames.stateName(state) }
