/**
 * Exchange filters shipped with the acceptor (Mongrel2's `tools/filters/`, in-process).
 * A filter sees the events it registered before the transition runs; it returns the
 * event to observe, another event to divert, or 0 to hold it. Chains stop at the first
 * rewrite, so register observers before rewriters if they must see every event.
 *
 * @example
 * const fsm = createExchangeMachine<Slot>()
 * if (config.maintenance) fsm.addFilter(maintenanceFilter)
 */
import type { Filter } from '../../shared/fsm/machine.js'
import { EVENTS, Ev } from './exchange-fsm.js'

/**
 * Maintenance mode: every routed request (HANDLER, or HANDSHAKE for a WebSocket) becomes
 * UNAVAILABLE, so the client gets 503 and nothing reaches a handler. 404/400/413 still
 * answer as usual.
 */
export const maintenanceFilter: Filter = Object.freeze({
  name: 'maintenance',
  events: Object.freeze([Ev.HANDLER, Ev.HANDSHAKE]),
  transition: (ev: number): number => ev === Ev.HANDLER || ev === Ev.HANDSHAKE ? Ev.UNAVAILABLE : ev
})

/** An observing filter that counts events as they enter the machine (before the transition). */
export interface EventCounter extends Filter {
  /** Indexed by event number; Float64 so counts stay exact far past 2^32. */
  readonly counts: Float64Array
  count(ev: number): number
  /** `{ OPEN: 12, REPLY: 30, … }` without zero entries. */
  snapshot(): Record<string, number>
  clear(): void
}

/** Counts `events` (default: all exchange events). Never changes an event. */
export function createEventCounter (events: readonly number[] = EVENTS.map((_, i) => i + 1)): EventCounter {
  const counts = new Float64Array(EVENTS.length + 1)
  return {
    name: 'event-counter',
    events: Object.freeze([...events]),
    counts,
    transition (ev: number): number {
      counts[ev]! += 1
      return ev
    },
    count: (ev: number): number => counts[ev] ?? 0,
    snapshot (): Record<string, number> {
      const out: Record<string, number> = {}
      for (let ev = 1; ev < counts.length; ev++) {
        const n = counts[ev] ?? 0
        if (n > 0) out[EVENTS[ev - 1] as string] = n
      }
      return out
    },
    clear: (): void => { counts.fill(0) }
  }
}
