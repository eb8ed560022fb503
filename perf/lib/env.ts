/** Benchmark knobs come from the environment (DURATION, REPEATS, HELD_N, ...). */
export function intEnv (name: string, fallback: number, min: number): number {
  const raw = process.env[name]
  if (raw === undefined || raw === '') return fallback
  const n = Number(raw)
  if (!Number.isInteger(n) || n < min) throw new Error(`perf: ${name} must be an integer >= ${min}, got '${raw}'`)
  return n
}
