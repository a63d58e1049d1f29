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
 * `get` never throws: a failure is a miss, logged once.
 */
const fs = require('node:fs')
const path = require('node:path')
const v8 = require('node:v8')
const { lazyEngine, INFINITE_CACHE } = require('./engine.js')
const { createFailureLog } = require('./log.js')

const TAGS_HEADER = 'x-next-cache-tags'
/** Next's NEXT_CACHE_SOFT_TAG_MAX_LENGTH: longer tags cannot be revalidated, so are not kept. */
const MAX_TAG_LENGTH = 1024

/** Seconds as the engine takes them: `false` / undefined (never) become INFINITE_CACHE. */
const seconds = (value) =>
  typeof value === 'number' && value >= 0 ? Math.min(value, INFINITE_CACHE) : INFINITE_CACHE

function entryTags(data, ctx) {
  let tags = []
  if (data && data.kind === 'FETCH') tags = ctx.tags || data.tags || []
  else if (data && data.headers && typeof data.headers[TAGS_HEADER] === 'string') {
    tags = data.headers[TAGS_HEADER].split(',')
  }
  return tags.filter((t) => typeof t === 'string' && t.length > 0 && t.length <= MAX_TAG_LENGTH)
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

/**
 * The build id, read once from `<distDir>/BUILD_ID`. ISR keys (unlike `'use cache'` keys)
 * do not carry it, and a shared store must not serve one deploy's pages to another.
 */
function readBuildId(serverDistDir) {
  try {
    return fs.readFileSync(path.join(serverDistDir, '..', 'BUILD_ID'), 'utf8').trim()
  } catch {
    return ''
  }
}

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
  let buildId
  const storageKey = (key) => (buildId ? `${buildId}:${key}` : key)
  /**
   * Deserialized values by engine entry: a fresh hit returns its entry's same frozen object,
   * so a hot page is deserialized once, not per request (Next's built-in memory cache also
   * hands out its stored value itself). Entries leave with their engine entry.
   */
  const decoded = new WeakMap()

  return class TagCacheIncrementalHandler {
    /** @param {object} [ctx] Next's CacheHandlerContext; kept, nothing else is done. */
    constructor(ctx) {
      this.ctx = ctx
      if (buildId === undefined) {
        buildId = ctx && ctx.serverDistDir ? readBuildId(ctx.serverDistDir) : ''
      }
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
        const key = storageKey(cacheKey)
        let entry = engine.peek(key, softTags)
        if (entry === undefined) entry = await engine.get(key, softTags)
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
        await getEngine().set(storageKey(cacheKey), v8.serialize({ value: data, cacheControl }), {
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
        await getEngine().updateTags(list, durations)
      } catch (err) {
        logFailure('revalidateTag', err)
        for (const tag of list) {
          await getEngine()
            .updateTags([tag], durations)
            .catch(() => {})
        }
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
