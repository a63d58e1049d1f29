'use strict'
/**
 * Turns a run's results into tables (console and docs/benchmarks.md), the targets of issue
 * #6 with their status, and the SVG chart of ratios (docs/benchmarks.svg).
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const contenders = require('./contenders')
const { SIZES, sizeLabel, CHUNK, keyCount } = require('./workload')
const soak = require('./soak')

const C64 = 'c64'

function pkgVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  } catch {
    return 'not installed'
  }
}

/** Which tagcache was measured: the commit, whether src/ had changes, when the addon was built. */
function buildInfo(root) {
  const git = (args) => {
    const r = require('node:child_process').spawnSync('git', args, { cwd: root, encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : null
  }
  const addon = fs.readdirSync(root).find((f) => /^tagcache\..*\.node$/.test(f))
  const changed = git(['status', '--porcelain', '--', 'src', 'next', 'index.js'])
  return {
    commit: git(['rev-parse', '--short', 'HEAD']),
    uncommittedChanges: changed == null ? null : changed.split('\n').filter(Boolean).length,
    addonBuilt: addon ? fs.statSync(path.join(root, addon)).mtime.toISOString() : null,
  }
}

function collectMeta({ root, benchDir, quick, settings, redisServer }) {
  const nm = path.join(benchDir, 'node_modules')
  return {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    settings,
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model?.trim() || 'unknown CPU'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    next: pkgVersion(path.join(root, 'node_modules', 'next')),
    tagcache: pkgVersion(root),
    redis: redisServer ? redisServer.version : 'not started',
    build: buildInfo(root),
    peers: {
      '@trieb.work/nextjs-turbo-redis-cache': pkgVersion(
        path.join(nm, '@trieb.work/nextjs-turbo-redis-cache'),
      ),
      '@fortedigital/nextjs-cache-handler': pkgVersion(
        path.join(nm, '@fortedigital/nextjs-cache-handler'),
      ),
      '@mrjasonroy/cache-components-cache-handler': pkgVersion(
        path.join(nm, '@mrjasonroy/cache-components-cache-handler'),
      ),
      redis: pkgVersion(path.join(nm, 'redis')),
      '@redis/client': pkgVersion(path.join(nm, '@redis/client')),
      ioredis: pkgVersion(path.join(nm, 'ioredis')),
    },
  }
}

// ---------------------------------------------------------------------------------------
// Formatting

function num(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}
function us(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
}
function ms(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  if (n >= 1) return n.toFixed(2)
  return n.toFixed(3)
}
function ratio(r) {
  if (r == null || !Number.isFinite(r)) return '—'
  if (r < 0.1) return `${r.toPrecision(2)}×`
  return r >= 100 ? `${Math.round(r)}×` : r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`
}
function mib(b) {
  return b == null || !Number.isFinite(b) ? '—' : (b / 1048576).toFixed(1)
}
function div(a, b) {
  return a != null && b != null && Number.isFinite(a) && Number.isFinite(b) && b !== 0
    ? a / b
    : null
}

/** The tagcache contender to compare a row with: same interface, same store. */
function refFor(list, id) {
  const store = list.find((c) => c.id === id)?.store
  const isIsr = list === contenders.isr
  if (store === 'redis') return isIsr ? 'tagcache-isr-redis' : 'tagcache-redis'
  return isIsr ? 'tagcache-isr' : 'tagcache'
}
const REF_IDS = new Set(['tagcache', 'tagcache-redis', 'tagcache-isr', 'tagcache-isr-redis'])

function label(list, id) {
  return list.find((c) => c.id === id)?.label || id
}

function table(head, rows) {
  const out = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ]
  for (const r of rows) out.push(`| ${r.join(' | ')} |`)
  return out.join('\n')
}

/** A Markdown table as aligned plain text for the console. */
function plain(md) {
  const rows = md
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim().replace(/\*\*/g, '')),
    )
  if (rows.length === 0) return md.replace(/_/g, '')
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] || '').length)))
  return rows
    .map((r, k) => {
      const line = r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join('  ')
      return k === 0 ? `${line}\n${'-'.repeat(line.length)}` : line
    })
    .join('\n')
}

// ---------------------------------------------------------------------------------------
// Derived numbers

function tp(results, scenario, id, size, op, mode) {
  return results[scenario]?.[id]?.[size]?.[op]?.[mode] || null
}
function opsOf(results, scenario, id, size, op, mode) {
  return tp(results, scenario, id, size, op, mode)?.opsPerSec ?? null
}

/** The fastest peer (by ops/s) among `ids` at one size/op/mode. */
function bestOf(results, scenario, ids, size, op, mode) {
  let best = null
  for (const id of ids) {
    const v = opsOf(results, scenario, id, size, op, mode)
    if (v != null && (!best || v > best.ops)) best = { id, ops: v }
  }
  return best
}

const UC_REDIS_PEERS = ['trieb', 'trieb-nodedup', 'mrjasonroy-redis']
const ISR_REDIS_PEERS = ['forte', 'trieb-isr', 'trieb-isr-nodedup']
/** Peers configured so that every get reads Redis (no in-process copy). */
const UC_PEERS_READING_REDIS = ['trieb-nodedup', 'mrjasonroy-redis']
const ISR_PEERS_READING_REDIS = ['forte', 'trieb-isr-nodedup']

function unavailableReason(results, id) {
  return results.unavailable.find((u) => u.id === id)?.reason
}

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
          .join('; ') + (mem.phases.length > 1 ? `; judged on ${mem.worst.label}` : '')
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

// ---------------------------------------------------------------------------------------
// End to end

const E2E_LABELS = [
  { id: 'tagcache', label: 'tagcache (memory)' },
  { id: 'builtin', label: 'Next built-in (memory)' },
  { id: 'tagcache-redis', label: 'tagcache (Redis)' },
  { id: 'trieb', label: 'trieb (Redis)' },
]

/**
 * The measured pages: { path: { label, values, rows: { id: row } } }. A run from before
 * /bench-reads was added kept its one page's rows in `e2e.rows`.
 */
function e2ePages(results) {
  const e = results.e2e || {}
  if (e.pages) return e.pages
  if (e.rows && Object.keys(e.rows).length)
    return { '/': { label: '/ (1 small value)', values: 1, rows: e.rows } }
  return {}
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
  const sent = r.requestsSent ?? r.requests
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
      `${r.requests.toLocaleString('en-US')}${r.requestsSent != null ? ` (${r.requestsSent.toLocaleString('en-US')})` : ''}`,
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

// ---------------------------------------------------------------------------------------
// Tables

function throughputTable(results, scenario, list, ids, op, { floor } = {}) {
  const head = [
    'contender',
    'size',
    'sequential ops/s',
    'p50 µs',
    'p99 µs',
    '64 in flight ops/s',
    'p50 µs',
    'p99 µs',
    'tagcache ÷ this (seq)',
    '(64)',
  ]
  const rows = []
  for (const size of SIZES) {
    for (const id of ids) {
      const s = tp(results, scenario, id, size, op, 'seq')
      const c = tp(results, scenario, id, size, op, C64)
      if (!s && !c) continue
      const ref = refFor(list, id)
      const misses = (s?.failed || 0) + (c?.failed || 0)
      const missNote = misses ? ` (${misses} misses)` : ''
      rows.push([
        `${REF_IDS.has(id) ? `**${label(list, id)}**` : label(list, id)}${missNote}`,
        sizeLabel(size),
        num(s?.opsPerSec),
        us(s?.p50),
        us(s?.p99),
        num(c?.opsPerSec),
        us(c?.p50),
        us(c?.p99),
        id === ref ? '1' : ratio(div(opsOf(results, scenario, ref, size, op, 'seq'), s?.opsPerSec)),
        id === ref ? '1' : ratio(div(opsOf(results, scenario, ref, size, op, C64), c?.opsPerSec)),
      ])
    }
    if (floor) {
      const f1 = results.floor[size]?.c1?.[op]
      const f64 = results.floor[size]?.c64?.[op]
      if (f1 || f64) {
        const ref = refFor(
          list,
          ids.find((id) => list.find((c) => c.id === id)?.store === 'redis'),
        )
        rows.push([
          `redis-benchmark ${op.toUpperCase()} (floor)`,
          sizeLabel(size),
          num(f1?.opsPerSec),
          us(f1?.p50),
          us(f1?.p99),
          num(f64?.opsPerSec),
          us(f64?.p50),
          us(f64?.p99),
          ratio(div(opsOf(results, scenario, ref, size, op, 'seq'), f1?.opsPerSec)),
          ratio(div(opsOf(results, scenario, ref, size, op, C64), f64?.opsPerSec)),
        ])
      }
    }
  }
  return rows.length ? table(head, rows) : '_No results._'
}

/** Peers on Redis against the redis-benchmark floor: how much of a round trip they cost. */
function floorTable(results, scenario, list, ids) {
  const head = [
    'contender',
    ...SIZES.map((s) => `${sizeLabel(s)} ÷ redis-benchmark -c 1 GET`),
    'Redis commands per get',
    'per set',
  ]
  const rows = []
  for (const id of ids) {
    if (!results[scenario][id]) continue
    const bySize = results[scenario][id]
    const cmds = bySize[SIZES[0]]?.redisCommands
    rows.push([
      label(list, id),
      ...SIZES.map((s) =>
        ratio(
          div(opsOf(results, scenario, id, s, 'get', 'seq'), results.floor[s]?.c1?.get?.opsPerSec),
        ),
      ),
      cmds?.get ? num(cmds.get.perOp) : '—',
      cmds?.set ? num(cmds.set.perOp) : '—',
    ])
  }
  return rows.length ? table(head, rows) : '_No results._'
}

function commandsDetail(results) {
  const lines = []
  for (const [scenario, list] of [
    ['uc', contenders.useCache],
    ['isr', contenders.isr],
  ]) {
    for (const [id, bySize] of Object.entries(results[scenario])) {
      const cmds = bySize[SIZES[0]]?.redisCommands
      if (!cmds) continue
      for (const op of ['get', 'set']) {
        const c = cmds[op]
        if (!c) continue
        const by = Object.entries(c.byCommand)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k.toUpperCase()} ${num(v / (results.meta.settings.probeOps || 200))}`)
          .join(', ')
        lines.push([
          `${label(list, id)}${scenario === 'isr' ? ' (ISR)' : ''}`,
          op,
          num(c.perOp),
          by || 'none',
        ])
      }
    }
  }
  for (const [api, list] of [
    ['uc', contenders.useCache],
    ['isr', contenders.isr],
  ]) {
    for (const [id, byN] of Object.entries(results.revalidate[api])) {
      const big = byN[100000] || byN[10000]
      const c = big?.redisCommands
      if (!c) continue
      const by = Object.entries(c.byCommand)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k.toUpperCase()} ${num(v / 3)}`)
        .join(', ')
      lines.push([
        `${label(list, id)}${api === 'isr' ? ' (ISR)' : ''}`,
        `revalidateTag (${byN[100000] ? '100k' : '10k'} entries)`,
        num(c.perOp),
        by || 'none',
      ])
    }
  }
  return lines.length
    ? table(['contender', 'operation', 'commands per op', 'by command'], lines)
    : '_No Redis contenders ran._'
}

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

/** Bytes per entry, rounded. */
function perEntry(bytes, r) {
  return bytes == null || !r?.entries ? '—' : Math.round(bytes / r.entries).toLocaleString('en-US')
}

/**
 * tagcache ÷ built-in memory growth after set and (when measured) after one read of each
 * entry, phase by phase; `worst` is the phase with the larger RSS ratio.
 */
function memoryRatios(m) {
  const phases = []
  const tc = m.tagcache
  const bi = m.builtin
  if (tc && bi) {
    phases.push({ label: 'after set', tc, bi })
    if (tc.afterRead && bi.afterRead)
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
  const pair = (a, b) => (b === undefined ? a : `${a} / ${b}`)
  for (const [id, r] of Object.entries(m)) {
    const t = m.tagcache
    const read = r.afterRead
    rows.push([
      id === 'tagcache' ? `**${label(contenders.useCache, id)}**` : label(contenders.useCache, id),
      r.retained ? `${r.entries.toLocaleString('en-US')}` : '**evicted**',
      pair(mib(r.rssBytes), read ? mib(read.rssBytes) : undefined),
      perEntry(r.rssBytes, r),
      read ? perEntry(read.rssBytes, r) : '—',
      perEntry(r.jsBytes, r),
      read ? perEntry(read.jsBytes, r) : '—',
      id === 'tagcache'
        ? '1'
        : pair(
            ratio(div(t?.rssBytes, r.rssBytes)),
            read ? ratio(div(t?.afterRead?.rssBytes, read.rssBytes)) : undefined,
          ),
      id === 'tagcache'
        ? '1'
        : pair(
            ratio(div(t?.jsBytes, r.jsBytes)),
            read ? ratio(div(t?.afterRead?.jsBytes, read.jsBytes)) : undefined,
          ),
    ])
  }
  return rows.length ? table(head, rows) : '_No results._'
}

// ---------------------------------------------------------------------------------------
// Issue #10: disk tier and warm starts

const DISK_LABELS = {
  'tagcache-disk': 'tagcache (memory + disk)',
  'builtin-fs': 'Next built-in (FileSystemCache, flushToDisk)',
}
const DISK_REF = 'tagcache-disk'

function kb(b) {
  if (b == null || !Number.isFinite(b)) return '—'
  return b >= 1048576 ? `${(b / 1048576).toFixed(1)} MiB` : `${Math.round(b / 1024)} KiB`
}

/** ISR set into each disk store, one table per kind. */
function diskSetTable(results, kind) {
  const head = [
    'contender',
    'size',
    'entries',
    'set resolved, seq ops/s',
    'p50 µs',
    'on disk, seq ops/s',
    'wait until a 2nd engine sees it, ms',
    '64 in flight: set resolved ops/s',
    'on disk (incl. close) ops/s',
    'close() ms',
    'bytes on disk',
    'files',
    'tagcache ÷ this (on disk, seq)',
    '(set resolved, seq)',
    '(on disk, 64)',
  ]
  const rows = []
  for (const size of SIZES) {
    const by = results.disk?.[kind]?.[size] || {}
    const ref = by[DISK_REF]?.set
    for (const [id, r] of Object.entries(by)) {
      const x = r.set
      if (!x) continue
      const isRef = id === DISK_REF
      rows.push([
        isRef ? `**${DISK_LABELS[id] || id}**` : DISK_LABELS[id] || id,
        sizeLabel(size),
        `${x.written?.s ?? '—'} + ${x.written?.c ?? '—'}`,
        num(x.seq?.opsPerSec),
        us(x.seq?.p50),
        num(x.seq?.durableOpsPerSec),
        isRef ? ms(x.seq?.visibleMs) : '0 (on disk when set resolves)',
        num(x.c64?.opsPerSec),
        num(x.c64?.durableOpsPerSec),
        ms(x.closeMs),
        kb(x.bytesOnDisk),
        num(x.fileCount),
        isRef ? '1' : ratio(div(ref?.seq?.durableOpsPerSec, x.seq?.durableOpsPerSec)),
        isRef ? '1' : ratio(div(ref?.seq?.opsPerSec, x.seq?.opsPerSec)),
        isRef ? '1' : ratio(div(ref?.c64?.durableOpsPerSec, x.c64?.durableOpsPerSec)),
      ])
    }
  }
  return rows.length ? table(head, rows) : '_Not measured in this run._'
}

/** The cold get after a restart, one table per kind. */
function diskGetTable(results, kind) {
  const head = [
    'contender',
    'size',
    'page cache',
    'first get ms',
    'cold get, seq ops/s',
    'p50 µs',
    'p99 µs',
    'cold get, 64 in flight ops/s',
    'then from memory, seq ops/s',
    'resident after the drop',
    'misses',
    'tagcache ÷ this (seq)',
    '(64)',
  ]
  const rows = []
  for (const size of SIZES) {
    const by = results.disk?.[kind]?.[size] || {}
    for (const variant of ['dropped', 'pagecache']) {
      const ref = by[DISK_REF]?.get?.[variant]
      for (const [id, r] of Object.entries(by)) {
        const g = r.get?.[variant]
        if (!g) continue
        const isRef = id === DISK_REF
        const misses = (g.seq?.failed || 0) + (g.c64?.failed || 0)
        rows.push([
          isRef ? `**${DISK_LABELS[id] || id}**` : DISK_LABELS[id] || id,
          sizeLabel(size),
          variant === 'dropped' ? 'dropped' : 'kept (written just before)',
          ms(g.firstGetMs),
          num(g.seq?.opsPerSec),
          us(g.seq?.p50),
          us(g.seq?.p99),
          num(g.c64?.opsPerSec),
          num(g.again?.opsPerSec),
          variant === 'dropped'
            ? g.pageCache?.error
              ? g.pageCache.error
              : `${kb(g.pageCache?.residentBytes)} of ${kb(g.pageCache?.totalBytes)}`
            : '—',
          misses ? `**${misses}**` : '0',
          isRef ? '1' : ratio(div(ref?.seq?.opsPerSec, g.seq?.opsPerSec)),
          isRef ? '1' : ratio(div(ref?.c64?.opsPerSec, g.c64?.opsPerSec)),
        ])
      }
    }
  }
  return rows.length ? table(head, rows) : '_Not measured in this run._'
}

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

function unavailableTable(results) {
  const seen = new Set()
  const rows = []
  for (const u of results.unavailable) {
    const k = `${u.scenario}:${u.id}`
    if (seen.has(k)) continue
    seen.add(k)
    rows.push([u.label, u.scenario, u.reason])
  }
  for (const e of results.errors)
    rows.push([e.label, `${e.scenario}${e.extra ? ` ${e.extra}` : ''}`, `failed: ${e.error}`])
  return rows.length ? table(['contender', 'scenario', 'why'], rows) : 'Every contender ran.'
}

const memIds = () =>
  contenders.useCache.filter((c) => c.store === 'memory' || c.store === 'disk').map((c) => c.id)
const redisIds = () => contenders.useCache.filter((c) => c.store === 'redis').map((c) => c.id)
const isrIds = () => contenders.isr.map((c) => c.id)

function consoleTables(results) {
  const parts = []
  const t = targets(results)
  parts.push(
    'TARGETS (issues #6 and #10)\n' +
      t.map((r) => `- [${r.status.replace(/\*/g, '')}] ${r.target}\n    ${r.measured}`).join('\n'),
  )
  parts.push(
    "'use cache' GET-HIT, in process\n" +
      plain(throughputTable(results, 'uc', contenders.useCache, memIds(), 'get')),
  )
  parts.push(
    "'use cache' SET, in process\n" +
      plain(throughputTable(results, 'uc', contenders.useCache, memIds(), 'set')),
  )
  parts.push(
    "'use cache' GET-HIT, Redis\n" +
      plain(
        throughputTable(results, 'uc', contenders.useCache, redisIds(), 'get', { floor: true }),
      ),
  )
  parts.push(
    "'use cache' SET, Redis\n" +
      plain(
        throughputTable(results, 'uc', contenders.useCache, redisIds(), 'set', { floor: true }),
      ),
  )
  parts.push(
    'ISR APP_PAGE GET-HIT\n' +
      plain(throughputTable(results, 'isr', contenders.isr, isrIds(), 'get', { floor: true })),
  )
  parts.push('REVALIDATE ONE TAG\n' + plain(revalidateTable(results)))
  parts.push('MEMORY, 1 KiB entries\n' + plain(memoryTable(results)))
  for (const kind of Object.keys(results.disk || {})) {
    parts.push(`DISK TIER: ISR SET, ${kind}\n` + plain(diskSetTable(results, kind)))
    parts.push(
      `DISK TIER: ISR GET, COLD AFTER A RESTART, ${kind}\n` + plain(diskGetTable(results, kind)),
    )
  }
  if (results.warm?.rows)
    parts.push('WARM START: next start → first 200 of /isr\n' + plain(warmTable(results)))
  parts.push('REDIS COMMANDS PER OPERATION\n' + plain(commandsDetail(results)))
  for (const [pagePath, p] of Object.entries(e2ePages(results))) {
    if (Object.keys(p.rows).length === 0) continue
    const [tbl, ...rest] = e2ePageTable(results, pagePath).split('\n\n')
    parts.push(
      `END TO END: next start + autocannon, page ${p.label}\n` +
        plain(tbl) +
        '\n' +
        rest.join('\n').replace(/\*\*/g, ''),
    )
  }
  const soakLines = soak.consoleTable(results)
  if (soakLines) parts.push(soakLines)
  parts.push(
    'NOT AVAILABLE / FAILED\n' +
      (results.unavailable.length || results.errors.length
        ? plain(unavailableTable(results))
        : 'none'),
  )
  return parts.join('\n\n')
}

function partialRunsLine(m) {
  if (!m.partialRuns?.length) return ''
  return m.partialRuns
    .map(
      (p) =>
        `\nThe ${p.scenarios.join(', ')} results come from a later ${p.mode} run of those scenarios only: ${p.date.slice(0, 16).replace('T', ' ')} UTC, ${p.seconds ?? '?'} s, commit ${p.build?.commit ?? '?'}${p.build?.uncommittedChanges ? ` plus uncommitted changes in ${p.build.uncommittedChanges} file(s)` : ''}, load average ${p.loadStart?.[0] ?? '?'} at the start, ${p.loadEnd?.[0] ?? '?'} at the end.`,
    )
    .join('')
}

function e2eIntro(results) {
  const e = results.e2e?.settings
  return `\`next build\` and \`next start -H 127.0.0.1\` of [examples/next-app](../examples/next-app) (a copy of it per
configuration, in benchmark/.work/), one server at a time, each page in turn on the same server.
Page \`/\` is the example's: one small 'use cache' value inside a dynamic Suspense hole, so every
request calls the 'use cache' handler, but its time is React's render. Page \`/bench-reads\`
is added to the copies by benchmark/lib/e2e.js: its dynamic hole (\`await connection()\`, as in
\`/\`) reads 20 distinct 'use cache' components of 4–16 KiB each (\`cacheLife('hours')\`, a tag
each), to weigh cache reads more: 20 per request instead of 1 (each request still renders the
page, and rendering 20 values of that size costs more than reading them). ${e ? `Per page, ${e.warmupRequests} requests of warm-up, then autocannon with ${e.connections} connections for ${e.durationS} s on loopback` : 'Autocannon on loopback'}
(in the same machine as the server, so the two share its cores). tagcache (memory) is the app as
it is (\`withTagCache\`); Next built-in is the same app with a next.config.js without
\`withTagCache\`; tagcache (Redis) is the first build started with \`TAGCACHE_REDIS_URL\`; trieb is
a copy whose \`cacheHandlers.default\` is trieb's 'use cache' handler with its defaults, its \`get\`
counted by a wrapper.

Handler gets: for tagcache, its engine's \`hits + misses\` (\`/api/tagcache-stats\`), which
include the page's ISR lookup (\`/route-cache/APP_PAGE/…\`, tagcache's ISR handler shares the
engine): one request alone makes 20 + 1 gets on \`/bench-reads\`, 1 + 1 on \`/\`; for trieb, its
'use cache' gets only; Next's built-in is not counted. Under load the count per request is lower
than one request's alone: Next 16 joins a 'use cache' call to a pending call of the same key from
another request (cross-request deduplication, held while the leader's \`refreshTags\` and \`get\`
are pending), and its response cache batches concurrent ISR lookups of the same page; the
longer a lookup takes (a Redis round trip), the more requests join it instead of calling the
handler. "Gets sent to Redis" is the engine's \`sharedReads\` (gets its in-process tier did not
answer); Redis commands per request, by command, are \`INFO commandstats\` deltas over the load
(INFO and PING left out). The server-side counts are taken once the server has gone idle after
the load and divided by the requests autocannon sent (those still in flight at its end
included); requests/s and latencies are of the completed requests. A row marked "page value not cached" rendered a different value on
two requests in a row.`
}

function markdown(results) {
  const m = results.meta
  const s = m.settings
  const notesFile = path.join(__dirname, '..', 'NOTES.md')
  const notes = fs.existsSync(notesFile) ? fs.readFileSync(notesFile, 'utf8').trim() : ''
  const t = targets(results)
  const out = []
  out.push(`# Benchmarks

<!-- Generated by \`node benchmark/run.js\` (${m.mode} run). Do not edit by hand: edit benchmark/NOTES.md or the generator. -->

tagcache against Next.js's built-in cache handlers and the JavaScript peers, **in one run**
on one machine, through the interfaces Next.js calls. Every number below comes from the same
run; the ratios are **tagcache ÷ contender** (for ops/s, above 1 means tagcache is faster; for
times and bytes, below 1 means tagcache is cheaper). Absolute numbers drift from run to run on
a shared machine; ratios measured side by side are what to compare.

Run: ${m.date.slice(0, 16).replace('T', ' ')} UTC, ${m.mode} mode (${s.rounds} round${s.rounds > 1 ? 's' : ''}, medians), ${m.seconds ?? '?'} s.
tagcache: commit ${m.build?.commit ?? '?'}${m.build?.uncommittedChanges ? `, plus uncommitted changes in ${m.build.uncommittedChanges} file(s) of src/ and next/` : ''}, addon built ${m.build?.addonBuilt?.slice(0, 16).replace('T', ' ') ?? '?'} UTC.
Machine: ${m.cpus}, ${m.memoryGiB} GiB, Node ${m.node}; load average ${m.loadStart?.[0] ?? '?'} at the start, ${m.loadEnd?.[0] ?? '?'} at the end. Next ${m.next}, tagcache ${m.tagcache}, Redis ${m.redis} on loopback.
Peers: ${Object.entries(m.peers)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ')}.${partialRunsLine(m)}

![tagcache ÷ contender](benchmarks.svg)

## Targets (issues #6 and #10)

Judged on ops/s; "p50" is the median-latency ratio (built-in p50 ÷ tagcache p50, above 1 means
tagcache is faster), which other work on the machine disturbs less.

${table(
  ['target', 'this run', 'status'],
  t.map((r) => [r.target, r.measured, r.status]),
)}

## 'use cache' get-hit, in process

\`get(key, softTags)\` then its stream read to the end; a get counts only if it returned the
entry with all its bytes.

${throughputTable(results, 'uc', contenders.useCache, memIds(), 'get')}

## 'use cache' set, in process

\`set(key, Promise<entry>)\` with a fresh ReadableStream of ${CHUNK / 1024} KiB chunks each time; a set counts
when its promise settles.

${throughputTable(results, 'uc', contenders.useCache, memIds(), 'set')}

## 'use cache' on Redis

Ratios in these tables are tagcache (Redis) ÷ contender, shown once tagcache's Redis store is
in the build (a "not yet available" row below says when it is not). \`redis-benchmark\` rows are the floor: one GET or SET of the same size, with 1
and with 64 clients.

### get-hit

${throughputTable(results, 'uc', contenders.useCache, redisIds(), 'get', { floor: true })}

### set

${throughputTable(results, 'uc', contenders.useCache, redisIds(), 'set', { floor: true })}

### Against the floor

${floorTable(results, 'uc', contenders.useCache, redisIds())}

## ISR \`APP_PAGE\` get-hit

\`get(key, { kind: 'APP_PAGE', … })\` of a page of the given size (half html, a quarter
\`rscData\`, two \`segmentData\` entries of an eighth each); a get counts only when \`rscData\`
and \`segmentData\` come back as a Buffer and a Map. Ratios: each row against tagcache on the same
store (memory rows against tagcache memory, Redis rows against tagcache Redis).

${throughputTable(results, 'isr', contenders.isr, isrIds(), 'get', { floor: true })}

${floorTable(
  results,
  'isr',
  contenders.isr,
  isrIds().filter((id) => !['tagcache-isr', 'tagcache-isr-disk', 'builtin-isr'].includes(id)),
)}

## revalidateTag / updateTags of one tag

\`updateTags([tag], { expire: 31536000 })\` ('use cache') and \`revalidateTag([tag], { expire: 31536000 })\`
(ISR), which is what Next 16 sends for \`revalidateTag(tag, 'max')\`, with 10k and 100k entries
present; each entry has 2 tags and the revalidated tag is on 1 entry in 1000. A different tag
each time, ${s.revalidateReps} times at most (${s.revalidateMaxMs / 1000} s at most). "entry invalidated": a get
of an entry carrying a revalidated tag no longer returns it as fresh.

${revalidateTable(results)}

## Memory

${s.memoryEntries.toLocaleString('en-US')} entries × 1 KiB set through the 'use cache' interface, each contender in
a fresh process, growth measured after \`gc()\` twice: after the sets, and after every entry was
then read once (a get with Next's soft tags and its stream read to the end, nothing kept), since
a handler may keep per-entry objects from an entry's first hit on (tagcache keeps a JS Buffer and
a frozen entry object). Every contender is sized (512 MiB) so that none evicts; "entries kept"
means every one of the reads was a hit. Each entry's bytes are its own (as each render's are).
RSS includes what Rust allocates outside the JS heap (and what the allocators keep after the
reads' garbage is collected), minus V8's young generation: it grows to its 32 MiB maximum with
the allocation rate, whatever is kept, so it would charge ~1 KiB per entry to whichever phase
allocates first. Heap + external is what V8 sees (tagcache's bytes count as external once an
entry's first hit hands them to JS, without a copy). The memory target is judged on the worse
of the two RSS ratios.

${memoryTable(results)}

## Disk tier against Next's FileSystemCache (issue #10)

Both through the ISR interface (\`cacheHandler\`), each in a directory shaped like an app's
(\`<app>/.next/server\` as \`serverDistDir\`): tagcache as
\`createIncrementalCacheHandler(new TagCache({ diskDir: <app>/.next/cache/tagcache }))\`, Next's
FileSystemCache as \`next start\` builds it (Next's \`nodeFs\`, \`flushToDisk: true\`, its 50 MiB
memory LRU). Entries: \`FETCH\` (a fetch response whose base64 body is the given size, the key a
sha256 hex as Next makes it; FileSystemCache writes one JSON file under \`.next/cache/fetch-cache\`)
and \`APP_PAGE\` (half html, a quarter \`rscData\`, two segments; FileSystemCache writes
\`.html\`, \`.rsc\`, \`.meta\` and a file per segment). Every key is distinct.

**Set**, in a fresh process: the entries one after the other, then as many more with
${s.concurrency} in flight. FileSystemCache's \`set\` resolves once its files are written; tagcache's
once its memory tier has the entry, the disk write being write-behind. So "on disk" ops/s
counts each phase until its entries are on disk: for the sequential phase until a second engine
opened on the same directory (as another process would) reads its last entry, for the
${s.concurrency}-in-flight phase until that and \`close()\` (which flushes) are done. The set target
is judged on "on disk".

**Get, cold after a restart**: another fresh process opens the same directory and reads each
entry once (the sequential phase's entries one after the other, the others ${s.concurrency} in
flight), so every read comes from disk, then reads the first ones again (now from memory).
Twice: with the files as the writing process left them (in the OS page cache), and after
\`sync\` and \`posix_fadvise(POSIX_FADV_DONTNEED)\` on every file (python3's \`os.posix_fadvise\`,
no root needed; "resident after the drop" is \`fincore\`'s count). The disk is a virtual
machine's: "dropped" reads may still come from the host's cache. The get target is judged on
"dropped", sequentially.

${
  Object.keys(results.disk || {}).length === 0
    ? `_Not measured in this run${unavailableReason(results, 'tagcache-disk') ? ` (tagcache: ${unavailableReason(results, 'tagcache-disk')})` : ''}._`
    : Object.keys(results.disk)
        .map(
          (kind) =>
            `### ${kind}: set\n\n${diskSetTable(results, kind)}\n\n### ${kind}: get, cold after a restart\n\n${diskGetTable(results, kind)}`,
        )
        .join('\n\n')
}${unavailableReason(results, 'tagcache-disk') && Object.keys(results.disk || {}).length ? `\n\ntagcache: ${unavailableReason(results, 'tagcache-disk')}.` : ''}

## Warm start: \`next start\` to the first response of a prerendered page (issue #10)

\`next build\` of a copy of [examples/isr-app](../examples/isr-app) per configuration (in
benchmark/.work/): tagcache is the app as it is (\`withTagCache\`, its default configuration);
Next built-in is the same app with a next.config.js without \`withTagCache\`. The page is \`/isr\`,
prerendered by the build (\`revalidate = 2\`). Measured: from spawning \`next start -H 127.0.0.1\`
to the first 200 of \`/isr\` (requested every 10 ms while the port refuses connections), the
time of that first request alone, and whether the first response was rendered by this server
(the page's stamp is its render time: rendered if newer than the spawn; "= build output" if it
is the stamp the build wrote into \`.next/server/app/isr.html\`). "first start after next build":
\`.next\` restored from the build's own output before each repetition; "restart": after the first
start's requests, the page is requested every 250 ms (5 s at most) until its background
regeneration (it is past its 2 s) shows a new stamp, then the server is stopped with SIGTERM and
started again on the same \`.next\`: its first response should be that regeneration, kept by the
handler's store (FileSystemCache's files, tagcache's disk tier).
${results.warm?.settings?.reps ?? '?'} repetition(s), servers alternating, medians.

${warmTable(results)}

## Redis commands per operation

From \`INFO commandstats\` deltas around ${s.probeOps} sequential gets / sets (3 revalidations), INFO and
PING left out. Commands sent in the same tick may share a round trip.

${commandsDetail(results)}

## End to end: \`next start\` under autocannon

${e2eIntro(results)}

${e2eTable(results)}

${soak.markdown(results)}

## Not available or failed

${unavailableTable(results)}

## Method

- Each contender is built as its README shows (defaults unless noted) and driven only through
  the Next-facing interface: 'use cache' handlers by \`get\`/\`set\`/\`updateTags\`, ISR handlers by
  \`new Handler(ctx)\`, \`get\`/\`set\`/\`revalidateTag\`.
- Every job (one contender, one size) runs in a fresh Node process; jobs are interleaved round
  by round so that drift hits every contender alike; the figures are medians over rounds.
- Load: ${s.load.warmupMs} ms warm-up, then ${s.load.durationMs} ms or ${s.load.maxOps.toLocaleString('en-US')} operations, sequentially (1 in flight) and with ${s.concurrency} in flight.
  Keys cycle over ${keyCount(1024)} entries (${keyCount(262144)} at 256 KiB, so that Next's 50 MiB built-in holds them all); each
  entry carries 2 tags; gets pass 4 implicit soft tags as Next does.
- Redis: a redis-server started for the run on a free loopback port, \`--save '' --appendonly no\`,
  keyspace events \`Exe\` (trieb requires them), flushed before each Redis job.
- Contender notes: ${[...contenders.useCache, ...contenders.isr]
    .filter((c) => c.note)
    .map((c) => `${c.label}${contenders.isr.includes(c) ? ' ISR' : ''}: ${c.note}`)
    .join('; ')}.
`)
  if (notes) out.push(`## Notes\n\n${notes.replace(/^# .*\n+/, '')}\n`)
  return out.join('\n')
}

// ---------------------------------------------------------------------------------------
// Chart: horizontal bars of tagcache ÷ contender on a log scale around 1.

function chartItems(results) {
  const items = []
  const push = (group, text, r, target) => {
    if (r != null && Number.isFinite(r)) items.push({ group, text, r, target })
  }
  for (const [op, name] of [
    ['get', 'get-hit'],
    ['set', 'set'],
  ]) {
    for (const size of SIZES) {
      for (const mode of ['seq', C64]) {
        push(
          `'use cache' ${name} vs Next built-in (ops/s)`,
          `${sizeLabel(size)} ${mode === 'seq' ? 'seq' : '×64'}`,
          div(
            opsOf(results, 'uc', 'tagcache', size, op, mode),
            opsOf(results, 'uc', 'builtin', size, op, mode),
          ),
          1,
        )
      }
    }
  }
  const m = results.memory
  for (const size of SIZES) {
    for (const mode of ['seq', C64]) {
      push(
        'ISR APP_PAGE get-hit vs Next built-in (ops/s)',
        `${sizeLabel(size)} ${mode === 'seq' ? 'seq' : '×64'}`,
        div(
          opsOf(results, 'isr', 'tagcache-isr', size, 'get', mode),
          opsOf(results, 'isr', 'builtin-isr', size, 'get', mode),
        ),
        null,
      )
    }
  }
  const memGroup = `memory, ${((m.tagcache?.entries || 0) / 1000).toFixed(0)}k × 1 KiB (built-in ÷ tagcache bytes)`
  push(memGroup, 'RSS after set', div(m.builtin?.rssBytes, m.tagcache?.rssBytes), 1.25)
  push(
    memGroup,
    'RSS after a read each',
    div(m.builtin?.afterRead?.rssBytes, m.tagcache?.afterRead?.rssBytes),
    1.25,
  )
  push(memGroup, 'heap+external', div(m.builtin?.jsBytes, m.tagcache?.jsBytes), null)
  for (const [scenario, id, peers, group, min] of [
    [
      'uc',
      'tagcache-redis-nolocal',
      UC_PEERS_READING_REDIS,
      "Redis 'use cache' get-hit, every get reading Redis, vs best such peer",
      5,
    ],
    [
      'uc',
      'tagcache-redis',
      UC_REDIS_PEERS,
      "Redis 'use cache' get-hit, defaults (in-process copies), vs best peer",
      5,
    ],
    [
      'isr',
      'tagcache-isr-redis-nolocal',
      ISR_PEERS_READING_REDIS,
      'Redis ISR APP_PAGE get-hit, every get reading Redis, vs best such peer',
      10,
    ],
    [
      'isr',
      'tagcache-isr-redis',
      ISR_REDIS_PEERS,
      'Redis ISR APP_PAGE get-hit, defaults (in-process copies), vs best peer',
      10,
    ],
  ]) {
    if (!results[scenario][id]) continue
    for (const size of SIZES) {
      const b = bestOf(results, scenario, peers, size, 'get', 'seq')
      push(
        group,
        `${sizeLabel(size)} seq`,
        div(opsOf(results, scenario, id, size, 'get', 'seq'), b?.ops),
        size > 1024 ? min : null,
      )
    }
  }
  for (const size of SIZES) {
    push(
      "With diskDir: 'use cache' get-hit vs Next built-in (ops/s)",
      `${sizeLabel(size)} seq`,
      div(
        opsOf(results, 'uc', 'tagcache-disk', size, 'get', 'seq'),
        opsOf(results, 'uc', 'builtin', size, 'get', 'seq'),
      ),
      1,
    )
  }
  for (const kind of Object.keys(results.disk || {})) {
    for (const size of SIZES) {
      const d = results.disk[kind]?.[size] || {}
      push(
        'Disk tier vs FileSystemCache: ISR set, until on disk (ops/s, seq)',
        `${kind} ${sizeLabel(size)}`,
        div(
          d['tagcache-disk']?.set?.seq?.durableOpsPerSec,
          d['builtin-fs']?.set?.seq?.durableOpsPerSec,
        ),
        1,
      )
    }
  }
  for (const kind of Object.keys(results.disk || {})) {
    for (const size of SIZES) {
      const d = results.disk[kind]?.[size] || {}
      push(
        'Disk tier vs FileSystemCache: ISR get, cold after a restart, page cache dropped (ops/s, seq)',
        `${kind} ${sizeLabel(size)}`,
        div(
          d['tagcache-disk']?.get?.dropped?.seq?.opsPerSec,
          d['builtin-fs']?.get?.dropped?.seq?.opsPerSec,
        ),
        1,
      )
    }
  }
  {
    const w = results.warm?.rows || {}
    for (const [phase, text] of [
      ['first', 'after next build'],
      ['restart', 'after a restart'],
    ]) {
      push(
        'Warm start: next start → first 200 of a prerendered page (built-in ÷ tagcache time)',
        text,
        div(w.builtin?.[phase]?.startToFirstMs, w.tagcache?.[phase]?.startToFirstMs),
        1,
      )
    }
  }
  for (const pagePath of Object.keys(e2ePages(results))) {
    const e = e2eRatios(results, pagePath)
    const group = `End to end: next start + autocannon, page ${pagePath} (requests/s)`
    push(group, 'vs built-in', e.memory, 0.95)
    push(group, 'Redis vs peer', e.redis, 2)
  }
  return items
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function svg(results) {
  const items = chartItems(results)
  const W = 760
  const left = 150
  const right = 70
  const barH = 16
  const gap = 5
  const groupGap = 30
  const top = 58
  const groups = [...new Set(items.map((i) => i.group))]
  const maxR = Math.max(4, ...items.map((i) => i.r), ...items.map((i) => i.target || 0))
  const FLOOR = 1 / 32
  const minR = Math.max(FLOOR, Math.min(0.25, ...items.map((i) => i.r)))
  const lo = Math.log2(minR)
  const hi = Math.log2(maxR)
  const x = (r) => left + ((Math.log2(r) - lo) / (hi - lo)) * (W - left - right)
  let y = top
  const body = []
  for (const g of groups) {
    body.push(`<text x="${left}" y="${y + 4}" class="g">${esc(g)}</text>`)
    y += 12
    for (const it of items.filter((i) => i.group === g)) {
      const x1 = x(1)
      const clipped = it.r < minR
      const x2 = x(Math.max(it.r, minR))
      const ok = it.target == null ? it.r >= 1 : it.r >= it.target
      const color = ok ? '#2e7d32' : '#c62828'
      body.push(`<text x="${left - 8}" y="${y + barH - 4}" class="l">${esc(it.text)}</text>`)
      body.push(
        `<rect x="${Math.min(x1, x2).toFixed(1)}" y="${y}" width="${Math.max(1, Math.abs(x2 - x1)).toFixed(1)}" height="${barH}" fill="${color}" opacity="0.85"/>`,
      )
      if (it.target != null && it.target !== 1) {
        body.push(
          `<line x1="${x(it.target).toFixed(1)}" x2="${x(it.target).toFixed(1)}" y1="${y - 2}" y2="${y + barH + 2}" stroke="#333" stroke-dasharray="3,2"/>`,
        )
      }
      const labelX = Math.max(x1, x2, it.target != null && it.target !== 1 ? x(it.target) : 0) + 4
      body.push(
        `<text x="${labelX.toFixed(1)}" y="${y + barH - 4}" class="v">${esc(ratio(it.r))}${clipped ? ' (bar clipped)' : ''}</text>`,
      )
      y += barH + gap
    }
    y += groupGap - gap
  }
  const H = Math.max(y + 30, 140)
  const ticks = []
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const r = 2 ** e
    const tx = x(r)
    ticks.push(
      `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${top - 8}" y2="${H - 30}" stroke="${e === 0 ? '#000' : '#ddd'}" stroke-width="${e === 0 ? 1.2 : 1}"/>`,
    )
    ticks.push(
      `<text x="${tx.toFixed(1)}" y="${H - 16}" class="t">${r >= 1 ? r : `1/${1 / r}`}×</text>`,
    )
  }
  const m = results.meta
  const empty =
    items.length === 0
      ? `<text x="${W / 2}" y="${top + 30}" class="t">no ratios in this run</text>`
      : ''
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.h{font-size:15px;font-weight:600}.s{font-size:11px;fill:#555}.g{font-size:12px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:4px}
.l{font-size:11px;text-anchor:end}.v{font-size:11px}.t{font-size:10px;text-anchor:middle;fill:#555}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="22" class="h">tagcache ÷ contender, same run (higher is better; log scale)</text>
<text x="12" y="40" class="s">${esc(`${m.date.slice(0, 10)} · ${m.mode} run · Node ${m.node} · Next ${m.next} · ${m.cpus}`)} · green: target met, red: missed, dashed: target</text>
${ticks.join('\n')}
${body.join('\n')}
${empty}
</svg>
`
}

module.exports = { collectMeta, markdown, consoleTables, svg, targets }
