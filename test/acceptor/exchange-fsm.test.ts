import test from 'ava'
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { compile, Fault, type Filter } from '../../shared/fsm/machine.js'
import { toDot, toMermaid, toText } from '../../shared/fsm/render.js'
import {
  createExchangeMachine, EVENTS, Ev, EXCHANGE, EXCHANGE_TABLE, eventName, St, STATES, stateName,
  type EventName, type ExchangeActionName, type ExchangeActions, type ExchangeTable
} from '../../workers/acceptor/exchange-fsm.js'
import { createEventCounter, maintenanceFilter } from '../../workers/acceptor/filters.js'

interface Exchange { state: number, id: number }
type Outcome = 'final' | 'running' | 'error'

const kActionNames: ExchangeActionName[] = [
  'route', 'readBody', 'toHandler', 'wait', 'writeReply', 'drain', 'finish', 'timeout', 'abort', 'close', 'fail',
  'notFound', 'tooLarge', 'bodyTimeout', 'badRequest', 'unavailable', 'ping', 'cancel',
  'handshake', 'upgrade', 'wsForward', 'wsWrite', 'wsEnd', 'wsClose', 'wsFail', 'wsTimeout', 'wsPing', 'wsCancel', 'flushAnswer',
  'hold', 'deliver', 'holdTimeout'
]

/**
 * Actions that record their name (`error:EVENT:fault` for error) and return the scripted
 * next event: a number every time, or a list consumed call by call (then 0). Default 0,
 * which makes them Mongrel2's stub actions: the test feeds every event itself.
 */
function scripted (script: Partial<Record<ExchangeActionName, number | number[]>> = {}): { actions: ExchangeActions<Exchange>, calls: string[] } {
  const calls: string[] = []
  const actions = { error: (_c: Exchange, ev: number, fault: number) => { calls.push(`error:${eventName(ev)}:${fault}`) } } as Record<string, unknown>
  for (const name of kActionNames) {
    actions[name] = (): number => {
      calls.push(name)
      const next = script[name]
      return Array.isArray(next) ? next.shift() ?? 0 : next ?? 0
    }
  }
  return { actions: actions as unknown as ExchangeActions<Exchange>, calls }
}

function outcome (fsm: { isError(c: Exchange): boolean, isFinal(c: Exchange): boolean }, ctx: Exchange): Outcome {
  return fsm.isError(ctx) ? 'error' : fsm.isFinal(ctx) ? 'final' : 'running'
}

/** Feeds the events one run each, with stub actions that all return 0 (tests/state_tests.c RUN/FAILS). */
function replay (events: readonly EventName[]): Outcome {
  const fsm = createExchangeMachine<Exchange>()
  const ctx = { state: -1, id: 1 }
  fsm.reset(ctx)
  const { actions } = scripted()
  for (const name of events) fsm.run(ctx, Ev[name], actions)
  return outcome(fsm, ctx)
}

const run = test.macro({
  exec (t, events: readonly EventName[], expected: Outcome) {
    t.is(replay(events), expected)
  },
  title: (given, events: readonly EventName[], expected: Outcome) => `${given ?? events.join(' → ')} ⇒ ${expected}`
})

// ---- event sequences (stub actions return 0) -------------------------------------------

// A plain GET: routed, no body, sent to the handler, answered in one reply message.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'RESP_SENT'], 'final')
// A POST: readBody waits (returns 0) for the body chunks, REQ_RECV comes after the last one.
test('POST with a body', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'RESP_SENT'], 'final')
// A reply streamed over several REPLY messages (chunked, SSE) before the response completes.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'REPLY', 'REPLY', 'REPLY', 'RESP_SENT'], 'final')
// The socket backs up while responding: WRITABLE resumes the write, more replies follow.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'WRITABLE', 'REPLY', 'WRITABLE', 'WRITABLE', 'RESP_SENT'], 'final')
// Long-poll: the request is sent and the exchange waits, with nothing else happening...
test('long-poll, held', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT'], 'running')
// ...until, much later, some handler answers it.
test('long-poll, answered', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'RESP_SENT'], 'final')
// A stream still open after its first messages is running.
test('stream, open', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'REPLY'], 'running')
// GRIP: a Grip-Hold reply holds the exchange; a publish answers it (or closes a stream hold)...
test('GRIP hold answered by a publish', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'HOLD', 'PUBLISH', 'PUBLISH', 'RESP_SENT'], 'final')
// ...its Grip-Timeout sends the held response, the client may leave, a stream hold's handler may write on.
test('GRIP hold timing out', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'HOLD', 'TIMEOUT'], 'final')
test('GRIP hold left by the client', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'HOLD', 'PING', 'REMOTE_CLOSE'], 'final')
test('GRIP stream hold, written on', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'HOLD', 'REPLY', 'PUBLISH'], 'running')
// A publish reaches only held exchanges.
test('PUBLISH while waiting', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'PUBLISH'], 'error')
// The client leaves while waiting for the reply.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REMOTE_CLOSE'], 'final')
// The client leaves while uploading the body, while the request is queued, or mid-response.
test(run, ['OPEN', 'HANDLER', 'REMOTE_CLOSE'], 'final')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REMOTE_CLOSE'], 'final')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'REMOTE_CLOSE'], 'final')
// No reply within the route's timeout (504).
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'TIMEOUT'], 'final')
// A stalled request body: 408, written with `Connection: close` once the turn ends (FLUSH).
test(run, ['OPEN', 'HANDLER', 'TIMEOUT'], 'running')
test(run, ['OPEN', 'HANDLER', 'TIMEOUT', 'FLUSH'], 'final')
// A stream that outlives its timeout while responding.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'REPLY', 'TIMEOUT'], 'final')
// The handler closes with an empty message, before or after writing.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'CLOSE'], 'final')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'CLOSE'], 'final')
// A malformed reply (502) or a failed write.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'FAILED'], 'final')

test('long-poll kept by X ctl keep-alive', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'PING', 'PING', 'REPLY', 'RESP_SENT'], 'final')
test('stream kept by X ctl keep-alive', run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'PING', 'REPLY', 'PING'], 'running')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'CANCEL'], 'final')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'CANCEL'], 'final')
test(run, ['OPEN', 'HANDLER', 'PING'], 'error')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'FAILED'], 'final')
// No route matches: 404.
test(run, ['OPEN', 'NOT_FOUND'], 'final')
// Content-Length over the limit (413), known at routing or found while reading the body:
// held in Closing until FLUSH writes it (a pipelined request meanwhile: REMOTE_CLOSE).
test(run, ['OPEN', 'TOO_LARGE'], 'running')
test(run, ['OPEN', 'TOO_LARGE', 'FLUSH'], 'final')
test(run, ['OPEN', 'HANDLER', 'TOO_LARGE', 'FLUSH'], 'final')
test(run, ['OPEN', 'HANDLER', 'TOO_LARGE', 'REMOTE_CLOSE'], 'final')
// A request uWS accepted but Switchboard rejects: 400, also held until FLUSH.
test(run, ['OPEN', 'BAD_REQUEST', 'FLUSH'], 'final')
test(run, ['OPEN', 'BAD_REQUEST', 'REMOTE_CLOSE'], 'final')
// Closing takes nothing but FLUSH and REMOTE_CLOSE; FLUSH nowhere else.
test(run, ['OPEN', 'BAD_REQUEST', 'REPLY'], 'error')
test(run, ['OPEN', 'BAD_REQUEST', 'FLUSH', 'FLUSH'], 'error')
test(run, ['OPEN', 'HANDLER', 'FLUSH'], 'error')
// No handler / broker down (503): at routing (maintenance), before sending, or when the send fails.
test(run, ['OPEN', 'UNAVAILABLE'], 'final')
test(run, ['OPEN', 'HANDLER', 'UNAVAILABLE'], 'final')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'UNAVAILABLE'], 'final')
// Shutdown's drain deadline, a lost handler or a broker restart: held (503) or streaming (ended).
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'UNAVAILABLE'], 'final')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'UNAVAILABLE'], 'final')
// Nothing happened yet.
test('fresh exchange', run, [], 'running')

// WebSocket (Mongrel2's WS_REQ → WSRouting → WSEstablished)
test('websocket, handshake sent', run, ['OPEN', 'HANDSHAKE'], 'running')
test('websocket, open', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE'], 'running')
test('websocket, messages both ways', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'WS_MESSAGE', 'REPLY', 'WS_MESSAGE', 'WS_MESSAGE', 'REPLY'], 'running')
test('websocket, client closes', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'WS_MESSAGE', 'REMOTE_CLOSE'], 'final')
test('websocket, handler closes', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'REPLY', 'CLOSE'], 'final')
test('websocket, bad frames', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'FAILED'], 'final')
test('websocket, shutdown', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'TIMEOUT'], 'final')
test('websocket, refused with an HTTP response', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'RESP_SENT'], 'final')
test('websocket, no handshake reply in time', run, ['OPEN', 'HANDSHAKE', 'TIMEOUT'], 'final')
test('websocket, client left during the handshake', run, ['OPEN', 'HANDSHAKE', 'REMOTE_CLOSE'], 'final')
test('websocket, no handler', run, ['OPEN', 'HANDSHAKE', 'UNAVAILABLE'], 'final')
// `X` ctl keep-alive and cancel reach a handshake awaiting its reply and an open WebSocket too.
test('websocket, handshake kept by X ctl keep-alive', run, ['OPEN', 'HANDSHAKE', 'PING', 'REPLY', 'UPGRADE'], 'running')
test('websocket, open, X ctl keep-alive', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'PING', 'WS_MESSAGE'], 'running')
test('websocket, handshake cancelled', run, ['OPEN', 'HANDSHAKE', 'CANCEL'], 'final')
test('websocket, open socket cancelled', run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'WS_MESSAGE', 'CANCEL'], 'final')
test(run, ['OPEN', 'HANDSHAKE', 'WS_MESSAGE'], 'error')
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'WS_MESSAGE'], 'error')
test(run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'UPGRADE'], 'error')
test(run, ['OPEN', 'HANDSHAKE', 'REPLY', 'UPGRADE', 'WRITABLE'], 'error')

// ---- sequences that must fail (FAILS in state_tests.c) ----------------------------------

// A reply for an exchange that never opened.
test(run, ['REPLY'], 'error')
// A request sent before it was routed.
test(run, ['OPEN', 'REQ_SENT'], 'error')
// OPEN twice.
test(run, ['OPEN', 'OPEN'], 'error')
// A reply before the request reached the handler.
test(run, ['OPEN', 'HANDLER', 'REPLY'], 'error')
// WRITABLE before anything was written.
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'WRITABLE'], 'error')
// Anything after Done: a late reply, a second RESP_SENT, every event in turn.
for (const name of EVENTS) {
  test(`after Done: ${name}`, run, ['OPEN', 'NOT_FOUND', name], 'error')
}
test(run, ['OPEN', 'HANDLER', 'REQ_RECV', 'REQ_SENT', 'REPLY', 'RESP_SENT', 'RESP_SENT'], 'error')
// Once in Error the machine stays there.
test(run, ['REPLY', 'OPEN', 'HANDLER'], 'error')

test('the whole (state, event) matrix: listed pairs follow the table, all others are errors', t => {
  const fsm = createExchangeMachine<Exchange>()
  const table: ExchangeTable = EXCHANGE_TABLE
  for (const from of STATES) {
    for (const ev of EVENTS) {
      const ctx = { state: St[from], id: 1 }
      const { actions, calls } = scripted()
      fsm.step(ctx, Ev[ev], actions)
      const edge = table[from]?.[ev]
      t.is(stateName(ctx.state), edge?.[1] ?? 'Error', `${from} ${ev}`)
      t.deepEqual(calls, [edge?.[0] ?? `error:${ev}:${Fault.NO_EDGE}`])
    }
  }
})

// ---- actions drive the machine ------------------------------------------------------------

test('a GET driven by action return values: OPEN alone reaches Waiting, REPLY reaches Done', t => {
  const fsm = createExchangeMachine<Exchange>()
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted({
    route: Ev.HANDLER, readBody: Ev.REQ_RECV, toHandler: Ev.REQ_SENT, wait: 0, writeReply: Ev.RESP_SENT, finish: 0
  })
  t.is(fsm.run(ctx, Ev.OPEN, actions), St.Waiting)
  t.deepEqual(calls, ['route', 'readBody', 'toHandler', 'wait'])
  t.is(fsm.run(ctx, Ev.REPLY, actions), St.Done)
  t.deepEqual(calls.slice(4), ['writeReply', 'finish'])
})

test('a POST: readBody waits for the body, REQ_RECV later carries it to the handler', t => {
  const fsm = createExchangeMachine<Exchange>()
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted({ route: Ev.HANDLER, readBody: 0, toHandler: Ev.REQ_SENT })
  t.is(fsm.run(ctx, Ev.OPEN, actions), St.Receiving)
  t.is(fsm.run(ctx, Ev.REQ_RECV, actions), St.Waiting)
  t.deepEqual(calls, ['route', 'readBody', 'toHandler', 'wait'])
})

test('a blocked write: writeReply returns 0, WRITABLE drains, drain finishes', t => {
  const fsm = createExchangeMachine<Exchange>()
  const ctx: Exchange = { state: St.Waiting, id: 1 }
  const { actions, calls } = scripted({ writeReply: 0, drain: [0, Ev.RESP_SENT] })
  t.is(fsm.run(ctx, Ev.REPLY, actions), St.Responding)
  t.is(fsm.run(ctx, Ev.WRITABLE, actions), St.Responding)
  t.is(fsm.run(ctx, Ev.WRITABLE, actions), St.Done)
  t.deepEqual(calls, ['writeReply', 'drain', 'drain', 'finish'])
})

test('writeReply returning CLOSE or FAILED ends the exchange through close or fail', t => {
  for (const [ev, action] of [[Ev.CLOSE, 'close'], [Ev.FAILED, 'fail']] as const) {
    const fsm = createExchangeMachine<Exchange>()
    const ctx: Exchange = { state: St.Waiting, id: 1 }
    const { actions, calls } = scripted({ writeReply: ev })
    t.is(fsm.run(ctx, Ev.REPLY, actions), St.Done)
    t.deepEqual(calls, ['writeReply', action])
  }
})

test('readBody and toHandler returning UNAVAILABLE or TOO_LARGE answer and finish (closing answers on FLUSH)', t => {
  const cases = [
    [{ route: Ev.HANDLER, readBody: Ev.UNAVAILABLE }, ['route', 'readBody', 'unavailable'], St.Done],
    [{ route: Ev.HANDLER, readBody: Ev.TOO_LARGE }, ['route', 'readBody', 'tooLarge'], St.Closing],
    [{ route: Ev.HANDLER, readBody: Ev.REQ_RECV, toHandler: Ev.UNAVAILABLE }, ['route', 'readBody', 'toHandler', 'unavailable'], St.Done],
    [{ route: Ev.NOT_FOUND }, ['route', 'notFound'], St.Done],
    [{ route: Ev.BAD_REQUEST }, ['route', 'badRequest'], St.Closing],
    [{ route: Ev.TOO_LARGE }, ['route', 'tooLarge'], St.Closing]
  ] as const
  for (const [script, expected, state] of cases) {
    const fsm = createExchangeMachine<Exchange>()
    const ctx: Exchange = { state: St.Start, id: 1 }
    const { actions, calls } = scripted(script)
    t.is(fsm.run(ctx, Ev.OPEN, actions), state)
    t.deepEqual(calls, expected)
    if (state !== St.Closing) continue
    t.is(fsm.run(ctx, Ev.FLUSH, actions), St.Done)
    t.deepEqual(calls, [...expected, 'flushAnswer'])
  }
})

test('an action returning an event the state does not take, or a non-event, ends in Error', t => {
  const fsm = createExchangeMachine<Exchange>()
  const a: Exchange = { state: St.Start, id: 1 }
  const one = scripted({ route: Ev.REPLY })
  t.is(fsm.run(a, Ev.OPEN, one.actions), St.Error)
  t.deepEqual(one.calls, ['route', `error:REPLY:${Fault.NO_EDGE}`])
  const b: Exchange = { state: St.Start, id: 2 }
  const two = scripted({ route: 404 })
  t.is(fsm.run(b, Ev.OPEN, two.actions), St.Error)
  t.deepEqual(two.calls, ['route', `error:BAD_EVENT(404):${Fault.BAD_EVENT}`])
})

test('a writeReply that keeps returning REPLY is stopped after 64 steps', t => {
  const fsm = createExchangeMachine<Exchange>()
  const ctx: Exchange = { state: St.Waiting, id: 1 }
  const { actions, calls } = scripted({ writeReply: Ev.REPLY })
  t.is(fsm.run(ctx, Ev.REPLY, actions), St.Error)
  t.is(calls.filter(c => c === 'writeReply').length, 64)
  t.is(calls.at(-1), `error:REPLY:${Fault.STEP_LIMIT}`)
})

test('a WebSocket driven by action return values: handshake, 101 → Open, messages both ways, handler close', t => {
  const fsm = createExchangeMachine<Exchange>()
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted({ route: Ev.HANDSHAKE, handshake: 0, writeReply: Ev.UPGRADE, upgrade: 0, wsForward: 0, wsWrite: [0, Ev.CLOSE] })
  t.is(fsm.run(ctx, Ev.OPEN, actions), St.Upgrading)
  t.is(fsm.run(ctx, Ev.REPLY, actions), St.Open)
  t.is(fsm.run(ctx, Ev.WS_MESSAGE, actions), St.Open)
  t.is(fsm.run(ctx, Ev.REPLY, actions), St.Open)
  t.is(fsm.run(ctx, Ev.REPLY, actions), St.Done)
  t.deepEqual(calls, ['route', 'handshake', 'writeReply', 'upgrade', 'wsForward', 'wsWrite', 'wsWrite', 'wsClose'])
})

test('a WebSocket handshake refused, unavailable, or frames that fail right after the 101', t => {
  const cases = [
    [{ route: Ev.HANDSHAKE, handshake: Ev.UNAVAILABLE }, [Ev.OPEN], ['route', 'handshake', 'unavailable']],
    [{ route: Ev.HANDSHAKE, writeReply: Ev.RESP_SENT }, [Ev.OPEN, Ev.REPLY], ['route', 'handshake', 'writeReply', 'finish']],
    [{ route: Ev.HANDSHAKE, writeReply: Ev.UPGRADE, upgrade: Ev.FAILED }, [Ev.OPEN, Ev.REPLY], ['route', 'handshake', 'writeReply', 'upgrade', 'wsFail']],
    [{ route: Ev.HANDSHAKE, writeReply: Ev.UPGRADE, wsWrite: Ev.REMOTE_CLOSE }, [Ev.OPEN, Ev.REPLY, Ev.REPLY], ['route', 'handshake', 'writeReply', 'upgrade', 'wsWrite', 'wsEnd']],
    [{ route: Ev.HANDSHAKE, writeReply: Ev.UPGRADE, wsForward: Ev.FAILED }, [Ev.OPEN, Ev.REPLY, Ev.WS_MESSAGE], ['route', 'handshake', 'writeReply', 'upgrade', 'wsForward', 'wsFail']]
  ] as const
  for (const [script, events, expected] of cases) {
    const fsm = createExchangeMachine<Exchange>()
    const ctx: Exchange = { state: St.Start, id: 1 }
    const { actions, calls } = scripted(script)
    for (const ev of events) fsm.run(ctx, ev, actions)
    t.is(stateName(ctx.state), 'Done', expected.join(' '))
    t.deepEqual(calls, expected)
  }
})

// ---- filters ------------------------------------------------------------------------------

test('maintenance filter: a routed request becomes UNAVAILABLE (503) and never reads its body', t => {
  const fsm = createExchangeMachine<Exchange>()
  fsm.addFilter(maintenanceFilter)
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted({ route: Ev.HANDLER, readBody: Ev.REQ_RECV })
  t.is(fsm.run(ctx, Ev.OPEN, actions), St.Done)
  t.deepEqual(calls, ['route', 'unavailable'])
})

test('maintenance filter: a WebSocket handshake becomes UNAVAILABLE (503) too', t => {
  const fsm = createExchangeMachine<Exchange>()
  fsm.addFilter(maintenanceFilter)
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted({ route: Ev.HANDSHAKE })
  t.is(fsm.run(ctx, Ev.OPEN, actions), St.Done)
  t.deepEqual(calls, ['route', 'unavailable'])
})

test('maintenance filter leaves 404 alone', t => {
  const fsm = createExchangeMachine<Exchange>()
  fsm.addFilter(maintenanceFilter)
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted({ route: Ev.NOT_FOUND })
  t.is(fsm.run(ctx, Ev.OPEN, actions), St.Done)
  t.deepEqual(calls, ['route', 'notFound'])
})

test('maintenance filter with stub actions: OPEN, HANDLER ends Done through unavailable', t => {
  const fsm = createExchangeMachine<Exchange>()
  fsm.addFilter(maintenanceFilter)
  const ctx: Exchange = { state: St.Start, id: 1 }
  const { actions, calls } = scripted()
  fsm.run(ctx, Ev.OPEN, actions)
  fsm.run(ctx, Ev.HANDLER, actions)
  t.is(ctx.state, St.Done)
  t.deepEqual(calls, ['route', 'unavailable'])
})

test('a filter chain stops at the first rewrite: later filters never see the event', t => {
  const fsm = createExchangeMachine<Exchange>()
  const seen: string[] = []
  const observe: Filter<Exchange> = { name: 'observe', events: [Ev.HANDLER], transition: (ev, ctx) => { seen.push(`observe ${ctx.id} ${eventName(ev)}`); return ev } }
  const deny: Filter<Exchange> = { name: 'deny', events: [Ev.HANDLER], transition: (ev) => { seen.push('deny'); return Ev.BAD_REQUEST } }
  fsm.addFilter(observe)
  fsm.addFilter(maintenanceFilter)
  fsm.addFilter(deny)
  const ctx: Exchange = { state: St.Start, id: 9 }
  const { actions, calls } = scripted({ route: Ev.HANDLER })
  fsm.run(ctx, Ev.OPEN, actions)
  t.deepEqual(seen, ['observe 9 HANDLER'])
  t.deepEqual(calls, ['route', 'unavailable'])
})

test('the event counter observes without changing the run', t => {
  const fsm = createExchangeMachine<Exchange>()
  const counter = createEventCounter()
  fsm.addFilter(counter)
  const { actions, calls } = scripted({
    route: Ev.HANDLER, readBody: Ev.REQ_RECV, toHandler: Ev.REQ_SENT, writeReply: [0, 0, Ev.RESP_SENT]
  })
  for (let id = 1; id <= 2; id++) {
    const ctx: Exchange = { state: St.Start, id }
    fsm.run(ctx, Ev.OPEN, actions)
    fsm.run(ctx, Ev.REPLY, actions)
    if (id === 1) fsm.run(ctx, Ev.REPLY, actions)
    t.is(ctx.state, id === 1 ? St.Responding : St.Done)
  }
  t.is(counter.count(Ev.OPEN), 2)
  t.deepEqual(counter.snapshot(), { OPEN: 2, HANDLER: 2, REQ_RECV: 2, REQ_SENT: 2, REPLY: 3, RESP_SENT: 1 })
  t.is(calls.filter(c => c === 'writeReply').length, 3)
  counter.clear()
  t.deepEqual(counter.snapshot(), {})
})

test('an event counter limited to some events counts only those', t => {
  const fsm = createExchangeMachine<Exchange>()
  const counter = createEventCounter([Ev.TIMEOUT, Ev.REMOTE_CLOSE])
  fsm.addFilter(counter)
  const { actions } = scripted()
  for (const ev of [Ev.OPEN, Ev.HANDLER, Ev.REQ_RECV, Ev.REQ_SENT, Ev.TIMEOUT]) fsm.run({ state: St.Start, id: 1 }, ev, actions)
  t.deepEqual(counter.snapshot(), { TIMEOUT: 1 })
})

// ---- tracing ------------------------------------------------------------------------------

test('the tracer prints every transition with names', t => {
  const fsm = createExchangeMachine<Exchange>()
  const lines: string[] = []
  fsm.tracer = fsm.lineTracer(line => lines.push(line))
  const ctx: Exchange = { state: St.Start, id: 42 }
  const { actions } = scripted({
    route: Ev.HANDLER, readBody: Ev.REQ_RECV, toHandler: Ev.REQ_SENT, writeReply: [0, Ev.RESP_SENT]
  })
  fsm.run(ctx, Ev.OPEN, actions)
  fsm.run(ctx, Ev.REPLY, actions)
  fsm.run(ctx, Ev.REPLY, actions)
  fsm.run(ctx, Ev.REPLY, actions)
  t.deepEqual(lines, [
    'exchange 42: Start --OPEN@route--> Routing',
    'exchange 42: Routing --HANDLER@readBody--> Receiving',
    'exchange 42: Receiving --REQ_RECV@toHandler--> Queueing',
    'exchange 42: Queueing --REQ_SENT@wait--> Waiting',
    'exchange 42: Waiting --REPLY@writeReply--> Responding',
    'exchange 42: Responding --REPLY@writeReply--> Responding',
    'exchange 42: Responding --RESP_SENT@finish--> Done',
    'exchange 42: Done --REPLY@error--> Error'
  ])
})

test('the tracer shows the event a filter rewrote', t => {
  const fsm = createExchangeMachine<Exchange>()
  const lines: string[] = []
  fsm.tracer = fsm.lineTracer(line => lines.push(line))
  fsm.addFilter(maintenanceFilter)
  fsm.run({ state: St.Start, id: 5 }, Ev.OPEN, scripted({ route: Ev.HANDLER }).actions)
  t.deepEqual(lines, ['exchange 5: Start --OPEN@route--> Routing', 'exchange 5: Routing --UNAVAILABLE@unavailable--> Done'])
})

// ---- names, definition, types -----------------------------------------------------------------

test('Ev and St agree with EVENTS and STATES; names round-trip', t => {
  t.deepEqual(Object.keys(Ev), [...EVENTS])
  t.deepEqual(Object.keys(St), [...STATES])
  EVENTS.forEach((name, i) => { t.is<number, number>(Ev[name], i + 1); t.is(eventName(i + 1), name) })
  STATES.forEach((name, i) => { t.is<number, number>(St[name], i); t.is(stateName(i), name) })
  t.is(eventName(0), 'NONE')
  t.is(eventName(24), 'BAD_EVENT(24)')
  t.is(stateName(12), 'BadState(12)')
})

test('every state but Error is reachable from Start; only Done and Error have no edges', t => {
  const reach = new Set<string>(['Start'])
  const table: ExchangeTable = EXCHANGE_TABLE
  for (let grew = true; grew;) {
    grew = false
    for (const from of reach) {
      for (const edge of Object.values(table[from as keyof ExchangeTable] ?? {})) {
        if (edge !== undefined && !reach.has(edge[1])) { reach.add(edge[1]); grew = true }
      }
    }
  }
  t.deepEqual([...reach].sort(), STATES.filter(s => s !== 'Error').sort())
  t.deepEqual(STATES.filter(s => table[s] === undefined), ['Done', 'Error'])
})

test('a table naming an action ExchangeActions lacks fails tsc, and fails at run time too', t => {
  const bad = {
    ...EXCHANGE_TABLE,
    // @ts-expect-error 'parse' is not an ExchangeActions method (this line fails tsc if the check is lost)
    Start: { OPEN: ['parse', 'Routing'] }
  } as const satisfies ExchangeTable
  const fsm = compile<Exchange, ExchangeActionName>({ ...EXCHANGE, table: bad as unknown as ExchangeTable })
  t.throws(() => fsm.run({ state: St.Start, id: 1 }, Ev.OPEN, scripted().actions), {
    code: 'SWB_ERR_FSM_ACTIONS',
    message: "actions for 'exchange' lack 'parse': every action the table names, and 'error', must be a function"
  })
})

// ---- diagrams -----------------------------------------------------------------------------

function parse (text: string, re: RegExp): string[] {
  const out: string[] = []
  for (const line of text.split('\n')) {
    const m = re.exec(line)
    if (m !== null) out.push(`${m[1]!} ${m[3]!} ${m[4]!} ${m[2]!}`)
  }
  return out.sort()
}
function tableLines (): string[] {
  const out: string[] = []
  for (const [from, row] of Object.entries(EXCHANGE_TABLE)) {
    for (const [ev, [action, to]] of Object.entries(row)) out.push(`${from} ${ev} ${action} ${to}`)
  }
  return out.sort()
}

test('DOT and Mermaid contain every exchange edge, and only those', t => {
  const expected = tableLines()
  t.is(expected.length, 63)
  t.deepEqual(parse(toDot(EXCHANGE), /^ {2}(\w+) -> (\w+) \[label="(\w+) \/ (\w+)"\];$/), expected)
  t.deepEqual(parse(toMermaid(EXCHANGE), /^ {2}(\w+) --> (\w+) : (\w+) \/ (\w+)$/), expected)
  t.true(toDot(EXCHANGE).includes('  Waiting -> Responding [label="REPLY / writeReply"];'))
  t.true(toMermaid(EXCHANGE).includes('  Done --> [*]'))
})

// ---- the CLI ------------------------------------------------------------------------------

const kRoot = fileURLToPath(new URL('../../', import.meta.url))
function cli (...args: string[]): Promise<{ code: number, stdout: string, stderr: string }> {
  return new Promise(resolve => {
    execFile(process.execPath, ['--import', 'tsx', 'workers/acceptor/fsm-print.ts', ...args], { cwd: kRoot }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
}

test('fsm-print dot prints the DOT diagram', async t => {
  const r = await cli('dot')
  t.is(r.code, 0)
  t.is(r.stdout, toDot(EXCHANGE))
  t.is(r.stderr, '')
})

test('fsm-print mermaid prints the Mermaid diagram', async t => {
  const r = await cli('mermaid')
  t.is(r.code, 0)
  t.is(r.stdout, toMermaid(EXCHANGE))
})

test('fsm-print with no argument prints the edge table and how to get a diagram', async t => {
  for (const args of [[], ['text']]) {
    const r = await cli(...args)
    t.is(r.code, 0, args.join(' '))
    t.true(r.stdout.startsWith(toText(EXCHANGE)), r.stdout)
    t.regex(r.stdout, /npm run fsm \[-- text\|mermaid\|dot\]/)
    t.is(r.stderr, '')
  }
})

test('fsm-print --help prints usage and exits 0; a bad argument prints usage on stderr and exits 2', async t => {
  for (const flag of ['--help', '-h']) {
    const r = await cli(flag)
    t.is(r.code, 0)
    t.regex(r.stdout, /^usage: npm run fsm \[-- text\|mermaid\|dot\]/)
  }
  for (const args of [['svg'], ['dot', 'extra']]) {
    const r = await cli(...args)
    t.is(r.code, 2, args.join(' '))
    t.is(r.stdout, '')
    t.regex(r.stderr, /unknown arguments[\s\S]*usage: npm run fsm \[-- text\|mermaid\|dot\]/)
  }
})
