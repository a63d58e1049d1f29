'use strict'
/**
 * Load loops and their statistics. Every loop is bounded twice: by time and by a count of
 * operations, so that a slow contender can never hold the run.
 */
const { performance } = require('node:perf_hooks')

/** The q-quantile (0..1) of the first `n` values of a Float64Array, sorted in place. */
function quantile(sorted, n, q) {
  if (n === 0) return NaN
  const i = Math.min(n - 1, Math.max(0, Math.ceil(q * n) - 1))
  return sorted[i]
}

function median(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (v.length === 0) return NaN
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

/**
 * Runs `op(i)` with `concurrency` operations in flight: first for `warmupMs` (not counted),
 * then for `durationMs` or `maxOps` operations, whichever comes first.
 * `op` resolves to true on success (a hit read to the end, a set done), false otherwise.
 * Returns ops/s, p50 and p99 latency in microseconds, and the count of failed operations.
 */
async function runLoad(
  op,
  { concurrency = 1, durationMs = 1000, warmupMs = 300, maxOps = 500000 },
) {
  let i = 0
  if (warmupMs > 0) {
    const warmEnd = performance.now() + warmupMs
    let warmOps = 0
    const warm = async () => {
      while (performance.now() < warmEnd && warmOps < maxOps) {
        warmOps++
        await op(i++)
      }
    }
    await Promise.all(Array.from({ length: concurrency }, warm))
  }
  const cap = Math.min(maxOps, 2_000_000)
  const lat = new Float64Array(cap)
  let n = 0
  let failed = 0
  let started = 0
  const t0 = performance.now()
  const end = t0 + durationMs
  const worker = async () => {
    while (started < cap && performance.now() < end) {
      started++
      const s = performance.now()
      const ok = await op(i++)
      const e = performance.now()
      if (!ok) failed++
      if (n < cap) lat[n++] = (e - s) * 1000
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const elapsed = performance.now() - t0
  const sorted = lat.subarray(0, n).sort()
  return {
    ops: n,
    failed,
    seconds: elapsed / 1000,
    opsPerSec: (n / elapsed) * 1000,
    p50: quantile(sorted, n, 0.5),
    p99: quantile(sorted, n, 0.99),
  }
}

/** Times `fn` `reps` times (at most `maxMs` in all), sequentially; latencies in ms. */
async function timeRepeated(fn, { reps = 20, maxMs = 10000 }) {
  const times = []
  const end = performance.now() + maxMs
  for (let r = 0; r < reps; r++) {
    const s = performance.now()
    await fn(r)
    times.push(performance.now() - s)
    if (performance.now() > end) break
  }
  const sorted = Float64Array.from(times).sort()
  return {
    reps: times.length,
    medianMs: median(times),
    p99Ms: quantile(sorted, sorted.length, 0.99),
    minMs: sorted[0],
  }
}

module.exports = { runLoad, timeRepeated, median, quantile }
