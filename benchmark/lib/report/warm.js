'use strict'
/** Warm starts (issue #10): `next start` to the first 200 of a prerendered page. */
const { ms, ratio, div, table } = require('./format')

function warmWhy(results) {
  const why = (id) => {
    const u = results.unavailable.find((x) => x.scenario === 'warm' && x.id === id)
    const f = results.errors.find((x) => x.scenario === 'warm' && x.id === id)
    return u?.reason || (f ? `failed: ${f.error}` : null)
  }
  return why('tagcache') || why('builtin') || 'not measured'
}

function warmTable(results) {
  const rows = results.warm?.rows || {}
  if (Object.keys(rows).length === 0)
    return `_Not measured in this run${results.warm?.rows ? `: ${warmWhy(results)}` : ''}._`
  const head = [
    'server',
    'moment',
    'next start → first 200, median ms',
    'first request ms',
    'next request (1 s later) ms',
    'first response rendered',
    'first response = build output',
    "= the previous run's regeneration",
    'engine storage',
    'tagcache ÷ this (start → 200)',
    '(first request)',
  ]
  const out = []
  for (const [phase, text] of [
    ['first', 'first start after next build'],
    ['restart', 'restart (same .next)'],
  ]) {
    const ref = rows.tagcache?.[phase]
    for (const [id, r] of Object.entries(rows)) {
      const x = r[phase]
      if (!x) continue
      out.push([
        id === 'tagcache' ? `**${r.label}**` : r.label,
        text,
        ms(x.startToFirstMs),
        ms(x.firstRequestMs),
        ms(x.secondRequestMs),
        `${x.rendered}/${x.reps}`,
        `${x.fromBuild}/${x.reps}`,
        phase === 'restart' ? `${x.fromPreviousRun ?? '—'}/${x.reps}` : '—',
        x.storage ?? (id === 'tagcache' ? '?' : '—'),
        id === 'tagcache' ? '1' : ratio(div(ref?.startToFirstMs, x.startToFirstMs)),
        id === 'tagcache' ? '1' : ratio(div(ref?.firstRequestMs, x.firstRequestMs)),
      ])
    }
  }
  return table(head, out)
}

module.exports = { warmWhy, warmTable }
