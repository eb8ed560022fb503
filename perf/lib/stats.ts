/** Medians and spread over a handful of repeats (2–5): no distribution assumptions. */

export function median (xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return Number.NaN
  const mid = v.length >> 1
  return v.length % 2 === 1 ? v[mid] as number : ((v[mid - 1] as number) + (v[mid] as number)) / 2
}

/** (max − min) / median, in %: how far apart the repeats landed. */
export function spreadPct (xs: readonly number[]): number {
  const v = xs.filter((x) => Number.isFinite(x))
  if (v.length < 2) return Number.NaN
  const m = median(v)
  return m > 0 ? (Math.max(...v) - Math.min(...v)) / m * 100 : Number.NaN
}
