'use strict'
/**
 * A plain reference model of Next.js 16.4's cache semantics (the rules of
 * `src/fuzz/model.rs`, in JS), and a model-based runner that drives one or more engines
 * with random, seeded operations and checks every answer against the model.
 *
 * The rules follow Next's own code, `node_modules/next/dist/server/`:
 * - the tag manifest: `lib/incremental-cache/tags-manifest.external.js` (`areTagsExpired`:
 *   `expired <= now && expired > timestamp`; `areTagsStale`: `(stale ?? 0) > timestamp`) and
 *   `lib/cache-handlers/default.js` `updateTags` (with durations: stale now, and expired
 *   `now + expire·1000` when `expire` is given; without: expired now);
 * - `revalidateTag(tag, profile)`: `web/spec-extension/revalidate.js` (a falsy profile is
 *   none: expired now; a name: `durations = { expire: cacheLifeProfiles[name].expire }`, the
 *   profile as configured; an object: its `expire`) and `revalidatePath` (implicit tags);
 * - entry lifetimes: `use-cache/use-cache-wrapper.js` (past `expire`: a miss; past
 *   `revalidate`: served stale) and `config.js` (profiles; missing fields from `default`).
 *
 * Where tagcache chose differently from Next's built-in handler on purpose, the model follows
 * tagcache (as model.rs does): tag times are exact (the built-in rounds `now` to the ms), soft
 * tags are checked in `get` alongside the entry's tags, `getExpiration` reports only expiries
 * that have come, and durations above 4294967294 s (`Infinity`, 1e30) are that "never".
 *
 * The engine runs on the real clock, so the runner never knows the exact "now" of a call,
 * only the interval around it: a verdict is checked against every verdict possible for some
 * time in that interval (`possibleVerdicts`), widened, for an entry's own `expire` on a
 * shared store (its TTL runs on the store's clock), by `marginMs`. An engine's clock is
 * `performance.now()`'s, anchored when it was created: this clock minus a constant offset,
 * measured at the start (`calibrate`) and narrowed by every engine time seen after (tag
 * times, timestamps it chose), which must all fit one offset. Entry timestamps are chosen by
 * the test (exact); tag times are what the updating engine reports (`tagStates()`), so
 * comparisons of the two are exact.
 */
const { performance } = require('node:perf_hooks')

const INFINITE_CACHE = 4294967294
/** Smallest step that moves a time of ~1.8e12 ms (its ulp is ~0.00024 ms). */
const TINY = 0.001
/** Rounding of times in ms (~1.8e12: ulp ~0.00024) through a few additions. */
const CLOCK_MS = 0.002

const now = () => performance.timeOrigin + performance.now()
const normalized = (seconds) => Math.min(seconds, INFINITE_CACHE)

/** Next 16.4's built-in profiles (`config-shared.js`), seconds. */
const BUILT_IN = {
  default: { stale: 300, revalidate: 900, expire: INFINITE_CACHE },
  seconds: { stale: 30, revalidate: 1, expire: 60 },
  minutes: { stale: 300, revalidate: 60, expire: 3600 },
  hours: { stale: 300, revalidate: 3600, expire: 86400 },
  days: { stale: 300, revalidate: 86400, expire: 604800 },
  weeks: { stale: 300, revalidate: 604800, expire: 2592000 },
  max: { stale: 300, revalidate: 2592000, expire: 31536000 },
}

/** Next's `encodeHeaderSafe` (`lib/encode-header-safe.js`). */
function encodeHeaderSafe(value) {
  return /[^\t\x20-\x7e]/.test(value)
    ? value.replace(/[^\t\x20-\x7e]+/g, (run) => encodeURIComponent(run))
    : value
}

/** The implicit tags `revalidatePath(path, type)` expires (`spec-extension/revalidate.js`). */
function revalidatePathTags(path, kind) {
  const trimmed = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path
  let tag = `_N_T_${encodeHeaderSafe(trimmed)}`
  if (kind) tag += `${tag.endsWith('/') ? '' : '/'}${kind}`
  const tags = [tag]
  if (tag === '_N_T_/') tags.push('_N_T_/index')
  else if (tag === '_N_T_/index') tags.push('_N_T_/')
  return tags
}

/**
 * How long after another engine's write a copy Redis tracks may still answer (ms): the time
 * Redis's announcement takes to arrive (`CLIENT TRACKING`; p99 under 5 ms on loopback), with
 * room for a loaded machine.
 */
const TRACK_MS = 100

class ModelError extends Error {
  constructor(code) {
    super(code)
    this.code = code
  }
}

/**
 * Next's semantics, one cache: entries (with the timestamp as an interval `[tLo, tHi]`,
 * equal when the test chose it) and the tag manifest.
 */
class Model {
  /** @param {Record<string, {stale?, revalidate?, expire?}>} cacheLife the app's config */
  constructor(cacheLife = {}) {
    // Built-ins, then the app's profiles as written (each replaces a built-in of its name
    // wholesale), `default` backfilled from the built-in one.
    this.profiles = new Map(Object.entries(BUILT_IN).map(([k, v]) => [k, { ...v }]))
    for (const [name, written] of Object.entries(cacheLife)) this.profiles.set(name, written)
    this.profiles.set('default', { ...BUILT_IN.default, ...this.profiles.get('default') })
    /** key → { id, bytes, tags, life, tLo, tHi, setAt } */
    this.entries = new Map()
    /** tag → { stale?, expired? } (ms) */
    this.manifest = new Map()
  }

  defaultLife() {
    const d = this.profiles.get('default')
    return {
      stale: normalized(d.stale),
      revalidate: normalized(d.revalidate),
      expire: normalized(d.expire),
    }
  }

  /** A profile used for an entry: missing fields from `default`; `revalidate > expire` written together is an error. */
  complete(written) {
    if (
      written.revalidate !== undefined &&
      written.expire !== undefined &&
      normalized(written.revalidate) > normalized(written.expire)
    ) {
      throw new ModelError('ERR_INVALID_CACHE_LIFE')
    }
    return this.fill(written)
  }

  /** Explicit timings: stored as given, missing ones from `default` (no order check). */
  fill(written) {
    const d = this.defaultLife()
    return {
      stale: normalized(written.stale ?? d.stale),
      revalidate: normalized(written.revalidate ?? d.revalidate),
      expire: normalized(written.expire ?? d.expire),
    }
  }

  /** The lifetime `set` gives an entry for `timing`, or throws a `ModelError`. */
  lifeOf(timing) {
    switch (timing.kind) {
      case 'default':
        return this.defaultLife()
      case 'named': {
        const written = this.profiles.get(timing.name)
        if (!written) throw new ModelError('ERR_UNKNOWN_PROFILE')
        return this.complete(written)
      }
      case 'inline':
        return this.complete(timing.written)
      case 'explicit':
        return this.fill(timing.written)
      default:
        throw new Error(`unknown timing ${timing.kind}`)
    }
  }

  /**
   * `revalidateTag(tags, profile)` down to the durations it hands the handlers: `null` (no
   * durations: expired now) or `{ expire }` (`expire` may be undefined: stale only), or
   * throws (then nothing changes).
   */
  revalidateDurations(profile) {
    if (profile === undefined || profile === '') return null
    if (typeof profile === 'string') {
      const written = this.profiles.get(profile)
      if (!written) throw new ModelError('ERR_UNKNOWN_PROFILE')
      return { expire: written.expire }
    }
    return { expire: profile.expire }
  }

  /** The handler's `updateTags(tags, durations?)` at `at` (ms). */
  updateTags(tags, durations, at) {
    for (const tag of tags) {
      const state = { ...this.manifest.get(tag) }
      if (durations) {
        state.stale = at
        if (durations.expire !== undefined) state.expired = at + normalized(durations.expire) * 1000
      } else {
        state.expired = at
      }
      this.manifest.set(tag, state)
    }
  }

  /** `areTagsExpired`. */
  anyExpired(tags, timestamp, at) {
    return tags.some((t) => {
      const expired = this.manifest.get(t)?.expired
      return expired !== undefined && expired <= at && expired > timestamp
    })
  }

  /** `areTagsStale`. */
  anyStale(tags, timestamp) {
    return tags.some((t) => (this.manifest.get(t)?.stale ?? 0) > timestamp)
  }

  /**
   * The verdict on `entry` written at `timestamp`, read at `at` with `soft` tags; `atExpire`
   * is the time its own `expire` is compared with (default `at`).
   */
  verdictAt(entry, timestamp, soft, at, atExpire = at) {
    const all = [...entry.tags, ...soft]
    if (atExpire > timestamp + entry.life.expire * 1000 || this.anyExpired(all, timestamp, at)) {
      return 'miss'
    }
    if (this.anyStale(all, timestamp)) return 'stale-by-tag'
    if (at > timestamp + entry.life.revalidate * 1000) return 'stale'
    return 'fresh'
  }

  /**
   * Every verdict `entry` can get for a read at some time in `[gLo, gHi]` widened by
   * `clockMs` (the engine's clock against this one), and a timestamp in `[entry.tLo,
   * entry.tHi]`. Its own `expire` is compared with a time widened by `expireMs` instead (a
   * shared store drops the entry by its TTL, on the store's clock). The verdict is a step
   * function of each, so it is evaluated at the ends and on either side of every edge between.
   */
  possibleVerdicts(entry, soft, gLo, gHi, { clockMs = CLOCK_MS, expireMs = clockMs } = {}) {
    const all = [...entry.tags, ...soft]
    const expiries = []
    const tagTimes = []
    for (const t of all) {
      const s = this.manifest.get(t)
      if (!s) continue
      if (s.expired !== undefined) {
        expiries.push(s.expired)
        tagTimes.push(s.expired)
      }
      if (s.stale !== undefined) tagTimes.push(s.stale)
    }
    const timestamps = [entry.tLo, entry.tHi]
    for (const u of tagTimes) {
      if (u >= entry.tLo && u <= entry.tHi) timestamps.push(u - TINY, u, u + TINY)
    }
    const around = (lo, hi, edges) => {
      const times = [lo, hi]
      for (const e of edges) {
        for (const g of [e - TINY, e, e + TINY]) if (g >= lo && g <= hi) times.push(g)
      }
      return times
    }
    const out = new Set()
    for (const ts of timestamps) {
      if (ts < entry.tLo || ts > entry.tHi) continue
      const times = around(gLo - clockMs, gHi + clockMs, [
        ts + entry.life.revalidate * 1000,
        ...expiries,
      ])
      const expireTimes = around(gLo - expireMs, gHi + expireMs, [ts + entry.life.expire * 1000])
      for (const g of times) {
        for (const ge of expireTimes) out.add(this.verdictAt(entry, ts, soft, g, ge))
      }
    }
    return out
  }

  /** `getExpiration(tags)` at `at`: the latest `expired` that has come, 0 if none. */
  expirationAt(tags, at) {
    let latest = 0
    for (const t of tags) {
      const e = this.manifest.get(t)?.expired
      if (e !== undefined && e <= at && e > latest) latest = e
    }
    return latest
  }

  /** Every value `getExpiration(tags)` can answer at some time in `[gLo, gHi]` ± `clockMs`. */
  possibleExpirations(tags, gLo, gHi, clockMs = CLOCK_MS) {
    const lo = gLo - clockMs
    const hi = gHi + clockMs
    const times = [lo, hi]
    for (const t of tags) {
      const e = this.manifest.get(t)?.expired
      if (e === undefined) continue
      for (const g of [e - TINY, e, e + TINY]) if (g >= lo && g <= hi) times.push(g)
    }
    return new Set(times.map((g) => this.expirationAt(tags, g)))
  }
}

// ---- seeded randomness and the operations ----

/** mulberry32: a small seeded PRNG. */
class Rng {
  constructor(seed) {
    this.state = seed >>> 0
  }
  next() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  int(n) {
    return Math.floor(this.next() * n)
  }
  range(lo, hi) {
    return lo + this.next() * (hi - lo)
  }
  pick(items) {
    return items[this.int(items.length)]
  }
  chance(p) {
    return this.next() < p
  }
  /** `min..max` distinct items of `items`, in their order. */
  subset(items, min, max) {
    const n = min + this.int(max - min + 1)
    const chosen = new Set()
    while (chosen.size < Math.min(n, items.length)) chosen.add(this.int(items.length))
    return [...chosen].sort((a, b) => a - b).map((i) => items[i])
  }
  /** One of `choices`, `[weight, value]` each. */
  weighted(choices) {
    const total = choices.reduce((s, [w]) => s + w, 0)
    let r = this.next() * total
    for (const [w, v] of choices) {
      r -= w
      if (r < 0) return v
    }
    return choices[choices.length - 1][1]
  }
}

const KEYS = ['k0', 'k1', 'page:/blog', 'k/é']
/** Explicit tags, as the app writes them (engine and model both encode them). */
const TAGS = ['a', 'b', 'posts', 'café', '_N_T_/blog']
/** The implicit tags Next passes as `softTags` for a few routes. */
const SOFT = [
  [],
  ['_N_T_/layout', '_N_T_/page', '_N_T_/', '_N_T_/index'],
  ['_N_T_/layout', '_N_T_/blog/layout', '_N_T_/blog/page', '_N_T_/blog'],
  [
    '_N_T_/layout',
    '_N_T_/blog/layout',
    '_N_T_/blog/[slug]/layout',
    '_N_T_/blog/[slug]/page',
    '_N_T_/blog/caf%C3%A9',
  ],
]
const PATHS = ['/', '/index', '/blog', '/blog/', '/blog/café', '/blog/[slug]', '/layout', '']
const NAMES = ['default', 'seconds', 'minutes', 'max', 'short', 'hours', 'swr', 'unknown']
/** Every tag an operation can set or read, encoded: what `tagStates()` is checked on. */
const ALL_TAGS = [
  ...new Set([
    ...TAGS.map(encodeHeaderSafe),
    ...SOFT.flat(),
    ...PATHS.flatMap((p) => [undefined, 'page', 'layout'].flatMap((k) => revalidatePathTags(p, k))),
  ]),
]

/**
 * The app's `cacheLife` config (model.rs `config`): `short` complete, `hours` replacing the
 * built-in with only `revalidate` written, `swr` with only `expire`, and optionally a custom
 * `default`.
 */
function cacheLifeConfig(customDefault) {
  const profiles = {
    short: { stale: 1, revalidate: 2, expire: 6 },
    hours: { revalidate: 3 },
    swr: { expire: 8 },
  }
  if (customDefault) profiles.default = { revalidate: 5, expire: 40 }
  return profiles
}

/** Durations in seconds around the windows a run reaches (some cross within a run), and edges. */
function seconds(rng) {
  return rng.chance(0.75)
    ? rng.int(12)
    : rng.pick([0, 0.02, 0.05, 0.1, 0.5, 1.5, 30, 3600, INFINITE_CACHE, Infinity, 1e30])
}

function written(rng) {
  const w = {}
  for (const field of ['stale', 'revalidate', 'expire'])
    if (rng.chance(0.5)) w[field] = seconds(rng)
  return w
}

/**
 * Random operations. `instances` engines share one store (an operation names the one it
 * runs on); `refresh: true` adds explicit `refreshTags()` calls.
 */
function generateOps(rng, count, { instances = 1, refresh = false } = {}) {
  const inst = () => rng.int(instances)
  // Half the time the key of the operation before: more writes read back, on another engine.
  let lastKey = 0
  const key = () => (lastKey = rng.chance(0.5) ? lastKey : rng.int(KEYS.length))
  const ops = []
  for (let i = 0; i < count; i++) {
    const kind = rng.weighted([
      [5, 'set'],
      [8, 'get'],
      [1, 'delete'],
      [4, 'revalidateTag'],
      [1, 'updateTag'],
      [2, 'updateTags'],
      [1, 'revalidatePath'],
      [1, 'getExpiration'],
      [refresh ? 1 : 0, 'refresh'],
      [0.4, 'sleep'],
    ])
    switch (kind) {
      case 'set': {
        const timing = rng.weighted([
          [2, { kind: 'default' }],
          [3, { kind: 'named', name: rng.pick(NAMES) }],
          [1, { kind: 'inline', written: written(rng) }],
          [2, { kind: 'explicit', written: written(rng) }],
        ])
        const timestamp = rng.weighted([
          [1, { kind: 'now' }],
          [
            5,
            {
              kind: 'offset',
              ms: rng.chance(0.7)
                ? rng.pick([0, -0.5, -1500.5, -2500, -7000, -12000, -61000, 0.25, 2000])
                : -rng.range(0, 12_000),
            },
          ],
          [
            4,
            {
              kind: 'tag',
              field: rng.pick(['expired', 'expired', 'stale']),
              delta: rng.pick([-TINY, 0, 0, 0, TINY, -1, 1]),
              pick: rng.next(),
            },
          ],
          [
            2,
            {
              kind: 'edge',
              field: rng.pick(['revalidate', 'expire']),
              ms: rng.range(-40, 120),
            },
          ],
        ])
        ops.push({
          op: 'set',
          inst: inst(),
          key: key(),
          tags: rng.subset(TAGS, 0, 3),
          timing,
          timestamp,
          shape: rng.pick(['buffer', 'buffer', 'chunks', 'uint8']),
          next: rng.chance(0.3),
          size: rng.int(48),
          salt: rng.int(1 << 30),
        })
        break
      }
      case 'get':
        ops.push({
          op: 'get',
          inst: inst(),
          key: key(),
          soft: rng.int(SOFT.length),
          peek: rng.chance(0.3),
          softObject: rng.chance(0.3),
        })
        break
      case 'delete':
        ops.push({ op: 'delete', inst: inst(), key: key() })
        break
      case 'revalidateTag': {
        const tags = rng.subset(TAGS, 1, 2)
        const profile = rng.weighted([
          [1, undefined],
          [4, rng.chance(0.85) ? rng.pick(NAMES) : ''],
          [2, rng.chance(0.8) ? { expire: seconds(rng) } : {}],
        ])
        ops.push({
          op: 'revalidateTag',
          inst: inst(),
          tags,
          single: tags.length === 1 && rng.chance(0.5),
          profile,
        })
        break
      }
      case 'updateTag':
        ops.push({ op: 'updateTag', inst: inst(), tag: rng.pick(TAGS) })
        break
      case 'updateTags': {
        const durations = rng.weighted([
          [1, undefined],
          [1, {}],
          [3, { expire: seconds(rng) }],
        ])
        ops.push({ op: 'updateTags', inst: inst(), tags: rng.subset(TAGS, 1, 2), durations })
        break
      }
      case 'revalidatePath':
        ops.push({
          op: 'revalidatePath',
          inst: inst(),
          path: rng.pick(PATHS),
          kind: rng.pick([undefined, undefined, 'page', 'layout']),
        })
        break
      case 'getExpiration':
        ops.push({
          op: 'getExpiration',
          inst: inst(),
          tags: rng.subset([...TAGS, ...SOFT[2], ...SOFT[1]], 1, 3),
        })
        break
      case 'refresh':
        ops.push({ op: 'refresh', inst: inst() })
        break
      case 'sleep':
        ops.push({ op: 'sleep', ms: 1 + rng.int(30) })
        break
    }
  }
  return ops
}

// ---- running operations on engines and on the model ----

class Mismatch extends Error {}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

function valueOf(op, id) {
  const rng = new Rng(op.salt)
  const bytes = Buffer.alloc(op.size)
  for (let i = 0; i < bytes.length; i++) bytes[i] = rng.int(256)
  const buffer = Buffer.concat([Buffer.from(`v${id}:`), bytes])
  if (op.shape === 'uint8') return { buffer, value: new Uint8Array(buffer) }
  if (op.shape === 'chunks') {
    const cut = Math.floor(buffer.length / 2)
    return { buffer, value: [buffer.subarray(0, cut), Buffer.alloc(0), buffer.subarray(cut)] }
  }
  return { buffer, value: buffer }
}

const describeValue = (buffer) => JSON.stringify(buffer.toString('latin1').slice(0, 24))

/** An answer for messages: `null`, or `{ status, value, timestamp }`. */
function describeAnswer(entry) {
  if (entry === null || entry === undefined) return String(entry)
  return `${entry.status}${entry.revalidated ? ' (by tag)' : ''} ${describeValue(entry.value)} @${entry.timestamp}`
}

const verdictOf = (entry) =>
  entry === null ? 'miss' : entry.revalidated ? 'stale-by-tag' : entry.status

/**
 * Runs `ops` on fresh engines and the model; resolves to `null` when every answer agreed, or
 * `{ index, message, log }` at the first that did not.
 *
 * `setup(cacheLife)` → `{ instances: [{ cache, localTtlMs }], close() }`: `localTtlMs`
 * `undefined` for an in-process engine (no tiers), a number for an engine on a shared store
 * (its in-process tier answers copies younger than that; 0: never).
 *
 * `options.marginMs`: how far from its `expire` a read on a shared store must be for its
 * verdict to be certain (Redis drops the entry by a TTL, on its own clock).
 * `options.stats` collects counts: reads, reads near an edge, tier copies allowed and served,
 * deletes whose answer was checked.
 */
async function runCase(ops, { setup, customDefault, marginMs = 20, stats = {} }) {
  const config = cacheLifeConfig(customDefault)
  const model = new Model(config)
  const { instances, close } = await setup(config)
  const shared = instances.some((i) => i.localTtlMs !== undefined)
  const margins = { clockMs: CLOCK_MS, expireMs: shared ? marginMs : CLOCK_MS }
  const views = instances.map((i) => ({
    cache: i.cache,
    localTtlMs: i.localTtlMs,
    /**
     * key → [{ entry, sLo, sHi }]: the copies the in-process tier may hold (one, or several
     * when a read could have gone either way), each stored within `[sLo, sHi]`.
     */
    local: new Map(),
    /** key → 'yes' | 'no' | 'maybe': whether the in-process store holds anything. */
    holds: new Map(),
    needsRefresh: false,
    counts: { hits: 0, misses: 0, staleHits: 0 },
    softTags: SOFT.map((tags) => i.cache.softTags(tags)),
    /** Bounds of this clock minus the engine's (ms), see `observe`. */
    offset: { lo: -Infinity, hi: Infinity },
  }))
  const log = []
  /**
   * Another engine wrote or deleted `key` on Redis: client-side caching announces it, and
   * the engines that hold a copy read from Redis drop it (their own writes' copies stay).
   */
  function othersMayDrop(writer, key) {
    for (const v of views) {
      if (v !== writer && v.localTtlMs > 0 && v.holds.get(key) === 'yes') v.holds.set(key, 'maybe')
    }
  }
  let nextId = 0
  const fail = (message) => {
    throw new Mismatch(message)
  }
  /** The latest tag time that has come, if any. */
  const lastTagTime = () => {
    const t = now()
    const times = [...model.manifest.values()].flatMap((s) => [s.stale, s.expired])
    const past = times.filter((u) => u !== undefined && u <= t)
    return past.length ? Math.max(...past) : undefined
  }
  /** `tagStates(tags)` against the model: `fields` (both when the view is up to date). */
  const checkTagStates = (view, tags, what, fields = ['stale', 'expired']) => {
    const got = view.cache.tagStates(tags)
    for (let i = 0; i < tags.length; i++) {
      const want = model.manifest.get(tags[i]) ?? {}
      const g = got[i] ?? {}
      if (g.tag !== tags[i] || fields.some((f) => (g[f] ?? null) !== (want[f] ?? null))) {
        fail(
          `${what}: tagStates(${JSON.stringify(tags[i])}) is ${JSON.stringify(g)}, the model has ${JSON.stringify(want)}`,
        )
      }
    }
  }
  const refresh = async (view) => {
    await view.cache.refreshTags()
    view.needsRefresh = false
    checkTagStates(view, ALL_TAGS, 'after refreshTags')
  }
  /** Whether Redis may still hold / surely holds `entry` at `[gLo, gHi]` (its TTL). */
  const inRedis = (entry, gLo, gHi) => {
    const surely = entry && gHi + margins.expireMs < entry.tLo + entry.life.expire * 1000
    const maybe =
      entry &&
      gLo - margins.expireMs <= Math.max(entry.tHi + entry.life.expire * 1000, entry.setAt + 2)
    return { surely: Boolean(surely), maybe: Boolean(maybe) }
  }
  const expect = (cond, message) => {
    if (!cond) fail(message())
  }
  /** The engine's times during `[lo, hi]` (this clock). */
  const engineTimes = (view, lo, hi) => [lo - view.offset.hi, hi - view.offset.lo]
  /** The engine read its clock as `t` during `[lo, hi]`: check it, and narrow the offset. */
  const observe = (view, lo, hi, t, what) => {
    const [eLo, eHi] = engineTimes(view, lo, hi)
    expect(
      typeof t === 'number' && t >= eLo - CLOCK_MS && t <= eHi + CLOCK_MS,
      () =>
        `${what} ${t} is outside the call, [${lo}, ${hi}] here, [${eLo}, ${eHi}] on the ` +
        `engine's clock (offset ${view.offset.lo}..${view.offset.hi} ms): not one clock`,
    )
    const { offset } = view
    offset.lo = Math.max(offset.lo, Math.min(lo - t, offset.hi))
    offset.hi = Math.min(offset.hi, Math.max(hi - t, offset.lo))
  }
  /**
   * Measures each engine's clock offset: a `set` without timestamp, read back (a key of its
   * own, no tags: the tag manifest stays empty). The counters start after it.
   */
  const calibrate = async () => {
    for (const view of views) {
      for (let i = 0; i < 2; i++) {
        const { lo, hiSync, error } = await timed(() => view.cache.set('__clock', Buffer.from('c')))
        if (error) throw error
        const entry = await view.cache.get('__clock')
        observe(view, lo, hiSync, entry && entry.timestamp, 'the timestamp of a set')
      }
      const s = view.cache.stats()
      view.counts = { hits: s.hits, misses: s.misses, staleHits: s.staleHits }
    }
  }

  /** Calls `call` (an engine call), with the interval around its synchronous part. */
  async function timed(call) {
    const lo = now()
    let promise
    let error
    try {
      promise = call()
    } catch (err) {
      error = err
    }
    const hiSync = now()
    if (promise) {
      try {
        await promise
      } catch (err) {
        error = err
      }
    }
    return { lo, hiSync, hi: now(), error }
  }

  async function applyTags(view, tags, durations, call, wantError) {
    const { lo, hiSync: hi, error } = await timed(call)
    if (wantError || error) {
      expect(
        error && error.code === wantError,
        () =>
          `expected ${wantError ?? 'success'}, got ${error ? `${error.code}: ${error.message}` : 'success'}`,
      )
      if (!view.needsRefresh) checkTagStates(view, tags, 'after a refused tag update')
      return 'refused'
    }
    const [first] = view.cache.tagStates(tags.slice(0, 1))
    const at = durations ? first.stale : first.expired
    observe(view, lo, hi, at, 'the tag time')
    model.updateTags(tags, durations, at)
    // Not refreshed since another engine's update: only what this one wrote is known here.
    const written = !durations
      ? ['expired']
      : durations.expire === undefined
        ? ['stale']
        : undefined
    checkTagStates(view, tags, 'after the tag update', view.needsRefresh ? written : undefined)
    if (shared) for (const other of views) if (other !== view) other.needsRefresh = true
    return `at ${at}`
  }

  async function runOp(op) {
    const view = op.inst === undefined ? undefined : views[op.inst]
    switch (op.op) {
      case 'sleep':
        await sleep(op.ms)
        return ''
      case 'refresh':
        await refresh(view)
        return ''
      case 'set': {
        const key = KEYS[op.key]
        const id = nextId++
        const { buffer, value } = valueOf(op, id)
        let life
        let wantError
        try {
          life = model.lifeOf(op.timing)
        } catch (err) {
          if (!(err instanceof ModelError)) throw err
          wantError = err.code
        }
        const t = now()
        let timestamp
        switch (op.timestamp.kind) {
          case 'now':
            break
          case 'offset':
            timestamp = t + op.timestamp.ms
            break
          case 'tag': {
            // Exactly at (or a hair off) a time of one of its own tags, else the latest one.
            const times = (field) =>
              op.tags
                .map((tag) => model.manifest.get(encodeHeaderSafe(tag))?.[field])
                .filter((u) => u !== undefined && u <= t)
            const other = op.timestamp.field === 'stale' ? 'expired' : 'stale'
            const preferred = times(op.timestamp.field)
            const own = preferred.length ? preferred : times(other)
            const at = own.length ? own[Math.floor(op.timestamp.pick * own.length)] : lastTagTime()
            timestamp = (at ?? t) + op.timestamp.delta
            break
          }
          case 'edge': {
            const ms = life ? life[op.timestamp.field] * 1000 : Infinity
            timestamp = ms < 1e12 ? t - ms + op.timestamp.ms : t
            break
          }
        }
        const tags = op.tags
        const meta = { tags }
        const w = op.timing.written
        if (op.timing.kind === 'named') meta.profile = op.timing.name
        if (op.timing.kind === 'inline') meta.profile = w
        if (op.timing.kind === 'explicit') Object.assign(meta, w)
        if (timestamp !== undefined) meta.timestamp = timestamp
        const viaNext = op.next && op.timing.kind === 'explicit' && timestamp !== undefined
        const d = model.defaultLife()
        const { lo, hiSync, hi, error } = await timed(() =>
          viaNext
            ? view.cache.setNextEntry(
                key,
                value,
                tags,
                w.stale ?? d.stale,
                w.revalidate ?? d.revalidate,
                w.expire ?? d.expire,
                timestamp,
              )
            : view.cache.set(key, value, meta),
        )
        if (wantError || error) {
          expect(
            error && error.code === wantError,
            () =>
              `set: expected ${wantError ?? 'success'}, got ${error ? `${error.code}: ${error.message}` : 'success'}`,
          )
          return `refused ${wantError}`
        }
        const [eLo, eHi] = engineTimes(view, lo, hi)
        const stampedAt = engineTimes(view, lo, hiSync)
        const entry = {
          id,
          bytes: buffer,
          tags: tags.map(encodeHeaderSafe),
          life,
          tLo: timestamp ?? stampedAt[0],
          tHi: timestamp ?? stampedAt[1],
          /** Who chose the timestamp when the test did not, and when. */
          stamped: timestamp === undefined ? { view, lo, hi: hiSync } : undefined,
          setAt: eHi,
        }
        const replaced = model.entries.get(key)
        if (replaced) replaced.replacedAt = eHi
        model.entries.set(key, entry)
        othersMayDrop(view, key)
        if (view.localTtlMs === 0) {
          // On a shared store with `localTtlMs: 0` the engine keeps no in-process copy.
          view.local.delete(key)
          view.holds.set(key, 'no')
        } else {
          view.local.set(key, [{ entry, sLo: eLo, sHi: eHi }])
          view.holds.set(key, 'yes')
        }
        return `${describeValue(buffer)} @${timestamp ?? 'now'} ${JSON.stringify(life)}`
      }
      case 'get': {
        if (view.needsRefresh) await refresh(view)
        const key = KEYS[op.key]
        const soft = SOFT[op.soft]
        const softArg = op.softObject ? view.softTags[op.soft] : soft
        const sharedReads = view.cache.stats().sharedReads
        const gLo = now()
        let answer = op.peek ? view.cache.peek(key, softArg) : undefined
        const peeked = answer !== undefined
        if (view.localTtlMs === undefined) {
          expect(!op.peek || peeked, () => 'peek on an in-process engine answered undefined')
        }
        if (!peeked) answer = await view.cache.get(key, softArg)
        const [eLo, eHi] = engineTimes(view, gLo, now())
        const s = model.entries.get(key)
        // What may answer: the shared (or only) copy, as judged now; and, on an engine with an
        // in-process tier, a copy of another version it stored less than localTtlMs ago: when
        // fresh (answered without asking Redis), or with any verdict when its timestamp is
        // later than the shared one's (a newer copy wins while it is young; Redis's after).
        const outcomes = []
        if (!s) outcomes.push({ verdict: 'miss' })
        else
          for (const v of model.possibleVerdicts(s, soft, eLo, eHi, margins))
            outcomes.push({ entry: s, verdict: v })
        const copies = view.local.get(key) ?? []
        for (const c of view.localTtlMs > 0 ? copies : []) {
          // Past localTtlMs only a copy Redis tracked may still answer, and only until the
          // announcement of the write that replaced it arrived.
          const announcing = c.entry.replacedAt !== undefined && eLo - c.entry.replacedAt < TRACK_MS
          if (c.entry === s || (eLo - c.sHi >= view.localTtlMs && !announcing)) continue
          const mayBeNewer = s && c.entry.tHi > s.tLo
          for (const v of model.possibleVerdicts(c.entry, soft, eLo, eHi, margins)) {
            if (v === 'fresh' || mayBeNewer)
              outcomes.push({ entry: c.entry, verdict: v, local: true })
          }
        }
        const count = (what) => (stats[what] = (stats[what] ?? 0) + 1)
        if (outcomes.some((o) => o.local)) count('tierCopyAllowed')
        if (outcomes.filter((o) => !o.local).length > 1) count('nearEdge')
        count('reads')
        const want = () =>
          outcomes
            .map((o) =>
              o.entry
                ? `${o.verdict} ${describeValue(o.entry.bytes)}${o.local ? ' (tier copy)' : ''}`
                : o.verdict,
            )
            .join(' | ')
        const got = verdictOf(answer)
        const matches = outcomes.filter(
          (o) => o.verdict === got && (got === 'miss' || o.entry.bytes.equals(answer.value)),
        )
        const match = matches.find((o) => !o.local) ?? matches[0]
        // The tier copy may have answered (it stays as it was).
        const fromTier = matches.some((o) => o.local)
        expect(
          match,
          () =>
            `get ${JSON.stringify(key)}: got ${describeAnswer(answer)}, the model allows ${want()}`,
        )
        if (match.local) count('tierCopyServed')
        if (answer) {
          const e = match.entry
          expect(
            JSON.stringify(answer.tags) === JSON.stringify(e.tags),
            () => `tags ${JSON.stringify(answer.tags)}, the model has ${JSON.stringify(e.tags)}`,
          )
          for (const field of ['stale', 'revalidate', 'expire']) {
            expect(
              answer[field] === e.life[field],
              () => `${field} ${answer[field]}, the model has ${e.life[field]}`,
            )
          }
          if (e.stamped) {
            const { view: by, lo, hi } = e.stamped
            observe(by, lo, hi, answer.timestamp, 'the timestamp the engine gave')
            e.stamped = undefined
          } else {
            expect(
              answer.timestamp === e.tLo,
              () => `timestamp ${answer.timestamp}, the model has ${e.tLo}`,
            )
          }
          // A timestamp the engine chose (`set` without one) is known from now on.
          e.tLo = e.tHi = answer.timestamp
          view.counts.hits++
          if (answer.status === 'stale') view.counts.staleHits++
        } else {
          view.counts.misses++
        }
        if (peeked && view.localTtlMs !== undefined) {
          expect(
            view.localTtlMs > 0 && got === 'fresh',
            () => `peek answered ${describeAnswer(answer)}`,
          )
        }
        // What the engine's in-process store holds now. An entry judged past its own
        // `expire` is dropped from it; Redis may already have dropped it too (its TTL).
        const expiresAt = s && s.tLo + s.life.expire * 1000
        const mayBeGone = s && eHi + margins.expireMs >= expiresAt
        const surelyGone = s && eLo - margins.expireMs > s.tHi + s.life.expire * 1000
        const held = view.holds.get(key) ?? 'no'
        if (view.localTtlMs === undefined) {
          if (surelyGone && held !== 'no') view.holds.set(key, 'no')
          else if (mayBeGone && held === 'yes') view.holds.set(key, 'maybe')
        } else if (view.localTtlMs > 0 && s && !match.local) {
          // Read from Redis, or a tier hit of this very copy: the tier holds it (stored now,
          // or still when it was). Unless the answer came from another copy, or it was a
          // miss near its expire (Redis may have dropped it: the tier keeps what it had).
          const same = copies.find((c) => c.entry === s)
          const copy = { entry: s, sLo: same ? same.sLo : eLo, sHi: eHi }
          const surely = answer || (!fromTier && !mayBeGone)
          const others = copies.filter((c) => c.entry !== s)
          view.local.set(key, surely ? [copy] : [...others, copy])
          if (surely) view.holds.set(key, 'yes')
          else view.holds.set(key, held === 'no' && surelyGone ? 'no' : 'maybe')
        }
        const sharedRead = view.cache.stats().sharedReads > sharedReads
        return `${describeAnswer(answer)}${sharedRead ? ' (redis)' : ''}`
      }
      case 'delete': {
        const key = KEYS[op.key]
        const s = model.entries.get(key)
        const gLo = now()
        const removed = await view.cache.delete(key)
        const [eLo, eHi] = engineTimes(view, gLo, now())
        const holds = view.holds.get(key) ?? 'no'
        let want
        if (view.localTtlMs === undefined) {
          want = holds === 'yes' ? true : holds === 'no' ? false : undefined
        } else {
          // `true` if Redis had it (its TTL follows `expire`) or the in-process store did.
          const redis = inRedis(s, eLo, eHi)
          if (redis.surely || holds === 'yes') want = true
          else if (!redis.maybe && holds === 'no') want = false
        }
        if (want !== undefined) stats.deletesChecked = (stats.deletesChecked ?? 0) + 1
        expect(
          want === undefined || removed === want,
          () => `delete answered ${removed}, the model expects ${want}`,
        )
        if (s) s.replacedAt = eHi
        model.entries.delete(key)
        othersMayDrop(view, key)
        view.local.delete(key)
        view.holds.set(key, 'no')
        return String(removed)
      }
      case 'revalidateTag': {
        const tags = op.tags.map(encodeHeaderSafe)
        let durations
        let wantError
        try {
          durations = model.revalidateDurations(op.profile)
        } catch (err) {
          if (!(err instanceof ModelError)) throw err
          wantError = err.code
        }
        const arg = op.single ? op.tags[0] : op.tags
        return applyTags(
          view,
          tags,
          durations,
          () =>
            op.profile === undefined
              ? view.cache.revalidateTag(arg)
              : view.cache.revalidateTag(arg, op.profile),
          wantError,
        )
      }
      case 'updateTag':
        return applyTags(view, [encodeHeaderSafe(op.tag)], null, () => view.cache.updateTag(op.tag))
      case 'updateTags': {
        const tags = op.tags.map(encodeHeaderSafe)
        return applyTags(view, tags, op.durations ?? null, () =>
          op.durations === undefined
            ? view.cache.updateTags(op.tags)
            : view.cache.updateTags(op.tags, op.durations),
        )
      }
      case 'revalidatePath': {
        const tags = revalidatePathTags(op.path, op.kind)
        let got
        const result = await applyTags(view, tags, null, async () => {
          got = await view.cache.revalidatePath(op.path, op.kind)
        })
        expect(
          JSON.stringify(got) === JSON.stringify(tags),
          () =>
            `revalidatePath answered ${JSON.stringify(got)}, Next expires ${JSON.stringify(tags)}`,
        )
        return result
      }
      case 'getExpiration': {
        if (view.needsRefresh) await refresh(view)
        const tags = op.tags.map(encodeHeaderSafe)
        const gLo = now()
        const got = await view.cache.getExpiration(op.tags)
        const [eLo, eHi] = engineTimes(view, gLo, now())
        const want = model.possibleExpirations(tags, eLo, eHi, CLOCK_MS)
        expect(
          want.has(got),
          () => `getExpiration answered ${got}, the model allows ${[...want].join(' | ')}`,
        )
        return String(got)
      }
      default:
        throw new Error(`unknown op ${op.op}`)
    }
  }

  let index = 0
  try {
    await calibrate()
    for (; index < ops.length; index++) {
      const note = await runOp(ops[index])
      log.push(note)
    }
    index = ops.length
    for (const view of views) {
      if (shared) await refresh(view)
      else checkTagStates(view, ALL_TAGS, 'at the end')
      const s = view.cache.stats()
      const got = { hits: s.hits, misses: s.misses, staleHits: s.staleHits }
      expect(
        JSON.stringify(got) === JSON.stringify(view.counts),
        () => `stats ${JSON.stringify(got)}, the answers were ${JSON.stringify(view.counts)}`,
      )
    }
    return null
  } catch (err) {
    const message = err instanceof Mismatch ? err.message : `threw: ${err && err.stack}`
    return { index, message, log }
  } finally {
    await close()
  }
}

/** One line per operation, for a failure report. */
function formatOps(ops, log = []) {
  return ops
    .map(
      (op, i) =>
        `  ${String(i).padStart(3)} ${JSON.stringify(op)}${log[i] !== undefined ? `  → ${log[i]}` : ''}`,
    )
    .join('\n')
}

/**
 * Shrinks a failing sequence: the prefix up to the failure, then chunks and single
 * operations dropped while it still fails (each try a fresh run). Resolves to `{ ops,
 * failure, runs }`; `failure` null when even the prefix did not fail again (timing).
 */
async function shrink(ops, failure, run, { maxRuns = 300, maxMs = 60_000 } = {}) {
  const started = Date.now()
  let runs = 0
  const budget = () => runs < maxRuns && Date.now() - started < maxMs
  const tryOps = async (candidate) => {
    runs++
    const f = await run(candidate)
    return f ? { ops: candidate.slice(0, f.index + 1), failure: f } : null
  }
  let best = await tryOps(ops.slice(0, failure.index + 1))
  if (!best) return { ops: ops.slice(0, failure.index + 1), failure: null, runs }
  for (let size = Math.max(1, Math.floor(best.ops.length / 2)); size >= 1 && budget();) {
    let shrunk = false
    for (let i = 0; i + size <= best.ops.length && budget();) {
      const candidate = [...best.ops.slice(0, i), ...best.ops.slice(i + size)]
      const found = candidate.length ? await tryOps(candidate) : null
      if (found) {
        best = found
        shrunk = true
      } else {
        i += size
      }
    }
    if (!shrunk) size = Math.floor(size / 2)
    else size = Math.min(size, Math.max(1, Math.floor(best.ops.length / 2)))
  }
  // The last run of `best` may be an older one: rerun it for the log of the shrunk sequence.
  const final = await tryOps(best.ops)
  return { ops: best.ops, failure: final ? final.failure : best.failure, runs }
}

module.exports = {
  INFINITE_CACHE,
  BUILT_IN,
  KEYS,
  TAGS,
  SOFT,
  PATHS,
  NAMES,
  ALL_TAGS,
  Model,
  ModelError,
  Rng,
  encodeHeaderSafe,
  revalidatePathTags,
  cacheLifeConfig,
  generateOps,
  runCase,
  shrink,
  formatOps,
}
