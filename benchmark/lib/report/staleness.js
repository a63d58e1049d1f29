'use strict'
/** Staleness window of a tracked in-process copy (benchmark/lib/staleness.js, issue #13). */
const { ms, num, table } = require('./format')

/** issue #13: p99 of the window on loopback, ms. */
const STALENESS_P99_MAX_MS = 5

function stalenessOf(results) {
  const s = results.staleness
  return s && s.n ? s : null
}

function stalenessWhy(results) {
  const u = results.unavailable.find((x) => x.scenario === 'staleness')
  const e = results.errors.find((x) => x.scenario === 'staleness')
  return u?.reason || (e ? `failed: ${e.error}` : null)
}

function stalenessTable(results) {
  const s = stalenessOf(results)
  if (!s) {
    const why = stalenessWhy(results)
    return `_Not measured in this run${why ? ` (${why})` : ''}._`
  }
  const head = [
    'copy in B',
    'samples',
    'p50 ms',
    'p99 ms',
    'max ms',
    'from the start of set: p50 ms',
    'p99 ms',
  ]
  const rows = [
    [
      `tracked (single node), B's localTtlMs ${s.settings.localTtlMsReader}`,
      num(s.n),
      ms(s.p50Ms),
      ms(s.p99Ms),
      ms(s.maxMs),
      ms(s.fromSetCall?.p50Ms),
      ms(s.fromSetCall?.p99Ms),
    ],
    [
      `untracked (cluster, Sentinel, Redis < 6, tracking connection down), localTtlMs ${s.settings.defaultLocalTtlMs} (default)`,
      'not measured',
      '—',
      '—',
      `≤ ${num(s.settings.defaultLocalTtlMs)} (the bound)`,
      '—',
      '—',
    ],
  ]
  const notes = [
    `Untracked primes (B read again): ${s.untracked}; timeouts (B never saw the write within ${num(s.settings.maxWaitMs)} ms): ${s.timeouts}; seen by B before A's \`set\` resolved (counted as 0): ${s.seenBeforeSetResolved}; seen through a \`get\` after \`peek\` had no in-process answer: ${s.seenThroughGet} of ${s.n}; ${num(s.pollsPerSample)} polls per sample.`,
  ]
  return `${table(head, rows)}\n\n${notes.join('\n')}`
}

module.exports = { STALENESS_P99_MAX_MS, stalenessOf, stalenessWhy, stalenessTable }
