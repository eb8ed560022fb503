/** Benchmark knobs come from the environment (DURATION, REPEATS, HELD_N, ...). */
export function intEnv (name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`perf: ${name} must be an integer >= ${min}, got '${raw}'`)
  return n
}

/** One of `allowed`, from the environment; `fallback` when unset or empty. */
export function choiceEnv<T extends string> (name: string, allowed: readonly T[], fallback: T): T {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  if (!(allowed as readonly string[]).includes(raw)) throw new Error(`perf: ${name} must be one of ${allowed.join(', ')}, got '${raw}'`)
  return raw as T
}
