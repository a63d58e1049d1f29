'use strict'
/** revalidateTag / updateTags of one tag with 10k and 100k entries present. */
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
      const r = results.revalidate[api][refFor(list, id)]
      const big = (x) => (x?.[100000] && !x[100000].error ? x[100000] : x?.[10000])
      const eff = [a, b].filter((x) => x && !x.error).map((x) => x.effective)
      rows.push([
        REF_IDS.has(id) ? `**${label(list, id)}**` : label(list, id),
        api === 'uc' ? "'use cache' updateTags" : 'ISR revalidateTag',
        c?.store || '',
        a?.error ? a.error : ms(a?.medianMs),
        ms(a?.p99Ms),
        b?.error ? b.error : ms(b?.medianMs),
        ms(b?.p99Ms),
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

module.exports = { revalidateTable }
