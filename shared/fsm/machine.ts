/**
 * Table-driven state machines, after Mongrel2's `state_machine.rl` + `Connection_task`:
 * the **table is data**, the **actions are injected**, and each action **returns the next
 * event** (0 = nothing to do until I/O arrives). Reused by every machine Switchboard runs
 * (exchange today; WebSocket and proxy later).
 *
 * ```
 *   def (names) ──compile──▶  next[state * stride + ev]  Uint8Array, unlisted pair → error state
 *                             act [state * stride + ev]  Uint8Array, index into actionNames (0 = error)
 *   run:  ev ─▶ filters(ev) ─▶ step: ctx.state = next[i]; ev = actions[act[i]](ctx, ev) ─▶ … until 0
 * ```
 * `step` is two array loads and one call: no strings, no allocation. Filters and the
 * tracer each cost one field test when unused.
 */
import { SwitchboardError } from '../errors.js'

/** `{ State: { EVENT: ['action', 'NextState'] } }`: pairs not listed lead to the error state. */
export type Table<S extends string = string, E extends string = string, A extends string = string> = {
  readonly [K in S]?: { readonly [V in E]?: readonly [action: A, next: S] }
}

export interface MachineDef<S extends string = string, E extends string = string, A extends string = string> {
  /** Prefix of trace lines (`exchange 42: …`) and the DOT graph name. */
  readonly name: string
  /** Numbered from 0 in this order. */
  readonly states: readonly S[]
  /** Numbered from 1 in this order; 0 means "no event". */
  readonly events: readonly E[]
  readonly initial: S
  /** Terminal state: no edges; any further event is an error. */
  readonly final: S
  /** Entered on any (state, event) pair the table lacks; the `error` action runs, the machine stops. */
  readonly error: S
  readonly table: Table<S, E, A>
}

/** A machine instance's state lives in the caller's object (a connection slot, a test stub). */
export interface Context {
  state: number
  /** Printed in trace lines. */
  readonly id: number | string | bigint
}

/** Runs on a transition; returns the next event, or 0 to wait for I/O. */
export type ActionFn<C> = (ctx: C, ev: number) => number

/** Why the machine entered its error state (third argument of the `error` action). */
export const Fault = {
  /** The table has no edge for (state, event). */
  NO_EDGE: 1,
  /** The event is not an event number: a caller's or an action's return value was out of range. */
  BAD_EVENT: 2,
  /** One `run` took more than 64 steps: an action keeps feeding events back. */
  STEP_LIMIT: 3
} as const
export type Fault = typeof Fault[keyof typeof Fault]

/** The injected actions: one function per action name in the table, plus `error`. */
export type Actions<C, A extends string> = { readonly [K in A]: ActionFn<C> } & {
  /** Runs once the machine is in the error state; its return value is ignored (the machine stops). */
  readonly error: (ctx: C, ev: number, fault: Fault) => unknown
}

/**
 * Observes or rewrites events before the transition, like a Mongrel2 filter plugin.
 * Return `ev` to pass it on, another event to divert the machine, or 0 to hold it
 * (the run ends; whoever holds it feeds an event later).
 */
export interface Filter<C extends Context = Context> {
  readonly name: string
  /** Event numbers this filter wants to see. */
  readonly events: readonly number[]
  transition(ev: number, ctx: C): number
}

/** Called before each action (and on entering the error state, with action 0 = `error`). */
export type Tracer<C extends Context = Context> = (ctx: C, from: number, ev: number, action: number, to: number) => void

export interface EdgeInfo { readonly from: string, readonly event: string, readonly action: string, readonly to: string }

/** A machine definition that breaks the rules; `problems` lists every one found. */
export class MachineDefError extends SwitchboardError {
  readonly problems: readonly string[]
  constructor (name: string, problems: readonly string[]) {
    super('SWB_ERR_FSM_DEFINITION', `state machine '${name}' is invalid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

const kMaxSteps = 64
const kIdent = /^[A-Za-z_][A-Za-z0-9_]*$/
// Action index 0 is always `error`, so the zero-filled action array already maps unlisted pairs to it.
const kErrorAction = 'error'

/** Every edge, as names, in state order then table order. */
export function edgesOf (def: MachineDef): EdgeInfo[] {
  const out: EdgeInfo[] = []
  for (const from of def.states) {
    const row = def.table[from]
    if (row === undefined) continue
    for (const event of Object.keys(row)) {
      const edge = row[event]
      if (edge !== undefined) out.push({ from, event, action: edge[0], to: edge[1] })
    }
  }
  return out
}

/** Every rule `def` breaks (empty when valid). Names must be identifiers so traces and diagrams need no escaping. */
export function validateMachine (def: MachineDef): string[] {
  const problems: string[] = []
  if (typeof def.name !== 'string' || !kIdent.test(def.name)) problems.push(`name must be an identifier, got ${JSON.stringify(def.name)}`)
  const states = new Set<string>()
  const events = new Set<string>()
  if (!Array.isArray(def.states) || def.states.length === 0) problems.push('states must be a non-empty array')
  else {
    // next-state lookups are a Uint8Array
    if (def.states.length > 256) problems.push(`at most 256 states, got ${def.states.length}`)
    for (const s of def.states) {
      if (typeof s !== 'string' || !kIdent.test(s)) problems.push(`state names must be identifiers, got ${JSON.stringify(s)}`)
      else if (states.has(s)) problems.push(`state '${s}' is listed twice`)
      states.add(s)
    }
  }
  if (!Array.isArray(def.events) || def.events.length === 0) problems.push('events must be a non-empty array')
  else {
    for (const e of def.events) {
      if (typeof e !== 'string' || !kIdent.test(e)) problems.push(`event names must be identifiers, got ${JSON.stringify(e)}`)
      else if (events.has(e)) problems.push(`event '${e}' is listed twice`)
      events.add(e)
    }
  }
  for (const key of ['initial', 'final', 'error'] as const) {
    if (!states.has(def[key])) problems.push(`${key} state '${String(def[key])}' is not in states`)
  }
  if (def.initial === def.final || def.initial === def.error || def.final === def.error) {
    problems.push('initial, final and error must be three different states')
  }
  const actions = new Set<string>([kErrorAction])
  const table: Record<string, unknown> = def.table ?? {}
  for (const from of Object.keys(table)) {
    const row = table[from]
    if (!states.has(from)) problems.push(`table: '${from}' is not a state`)
    if (row === null || typeof row !== 'object') { problems.push(`table.${from} must be an object`); continue }
    const entries = Object.entries(row)
    if ((from === def.final || from === def.error) && entries.length > 0) {
      problems.push(`table.${from}: the ${from === def.final ? 'final' : 'error'} state has no edges`)
    }
    for (const [event, edge] of entries) {
      const where = `table.${from}.${event}`
      if (!events.has(event)) problems.push(`${where}: '${event}' is not an event`)
      if (!Array.isArray(edge) || edge.length !== 2) { problems.push(`${where} must be ['action', 'NextState']`); continue }
      const [action, to] = edge as unknown[]
      if (typeof action !== 'string' || !kIdent.test(action)) problems.push(`${where}: action must be an identifier, got ${JSON.stringify(action)}`)
      else if (action === kErrorAction) problems.push(`${where}: 'error' is reserved for the error state`)
      else actions.add(action)
      if (typeof to !== 'string' || !states.has(to)) problems.push(`${where}: next state ${JSON.stringify(to)} is not in states`)
      else if (to === def.error) problems.push(`${where}: the error state is entered only on unlisted pairs`)
    }
  }
  if (actions.size > 256) problems.push(`at most 255 actions, got ${actions.size - 1}`)
  return problems
}

/** @internal `names[n - base]`, or `BAD(n)` for a number that names nothing. */
function nameOr (names: readonly string[], n: number, base: number, bad: string): string {
  const name = Number.isInteger(n) ? names[n - base] : undefined
  return name ?? `${bad}(${String(n)})`
}

/**
 * A compiled machine. Immutable table; filters and the tracer are per instance, so
 * tests compile their own. Action methods are looked up once, the first time the machine
 * meets an actions object: to change behaviour pass another object, don't patch methods.
 *
 * @example
 * const m = compile<Slot, 'open'>(def)
 * m.reset(slot)
 * m.run(slot, EV_OPEN, actions)   // runs actions until one returns 0; returns slot.state
 */
export class Machine<C extends Context = Context, A extends string = string> {
  readonly def: MachineDef<string, string, A>
  readonly name: string
  readonly initial: number
  readonly final: number
  readonly error: number
  readonly stateCount: number
  readonly eventCount: number
  /** Index 0 is `error`; the rest in order of first use in the table. */
  readonly actionNames: readonly string[]
  /** Set to trace every transition; null costs one comparison per step. */
  tracer: Tracer<C> | null = null

  readonly #stride: number
  readonly #next: Uint8Array
  readonly #act: Uint8Array
  #filters: Array<Array<Filter<C>> | undefined> = []
  #filterCount = 0
  #lastActions: Actions<C, A> | null = null
  #lastVec: ReadonlyArray<ActionFn<C>> = []
  readonly #vecs = new WeakMap<object, ReadonlyArray<ActionFn<C>>>()

  constructor (def: MachineDef<string, string, A>) {
    const problems = validateMachine(def)
    if (problems.length > 0) throw new MachineDefError(String(def.name), problems)
    this.def = def
    this.name = def.name
    this.stateCount = def.states.length
    this.eventCount = def.events.length
    this.initial = def.states.indexOf(def.initial)
    this.final = def.states.indexOf(def.final)
    this.error = def.states.indexOf(def.error)
    this.#stride = this.eventCount + 1
    this.#next = new Uint8Array(this.stateCount * this.#stride).fill(this.error)
    this.#act = new Uint8Array(this.stateCount * this.#stride)
    const actionNames: string[] = [kErrorAction]
    for (const e of edgesOf(def)) {
      let a = actionNames.indexOf(e.action)
      if (a < 0) a = actionNames.push(e.action) - 1
      const i = def.states.indexOf(e.from) * this.#stride + def.events.indexOf(e.event) + 1
      this.#next[i] = def.states.indexOf(e.to)
      this.#act[i] = a
    }
    this.actionNames = actionNames
  }

  /** Puts `ctx` in the initial state. */
  reset (ctx: C): void { ctx.state = this.initial }

  isFinal (ctx: C): boolean { return ctx.state === this.final }
  isError (ctx: C): boolean { return ctx.state === this.error }

  /**
   * One transition, no filters: returns the action's next event (0 = wait). An unlisted
   * pair or a non-event `ev` puts `ctx` in the error state, runs `actions.error`, returns 0.
   */
  step (ctx: C, ev: number, actions: Actions<C, A>): number {
    return this.#exec(ctx, ev, actions, actions === this.#lastActions ? this.#lastVec : this.#resolve(actions))
  }

  /**
   * The driver (Mongrel2's `Connection_task` loop): filter, step, feed the returned event
   * back, until an action returns 0. Returns `ctx.state`.
   */
  run (ctx: C, ev: number, actions: Actions<C, A>): number {
    const vec = actions === this.#lastActions ? this.#lastVec : this.#resolve(actions)
    let steps = 0
    while (ev !== 0) {
      if (this.#filterCount !== 0) {
        ev = this.#filter(ev, ctx)
        if (ev === 0) break
      }
      if (++steps > kMaxSteps) { this.#fault(ctx, ev, actions, Fault.STEP_LIMIT); break }
      ev = this.#exec(ctx, ev, actions, vec)
    }
    return ctx.state
  }

  /** Registers a filter; filters run in registration order, before transitions on their events. */
  addFilter (filter: Filter<C>): void {
    const bad = filter.events.filter(ev => !this.#isEvent(ev))
    if (bad.length > 0) {
      throw new SwitchboardError('SWB_ERR_FSM_FILTER', `filter '${filter.name}' registers ${bad.join(', ')}, which ${bad.length === 1 ? 'is not an event' : 'are not events'} of '${this.name}' (1-${this.eventCount})`)
    }
    if (this.#filters.some(list => list?.includes(filter) === true)) {
      throw new SwitchboardError('SWB_ERR_FSM_FILTER', `filter '${filter.name}' is already registered on '${this.name}'`)
    }
    // Rebuilt, not mutated: a run in progress keeps iterating the list it loaded.
    const next = this.#filters.slice()
    for (const ev of new Set(filter.events)) next[ev] = [...(next[ev] ?? []), filter]
    this.#filters = next
    this.#filterCount++
  }

  /** Unregisters a filter; returns false if it was not registered. */
  removeFilter (filter: Filter<C>): boolean {
    let found = false
    const next = this.#filters.map(list => {
      if (list === undefined || !list.includes(filter)) return list
      found = true
      const rest = list.filter(f => f !== filter)
      return rest.length > 0 ? rest : undefined
    })
    if (!found) return false
    this.#filters = next
    this.#filterCount--
    return true
  }

  /** Filters in registration order (each once). */
  get filters (): Array<Filter<C>> {
    const seen = new Set<Filter<C>>()
    for (const list of this.#filters) for (const f of list ?? []) seen.add(f)
    return [...seen]
  }

  eventName (ev: number): string { return ev === 0 ? 'NONE' : nameOr(this.def.events, ev, 1, 'BAD_EVENT') }
  stateName (state: number): string { return nameOr(this.def.states, state, 0, 'BadState') }
  actionName (action: number): string { return nameOr(this.actionNames, action, 0, 'badAction') }

  /** `exchange 42: Waiting --REPLY@writeReply--> Responding` (names only). */
  formatTrace (ctx: Context, from: number, ev: number, action: number, to: number): string {
    return `${this.name} ${String(ctx.id)}: ${this.stateName(from)} --${this.eventName(ev)}@${this.actionName(action)}--> ${this.stateName(to)}`
  }

  /** A tracer that hands each formatted line to `sink`: `m.tracer = m.lineTracer(line => log.debug(line))`. */
  lineTracer (sink: (line: string) => void): Tracer<C> {
    return (ctx, from, ev, action, to) => { sink(this.formatTrace(ctx, from, ev, action, to)) }
  }

  #isEvent (ev: number): boolean {
    return Number.isInteger(ev) && ev >= 1 && ev <= this.eventCount
  }

  #exec (ctx: C, ev: number, actions: Actions<C, A>, vec: ReadonlyArray<ActionFn<C>>): number {
    // `ev >>> 0 !== ev` rejects NaN, fractions, negatives and undefined (an action that forgot to return)
    if (ev >>> 0 !== ev || ev === 0 || ev > this.eventCount) return this.#fault(ctx, ev, actions, Fault.BAD_EVENT)
    const from = ctx.state
    const i = from * this.#stride + ev
    const to = this.#next[i]
    // undefined: ctx.state was not a state number
    if (to === undefined || to === this.error) return this.#fault(ctx, ev, actions, Fault.NO_EDGE)
    const a = this.#act[i] as number
    ctx.state = to
    if (this.tracer !== null) this.tracer(ctx, from, ev, a, to)
    return (vec[a] as ActionFn<C>).call(actions, ctx, ev)
  }

  #fault (ctx: C, ev: number, actions: Actions<C, A>, fault: Fault): 0 {
    const from = ctx.state
    ctx.state = this.error
    if (this.tracer !== null) this.tracer(ctx, from, ev, 0, this.error)
    actions.error(ctx, ev, fault)
    return 0
  }

  #filter (ev: number, ctx: C): number {
    const list = this.#filters[ev]
    if (list === undefined) return ev
    for (let i = 0; i < list.length; i++) {
      const out = (list[i] as Filter<C>).transition(ev, ctx)
      // Mongrel2's Filter_run: the chain stops at the first filter that changes the event
      if (out !== ev) return out
    }
    return ev
  }

  // Method lookup by name happens once per actions object, not per step.
  #resolve (actions: Actions<C, A>): ReadonlyArray<ActionFn<C>> {
    let vec = this.#vecs.get(actions)
    if (vec === undefined) {
      const fns: Array<ActionFn<C>> = []
      const missing: string[] = []
      for (const name of this.actionNames) {
        const fn: unknown = (actions as unknown as Record<string, unknown>)[name]
        if (typeof fn !== 'function') missing.push(`'${name}'`)
        fns.push(fn as ActionFn<C>)
      }
      if (missing.length > 0) {
        throw new SwitchboardError('SWB_ERR_FSM_ACTIONS', `actions for '${this.name}' lack ${missing.join(', ')}: every action the table names, and 'error', must be a function`)
      }
      vec = fns
      this.#vecs.set(actions, vec)
    }
    this.#lastActions = actions
    this.#lastVec = vec
    return vec
  }
}

/** Validates and compiles `def`; throws MachineDefError listing every problem. */
export function compile<C extends Context = Context, A extends string = string> (def: MachineDef<string, string, A>): Machine<C, A> {
  return new Machine<C, A>(def)
}
