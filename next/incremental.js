'use strict'
/**
 * The ISR / fetch / route-handler cache for Next.js (`cacheHandler`, singular), on the same
 * engine as the `'use cache'` handler, so one `revalidateTag` reaches both.
 *
 *   cacheHandler: require.resolve('tagcache/next/incremental'), cacheMaxMemorySize: 0
 *
 * Next constructs this class on every request: the constructor only keeps its context; the
 * engine is the process-wide one. Values of every kind (`APP_PAGE`, `APP_ROUTE`, `PAGES`,
 * `FETCH`, `REDIRECT`, `IMAGE`) are stored with `v8.serialize`, so Buffers stay Buffers,
 * `segmentData` stays a Map and `undefined` stays undefined; nothing is base64'd into JSON.
 *
 * Tags: `ctx.tags` for fetch entries, the `x-next-cache-tags` header for pages and routes.
 * A tag expired after the entry was written makes `get` a miss; a tag revalidated with a
 * profile makes the entry stale in the way Next reads staleness for that kind.
 * Keys: `fetch:<cacheKey>` for fetch entries (shared by every build, as Next's fetch cache
 * is), `page:<buildId>:<cacheKey>` for every other kind (one build's pages, routes, ...).
 * The first request of `next start` drops older builds' `page:` entries.
 *
 * Warm start: a miss for a route `next build` prerendered is answered from the build's own
 * files (`build-output.js`, as Next's FileSystemCache reads them) and stored, never over a
 * newer entry, with the build's time, so a later `revalidateTag` still applies. Not during
 * `next build` itself nor in dev. On Next 14 (`ctx.kindHint`) the build's entry has 14's kinds
 * and shapes (`PAGE`, `ROUTE`), as its FileSystemCache returns them.
 *
 * `get` never throws: a failure is a miss, logged once.
 */
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const { lazyEngine, INFINITE_CACHE } = require('./engine.js')
const { createFailureLog } = require('./log.js')
const { createBuildOutput } = require('./build-output.js')
const { isStorableTag, updateTagsEach } = require('./tags.js')

const TAGS_HEADER = 'x-next-cache-tags'

/** Seconds as the engine takes them: `false` / undefined (never) become INFINITE_CACHE. */
const seconds = (value) =>
  typeof value === 'number' && value >= 0 ? Math.min(value, INFINITE_CACHE) : INFINITE_CACHE

function entryTags(data, ctx) {
  let tags = []
  if (data && data.kind === 'FETCH') tags = ctx.tags || data.tags || []
  else if (data && data.headers && typeof data.headers[TAGS_HEADER] === 'string') {
    tags = data.headers[TAGS_HEADER].split(',')
  }
  // A tag Next could never revalidate is left out, not a reason to cache nothing.
  return tags.filter(isStorableTag)
}

/** Next 16.4 passes `cacheControl`; older versions pass `revalidate` (and `expire`). */
function cacheControlOf(ctx) {
  if (ctx.cacheControl) return ctx.cacheControl
  if (ctx.revalidate !== undefined) return { revalidate: ctx.revalidate, expire: ctx.expire }
  return undefined
}

/**
 * The `lastModified` that makes Next read a stale-by-tag entry as stale (serve once,
 * regenerate in the background): older than its revalidate window. Fetch staleness is
 * `age > revalidate`; page and route staleness is `lastModified + revalidate * 1000 < now`.
 * An entry that never revalidates by time can only be regenerated blocking (-1).
 */
function staleLastModified(value, ctx, cacheControl, now) {
  const revalidate =
    value && value.kind === 'FETCH'
      ? ctx.revalidate || value.revalidate
      : cacheControl && cacheControl.revalidate
  if (typeof revalidate !== 'number' || revalidate >= INFINITE_CACHE) return -1
  return now - (revalidate + 1) * 1000
}

/** `next build` runs the handler too; it must not answer from a build output being written. */
const BUILD_PHASE = 'phase-production-build'

/**
 * The build id: `TAGCACHE_BUILD_ID` (set by `withTagCache`'s `generateBuildId` in `next
 * build` and inherited by its workers, which run before `BUILD_ID` is written), else
 * `<distDir>/BUILD_ID`; '' when neither is known yet (the caller asks again later).
 */
function readBuildId(serverDistDir, env = process.env) {
  if (env.TAGCACHE_BUILD_ID) return env.TAGCACHE_BUILD_ID
  if (!serverDistDir) return ''
  try {
    return fs.readFileSync(path.join(serverDistDir, '..', 'BUILD_ID'), 'utf8').trim()
  } catch {
    return ''
  }
}

/** Next 15+ `ctx.kind`; Next 14 `ctx.kindHint` (get) and `ctx.fetchCache` (set). */
const isFetchContext = (ctx) =>
  ctx.kind === 'FETCH' || ctx.kindHint === 'fetch' || ctx.fetchCache === true

/**
 * Engine keys. Fetch entries are shared by every build (Next keeps `.next/cache/fetch-cache`
 * across builds): `fetch:<cacheKey>`. Everything else (pages, route handlers, redirects,
 * images) belongs to one build: `page:<buildId>:<cacheKey>`, so a new deploy never serves
 * an old build's page and `deleteByPrefix('page:', 'page:<buildId>:')` drops old builds.
 */
const fetchKey = (cacheKey) => `fetch:${cacheKey}`
const pageKey = (buildId, cacheKey) => `page:${buildId}:${cacheKey}`

/**
 * A `cacheHandler` class over the given engine (or a new one from `options`; default: the
 * process-wide engine configured by `TAGCACHE_*`).
 * @param {import('../index').TagCacheOptions | import('../index').TagCache} [options]
 */
function createIncrementalCacheHandler(options) {
  const getEngine = lazyEngine(options)
  const logFailure = createFailureLog('incremental')
  /** The tag refresh started by `resetRequestCache`; reads wait for it. */
  let pendingRefresh
  /** From the first context that names them; the build id is looked up until known. */
  let serverDistDir
  let dev = false
  let buildId = ''
  /** The build output reader (`next start` only), created with the first server dist dir. */
  let buildOutput
  /** Seeds from the build output in flight, by engine key: concurrent misses read once. */
  const seeding = new Map()
  let purged = false
  /**
   * Deserialized values by engine entry: a fresh hit returns its entry's same frozen object,
   * so a hot page is deserialized once, not per request (Next's built-in memory cache also
   * hands out its stored value itself). Entries leave with their engine entry.
   */
  const decoded = new WeakMap()

  const serving = () => !dev && process.env.NEXT_PHASE !== BUILD_PHASE
  const keyFor = (cacheKey, fetch) => (fetch ? fetchKey(cacheKey) : pageKey(buildId, cacheKey))

  /**
   * Once per process, on the first request of a server that knows its build id: drop the
   * entries of older builds' pages from the disk tier. Not on Redis: during a rolling deploy
   * the old build's instances still serve from it, and a SCAN per instance start would cost
   * O(keys); old pages there are never read and expire by TTL (`npx tagcache purge
   * --old-builds` removes them on demand).
   */
  function purgeOldBuilds(engine) {
    if (purged || !buildId || !serving()) return
    purged = true
    if (engine.storage === 'redis') return
    try {
      engine
        .deleteByPrefix('page:', pageKey(buildId, ''))
        .catch((err) => logFailure('deleteByPrefix', err))
    } catch (err) {
      logFailure('deleteByPrefix', err)
    }
  }

  /**
   * A miss for a page the build prerendered: store the build's entry (never over a newer
   * one: `ifAbsent`) with its tags and the build's time, then read it back through the
   * engine, so a tag revalidated since the build still makes it stale or expired.
   */
  function seedFromBuild(engine, cacheKey, key, ctx, softTags) {
    let pending = seeding.get(key)
    if (!pending) {
      pending = (async () => {
        const built = await buildOutput.read(cacheKey, ctx)
        if (!built) return null
        const { lastModified, value, cacheControl } = built
        const expire = seconds(cacheControl && cacheControl.expire)
        await engine.set(key, v8.serialize({ value, cacheControl }), {
          tags: entryTags(value, ctx),
          revalidate: Math.min(seconds(cacheControl && cacheControl.revalidate), expire),
          expire,
          timestamp: lastModified,
          ifAbsent: true,
        })
        return true
      })().finally(() => seeding.delete(key))
      seeding.set(key, pending)
    }
    return pending.then((stored) => (stored ? engine.get(key, softTags) : null))
  }

  return class TagCacheIncrementalHandler {
    /** @param {object} [ctx] Next's CacheHandlerContext; kept, nothing else is done. */
    constructor(ctx) {
      this.ctx = ctx
      if (ctx && ctx.serverDistDir && !serverDistDir) {
        serverDistDir = ctx.serverDistDir
        dev = Boolean(ctx.dev)
        if (serving()) buildOutput = createBuildOutput(serverDistDir, ctx.experimental)
      }
      // Not in dev, where there may be no BUILD_ID: a failing read on every request.
      if (!buildId && !dev) buildId = readBuildId(serverDistDir)
    }

    /**
     * `{ lastModified, value, cacheControl }` or `null` (miss, expired tag or soft tag,
     * any failure).
     */
    async get(cacheKey, ctx = {}) {
      try {
        if (pendingRefresh) await pendingRefresh
        const softTags = [...(ctx.tags || []), ...(ctx.softTags || [])]
        const engine = getEngine()
        purgeOldBuilds(engine)
        const fetch = isFetchContext(ctx)
        const key = keyFor(cacheKey, fetch)
        let entry = engine.peek(key, softTags)
        if (entry === undefined) entry = await engine.get(key, softTags)
        if (!entry && !fetch && buildOutput) {
          entry = await seedFromBuild(engine, cacheKey, key, ctx, softTags)
        }
        if (!entry) return null
        let data = decoded.get(entry)
        if (!data) {
          data = v8.deserialize(entry.value)
          if (entry.status === 'fresh') decoded.set(entry, data)
        }
        const { value, cacheControl } = data
        const lastModified = entry.revalidated
          ? staleLastModified(value, ctx, cacheControl, performance.timeOrigin + performance.now())
          : entry.timestamp
        const result = { lastModified, value }
        if (cacheControl) result.cacheControl = cacheControl
        return result
      } catch (err) {
        logFailure('get', err)
        return null
      }
    }

    /** Stores `data` (any kind, or null) with its tags and cache control. Never rejects. */
    async set(cacheKey, data, ctx = {}) {
      try {
        const cacheControl = cacheControlOf(ctx)
        const revalidate =
          data && data.kind === 'FETCH'
            ? data.revalidate
            : cacheControl
              ? cacheControl.revalidate
              : data && data.revalidate
        const expire = cacheControl ? seconds(cacheControl.expire) : INFINITE_CACHE
        const engine = getEngine()
        purgeOldBuilds(engine)
        const fetch = data ? data.kind === 'FETCH' : isFetchContext(ctx)
        await engine.set(keyFor(cacheKey, fetch), v8.serialize({ value: data, cacheControl }), {
          tags: entryTags(data, ctx),
          revalidate: Math.min(seconds(revalidate), expire),
          expire,
        })
      } catch (err) {
        logFailure('set', err)
      }
    }

    /**
     * `revalidateTag(tags, durations?)`: a string or an array; `{ expire }` seconds (Next 16
     * with a profile) or none (expired now).
     */
    async revalidateTag(tags, durations) {
      const list = (Array.isArray(tags) ? tags : [tags]).filter(
        (t) => typeof t === 'string' && t.length > 0,
      )
      if (list.length === 0) return
      try {
        await updateTagsEach(getEngine(), list, durations)
      } catch (err) {
        logFailure('revalidateTag', err)
      }
    }

    /** Called by Next at the start of every request: pull tag changes from a shared store. */
    resetRequestCache() {
      let engine
      try {
        engine = getEngine()
      } catch (err) {
        logFailure('refreshTags', err)
        return
      }
      const refresh = engine.refreshTags().then(
        () => {
          if (pendingRefresh === refresh) pendingRefresh = undefined
        },
        (err) => {
          if (pendingRefresh === refresh) pendingRefresh = undefined
          logFailure('refreshTags', err)
        },
      )
      pendingRefresh = refresh
    }
  }
}

const TagCacheIncrementalHandler = createIncrementalCacheHandler()

module.exports = TagCacheIncrementalHandler
module.exports.default = TagCacheIncrementalHandler
module.exports.createIncrementalCacheHandler = createIncrementalCacheHandler
module.exports.fetchKey = fetchKey
module.exports.pageKey = pageKey
module.exports.readBuildId = readBuildId
