'use strict'
/** revalidateTag / updateTags of one tag with 10k, 100k and (tagcache) 1M entries present. */
const contenders = require('../contenders')
const { ms, ratio, div, table } = require('./format')
const { REF_IDS, refFor, label } = require('./results')

function revalidateTable(results) {
  const head = [
    'contender',
    'interface',
    'store',
    '10k entries: median ms',
    'p99 ms',
    '100k entries: median ms',
    'p99 ms',
    '1M entries: median ms',
    'p99 ms',
    'tagcache ÷ this',
    'entry invalidated',
  ]
  const rows = []
  for (const [api, list] of [
    ['uc', contenders.useCache],
    ['isr', contenders.isr],
  ]) {
    for (const [id, byN] of Object.entries(results.revalidate[api])) {
      const c = list.find((x) => x.id === id)
      const a = byN[10000]
      const b = byN[100000]
      const m = byN[1000000]
      const cell = (x) =>
        x?.error
          ? x.error
          : `${ms(x?.medianMs)}${x?.lastKept === false ? ' (entries evicted!)' : ''}`
      const r = results.revalidate[api][refFor(list, id)]
      const big = (x) => (x?.[100000] && !x[100000].error ? x[100000] : x?.[10000])
      const eff = [a, b, m].filter((x) => x && !x.error).map((x) => x.effective)
      rows.push([
        REF_IDS.has(id) ? `**${label(list, id)}**` : label(list, id),
        api === 'uc' ? "'use cache' updateTags" : 'ISR revalidateTag',
        c?.store || '',
        cell(a),
        ms(a?.p99Ms),
        cell(b),
        ms(b?.p99Ms),
        cell(m),
        ms(m?.p99Ms),
        REF_IDS.has(id) ? '1' : ratio(div(big(r)?.medianMs, big(byN)?.medianMs)),
        c?.tagsCheckedByNext
          ? 'checked by Next'
          : eff.length === 0
            ? '—'
            : eff.every(Boolean)
              ? 'yes'
              : '**no**',
      ])
    }
  }
  return rows.length ? table(head, rows) : '_No results._'
}

/** issue #13: the median of every revalidation run, ms, and how flat 10k → 1M must be. */
const REVALIDATE_MAX_MS = 0.5
const FLAT_FACTOR = 1.5
const FLAT_SLACK_MS = 0.05

/** The 10k / 100k / 1M medians of tagcache in process and on Redis, and the verdicts. */
function revalidateScaling(results) {
  const out = []
  for (const [id, text] of [
    ['tagcache', 'in process'],
    ['tagcache-redis', 'Redis'],
  ]) {
    const byN = results.revalidate?.uc?.[id] || {}
    const at = (n) => (byN[n] && !byN[n].error ? byN[n] : null)
    const runs = [10000, 100000, 1000000].map((n) => ({ n, r: at(n), error: byN[n]?.error }))
    const small = at(10000)
    const large = at(1000000)
    const flat =
      small && large
        ? large.medianMs <= Math.max(small.medianMs * FLAT_FACTOR, small.medianMs + FLAT_SLACK_MS)
        : null
    out.push({ id, text, runs, flat, small, large })
  }
  return out
}

module.exports = {
  revalidateTable,
  revalidateScaling,
  REVALIDATE_MAX_MS,
  FLAT_FACTOR,
  FLAT_SLACK_MS,
}
