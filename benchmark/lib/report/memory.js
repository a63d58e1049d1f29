'use strict'
/** Memory per entry: RSS and heap growth after set and after one read of each entry. */
const contenders = require('../contenders')
const { ratio, mib, div, table } = require('./format')
const { label } = require('./results')

/** Bytes per entry, rounded. */
function perEntry(bytes, r) {
  return bytes == null || !r?.entries ? '—' : Math.round(bytes / r.entries).toLocaleString('en-US')
}

/**
 * tagcache ÷ built-in memory growth after set and after one read of each entry, phase by
 * phase; `worst` is the phase with the larger RSS ratio.
 */
function memoryRatios(m) {
  const phases = []
  const tc = m.tagcache
  const bi = m.builtin
  if (tc && bi) {
    phases.push({ label: 'after set', tc, bi })
    phases.push({ label: 'after one read each', tc: tc.afterRead, bi: bi.afterRead })
  }
  for (const p of phases) {
    p.rss = div(p.tc.rssBytes, p.bi.rssBytes)
    p.js = div(p.tc.jsBytes, p.bi.jsBytes)
  }
  const worst = phases.reduce((a, p) => (a == null || (p.rss ?? -1) > (a.rss ?? -1) ? p : a), null)
  return { phases, worst }
}

function memoryTable(results) {
  const m = results.memory
  const head = [
    'contender',
    'entries kept',
    'RSS growth MiB (set / read)',
    'B/entry RSS after set',
    'B/entry RSS after one read each',
    'B/entry heap+external after set',
    'after one read each',
    'tagcache ÷ this, RSS (set / read)',
    'heap+external (set / read)',
  ]
  const rows = []
  const pair = (a, b) => `${a} / ${b}`
  for (const [id, r] of Object.entries(m)) {
    const t = m.tagcache
    const read = r.afterRead
    rows.push([
      id === 'tagcache' ? `**${label(contenders.useCache, id)}**` : label(contenders.useCache, id),
      r.retained ? `${r.entries.toLocaleString('en-US')}` : '**evicted**',
      pair(mib(r.rssBytes), mib(read.rssBytes)),
      perEntry(r.rssBytes, r),
      perEntry(read.rssBytes, r),
      perEntry(r.jsBytes, r),
      perEntry(read.jsBytes, r),
      id === 'tagcache'
        ? '1'
        : pair(
            ratio(div(t?.rssBytes, r.rssBytes)),
            ratio(div(t?.afterRead.rssBytes, read.rssBytes)),
          ),
      id === 'tagcache'
        ? '1'
        : pair(ratio(div(t?.jsBytes, r.jsBytes)), ratio(div(t?.afterRead.jsBytes, read.jsBytes))),
    ])
  }
  return rows.length ? table(head, rows) : '_No results._'
}

module.exports = { perEntry, memoryRatios, memoryTable }
