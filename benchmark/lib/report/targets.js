'use strict'
/** The targets of issues #6 and #10, each with what this run measured and its status. */
const contenders = require('../contenders')
const { SIZES, sizeLabel } = require('../workload')
const { num, ms, ratio, div } = require('./format')
const {
  C64,
  UC_REDIS_PEERS,
  ISR_REDIS_PEERS,
  UC_PEERS_READING_REDIS,
  ISR_PEERS_READING_REDIS,
  label,
  tp,
  opsOf,
  bestOf,
  unavailableReason,
} = require('./results')
const { E2E_LABELS, e2ePages, e2eRatios, e2eWhy, e2eRedisWhy } = require('./e2e')
const { perEntry, memoryRatios } = require('./memory')
const { warmWhy } = require('./warm')

/** The issue's targets, evaluated on what this run measured. */
function targets(results) {
  const rows = []
  const status = (ok) => (ok == null ? 'not measured' : ok ? '**met**' : '**missed**')
  const add = (target, measured, ok) => rows.push({ target, measured, ok, status: status(ok) })

  for (const op of ['get', 'set']) {
    for (const mode of ['seq', C64]) {
      const parts = []
      let all = true
      let any = false
      for (const size of SIZES) {
        const r = div(
          opsOf(results, 'uc', 'tagcache', size, op, mode),
          opsOf(results, 'uc', 'builtin', size, op, mode),
        )
        const p50 = div(
          tp(results, 'uc', 'builtin', size, op, mode)?.p50,
          tp(results, 'uc', 'tagcache', size, op, mode)?.p50,
        )
        parts.push(`${sizeLabel(size)} ${ratio(r)}${p50 != null ? ` (p50 ${ratio(p50)})` : ''}`)
        if (r == null) all = false
        else {
          any = true
          if (r < 1.0) all = false
        }
      }
      add(
        `In process: 'use cache' ${op === 'get' ? 'get-hit' : 'set'} ≥ 1.0× built-in (${mode === 'seq' ? 'sequential' : '64 in flight'})`,
        parts.join(', '),
        any ? all : null,
      )
    }
  }
  // Issue #10: the memory tier in front of the disk tier keeps a hit as fast as memory only.
  {
    const parts = []
    let all = true
    let any = false
    for (const size of SIZES) {
      const r = div(
        opsOf(results, 'uc', 'tagcache-disk', size, 'get', 'seq'),
        opsOf(results, 'uc', 'builtin', size, 'get', 'seq'),
      )
      const vsMem = div(
        opsOf(results, 'uc', 'tagcache-disk', size, 'get', 'seq'),
        opsOf(results, 'uc', 'tagcache', size, 'get', 'seq'),
      )
      const isr = div(
        opsOf(results, 'isr', 'tagcache-isr-disk', size, 'get', 'seq'),
        opsOf(results, 'isr', 'builtin-isr', size, 'get', 'seq'),
      )
      parts.push(
        `${sizeLabel(size)} ${ratio(r)} (${ratio(vsMem)} of tagcache memory-only; ISR ${ratio(isr)})`,
      )
      if (r == null) all = false
      else {
        any = true
        if (r < 1.0) all = false
      }
    }
    add(
      "With diskDir, in process: 'use cache' get-hit ≥ 1.0× built-in, as fast as memory-only (sequential)",
      any ? parts.join(', ') : unavailableReason(results, 'tagcache-disk') || 'not measured',
      any ? all : null,
    )
  }
  for (const [what, pick, judged] of [
    [
      'Disk tier: ISR set ≥ 1.0× FileSystemCache (sequential, counted until on disk)',
      (d) => [d?.set?.seq?.durableOpsPerSec, d?.set?.seq?.opsPerSec],
      'on disk',
    ],
    [
      'Disk tier: ISR get, cold after a restart (fresh process, page cache dropped) ≥ 1.0× FileSystemCache (sequential)',
      (d) => [d?.get?.dropped?.seq?.opsPerSec, d?.get?.pagecache?.seq?.opsPerSec],
      'page cache dropped',
    ],
  ]) {
    const parts = []
    let all = true
    let any = false
    for (const kind of Object.keys(results.disk || {})) {
      for (const size of SIZES) {
        const t = pick(results.disk[kind]?.[size]?.['tagcache-disk'])
        const b = pick(results.disk[kind]?.[size]?.['builtin-fs'])
        const r = div(t[0], b[0])
        const r2 = div(t[1], b[1])
        if (t[0] == null && b[0] == null) continue
        parts.push(
          `${kind} ${sizeLabel(size)} ${ratio(r)} (${judged === 'on disk' ? 'set resolved' : 'page cache kept'} ${ratio(r2)})`,
        )
        if (r == null) all = false
        else {
          any = true
          if (r < 1.0) all = false
        }
      }
    }
    add(
      what,
      any
        ? parts.join(', ')
        : unavailableReason(results, 'tagcache-disk') ||
            (parts.length ? parts.join(', ') : 'not measured'),
      any ? all : null,
    )
  }
  {
    const rows = results.warm?.rows || {}
    const t = rows.tagcache
    const b = rows.builtin
    for (const [phase, text] of [
      ['first', 'first start after next build'],
      ['restart', 'restart'],
    ]) {
      const r = div(t?.[phase]?.startToFirstMs, b?.[phase]?.startToFirstMs)
      const rq = div(t?.[phase]?.firstRequestMs, b?.[phase]?.firstRequestMs)
      add(
        `Warm start (${text}): next start → first 200 of a prerendered page ≤ 1.0× built-in, not rendered`,
        t && b
          ? `${ratio(r)} (${ms(t[phase].startToFirstMs)} vs ${ms(b[phase].startToFirstMs)} ms; first request ${ratio(rq)}: ${ms(t[phase].firstRequestMs)} vs ${ms(b[phase].firstRequestMs)} ms); rendered on the first request: tagcache ${t[phase].rendered}/${t[phase].reps}, built-in ${b[phase].rendered}/${b[phase].reps}`
          : warmWhy(results),
        r == null ? null : r <= 1.0 && t[phase].rendered === 0,
      )
    }
  }
  const m = results.memory
  const mem = memoryRatios(m)
  add(
    `In process: memory per entry ≤ 0.8× built-in (RSS growth, ${((m.tagcache?.entries || 100000) / 1000).toFixed(0)}k × 1 KiB; the worse of after set and after one read each)`,
    m.tagcache && m.builtin
      ? mem.phases
          .map(
            (p) =>
              `${p.label}: ${ratio(p.rss)} RSS (${perEntry(p.tc.rssBytes, m.tagcache)} vs ${perEntry(p.bi.rssBytes, m.builtin)} B/entry), heap+external ${ratio(p.js)}`,
          )
          .join('; ') + `; judged on ${mem.worst.label}`
      : '—',
    mem.worst?.rss == null ? null : mem.worst.rss <= 0.8,
  )

  const why = unavailableReason(results, 'tagcache-redis') || 'not measured'
  const peerLine = (scenario, peers, sizes) =>
    sizes
      .map((s) => {
        const b = bestOf(results, scenario, peers, s, 'get', 'seq')
        const list = scenario === 'uc' ? contenders.useCache : contenders.isr
        return `${sizeLabel(s)}: ${b ? `${label(list, b.id)} ${num(b.ops)}/s` : '—'}`
      })
      .join('; ')
  /** tagcache `id` ÷ best of `peers`, sequential get-hit, at `sizes`; { text, ok }. */
  const vsPeers = (scenario, id, peers, sizes, min) => {
    const parts = []
    let ok = true
    for (const size of sizes) {
      const b = bestOf(results, scenario, peers, size, 'get', 'seq')
      const r = div(opsOf(results, scenario, id, size, 'get', 'seq'), b?.ops)
      const list = scenario === 'uc' ? contenders.useCache : contenders.isr
      parts.push(`${sizeLabel(size)} ${ratio(r)}${b ? ` (vs ${label(list, b.id)})` : ''}`)
      if (r == null || r < min) ok = false
    }
    return { text: parts.join(', '), ok }
  }
  const cmdsPerGet = (scenario, id) => results[scenario][id]?.[SIZES[0]]?.redisCommands?.get?.perOp

  for (const [scenario, base, nolocalId, allPeers, redisPathPeers, min, what] of [
    [
      'uc',
      'tagcache-redis',
      'tagcache-redis-nolocal',
      UC_REDIS_PEERS,
      UC_PEERS_READING_REDIS,
      5,
      "'use cache' get-hit",
    ],
    [
      'isr',
      'tagcache-isr-redis',
      'tagcache-isr-redis-nolocal',
      ISR_REDIS_PEERS,
      ISR_PEERS_READING_REDIS,
      10,
      'ISR APP_PAGE get-hit',
    ],
  ]) {
    const hasBase = Boolean(results[scenario][base])
    const hasNoLocal = Boolean(results[scenario][nolocalId])
    if (!hasBase && !hasNoLocal) {
      add(
        `Redis: ${what} ≥ ${min}× the best peer at 16 KiB and 256 KiB${scenario === 'uc' ? ', ≥ 0.8× redis-benchmark -c 1 GET, 1 round trip' : ''}`,
        `${unavailableReason(results, base) || why}. Best peer: ${peerLine(scenario, allPeers, SIZES)}`,
        null,
      )
      continue
    }
    if (scenario === 'uc') {
      const id = hasNoLocal ? nolocalId : base
      const parts = []
      let ok = true
      for (const size of SIZES) {
        const r = div(
          opsOf(results, 'uc', id, size, 'get', 'seq'),
          results.floor[size]?.c1?.get?.opsPerSec,
        )
        parts.push(`${sizeLabel(size)} ${ratio(r)}`)
        if (r == null || r < 0.8) ok = false
      }
      const c = cmdsPerGet('uc', id)
      const readsRedis = c != null && c >= 0.99
      add(
        "Redis, no in-process hit: 'use cache' get-hit ≥ 0.8× redis-benchmark -c 1 GET (sequential)",
        `${parts.join(', ')}${readsRedis ? '' : ` (not a Redis read: ${num(c)} commands per get${hasNoLocal ? '' : `; ${unavailableReason(results, nolocalId) || 'no way to turn the in-process copy off'}`})`}`,
        readsRedis ? ok : null,
      )
      add(
        "Redis, no in-process hit: 'use cache' get-hit in 1 round trip",
        c == null ? '—' : `${num(c)} Redis commands per get (${label(contenders.useCache, id)})`,
        readsRedis ? c <= 1.01 : null,
      )
    }
    if (hasNoLocal) {
      const v = vsPeers(scenario, nolocalId, redisPathPeers, [16384, 262144], min)
      add(
        `Redis, no in-process hit: ${what} ≥ ${min}× the best peer reading Redis, at 16 KiB and 256 KiB`,
        v.text,
        v.ok,
      )
    }
    if (hasBase) {
      const v = vsPeers(scenario, base, allPeers, [16384, 262144], min)
      add(
        `Redis, defaults against defaults (in-process copies on): ${what} ≥ ${min}× the best peer, at 16 KiB and 256 KiB`,
        v.text,
        v.ok,
      )
    }
  }
  const rv = results.revalidate.uc['tagcache-redis']?.[100000]
  const rv10 = results.revalidate.uc['tagcache-redis']?.[10000]
  if (!rv && rv10 && !rv10.error) {
    add(
      'Redis: revalidateTag with 100k keys ≤ 0.5 ms median',
      `100k not run (quick mode); 10k entries: ${ms(rv10.medianMs)} ms`,
      null,
    )
  } else if (rv) {
    add(
      'Redis: revalidateTag with 100k keys ≤ 0.5 ms median',
      `${ms(rv.medianMs)} ms`,
      rv.medianMs <= 0.5,
    )
  } else {
    const peers = [
      ['uc', 'trieb'],
      ['uc', 'mrjasonroy-redis'],
      ['isr', 'trieb-isr'],
      ['isr', 'forte'],
    ]
      .map(([api, id]) => {
        const r = results.revalidate[api][id]?.[100000]
        return r && !r.error
          ? `${label(api === 'uc' ? contenders.useCache : contenders.isr, id)}${api === 'isr' ? ' ISR' : ''} ${ms(r.medianMs)} ms`
          : null
      })
      .filter(Boolean)
    add(
      'Redis: revalidateTag with 100k keys ≤ 0.5 ms median',
      `${why}${peers.length ? `. Peers: ${peers.join(', ')}` : ''}`,
      null,
    )
  }
  for (const [pagePath, page] of Object.entries(e2ePages(results))) {
    const e = e2eRatios(results, pagePath)
    const rowsE2e = page.rows
    add(
      `End to end (next start + autocannon, page ${pagePath}): ≥ 0.95× built-in requests/s in memory`,
      e.memory != null
        ? `${ratio(e.memory)} (${num(rowsE2e.tagcache.reqPerSec)} vs ${num(rowsE2e.builtin.reqPerSec)} req/s; p50 ${ratio(e.memoryP50)})`
        : e2eWhy(results, 'builtin') || e2eWhy(results, 'tagcache') || 'not measured',
      e.memory == null ? null : e.memory >= 0.95,
    )
    add(
      `End to end (next start + autocannon, page ${pagePath}): ≥ 2× the best peer requests/s on Redis`,
      e.redis != null
        ? `${ratio(e.redis)} (${num(rowsE2e['tagcache-redis'].reqPerSec)} vs ${label(E2E_LABELS, e.bestPeer.id)} ${num(e.bestPeer.reqPerSec)} req/s; p50 ${ratio(e.redisP50)})`
        : e2eRedisWhy(results),
      e.redis == null ? null : e.redis >= 2,
    )
  }
  return rows
}

module.exports = { targets }
