import test from 'ava'
import {
  compile, edgesOf, Fault, MachineDefError, validateMachine,
  type Actions, type Filter, type MachineDef
} from '../../../shared/fsm/machine.js'

// A toy machine, independent of the acceptor's: a door that opens, shuts, locks, and can be removed.
const DOOR = {
  name: 'door',
  states: ['Closed', 'Open', 'Locked', 'Gone', 'Broken'],
  events: ['PUSH', 'PULL', 'LOCK', 'UNLOCK', 'REMOVE'],
  initial: 'Closed',
  final: 'Gone',
  error: 'Broken',
  table: {
    Closed: { PULL: ['open', 'Open'], LOCK: ['lock', 'Locked'], REMOVE: ['remove', 'Gone'] },
    Open: { PUSH: ['shut', 'Closed'] },
    Locked: { UNLOCK: ['unlock', 'Closed'] }
  }
} as const satisfies MachineDef
type DoorAction = 'open' | 'shut' | 'lock' | 'unlock' | 'remove'
const PUSH = 1
const PULL = 2
const LOCK = 3
const UNLOCK = 4
const REMOVE = 5
const Closed = 0
const Open = 1
const Locked = 2
const Gone = 3
const Broken = 4

interface Door { state: number, id: number }
type DoorActions = Actions<Door, DoorAction>

/** Actions that record `name` (and `error:EV:fault`) and return the scripted next event (default 0). */
function recorder (script: Partial<Record<DoorAction, number>> = {}): { actions: DoorActions, calls: string[] } {
  const calls: string[] = []
  const act = (name: DoorAction) => (_ctx: Door, _ev: number): number => { calls.push(name); return script[name] ?? 0 }
  const actions: DoorActions = {
    open: act('open'),
    shut: act('shut'),
    lock: act('lock'),
    unlock: act('unlock'),
    remove: act('remove'),
    error: (_ctx, ev, fault) => { calls.push(`error:${String(ev)}:${fault}`); return 0 }
  }
  return { actions, calls }
}

function door (id = 7): Door { return { state: Closed, id } }

test('compile numbers states from 0, events from 1, actions with error at 0', t => {
  const m = compile<Door, DoorAction>(DOOR)
  t.is(m.stateCount, 5)
  t.is(m.eventCount, 5)
  t.is(m.initial, Closed)
  t.is(m.final, Gone)
  t.is(m.error, Broken)
  t.deepEqual(m.actionNames, ['error', 'open', 'lock', 'remove', 'shut', 'unlock'])
  t.is(m.eventName(0), 'NONE')
  t.is(m.eventName(PULL), 'PULL')
  t.is(m.eventName(99), 'BAD_EVENT(99)')
  t.is(m.eventName(1.5), 'BAD_EVENT(1.5)')
  t.is(m.stateName(Locked), 'Locked')
  t.is(m.stateName(-1), 'BadState(-1)')
  t.is(m.actionName(0), 'error')
  t.is(m.actionName(4), 'shut')
})

test('reset puts the context in the initial state', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = { state: Broken, id: 1 }
  m.reset(d)
  t.is(d.state, Closed)
})

test('step moves the state, calls the action with (ctx, ev) and `this` = actions, returns its event', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  const seen: unknown[] = []
  const { actions } = recorder()
  const mine = {
    ...actions,
    tag: 'mine',
    open (this: { tag: string }, ctx: Door, ev: number): number { seen.push(this.tag, ctx, ev, ctx.state); return PUSH }
  }
  t.is(m.step(d, PULL, mine), PUSH)
  t.is(d.state, Open)
  t.deepEqual(seen, ['mine', d, PULL, Open]) // state is already the next one when the action runs
})

test('step on a pair the table lacks enters the error state, runs error with NO_EDGE, returns 0', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  const { actions, calls } = recorder({ shut: PULL })
  t.is(m.step(d, PUSH, actions), 0)
  t.is(d.state, Broken)
  t.true(m.isError(d))
  t.deepEqual(calls, [`error:${PUSH}:${Fault.NO_EDGE}`])
})

test('step rejects anything that is not an event number with BAD_EVENT', t => {
  const m = compile<Door, DoorAction>(DOOR)
  for (const ev of [0, -1, 6, 99, 1.5, Number.NaN, Infinity, undefined as unknown as number]) {
    const d = door()
    const { actions, calls } = recorder()
    t.is(m.step(d, ev, actions), 0)
    t.is(d.state, Broken, String(ev))
    t.deepEqual(calls, [`error:${String(ev)}:${Fault.BAD_EVENT}`])
  }
})

test('a context whose state is not a state number goes to error', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = { state: 42, id: 1 }
  const { actions, calls } = recorder()
  m.run(d, PULL, actions)
  t.is(d.state, Broken)
  t.deepEqual(calls, [`error:${PULL}:${Fault.NO_EDGE}`])
})

test('run feeds each returned event back until an action returns 0, and returns the state', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  // pull → open returns PUSH → shut returns LOCK → lock returns 0
  const { actions, calls } = recorder({ open: PUSH, shut: LOCK })
  t.is(m.run(d, PULL, actions), Locked)
  t.deepEqual(calls, ['open', 'shut', 'lock'])
})

test('run with event 0 does nothing', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  const { actions, calls } = recorder()
  t.is(m.run(d, 0, actions), Closed)
  t.deepEqual(calls, [])
})

test('an action returning a non-event sends the machine to error', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  const { actions, calls } = recorder({ open: 77 })
  t.is(m.run(d, PULL, actions), Broken)
  t.deepEqual(calls, ['open', `error:77:${Fault.BAD_EVENT}`])
})

test('an action that forgets to return (undefined) is an error, not a silent stop', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  const { actions, calls } = recorder()
  const sloppy = { ...actions, open: (() => {}) as unknown as DoorActions['open'] }
  m.run(d, PULL, sloppy)
  t.is(d.state, Broken)
  t.deepEqual(calls, [`error:undefined:${Fault.BAD_EVENT}`])
})

test('run stops a loop after 64 steps with STEP_LIMIT', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const d = door()
  // open returns PUSH, shut returns PULL: Closed ⇄ Open forever
  const { actions, calls } = recorder({ open: PUSH, shut: PULL })
  t.is(m.run(d, PULL, actions), Broken)
  t.is(calls.length, 65)
  t.is(calls.filter(c => c === 'open').length, 32)
  t.is(calls.filter(c => c === 'shut').length, 32)
  t.is(calls[64], `error:${PULL}:${Fault.STEP_LIMIT}`)
})

test('any event after the final state is an error; the error state stays put', t => {
  const m = compile<Door, DoorAction>(DOOR)
  for (let ev = 1; ev <= m.eventCount; ev++) {
    const d = door()
    const { actions, calls } = recorder()
    m.run(d, REMOVE, actions)
    t.true(m.isFinal(d))
    m.run(d, ev, actions)
    t.is(d.state, Broken, m.eventName(ev))
    m.run(d, PULL, actions)
    t.is(d.state, Broken)
    t.deepEqual(calls, ['remove', `error:${ev}:${Fault.NO_EDGE}`, `error:${PULL}:${Fault.NO_EDGE}`])
  }
})

test('every unlisted (state, event) pair is an error, every listed one follows the table', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const edges = new Map(edgesOf(DOOR).map(e => [`${e.from}.${e.event}`, e]))
  for (let s = 0; s < m.stateCount; s++) {
    for (let ev = 1; ev <= m.eventCount; ev++) {
      const d = { state: s, id: 1 }
      const { actions, calls } = recorder()
      m.step(d, ev, actions)
      const edge = edges.get(`${m.stateName(s)}.${m.eventName(ev)}`)
      t.is(m.stateName(d.state), edge?.to ?? 'Broken')
      t.deepEqual(calls, [edge?.action ?? `error:${ev}:${Fault.NO_EDGE}`])
    }
  }
})

test('actions lacking a table action (or error) are refused with SWB_ERR_FSM_ACTIONS', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const { actions } = recorder()
  const { unlock: _u, error: _e, ...partial } = actions
  const err = t.throws(() => m.run(door(), PULL, partial as unknown as DoorActions), { code: 'SWB_ERR_FSM_ACTIONS' })
  t.is(err?.message, "actions for 'door' lack 'error', 'unlock': every action the table names, and 'error', must be a function")
})

test('two actions objects on one machine each get their own methods', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const a = recorder()
  const b = recorder({ open: PUSH })
  const d1 = door()
  const d2 = door()
  m.run(d1, PULL, a.actions)
  m.run(d2, PULL, b.actions)
  m.run(d1, PUSH, a.actions)
  t.deepEqual(a.calls, ['open', 'shut'])
  t.deepEqual(b.calls, ['open', 'shut'])
  t.is(d1.state, Closed)
  t.is(d2.state, Closed)
})

test('class instances work as actions (methods called on the instance)', t => {
  const m = compile<Door, DoorAction>(DOOR)
  class Hinges implements DoorActions {
    log: string[] = []
    open (): number { this.log.push('open'); return PUSH }
    shut (): number { this.log.push('shut'); return 0 }
    lock (): number { return 0 }
    unlock (): number { return 0 }
    remove (): number { return 0 }
    error (): void { this.log.push('error') }
  }
  const h = new Hinges()
  m.run(door(), PULL, h)
  t.deepEqual(h.log, ['open', 'shut'])
})

// ---- filters -------------------------------------------------------------------------

function rewriter (name: string, events: number[], map: Record<number, number>, log: string[]): Filter<Door> {
  return { name, events, transition: (ev) => { log.push(`${name}:${ev}`); return map[ev] ?? ev } }
}

test('an observing filter sees only the events it registered and changes nothing', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  m.addFilter(rewriter('watch', [PUSH], {}, log))
  const { actions, calls } = recorder({ open: PUSH })
  m.run(door(), PULL, actions)
  t.deepEqual(log, [`watch:${PUSH}`])
  t.deepEqual(calls, ['open', 'shut'])
})

test('a rewriting filter diverts the machine', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  // every PULL on a closed door becomes LOCK
  m.addFilter(rewriter('nope', [PULL], { [PULL]: LOCK }, log))
  const { actions, calls } = recorder()
  t.is(m.run(door(), PULL, actions), Locked)
  t.deepEqual(calls, ['lock'])
})

test('filters run in registration order and the chain stops at the first rewrite, without re-filtering', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  m.addFilter(rewriter('a', [PULL], {}, log))
  m.addFilter(rewriter('b', [PULL], { [PULL]: LOCK }, log))
  m.addFilter(rewriter('c', [PULL], { [PULL]: REMOVE }, log))
  m.addFilter(rewriter('d', [LOCK], { [LOCK]: REMOVE }, log))
  const { actions, calls } = recorder()
  t.is(m.run(door(), PULL, actions), Locked)
  t.deepEqual(log, [`a:${PULL}`, `b:${PULL}`])
  t.deepEqual(calls, ['lock'])
  t.deepEqual(m.filters.map(f => f.name), ['a', 'b', 'c', 'd'])
})

test('filters see events returned by actions, not only the first one', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  m.addFilter(rewriter('w', [PULL, PUSH], {}, log))
  const { actions } = recorder({ open: PUSH })
  m.run(door(), PULL, actions)
  t.deepEqual(log, [`w:${PULL}`, `w:${PUSH}`])
})

test('a filter returning 0 holds the event: no transition, the run ends', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  m.addFilter(rewriter('hold', [PULL], { [PULL]: 0 }, log))
  const { actions, calls } = recorder()
  const d = door()
  t.is(m.run(d, PULL, actions), Closed)
  t.deepEqual(calls, [])
})

test('step does not run filters (run is the driver)', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  m.addFilter(rewriter('nope', [PULL], { [PULL]: LOCK }, log))
  const d = door()
  m.step(d, PULL, recorder().actions)
  t.is(d.state, Open)
  t.deepEqual(log, [])
})

test('removeFilter unregisters; a second remove returns false', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: string[] = []
  const f = rewriter('nope', [PULL, PUSH], { [PULL]: LOCK }, log)
  m.addFilter(f)
  t.true(m.removeFilter(f))
  t.false(m.removeFilter(f))
  t.deepEqual(m.filters, [])
  const d = door()
  m.run(d, PULL, recorder().actions)
  t.is(d.state, Open)
  t.deepEqual(log, [])
})

test('addFilter refuses non-events and double registration with SWB_ERR_FSM_FILTER', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const err = t.throws(() => m.addFilter({ name: 'bad', events: [PUSH, 0, 9], transition: ev => ev }), { code: 'SWB_ERR_FSM_FILTER' })
  t.is(err?.message, "filter 'bad' registers 0, 9, which are not events of 'door' (1-5)")
  const f = rewriter('twice', [PUSH], {}, [])
  m.addFilter(f)
  t.throws(() => m.addFilter(f), { code: 'SWB_ERR_FSM_FILTER', message: "filter 'twice' is already registered on 'door'" })
})

// ---- tracing -------------------------------------------------------------------------

test('the line tracer prints names, including the error transition', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const lines: string[] = []
  m.tracer = m.lineTracer(line => lines.push(line))
  const { actions } = recorder({ open: PUSH })
  const d = door(42)
  m.run(d, PULL, actions)
  m.run(d, UNLOCK, actions)
  m.run(d, 99, actions)
  t.deepEqual(lines, [
    'door 42: Closed --PULL@open--> Open',
    'door 42: Open --PUSH@shut--> Closed',
    'door 42: Closed --UNLOCK@error--> Broken',
    'door 42: Broken --BAD_EVENT(99)@error--> Broken'
  ])
})

test('the tracer runs before the action, with numbers; null turns it off', t => {
  const m = compile<Door, DoorAction>(DOOR)
  const log: unknown[] = []
  m.tracer = (ctx, from, ev, action, to) => { log.push([ctx.id, from, ev, action, to]) }
  const calls: string[] = []
  const { actions } = recorder()
  const spy = { ...actions, open: (): number => { calls.push(`open after ${log.length} traces`); return 0 } }
  const d = door(3)
  m.run(d, PULL, spy)
  t.deepEqual(log, [[3, Closed, PULL, m.actionNames.indexOf('open'), Open]])
  t.deepEqual(calls, ['open after 1 traces'])
  m.tracer = null
  m.run(d, PUSH, spy)
  t.is(log.length, 1)
})

// ---- definitions ---------------------------------------------------------------------

test('edgesOf lists every edge by name in state then table order', t => {
  t.deepEqual(edgesOf(DOOR), [
    { from: 'Closed', event: 'PULL', action: 'open', to: 'Open' },
    { from: 'Closed', event: 'LOCK', action: 'lock', to: 'Locked' },
    { from: 'Closed', event: 'REMOVE', action: 'remove', to: 'Gone' },
    { from: 'Open', event: 'PUSH', action: 'shut', to: 'Closed' },
    { from: 'Locked', event: 'UNLOCK', action: 'unlock', to: 'Closed' }
  ])
})

test('a valid definition has no problems', t => {
  t.deepEqual(validateMachine(DOOR), [])
})

test('compile refuses a broken definition with every problem listed', t => {
  const broken = {
    name: 'bad door',
    states: ['Closed', 'Open', 'Open', 'Gone', 'Broken'],
    events: ['PUSH', 'PULL', 'not-an-event'],
    initial: 'Ajar',
    final: 'Gone',
    error: 'Broken',
    table: {
      Closed: { PULL: ['open', 'Open'], KICK: ['kick', 'Open'], PUSH: ['error', 'Closed'] },
      Open: { PUSH: ['shut', 'Nowhere'], PULL: ['break', 'Broken'] },
      Gone: { PULL: ['return', 'Closed'] },
      Attic: { PUSH: ['x', 'Open'] },
      Broken: { PUSH: 'fix' }
    }
  } as unknown as MachineDef
  const err = t.throws(() => compile(broken), { instanceOf: MachineDefError, code: 'SWB_ERR_FSM_DEFINITION' })
  t.deepEqual(err?.problems, [
    'name must be an identifier, got "bad door"',
    "state 'Open' is listed twice",
    'event names must be identifiers, got "not-an-event"',
    "initial state 'Ajar' is not in states",
    "table.Closed.KICK: 'KICK' is not an event",
    "table.Closed.PUSH: 'error' is reserved for the error state",
    'table.Open.PUSH: next state "Nowhere" is not in states',
    'table.Open.PULL: the error state is entered only on unlisted pairs',
    'table.Gone: the final state has no edges',
    "table: 'Attic' is not a state",
    'table.Broken: the error state has no edges',
    "table.Broken.PUSH must be ['action', 'NextState']"
  ])
  t.regex(err?.message ?? '', /^state machine 'bad door' is invalid \(12 problems\):\n {2}- name must/)
})

test('initial, final and error must differ', t => {
  const def = { ...DOOR, final: 'Closed' } as unknown as MachineDef
  t.deepEqual(validateMachine(def), ['initial, final and error must be three different states', 'table.Closed: the final state has no edges'])
})
