'use strict'
/** The targets of issues #6, #10 and #13, each with what this run measured and its status. */
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
const {
  E2E_LABELS,
  E2E_REDIS_MIN,
  e2eMemoryMin,
  e2ePages,
  e2eRatios,
  e2eWhy,
  e2eRedisWhy,
} = require('./e2e')
const { pipelinedRatios, PIPELINED_MIN } = require('./throughput')
const { revalidateScaling, REVALIDATE_MAX_MS, FLAT_FACTOR, FLAT_SLACK_MS } = require('./revalidate')
const { STALENESS_P99_MAX_MS, stalenessOf, stalenessWhy } = require('./staleness')
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
      // issue #13: 64 gets in flight on tagcache's connection against one redis-benchmark
      // client pipelining 16.
      const pr = pipelinedRatios(results)
      const measured = pr.some((r) => r.ratio != null)
      add(
        `Redis, no in-process hit: 'use cache' get-hit with 64 in flight ≥ ${PIPELINED_MIN}× redis-benchmark -c 1 -P 16 GET`,
        measured
          ? pr
              .map(
                (r) =>
                  `${sizeLabel(r.size)} ${ratio(r.ratio)} (${num(r.t?.opsPerSec)} vs ${num(r.p16?.opsPerSec)}/s)`,
              )
              .join(', ')
          : hasNoLocal
            ? 'redis-benchmark -P 16 not measured in this run'
            : unavailableReason(results, nolocalId) || 'not measured in this run',
        measured ? pr.every((r) => r.ratio != null && r.ratio >= PIPELINED_MIN) : null,
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
  // revalidateTag / updateTags of one tag: 100k entries (issue #6), every run ≤ 0.5 ms and flat
  // from 10k to 1M (issue #13), in process and on Redis.
  {
    const sc = revalidateScaling(results)
    const at100k = sc.map((x) => ({ ...x, r: x.runs.find((r) => r.n === 100000).r }))
    const why = (x) =>
      x.id === 'tagcache-redis' ? unavailableReason(results, 'tagcache-redis') : null
    if (at100k.some((x) => x.r)) {
      add(
        `revalidateTag with 100k keys ≤ ${REVALIDATE_MAX_MS} ms median (in process and on Redis)`,
        at100k
          .map((x) => `${x.text} ${x.r ? `${ms(x.r.medianMs)} ms` : why(x) || 'not measured'}`)
          .join(', '),
        at100k.every((x) => x.r) ? at100k.every((x) => x.r.medianMs <= REVALIDATE_MAX_MS) : null,
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
      const at10k = sc.filter((x) => x.small)
      add(
        `revalidateTag with 100k keys ≤ ${REVALIDATE_MAX_MS} ms median (in process and on Redis)`,
        `100k not measured in this run${results.meta?.mode === 'quick' ? ' (quick mode)' : ''}${at10k.length ? `; 10k: ${at10k.map((x) => `${x.text} ${ms(x.small.medianMs)} ms`).join(', ')}` : ''}${peers.length ? `. Peers: ${peers.join(', ')}` : ''}`,
        null,
      )
    }
    const parts = []
    let ok = true
    let all = true
    for (const x of sc) {
      const ran = x.runs.filter((r) => r.r)
      const failed = x.runs.filter((r) => r.error)
      if (!x.small || !x.large) all = false
      if (failed.length) ok = false
      if (ran.some((r) => r.r.medianMs > REVALIDATE_MAX_MS || r.r.lastKept === false)) ok = false
      if (x.flat === false) ok = false
      parts.push(
        `${x.text}: ${
          ran.length || failed.length
            ? x.runs
                .filter((r) => r.r || r.error)
                .map(
                  (r) =>
                    `${r.n >= 1000000 ? `${r.n / 1000000}M` : `${r.n / 1000}k`} ${r.r ? `${ms(r.r.medianMs)} ms${r.r.lastKept === false ? ' (entries evicted)' : ''}` : `failed (${r.error})`}`,
                )
                .join(', ')
            : why(x) || 'not measured in this run'
        }${x.flat == null ? '' : x.flat ? ' (flat)' : ' (**not flat**)'}`,
      )
    }
    add(
      `revalidateTag ≤ ${REVALIDATE_MAX_MS} ms median in every run, flat from 10k to 1M keys (1M median ≤ ${FLAT_FACTOR}× or +${FLAT_SLACK_MS} ms of 10k's; in process and on Redis)`,
      parts.join('; '),
      all ? ok : ok ? null : false,
    )
  }
  // issue #13: the staleness window of a tracked in-process copy on a single Redis node.
  {
    const st = stalenessOf(results)
    add(
      `Redis, single node, in-process copies on: another instance's write reaches a tracked copy with p99 < ${STALENESS_P99_MAX_MS} ms (loopback); untracked copies (cluster, Sentinel, Redis < 6) bounded by localTtlMs`,
      st
        ? `p50 ${ms(st.p50Ms)} ms, p99 ${ms(st.p99Ms)} ms, max ${ms(st.maxMs)} ms (${st.n} writes${st.timeouts ? `, ${st.timeouts} never seen in ${st.settings.maxWaitMs} ms` : ''}); untracked: ≤ localTtlMs (default ${st.settings.defaultLocalTtlMs} ms), not measured`
        : stalenessWhy(results) || 'not measured in this run',
      st ? st.p99Ms < STALENESS_P99_MAX_MS && st.timeouts === 0 : null,
    )
  }
  // Every page measured; none: the issue's page, as not measured.
  const pages = Object.entries(e2ePages(results))
  for (const [pagePath, page] of pages.length ? pages : [['/bench-reads', { rows: {} }]]) {
    const e = e2eRatios(results, pagePath)
    const rowsE2e = page.rows
    const memMin = e2eMemoryMin(pagePath)
    add(
      `End to end (next start + autocannon, page ${pagePath}): ≥ ${memMin.toFixed(2).replace(/0$/, '')}× built-in requests/s in memory`,
      e.memory != null
        ? `${ratio(e.memory)} (${num(rowsE2e.tagcache.reqPerSec)} vs ${num(rowsE2e.builtin.reqPerSec)} req/s; p50 ${ratio(e.memoryP50)})`
        : e2eWhy(results, 'builtin') || e2eWhy(results, 'tagcache') || 'not measured',
      e.memory == null ? null : e.memory >= memMin,
    )
    add(
      `End to end (next start + autocannon, page ${pagePath}): ≥ ${E2E_REDIS_MIN}× the best peer requests/s on Redis, defaults against defaults`,
      e.redis != null
        ? `${ratio(e.redis)} (${num(rowsE2e['tagcache-redis'].reqPerSec)} vs ${label(E2E_LABELS, e.bestPeer.id)} ${num(e.bestPeer.reqPerSec)} req/s; p50 ${ratio(e.redisP50)})`
        : e2eRedisWhy(results),
      e.redis == null ? null : e.redis >= E2E_REDIS_MIN,
    )
    add(
      `End to end (next start + autocannon, page ${pagePath}): ≥ ${E2E_REDIS_MIN}× the best peer requests/s on Redis, in-process copies off on both`,
      e.nolocal != null
        ? `${ratio(e.nolocal)} (${num(rowsE2e['tagcache-redis-nolocal'].reqPerSec)} vs ${label(E2E_LABELS, e.bestNoLocalPeer.id)} ${num(e.bestNoLocalPeer.reqPerSec)} req/s; p50 ${ratio(e.nolocalP50)})`
        : e2eRedisWhy(results, 'tagcache-redis-nolocal', 'trieb-nodedup'),
      e.nolocal == null ? null : e.nolocal >= E2E_REDIS_MIN,
    )
  }
  return rows
}

module.exports = { targets }
