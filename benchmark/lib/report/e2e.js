'use strict'
/** End to end (`next start` under autocannon, benchmark/lib/e2e.js): per page, a table and two ratios. */
const { num, ms, ratio, mib, div, table } = require('./format')

const E2E_LABELS = [
  { id: 'tagcache', label: 'tagcache (memory)' },
  { id: 'builtin', label: 'Next built-in (memory)' },
  { id: 'tagcache-redis', label: 'tagcache (Redis)' },
  { id: 'trieb', label: 'trieb (Redis)' },
]

/** The measured pages: { path: { label, values, rows: { id: row } } }. */
function e2ePages(results) {
  return results.e2e.pages || {}
}

/**
 * tagcache ÷ built-in (memory) and tagcache Redis ÷ the best peer, on requests/s and p50,
 * for one page.
 */
function e2eRatios(results, pagePath) {
  const rows = e2ePages(results)[pagePath]?.rows || {}
  let bestPeer = null
  for (const [id, r] of Object.entries(rows))
    if (r.peer && (!bestPeer || r.reqPerSec > bestPeer.reqPerSec)) bestPeer = { id, ...r }
  return {
    memory: div(rows.tagcache?.reqPerSec, rows.builtin?.reqPerSec),
    memoryP50: div(rows.builtin?.p50, rows.tagcache?.p50),
    redis: div(rows['tagcache-redis']?.reqPerSec, bestPeer?.reqPerSec),
    redisP50: div(bestPeer?.p50, rows['tagcache-redis']?.p50),
    bestPeer,
  }
}

function e2eWhy(results, id) {
  const u = results.unavailable.find((x) => x.scenario === 'e2e' && x.id === id)
  const f = results.errors.find((x) => x.scenario === 'e2e' && x.id === id)
  return u?.reason || (f ? `failed: ${f.error}` : null)
}

function e2eRedisWhy(results) {
  const peer = e2eWhy(results, 'trieb')
  return e2eWhy(results, 'tagcache-redis') || (peer ? `no peer measured: ${peer}` : 'not measured')
}

/** "GET 0.05, XRANGE 7.2": Redis commands per request, by command, most first. */
function commandsPerRequest(r) {
  const sent = r.requestsSent
  if (!r.redisCommands || !sent) return '—'
  const list = Object.entries(r.redisCommands).sort((a, b) => b[1] - a[1])
  if (list.length === 0) return '0'
  return list.map(([c, n]) => `${c.toUpperCase()} ${num(n / sent)}`).join(', ')
}

/** Handler gets per request under load, with where the count comes from. */
function getsCell(r) {
  if (r.handlerGetsPerRequest == null) return '—'
  const src = !r.handlerGetsSource
    ? ''
    : /tagcache/.test(r.handlerGetsSource)
      ? ' (engine)'
      : " ('use cache')"
  const hits = r.handlerHitRatio == null ? '' : `, ${(r.handlerHitRatio * 100).toFixed(0)}% hits`
  return `${num(r.handlerGetsPerRequest)}${src}${hits}`
}

/** Gets of one request alone (nothing else in flight), and how many were hits. */
function aloneCell(r) {
  if (r.handlerGetsAlone == null) return '—'
  const hits = r.handlerHitsAlone === r.handlerGetsAlone ? 'all hits' : `${r.handlerHitsAlone} hits`
  return `${r.handlerGetsAlone} (${hits})`
}

/** One page's table and its two ratios. */
function e2ePageTable(results, pagePath) {
  const rows = e2ePages(results)[pagePath]?.rows || {}
  if (Object.keys(rows).length === 0) return '_Not measured in this run._'
  const e = e2eRatios(results, pagePath)
  const head = [
    'server',
    'requests/s',
    'p50 ms',
    'p99 ms',
    'requests completed (sent)',
    'errors / non-2xx',
    'handler gets per request, one request alone',
    'handler gets per request under load',
    'gets sent to Redis per request',
    'Redis commands per request (by command)',
    'server RSS MiB',
    'tagcache ÷ this (req/s)',
  ]
  const out = []
  for (const [id, r] of Object.entries(rows)) {
    const ref = r.store === 'redis' ? 'tagcache-redis' : 'tagcache'
    out.push([
      `${id === ref ? `**${r.label}**` : r.label}${r.cached ? '' : ' (page value not cached!)'}`,
      num(r.reqPerSec),
      ms(r.p50),
      ms(r.p99),
      `${r.requests.toLocaleString('en-US')} (${r.requestsSent.toLocaleString('en-US')})`,
      `${r.errors} / ${r.non2xx}`,
      aloneCell(r),
      getsCell(r),
      r.sharedReadsPerRequest == null ? '—' : num(r.sharedReadsPerRequest),
      r.redisCommandsPerRequest == null
        ? '—'
        : `${num(r.redisCommandsPerRequest)} (${commandsPerRequest(r)})`,
      mib(r.rssBytes),
      id === ref ? '1' : ratio(div(rows[ref]?.reqPerSec, r.reqPerSec)),
    ])
  }
  const summary = [
    `tagcache ÷ built-in (memory): **${ratio(e.memory)}** requests/s, p50 ${ratio(e.memoryP50)} (target ≥ 0.95×).`,
    `tagcache (Redis) ÷ best peer${e.bestPeer ? ` (${e.bestPeer.label})` : ''}: **${ratio(e.redis)}** requests/s, p50 ${ratio(e.redisP50)} (target ≥ 2×)${e.redis == null ? `: ${e2eRedisWhy(results)}` : ''}.`,
  ]
  return `${table(head, out)}\n\n${summary.join('\n')}`
}

/** Every page: a heading, its table and ratios. */
function e2eTable(results) {
  const pages = Object.entries(e2ePages(results))
  if (pages.length === 0) return '_Not measured in this run._'
  return pages
    .map(([pagePath, p]) => `### Page ${p.label}\n\n${e2ePageTable(results, pagePath)}`)
    .join('\n\n')
}

module.exports = { E2E_LABELS, e2ePages, e2eRatios, e2eWhy, e2eRedisWhy, e2ePageTable, e2eTable }
