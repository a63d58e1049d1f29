'use strict'
/**
 * Soak (issue #11): RSS and p99 latency over minutes of churn through the byte bound, for
 * tagcache in memory, with the disk tier, and on Redis (its in-process tier on, and off with
 * `localTtlMs: 0`). `node benchmark/run.js --only=soak [--soak-seconds=600]
 * [--soak-stores=memory,disk,redis,redis-nolocal]`.
 *
 * Each store runs in a fresh Node process (this file, forked), driven through the 'use cache'
 * handler (`createUseCacheHandler(engine)`, the interface Next calls) by a seeded mix of
 * operations over a key space several times larger than every bound, so that eviction runs
 * all the time:
 *
 * - get (60%): `get(key, softTags)` and its stream read to the end; hits, stale hits and
 *   misses (evicted or never written, or revalidated: expired);
 * - set (30%): `set(key, Promise<entry>)` of a value of 1–64 KiB (the size fixed per key),
 *   a quarter to three quarters of it random bytes and the rest HTML-like text, so that zstd
 *   neither makes it trivial nor is useless, in 4 KiB stream chunks;
 * - refreshTags (8%), as Next calls it before a request's first read;
 * - revalidateTag (2%): `updateTags([tag], { expire })`, what Next 16 sends for
 *   `revalidateTag(tag, 'max')` (4 in 5), or `updateTags([tag])` (`updateTag`: expired now, 1 in
 *   5), of an entry's own tag, a tag shared by 32 entries, or now and then an implicit page tag.
 *
 * Keys are drawn with a skew (key = ⌊N·u³⌋: the first 1000 of 16,384 get ~40% of the reads),
 * as pages are. The loop measures the way a server runs: `CONCURRENCY` operations in flight,
 * and every `YIELD_EVERY` operations all of them wait for one turn of the event loop
 * (`setImmediate`), because Node runs napi finalizers (the Buffers of hits tagcache hands to JS)
 * on a turn of the event loop: a loop that never yields holds every freed entry.
 *
 * Every `SAMPLE_MS` the child samples `process.memoryUsage()`; every `WINDOW_MS` it closes a
 * window: ops/s, latency quantiles (a log histogram, 2% buckets, allocated once: the harness
 * itself allocates nothing per operation but the entry streams), the engine's `stats()`, the
 * event loop's delay, and on Redis `INFO memory` / `stats`. The parent logs a line a minute
 * and gathers the windows into `results.soak` (benchmark/results/latest.json); `markdown` /
 * `svg` below render the section of docs/benchmarks.md and docs/benchmarks-soak.svg.
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { forkJob, killChild } = require('./child')
const { performance, monitorEventLoopDelay } = require('node:perf_hooks')
const { buildInfo } = require('./report/meta')
const { num, us, mib, table } = require('./report/format')
const { readToEnd } = require('./workload')

const root = path.join(__dirname, '..', '..')
const KiB = 1024
const MiB = 1024 * KiB

/** Operations in flight. */
const CONCURRENCY = 16
/** Operations between two turns of the event loop (all in-flight loops wait for it). */
const YIELD_EVERY = 16
const WINDOW_MS = 10000
const SAMPLE_MS = 2000
/** Distinct keys. */
const KEYS = 16384
/** Tags shared by 32 entries each (`t0…t511`); implicit page tags: 64 pages. */
const SHARED_TAGS = 512
const PAGES = 64
const SEED = 0x50a4c0de
const MIX = [
  ['get', 0.6],
  ['set', 0.3],
  ['refreshTags', 0.08],
  ['revalidateTag', 0.02],
]
const REDIS_MAXMEMORY = 64 * MiB
const REDIS_POLICY = 'volatile-lru'

/**
 * The configurations. Bounds are small so that churn goes through them within seconds: the
 * key space (16,384 keys, 518 MiB of values, half of it random bytes) is 16× the memory bound
 * and several times the disk bound and Redis's `maxmemory`.
 */
const CONFIGS = [
  {
    id: 'memory',
    label: 'tagcache (memory)',
    store: 'memory',
    options: { maxMemoryBytes: 32 * MiB },
    note: 'new TagCache({ maxMemoryBytes: 32 MiB })',
  },
  {
    id: 'disk',
    label: 'tagcache (memory + disk)',
    store: 'disk',
    options: { maxMemoryBytes: 16 * MiB, maxDiskBytes: 64 * MiB },
    note: 'new TagCache({ maxMemoryBytes: 16 MiB, diskDir: <a temporary directory>, maxDiskBytes: 64 MiB })',
  },
  {
    id: 'redis',
    label: 'tagcache (Redis)',
    store: 'redis',
    options: { maxMemoryBytes: 32 * MiB },
    note: `new TagCache({ redisUrl, maxMemoryBytes: 32 MiB }) (localTtlMs default, 1 s); Redis at maxmemory ${REDIS_MAXMEMORY / MiB} MiB, ${REDIS_POLICY}`,
  },
  {
    id: 'redis-nolocal',
    label: 'tagcache (Redis, localTtlMs: 0)',
    store: 'redis',
    options: { maxMemoryBytes: 32 * MiB, localTtlMs: 0 },
    note: `new TagCache({ redisUrl, maxMemoryBytes: 32 MiB, localTtlMs: 0 }); Redis as above`,
  },
]

// ---------------------------------------------------------------------------------------
// Small tools: a seeded PRNG and a log histogram.

/** mulberry32: a seeded PRNG, [0, 1). */
function prng(seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** A hash of an integer to [0, 1) (per-key properties that never change). */
function hash01(k, salt) {
  let h = Math.imul(k ^ salt, 0x9e3779b1)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return (h >>> 0) / 4294967296
}

const H_MIN = 0.1 // µs
const H_BASE = 1.02
const H_BUCKETS = 1100 // up to ~280 s

/** Latencies in µs, in buckets 2% wide: quantiles within 1%, no allocation per value. */
class Histogram {
  constructor() {
    this.counts = new Uint32Array(H_BUCKETS)
    this.reset()
  }
  reset() {
    this.counts.fill(0)
    this.n = 0
    this.max = 0
  }
  add(us) {
    const i =
      us <= H_MIN
        ? 0
        : Math.min(H_BUCKETS - 1, 1 + Math.floor(Math.log(us / H_MIN) / Math.log(H_BASE)))
    this.counts[i]++
    this.n++
    if (us > this.max) this.max = us
  }
  quantile(q) {
    if (this.n === 0) return null
    const target = Math.max(1, Math.ceil(q * this.n))
    let seen = 0
    for (let i = 0; i < H_BUCKETS; i++) {
      seen += this.counts[i]
      if (seen >= target) return i === 0 ? H_MIN : Math.min(this.max, H_MIN * H_BASE ** (i - 0.5))
    }
    return this.max
  }
  summary() {
    return {
      ops: this.n,
      p50: round(this.quantile(0.5)),
      p99: round(this.quantile(0.99)),
      p999: round(this.quantile(0.999)),
      max: round(this.max),
    }
  }
}

/**
 * Objects of one shape as a table { fields, rows } (nested fields dotted: `byKind.get.p99`),
 * so that results.soak stays a few lines per row in latest.json; `objectsOf` reads it back.
 */
function tableOf(objects) {
  const fields = []
  const walk = (o, prefix) => {
    for (const [k, v] of Object.entries(o)) {
      if (v && typeof v === 'object') walk(v, `${prefix}${k}.`)
      else if (!fields.includes(`${prefix}${k}`)) fields.push(`${prefix}${k}`)
    }
  }
  for (const o of objects) walk(o, '')
  const get = (o, f) => f.split('.').reduce((x, k) => (x == null ? undefined : x[k]), o)
  // Columns that are empty throughout are left out (a number-only row prints compactly).
  const kept = fields.filter((f) => objects.some((o) => get(o, f) != null))
  return { fields: kept, rows: objects.map((o) => kept.map((f) => get(o, f) ?? null)) }
}

function objectsOf(t) {
  if (!t || Array.isArray(t)) return t || []
  return t.rows.map((row) => {
    const o = {}
    t.fields.forEach((f, i) => {
      const path = f.split('.')
      let x = o
      for (const k of path.slice(0, -1)) x = x[k] ||= {}
      x[path.at(-1)] = row[i]
    })
    return o
  })
}

function round(x, digits = 1) {
  if (x == null || !Number.isFinite(x)) return null
  const f = 10 ** digits
  return Math.round(x * f) / f
}

// ---------------------------------------------------------------------------------------
// The child: one store, `job.seconds` of churn.

/** The values' bytes: a random pool and a text pool (both seeded), sliced without copying. */
function makePools() {
  const rnd = prng(SEED ^ 0x1234)
  const random = new Uint8Array(8 * MiB)
  const words = new Uint32Array(random.buffer)
  for (let i = 0; i < words.length; i++) words[i] = (rnd() * 4294967296) >>> 0
  const vocab = [
    '<div class="card">',
    '</div>',
    '<a href="/posts/',
    '">',
    '</a>',
    '<p>',
    '</p>',
    '<span class="tag">',
    '</span>',
    'lorem',
    'ipsum',
    'dolor',
    'sit',
    'amet',
    'consectetur',
    'adipiscing',
    'elit',
    'next',
    'cache',
    'render',
    'server',
    'component',
    '{"id":',
    ',"title":"',
    '"}',
  ]
  let text = ''
  while (text.length < 2 * MiB) {
    const w = vocab[Math.floor(rnd() * vocab.length)]
    text += w === '{"id":' ? `${w}${Math.floor(rnd() * 100000)}` : `${w} `
  }
  return { random, text: Buffer.from(text, 'latin1') }
}

/** A key's value size (1–64 KiB) and random share (¼–¾), fixed per key. */
function shapeOf(k) {
  const size = KiB + Math.floor(hash01(k, 0x51a3) * 63 * KiB)
  const randomBytes = Math.floor(size * (0.25 + 0.5 * hash01(k, 0x7e11)))
  return { size, randomBytes }
}

/** Bytes of one value of every key, and of their random parts. */
function keySpace() {
  let bytes = 0
  let randomBytes = 0
  for (let k = 0; k < KEYS; k++) {
    const s = shapeOf(k)
    bytes += s.size
    randomBytes += s.randomBytes
  }
  return { bytes, randomBytes }
}

const FN_ID = 'c0ffee5eed'
function keyOf(k) {
  return `["soak-build","${FN_ID}",[{"page":${k}}],[]]`
}
function tagsOf(k) {
  return ['soak', `t${k % SHARED_TAGS}`, `post:${k}`]
}
const SOFT_TAGS = Array.from({ length: PAGES }, (_, p) => [
  '_N_T_/layout',
  '_N_T_/p/layout',
  '_N_T_/p/[id]/layout',
  `_N_T_/p/${p}`,
])

async function churn(job) {
  const { TagCache } = require(path.join(root, 'index.js'))
  const { createUseCacheHandler } = require(path.join(root, 'next', 'use-cache.js'))
  const cfg = CONFIGS.find((c) => c.id === job.store)
  const options = { ...cfg.options }
  let dir = null
  if (cfg.store === 'disk') {
    dir = job.diskDir || fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-soak-disk-'))
    options.diskDir = dir
  }
  if (cfg.store === 'redis') {
    options.redisUrl = job.redisUrl
    options.keyPrefix = 'soak'
  }
  const redisLib = require('./redis')
  const info = cfg.store === 'redis' ? await redisLib.connect(job.redisPort) : null
  const pools = makePools()
  const rssBefore = process.memoryUsage().rss
  const engine = new TagCache(options)
  if (engine.storage !== cfg.store)
    throw new Error(`storage is ${engine.storage}, expected ${cfg.store}`)
  const h = createUseCacheHandler(engine)

  const rnd = prng(SEED)
  const skewed = () => Math.floor(KEYS * rnd() ** 3)
  const pickOp = () => {
    const u = rnd()
    let acc = 0
    for (const [op, w] of MIX) {
      acc += w
      if (u < acc) return op
    }
    return MIX[0][0]
  }

  const CHUNK = 4 * KiB
  const parts = (k) => {
    const { size, randomBytes } = shapeOf(k)
    const out = []
    const ro = Math.floor(rnd() * (pools.random.length - randomBytes))
    for (let o = 0; o < randomBytes; o += CHUNK)
      out.push(pools.random.subarray(ro + o, ro + Math.min(randomBytes, o + CHUNK)))
    const textBytes = size - randomBytes
    const to = Math.floor(rnd() * (pools.text.length - textBytes))
    for (let o = 0; o < textBytes; o += CHUNK)
      out.push(pools.text.subarray(to + o, to + Math.min(textBytes, o + CHUNK)))
    return out
  }
  const pendingEntry = (chunks, tags) => {
    let i = 0
    const value = new ReadableStream({
      pull(controller) {
        if (i >= chunks.length) return controller.close()
        for (let n = 0; n < 16 && i < chunks.length; n++) controller.enqueue(chunks[i++])
      },
    })
    return Promise.resolve({
      value,
      tags,
      stale: 300,
      timestamp: performance.timeOrigin + performance.now(),
      expire: 86400,
      revalidate: 900,
    })
  }

  const gets = { hit: 0, stale: 0, miss: 0 }
  let errors = 0
  const OPS = {
    async get() {
      const k = skewed()
      const e = await h.get(keyOf(k), SOFT_TAGS[k % PAGES])
      if (!e) return gets.miss++
      const n = await readToEnd(e.value)
      if (n !== shapeOf(k).size) errors++
      if (e.revalidate === -1) gets.stale++
      else gets.hit++
    },
    async set() {
      const k = skewed()
      await h.set(keyOf(k), pendingEntry(parts(k), tagsOf(k)))
    },
    refreshTags: () => h.refreshTags(),
    async revalidateTag() {
      const u = rnd()
      const tag =
        u < 0.75
          ? `post:${skewed()}`
          : u < 0.99
            ? `t${Math.floor(rnd() * SHARED_TAGS)}`
            : `_N_T_/p/${Math.floor(rnd() * PAGES)}`
      await h.updateTags([tag], rnd() < 0.8 ? { expire: 31536000 } : undefined)
    },
  }
  const KINDS = MIX.map(([op]) => op)
  const hist = { all: new Histogram(), minute: new Histogram() }
  for (const k of KINDS) {
    hist[k] = new Histogram()
    hist[`minute.${k}`] = new Histogram()
  }

  const loop = monitorEventLoopDelay({ resolution: 10 })
  loop.enable()

  const t0 = performance.now()
  const sinceStart = () => (performance.now() - t0) / 1000
  const samples = []
  const sample = () => {
    const m = process.memoryUsage()
    samples.push([
      round(sinceStart(), 2),
      m.rss,
      m.heapUsed,
      m.heapTotal,
      m.external,
      m.arrayBuffers,
    ])
  }
  sample()

  /** Bytes of the disk tier's files, and of its write-ahead log among them. */
  const dirBytes = () => {
    if (!dir) return { all: null, wal: null }
    let all = 0
    let wal = 0
    for (const f of fs.readdirSync(dir)) {
      try {
        const size = fs.statSync(path.join(dir, f)).size
        all += size
        if (f.endsWith('-wal')) wal += size
      } catch {}
    }
    return { all, wal }
  }
  const redisInfo = async () => {
    if (!info) return null
    const text = (await info.command('INFO', 'memory')) + (await info.command('INFO', 'stats'))
    const field = (name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1])
    return {
      usedMemory: field('used_memory'),
      usedMemoryRss: field('used_memory_rss'),
      evictedKeys: field('evicted_keys'),
      keys: await info.command('DBSIZE'),
    }
  }

  const windows = []
  const minutes = []
  let lastStats = engine.stats()
  let lastRedis = await redisInfo()
  let lastWindowAt = 0
  let lastGets = { ...gets }
  let lastErrors = 0
  let closing = Promise.resolve()
  const closeWindow = async () => {
    const t = sinceStart()
    const seconds = t - lastWindowAt
    if (seconds < 1) return
    lastWindowAt = t
    const m = process.memoryUsage()
    const st = engine.stats()
    const all = hist.all.summary()
    const files = dirBytes()
    const byKind = {}
    for (const k of KINDS) {
      const s = hist[k].summary()
      byKind[k] = { ops: s.ops, p50: s.p50, p99: s.p99, max: s.max }
      hist[k].reset()
    }
    hist.all.reset()
    const delta = (field) => st[field] - lastStats[field]
    const w = {
      t: round(t, 1),
      seconds: round(seconds, 2),
      ...all,
      opsPerSec: round(all.ops / seconds, 0),
      byKind,
      gets: {
        hit: gets.hit - lastGets.hit,
        stale: gets.stale - lastGets.stale,
        miss: gets.miss - lastGets.miss,
      },
      badReads: errors - lastErrors,
      rss: m.rss,
      heapUsed: m.heapUsed,
      external: m.external,
      arrayBuffers: m.arrayBuffers,
      engine: {
        entries: st.entries,
        bytes: st.bytes,
        evictions: delta('evictions'),
        sets: delta('sets'),
        tagUpdates: delta('tagUpdates'),
        storeErrors: delta('storeErrors'),
        sharedReads: delta('sharedReads'),
        diskReads: delta('diskReads'),
        diskEntries: st.diskEntries,
        diskBytes: st.diskBytes,
        dirBytes: files.all,
        walBytes: files.wal,
      },
      loopDelay: {
        p99Ms: round(loop.percentile(99) / 1e6, 2),
        maxMs: round(loop.max / 1e6, 2),
      },
      load: round(os.loadavg()[0], 2),
    }
    lastStats = st
    lastGets = { ...gets }
    lastErrors = errors
    loop.reset()
    const r = await redisInfo().catch(() => null)
    if (r) {
      w.redis = {
        usedMemory: r.usedMemory,
        usedMemoryRss: r.usedMemoryRss,
        keys: r.keys,
        evictedKeys: r.evictedKeys - (lastRedis?.evictedKeys || 0),
      }
      lastRedis = r
    }
    windows.push(w)
    if (windows.length % 6 === 0) {
      const last6 = windows.slice(-6)
      const min = hist.minute.summary()
      hist.minute.reset()
      const minKinds = {}
      for (const k of KINDS) {
        const s = hist[`minute.${k}`].summary()
        minKinds[k] = { ops: s.ops, p50: s.p50, p99: s.p99, max: s.max }
        hist[`minute.${k}`].reset()
      }
      const rssOf = samples.filter((s) => s[0] > t - 60 && s[0] <= t).map((s) => s[1])
      minutes.push({
        t: round(t, 0),
        ...min,
        opsPerSec: round(min.ops / last6.reduce((a, x) => a + x.seconds, 0), 0),
        byKind: minKinds,
        rss: m.rss,
        rssMean: Math.round(rssOf.reduce((a, x) => a + x, 0) / Math.max(1, rssOf.length)),
        heapUsed: m.heapUsed,
        entries: st.entries,
        evictions: last6.reduce((a, x) => a + x.engine.evictions, 0),
        storeErrors: last6.reduce((a, x) => a + x.engine.storeErrors, 0),
      })
      process.send?.({ progress: { store: cfg.id, minute: minutes.at(-1), window: w } })
    }
  }
  const sampler = setInterval(sample, SAMPLE_MS)
  const windower = setInterval(() => (closing = closing.then(closeWindow)), WINDOW_MS)

  // The loops: CONCURRENCY in flight; every YIELD_EVERY operations, all wait for one turn.
  const endAt = t0 + job.seconds * 1000
  let turn = null
  let sinceTurn = 0
  const nextTurn = () =>
    new Promise((resolve) =>
      setImmediate(() => {
        turn = null
        resolve()
      }),
    )
  const worker = async () => {
    for (;;) {
      if (++sinceTurn >= YIELD_EVERY && !turn) {
        sinceTurn = 0
        turn = nextTurn()
      }
      if (turn) await turn
      if (performance.now() >= endAt) return
      const op = pickOp()
      const s = performance.now()
      try {
        await OPS[op]()
      } catch {
        errors++
      }
      const us = (performance.now() - s) * 1000
      hist.all.add(us)
      hist.minute.add(us)
      hist[op].add(us)
      hist[`minute.${op}`].add(us)
    }
  }
  await Promise.all(Array.from({ length: CONCURRENCY }, worker))
  clearInterval(windower)
  clearInterval(sampler)
  await closing
  sample()
  if (sinceStart() - lastWindowAt >= 5) await closeWindow()

  // After the churn: idle (finalizers run on the loop's turns), then after gc(), then closed.
  const rssNow = () => process.memoryUsage().rss
  const end = { rssAtEnd: rssNow() }
  await new Promise((r) => setTimeout(r, 3000))
  end.rssIdle3s = rssNow()
  if (global.gc) {
    for (let k = 0; k < 3; k++) {
      global.gc()
      await new Promise((r) => setImmediate(r))
    }
    await new Promise((r) => setTimeout(r, 500))
    end.rssAfterGc = rssNow()
    end.heapUsedAfterGc = process.memoryUsage().heapUsed
  }
  const finalStats = engine.stats()
  const tc = performance.now()
  await engine.close()
  end.closeMs = round(performance.now() - tc, 1)
  if (global.gc) {
    global.gc()
    await new Promise((r) => setTimeout(r, 500))
    end.rssAfterClose = rssNow()
  }
  loop.disable()
  info?.close()
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
  return {
    id: cfg.id,
    label: cfg.label,
    note: cfg.note,
    seconds: job.seconds,
    rssBeforeEngine: rssBefore,
    windows,
    minutes,
    samples: {
      fields: ['t', 'rss', 'heapUsed', 'heapTotal', 'external', 'arrayBuffers'],
      rows: samples,
    },
    stats: finalStats,
    gets,
    badReads: errors,
    end,
  }
}

if (require.main === module) {
  process.on('message', async (job) => {
    let reply
    try {
      reply = { ok: true, result: await churn(job) }
    } catch (err) {
      reply = { ok: false, error: String((err && err.stack) || err) }
    }
    process.send(reply, () => process.exit(0))
  })
}

// ---------------------------------------------------------------------------------------
// The parent: one fresh process per store, one after the other.

/** Seconds per configuration: the Redis store's time is shared by its selected configurations. */
function secondsFor(cfg, selected, seconds) {
  if (cfg.store !== 'redis') return seconds
  return Math.round(seconds / selected.filter((c) => c.store === 'redis').length)
}

/**
 * Runs the selected stores one after the other; `redis` is the run's server ({ port }) or
 * null. Returns { soak, unavailable, errors } (soak: the results.soak object).
 */
async function runSoak({ seconds = 600, stores, redis, log, debug = false }) {
  const selected = CONFIGS.filter((c) => !stores || stores.includes(c.id))
  const unknown = (stores || []).filter((id) => !CONFIGS.some((c) => c.id === id))
  if (unknown.length) throw new Error(`unknown soak store(s) ${unknown.join(', ')}`)
  const out = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpus: `${os.cpus().length} × ${os.cpus()[0]?.model?.trim() || 'unknown CPU'}`,
      loadStart: os.loadavg().map((x) => round(x, 2)),
      build: buildInfo(root),
      redis: redis?.version || null,
    },
    settings: {
      seconds,
      concurrency: CONCURRENCY,
      yieldEvery: YIELD_EVERY,
      windowMs: WINDOW_MS,
      sampleMs: SAMPLE_MS,
      keys: KEYS,
      mix: Object.fromEntries(MIX),
      seed: SEED,
      redisMaxmemory: REDIS_MAXMEMORY,
      redisPolicy: REDIS_POLICY,
    },
    stores: {},
  }
  const unavailable = []
  const errors = []
  let child = null
  const kill = () => killChild(child)
  process.on('exit', kill)
  const started = Date.now()
  try {
    for (const cfg of selected) {
      if (cfg.store === 'redis' && !redis) {
        unavailable.push({ id: cfg.id, label: cfg.label, reason: 'no Redis in this run' })
        continue
      }
      if (cfg.store === 'disk') {
        const ok = require('./disk').diskSupport()
        if (ok !== true) {
          unavailable.push({ id: cfg.id, label: cfg.label, reason: ok })
          continue
        }
      }
      const secs = secondsFor(cfg, selected, seconds)
      const job = { store: cfg.id, seconds: secs }
      // Made here and removed below, so that a child killed on a timeout leaves nothing behind.
      if (cfg.store === 'disk')
        job.diskDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-soak-disk-'))
      if (cfg.store === 'redis') {
        const redisLib = require('./redis')
        const c = await redisLib.connect(redis.port)
        await c.command('FLUSHALL')
        await c.command('CONFIG', 'SET', 'maxmemory', String(REDIS_MAXMEMORY))
        await c.command('CONFIG', 'SET', 'maxmemory-policy', REDIS_POLICY)
        await c.command('CONFIG', 'RESETSTAT')
        c.close()
        job.redisUrl = `redis://127.0.0.1:${redis.port}`
        job.redisPort = redis.port
      }
      log(`  ${cfg.id}: ${secs} s of churn (${cfg.note})`)
      const r = await new Promise((resolve) => {
        const forked = forkJob(__filename, {
          cwd: path.join(__dirname, '..'),
          execArgv: ['--expose-gc'],
          debug,
        })
        child = forked.child
        let reply = null
        const timer = setTimeout(
          () => {
            reply = { ok: false, error: `timed out after ${secs + 120} s` }
            kill()
          },
          (secs + 120) * 1000,
        )
        child.on('message', (m) => {
          if (m.progress) return log(`    ${progressLine(m.progress.minute)}`)
          reply = m
        })
        child.on('exit', (code, signal) => {
          clearTimeout(timer)
          if (reply && reply.ok) return resolve(reply.result)
          const tail = forked.stderrTail(3)
          resolve({
            error: reply?.error || `exited with ${signal || code}${tail ? `: ${tail}` : ''}`,
          })
        })
        child.send(job)
      })
      child = null
      if (job.diskDir) fs.rmSync(job.diskDir, { recursive: true, force: true })
      if (r.error) {
        errors.push({ id: cfg.id, label: cfg.label, error: String(r.error).slice(0, 2000) })
        log(`  ! soak ${cfg.id}: ${String(r.error).split('\n')[0]}`)
        continue
      }
      out.stores[cfg.id] = { ...r, windows: tableOf(r.windows), minutes: tableOf(r.minutes) }
      const s = summarize(r)
      log(
        `  ${cfg.id}: RSS ${mib(s.rssStart)} → ${mib(s.rssMin2)} (minute 2) → ${mib(s.rssLast)} MiB (last minute), ${pct(s.growth)}; p99 ${us(s.p99Min)}–${us(s.p99Max)} µs; ${num(s.opsPerSec)} ops/s`,
      )
    }
  } finally {
    kill()
    process.removeListener('exit', kill)
  }
  out.meta.seconds = Math.round((Date.now() - started) / 1000)
  out.meta.loadEnd = os.loadavg().map((x) => round(x, 2))
  return { soak: out, unavailable, errors }
}

function progressLine(m) {
  return `${String(Math.round(m.t / 60)).padStart(2)} min: ${num(m.opsPerSec)} ops/s, p50 ${us(m.p50)} µs, p99 ${us(m.p99)} µs, max ${ms(m.max / 1000)} ms, RSS ${mib(m.rss)} MiB, ${int(m.entries)} entries, ${int(m.evictions)} evictions${m.storeErrors ? `, ${int(m.storeErrors)} store errors` : ''}`
}

// ---------------------------------------------------------------------------------------
// Report: figures, Markdown, console, SVG.

function int(n) {
  return n == null || !Number.isFinite(n) ? '—' : Math.round(n).toLocaleString('en-US')
}
function ms(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n >= 1 ? n.toFixed(1) : n.toFixed(2)
}
function pct(x) {
  if (x == null || !Number.isFinite(x)) return '—'
  return `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)}%`
}
function mean(xs) {
  return xs.length ? xs.reduce((a, x) => a + x, 0) / xs.length : null
}

/** Least-squares slope of y over x (per unit of x). */
function slope(points) {
  if (points.length < 2) return null
  const mx = mean(points.map((p) => p[0]))
  const my = mean(points.map((p) => p[1]))
  let num_ = 0
  let den = 0
  for (const [x, y] of points) {
    num_ += (x - mx) * (y - my)
    den += (x - mx) ** 2
  }
  return den ? num_ / den : null
}

/** The figures of one store: RSS at the start, minute 2, the last minute; p99's range. */
function summarize(r) {
  const rows = r.samples.rows
  const T = r.seconds
  const rssIn = (a, b) => mean(rows.filter((s) => s[0] >= a && s[0] < b).map((s) => s[1]))
  const rssStart = rows[0]?.[1]
  const rssMin1 = rssIn(0, 60)
  const rssMin2 = rssIn(60, 120)
  const rssLast = rssIn(T - 60, T + 1)
  const after = rows.filter((s) => s[0] >= 120)
  const slopePerMin = slope(after.map((s) => [s[0] / 60, s[1]]))
  const ws = objectsOf(r.windows)
  const steady = ws.filter((w) => w.t > 60)
  const p99s = (steady.length ? steady : ws).map((w) => w.p99).filter((x) => x != null)
  const kinds = {}
  for (const [k] of MIX) {
    const v = (steady.length ? steady : ws).map((w) => w.byKind?.[k]?.p99).filter((x) => x != null)
    kinds[k] = {
      p99Min: v.length ? Math.min(...v) : null,
      p99Max: v.length ? Math.max(...v) : null,
    }
  }
  const totalOps = ws.reduce((a, w) => a + w.ops, 0)
  const totalSeconds = ws.reduce((a, w) => a + w.seconds, 0)
  const g = r.gets
  const reads = g.hit + g.stale + g.miss
  return {
    seconds: T,
    rssStart,
    rssMin1,
    rssMin2,
    rssLast,
    rssMax: Math.max(...rows.map((s) => s[1])),
    growth: rssMin2 && rssLast ? rssLast / rssMin2 - 1 : null,
    slopePerMin,
    p99Min: p99s.length ? Math.min(...p99s) : null,
    p99Max: p99s.length ? Math.max(...p99s) : null,
    p99First: ws[0]?.p99 ?? null,
    kinds,
    loadMean: mean(ws.map((w) => w.load).filter((x) => x != null)),
    cores: os.cpus().length,
    p50Median: median(steady.map((w) => w.p50)),
    p99Median: median(p99s),
    maxLatency: Math.max(...ws.map((w) => w.max || 0)),
    loopDelayMax: Math.max(...ws.map((w) => w.loopDelay?.maxMs || 0)),
    opsPerSec: totalSeconds ? totalOps / totalSeconds : null,
    ops: totalOps,
    hitRatio: reads ? (g.hit + g.stale) / reads : null,
    evictions: r.stats?.evictions ?? null,
    storeErrors: r.stats?.storeErrors ?? null,
    badReads: r.badReads,
    redisMax: Math.max(0, ...ws.map((w) => w.redis?.usedMemory || 0)) || null,
    redisEvicted: ws.reduce((a, w) => a + (w.redis?.evictedKeys || 0), 0),
    dirMax: Math.max(0, ...ws.map((w) => w.engine?.dirBytes || 0)) || null,
    dirFirst: ws.find((w) => w.engine?.dirBytes)?.engine.dirBytes ?? null,
    walMax: Math.max(0, ...ws.map((w) => w.engine?.walBytes || 0)) || null,
    diskBytesMax: Math.max(0, ...ws.map((w) => w.engine?.diskBytes || 0)) || null,
  }
}

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b)
  if (!v.length) return null
  const m = v.length >> 1
  return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2
}

const FLAT = 0.05

function verdict(s) {
  if (s.growth == null) return 'not enough samples to say'
  const slopeText =
    s.slopePerMin == null
      ? ''
      : `, least-squares slope after minute 2 ${s.slopePerMin >= 0 ? '+' : '−'}${mib(Math.abs(s.slopePerMin))} MiB/min`
  const flat = Math.abs(s.growth) <= FLAT
  return `${flat ? '**flat**' : s.growth > 0 ? '**grows**' : '**shrinks**'}: ${mib(s.rssMin2)} MiB mean in minute 2, ${mib(s.rssLast)} MiB in the last minute (${pct(s.growth)}${slopeText})`
}

function summaryTable(soak) {
  const rows = Object.values(soak.stores).map((r) => {
    const s = summarize(r)
    return [
      r.label,
      `${Math.round(s.seconds / 60)} min`,
      num(s.opsPerSec),
      mib(s.rssStart),
      mib(s.rssMin2),
      mib(s.rssLast),
      `**${pct(s.growth)}**`,
      mib(s.rssMax),
      `${us(s.p99Min)}–${us(s.p99Max)}`,
      ms(s.maxLatency / 1000),
      s.hitRatio == null ? '—' : `${Math.round(s.hitRatio * 100)}%`,
      int(s.evictions),
      int(s.storeErrors),
    ]
  })
  return table(
    [
      'store',
      'churn',
      'ops/s',
      'RSS at start MiB',
      'RSS minute 2 MiB',
      'RSS last minute MiB',
      'growth',
      'RSS max MiB',
      'p99 range µs (10-s windows after minute 1)',
      'slowest op ms',
      'reads that hit',
      'evictions',
      'store errors',
    ],
    rows,
  )
}

function storeTable(r) {
  return table(
    [
      'minute',
      'ops/s',
      'p50 µs',
      'p99 µs',
      'max ms',
      'p99 get µs',
      'p99 set µs',
      'p99 revalidateTag µs',
      'p99 refreshTags µs',
      'RSS MiB',
      'heap MiB',
      'entries in memory',
      'evictions',
      'store errors',
    ],
    objectsOf(r.minutes).map((m) => [
      String(Math.round(m.t / 60)),
      num(m.opsPerSec),
      us(m.p50),
      us(m.p99),
      ms(m.max / 1000),
      us(m.byKind?.get?.p99),
      us(m.byKind?.set?.p99),
      us(m.byKind?.revalidateTag?.p99),
      us(m.byKind?.refreshTags?.p99),
      mib(m.rss),
      mib(m.heapUsed),
      int(m.entries),
      int(m.evictions),
      int(m.storeErrors),
    ]),
  )
}

function storeDetail(r) {
  const s = summarize(r)
  const e = r.end || {}
  const bits = [
    `RSS ${verdict(s)}; before the engine was created ${mib(r.rssBeforeEngine)} MiB.`,
    `p99 per 10-s window ${us(s.p99Min)}–${us(s.p99Max)} µs after the first minute (first window ${us(s.p99First)} µs, median ${us(s.p99Median)} µs); p50 median ${us(s.p50Median)} µs; slowest single operation ${ms(s.maxLatency / 1000)} ms; event-loop delay at most ${ms(s.loopDelayMax)} ms. By operation, p99 ranges ${Object.entries(
      s.kinds,
    )
      .map(([k, v]) => `${k} ${us(v.p99Min)}–${us(v.p99Max)} µs`)
      .join(', ')}.`,
    `Load average ${num(s.loadMean)} on average over the windows (${s.cores} cores). ${int(s.ops)} operations, ${s.hitRatio == null ? '—' : Math.round(s.hitRatio * 100)}% of reads hit (stale included), ${int(s.evictions)} evictions from memory, ${int(s.storeErrors)} store errors${s.badReads ? `, **${s.badReads} reads of the wrong length or failed operations**` : ', every hit had its full length'}.`,
  ]
  if (s.dirMax)
    bits.push(
      `The disk tier counted at most ${mib(s.diskBytesMax)} MiB of entries (\`maxDiskBytes\` 64 MiB); its files took ${mib(s.dirFirst)} MiB after 10 s and ${mib(s.dirMax)} MiB at most${s.walMax ? `, ${mib(s.walMax)} MiB of it the write-ahead log` : ''}.`,
    )
  if (s.redisMax)
    bits.push(
      `Redis used at most ${mib(s.redisMax)} MiB (maxmemory ${mib(REDIS_MAXMEMORY)} MiB) and evicted ${int(s.redisEvicted)} keys.`,
    )
  if (e.rssAtEnd)
    bits.push(
      `After the churn: RSS ${mib(e.rssAtEnd)} MiB, ${mib(e.rssIdle3s)} MiB after 3 s idle, ${mib(e.rssAfterGc)} MiB after \`gc()\` (heap ${mib(e.heapUsedAfterGc)} MiB), ${mib(e.rssAfterClose)} MiB after \`close()\` (${ms(e.closeMs)} ms) and \`gc()\`.`,
    )
  return bits.join(' ')
}

/** The section of docs/benchmarks.md. */
function markdown(results) {
  const soak = results.soak
  const head = '## Soak: RSS and p99 under churn through the byte bound (issue #11)'
  if (!soak?.stores || Object.keys(soak.stores).length === 0) {
    return `${head}\n\n_Not measured yet: \`npm run bench -- --only=soak\` (about ${Math.round((600 * 3) / 60)} minutes)._`
  }
  const m = soak.meta
  const st = soak.settings
  const ks = keySpace()
  // Encoded size of the key space, from the disk tier's own count (key + encoded entry).
  const dw = objectsOf(soak.stores.disk?.windows)
    .filter((w) => w.engine?.diskEntries > 0)
    .at(-1)
  const encoded = dw ? (dw.engine.diskBytes / dw.engine.diskEntries) * KEYS : null
  const bounds = `${mib(ks.bytes)} MiB of values (${Math.round((ks.randomBytes / ks.bytes) * 100)}% random bytes)${encoded ? `, ~${mib(encoded)} MiB as the disk tier encodes them` : ''}: ${Math.round(ks.bytes / (32 * MiB))}× the 32 MiB memory bound${encoded ? `, ${(encoded / (64 * MiB)).toFixed(1)}× the 64 MiB disk bound and Redis's \`maxmemory\`` : ''}`
  const redisRuns = Object.values(soak.stores).filter((r) => r.id.startsWith('redis')).length
  const intro = `\`npm run bench -- --only=soak\` (\`--soak-seconds=${st.seconds}\`): each store in a fresh Node process for
${st.seconds} s${redisRuns > 1 ? ` (the Redis store's ${st.seconds} s shared by its ${redisRuns} configurations)` : ''}, driven through the 'use cache' handler
(\`createUseCacheHandler(engine)\`, the interface Next calls) by a seeded mix of operations:

- get (${st.mix.get * 100}%): \`get(key, softTags)\` and the stream read to the end: hits, stale hits and misses;
- set (${st.mix.set * 100}%): values of 1–64 KiB (the size fixed per key), ¼–¾ random bytes and the rest
  HTML-like text, so zstd neither makes it trivial nor is useless, in 4 KiB stream chunks;
- refreshTags (${st.mix.refreshTags * 100}%), as Next calls it before a request's first read;
- revalidateTag (${st.mix.revalidateTag * 100}%): \`updateTags([tag], { expire })\` as Next 16 sends it for \`revalidateTag(tag, 'max')\`
  (4 in 5) or \`updateTags([tag])\` (expired now), of an entry's own tag, a tag shared by 32
  entries or a page's implicit tag.

Keys: ${st.keys.toLocaleString('en-US')}, drawn with a skew (key = ⌊N·u³⌋: the first 1,000 get ~40% of the operations):
${bounds}, so eviction runs all the time. ${st.concurrency} operations in flight, and every ${st.yieldEvery} operations all of them wait
for one turn of the event loop (\`setImmediate\`), as a server's requests do: Node runs napi
finalizers (the Buffers of hits) on a turn of the event loop, so a loop that never yields holds
every freed entry. A latency is one operation's, from its call until it settles, with the other
${st.concurrency - 1} in flight taking their turns on the JS thread meanwhile (so in-process latencies are
several times the sequential ones of the tables above). RSS (\`process.memoryUsage().rss\`) is
sampled every ${st.sampleMs / 1000} s, latencies gathered in ${st.windowMs / 1000}-s windows (a log histogram, 2% buckets). "Flat"
means the last minute's mean RSS within ±${FLAT * 100}% of minute 2's (minute 1 fills the bounds). Stores:
${Object.values(soak.stores)
  .map((r) => `${r.label}: \`${r.note}\``)
  .join('; ')}.

Run: ${m.date.slice(0, 16).replace('T', ' ')} UTC, ${m.seconds ?? '?'} s; tagcache commit ${m.build?.commit ?? '?'}${m.build?.uncommittedChanges ? ` plus uncommitted changes in ${m.build.uncommittedChanges} file(s) of src/ and next/` : ''}, addon built ${m.build?.addonBuilt?.slice(0, 16).replace('T', ' ') ?? '?'} UTC;
Node ${m.node}, ${m.cpus}${m.redis ? `, Redis ${m.redis}` : ''}; load average ${m.loadStart?.[0] ?? '?'} at the start, ${m.loadEnd?.[0] ?? '?'} at the end.`
  const parts = [head, intro, '![RSS and p99 over time](benchmarks-soak.svg)', summaryTable(soak)]
  for (const r of Object.values(soak.stores)) {
    parts.push(`### ${r.label}\n\n${storeDetail(r)}\n\n${storeTable(r)}`)
  }
  const missing = [
    ...(results.unavailable || []).filter((u) => u.scenario === 'soak'),
    ...(results.errors || []).filter((e) => e.scenario === 'soak'),
  ]
  if (missing.length)
    parts.push(missing.map((x) => `- ${x.label}: ${x.reason || `failed: ${x.error}`}`).join('\n'))
  return parts.join('\n\n')
}

/** The console's lines. */
function consoleTable(results) {
  const soak = results.soak
  if (!soak?.stores || Object.keys(soak.stores).length === 0) return null
  const lines = ['SOAK (RSS and p99 under churn)']
  for (const r of Object.values(soak.stores)) {
    const s = summarize(r)
    lines.push(
      `- ${r.label}: ${num(s.opsPerSec)} ops/s; RSS ${mib(s.rssStart)} → ${mib(s.rssMin2)} (minute 2) → ${mib(s.rssLast)} MiB (last minute), ${pct(s.growth)}; p99 ${us(s.p99Min)}–${us(s.p99Max)} µs; slowest ${ms(s.maxLatency / 1000)} ms; ${int(s.evictions)} evictions, ${int(s.storeErrors)} store errors`,
    )
  }
  return lines.join('\n')
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

const COLORS = ['#1565c0', '#2e7d32', '#c62828', '#ef6c00', '#6a1b9a']

/** docs/benchmarks-soak.svg: RSS (top) and p99 per window (bottom, log scale) over time. */
function svg(results) {
  const soak = results.soak
  const stores = Object.values(soak?.stores || {})
  const W = 760
  const left = 64
  const right = 16
  const top = 92
  const panelH = 190
  const gap = 46
  const H = top + 2 * panelH + gap + 40
  const maxT = Math.max(60, ...stores.map((r) => r.seconds))
  const x = (t) => left + (t / maxT) * (W - left - right)
  const out = []
  // Legend (label widths estimated at 6 px a character).
  let lx = 12
  stores.forEach((r, i) => {
    out.push(
      `<line x1="${lx}" x2="${lx + 18}" y1="58" y2="58" stroke="${COLORS[i % COLORS.length]}" stroke-width="2.5"/>`,
      `<text x="${lx + 24}" y="62" class="l">${esc(r.label)}</text>`,
    )
    lx += 24 + r.label.length * 6 + 18
  })
  // Time axis ticks (minutes).
  const tickEvery = maxT > 900 ? 300 : maxT > 300 ? 60 : 30
  const xTicks = (y0, y1) => {
    const t = []
    for (let s = 0; s <= maxT; s += tickEvery) {
      t.push(
        `<line x1="${x(s).toFixed(1)}" x2="${x(s).toFixed(1)}" y1="${y0}" y2="${y1}" stroke="#eee"/>`,
        `<text x="${x(s).toFixed(1)}" y="${y1 + 13}" class="t">${s % 60 === 0 ? `${s / 60} min` : `${s} s`}</text>`,
      )
    }
    return t.join('\n')
  }
  // Panel 1: RSS, linear from 0.
  const rssMax = Math.max(1, ...stores.flatMap((r) => r.samples.rows.map((s) => s[1]))) / MiB
  const step = niceCeil(rssMax / 5)
  const rssTop = Math.ceil((rssMax * 1.05) / step) * step
  const y1 = (mibv) => top + panelH - (mibv / rssTop) * panelH
  out.push(
    `<text x="${left}" y="${top - 8}" class="g">RSS, MiB (sampled every ${(soak?.settings?.sampleMs || SAMPLE_MS) / 1000} s)</text>`,
  )
  out.push(xTicks(top, top + panelH))
  for (let v = 0; v <= rssTop; v += step) {
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y1(v).toFixed(1)}" y2="${y1(v).toFixed(1)}" stroke="${v ? '#eee' : '#999'}"/>`,
      `<text x="${left - 6}" y="${(y1(v) + 3).toFixed(1)}" class="a">${Math.round(v)}</text>`,
    )
  }
  stores.forEach((r, i) => {
    const pts = r.samples.rows.map((s) => `${x(s[0]).toFixed(1)},${y1(s[1] / MiB).toFixed(1)}`)
    out.push(
      `<polyline fill="none" stroke="${COLORS[i % COLORS.length]}" stroke-width="1.6" points="${pts.join(' ')}"/>`,
    )
  })
  // Panel 2: p99 per window, log scale.
  const top2 = top + panelH + gap
  const p99s = stores.flatMap((r) => objectsOf(r.windows).map((w) => w.p99)).filter((v) => v > 0)
  const lo = Math.floor(Math.log10(Math.max(0.1, Math.min(...p99s, 10))))
  const hi = Math.ceil(Math.log10(Math.max(...p99s, 100)))
  const y2 = (v) => top2 + panelH - ((Math.log10(v) - lo) / (hi - lo)) * panelH
  out.push(
    `<text x="${left}" y="${top2 - 8}" class="g">p99 latency per operation, µs (per ${(soak?.settings?.windowMs || WINDOW_MS) / 1000}-s window, log scale)</text>`,
  )
  out.push(xTicks(top2, top2 + panelH))
  for (let e = lo; e <= hi; e++) {
    const v = 10 ** e
    out.push(
      `<line x1="${left}" x2="${W - right}" y1="${y2(v).toFixed(1)}" y2="${y2(v).toFixed(1)}" stroke="${e === lo ? '#999' : '#eee'}"/>`,
      `<text x="${left - 6}" y="${(y2(v) + 3).toFixed(1)}" class="a">${v >= 1 ? v.toLocaleString('en-US') : v}</text>`,
    )
  }
  stores.forEach((r, i) => {
    const ws = objectsOf(r.windows).filter((w) => w.p99 > 0)
    const color = COLORS[i % COLORS.length]
    out.push(
      `<polyline fill="none" stroke="${color}" stroke-width="1.6" points="${ws.map((w) => `${x(w.t).toFixed(1)},${y2(w.p99).toFixed(1)}`).join(' ')}"/>`,
    )
    if (ws.length < 3)
      for (const w of ws)
        out.push(
          `<circle cx="${x(w.t).toFixed(1)}" cy="${y2(w.p99).toFixed(1)}" r="2.5" fill="${color}"/>`,
        )
  })
  const m = soak?.meta
  const sub = m
    ? `${m.date.slice(0, 10)} · ${soak.settings.seconds} s per store (Redis: shared by its two configurations) · Node ${m.node} · ${m.cpus}`
    : 'not measured yet'
  const empty = stores.length
    ? ''
    : `<text x="${W / 2}" y="${top + 40}" class="t">no soak in this run</text>`
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.h{font-size:15px;font-weight:600}.s{font-size:11px;fill:#555}.g{font-size:12px;font-weight:600}
.l{font-size:11px}.a{font-size:10px;text-anchor:end;fill:#555}.t{font-size:10px;text-anchor:middle;fill:#555}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="22" class="h">Soak: RSS and p99 under churn through the byte bound</text>
<text x="12" y="40" class="s">${esc(sub)}</text>
${out.join('\n')}
${empty}
</svg>
`
}

function niceCeil(v) {
  const p = 10 ** Math.floor(Math.log10(v))
  for (const m of [1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= v) return m * p
  return 10 * p
}

module.exports = { CONFIGS, runSoak, summarize, markdown, consoleTable, svg, tableOf, objectsOf }
