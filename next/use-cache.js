'use strict'
/**
 * The `'use cache'` handler for Next.js (`cacheHandlers.default` / `.remote`), backed by
 * tagcache's native engine. Mirrors Next's built-in `cache-handlers/default.ts`, with
 * these differences: entries past `revalidate` are still served (Next regenerates them in
 * the background), soft tags are checked in `get`, and the store is the process-wide engine,
 * bounded in bytes.
 *
 *   cacheHandlers: { default: require.resolve('tagcache/next/use-cache') }
 *
 * `get` never throws: a failure is a miss, logged once.
 */
const { lazyEngine, sharedEngine } = require('./engine.js')
const { createFailureLog } = require('./log.js')
const { updateTagsEach } = require('./tags.js')

const isDev = () => Boolean(process.env.__NEXT_DEV_SERVER) || process.env.NODE_ENV === 'development'

/**
 * Reads a stream to its end: its chunks, which the engine copies into one entry (no
 * intermediate JS Buffer); a single chunk is passed as is.
 */
async function drain(stream) {
  const reader = stream.getReader()
  const chunks = []
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    chunks.push(value)
  }
  return chunks.length === 1 ? chunks[0] : chunks
}

/** A new stream per hit, over the stored bytes (Next's `streamFromBuffer`). */
function streamFromBuffer(buffer) {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(buffer)
      controller.close()
    },
  })
}

/**
 * Creates a `'use cache'` handler (Next's `CacheHandler` interface).
 * @param {import('../index').TagCacheOptions | import('../index').TagCache} [options] engine options, or an
 *   engine to use; default: the process-wide engine configured from `TAGCACHE_*`.
 * @returns {import('./use-cache').UseCacheHandler}
 */
function createUseCacheHandler(options) {
  const getEngine = lazyEngine(options)
  /** Sets in flight, by key: a `get` of the same key waits for them (Next's contract). */
  const pendingSets = new Map()
  const logFailure = createFailureLog('use-cache')
  /**
   * Soft tags converted by the engine, by array: Next passes one implicit-tags array to every
   * read of a request, so from its second read on the array is not converted again. `null`:
   * seen once.
   */
  const converted = new WeakMap()
  const softTagsFor = (engine, softTags) => {
    if (!Array.isArray(softTags) || softTags.length === 0) return softTags
    const made = converted.get(softTags)
    if (made) return made
    if (made === undefined) {
      converted.set(softTags, null)
      return softTags
    }
    const handle = engine.softTags(softTags)
    converted.set(softTags, handle)
    return handle
  }

  return {
    /**
     * The entry, or `undefined` on a miss, an expired tag or soft tag, or any failure.
     * A stale tag (revalidated with a profile) gives the entry with `revalidate: -1`, so
     * Next serves it once and regenerates it in the background.
     */
    async get(cacheKey, softTags) {
      const pending = pendingSets.get(cacheKey)
      if (pending) await pending
      let entry
      try {
        const engine = getEngine()
        const tags = softTagsFor(engine, softTags)
        // In process the answer is synchronous; only Redis needs the Promise.
        entry = engine.peek(cacheKey, tags)
        if (entry === undefined) entry = await engine.get(cacheKey, tags)
      } catch (err) {
        logFailure('get', err)
        return undefined
      }
      if (!entry) return undefined
      return {
        value: streamFromBuffer(entry.value),
        tags: entry.tags,
        stale: entry.stale,
        timestamp: entry.timestamp,
        expire: entry.expire,
        revalidate: entry.revalidated ? -1 : entry.revalidate,
      }
    },

    /**
     * Awaits the entry, reads its stream once and stores the bytes. An errored stream
     * stores nothing; `expire: 0` entries (dynamic) are not stored in production, as in
     * Next's built-in. Never rejects.
     */
    async set(cacheKey, pendingEntry) {
      let done
      const pending = new Promise((resolve) => (done = resolve))
      pendingSets.set(cacheKey, pending)
      try {
        const entry = await pendingEntry
        // A negative expire is Next's eviction sentinel (its dev-only tiered handler).
        if (entry.expire < 0) {
          await getEngine().delete(cacheKey)
          return
        }
        if (entry.expire === 0 && !isDev()) return
        const value = await drain(entry.value)
        await getEngine().setNextEntry(
          cacheKey,
          value,
          entry.tags,
          entry.stale,
          entry.revalidate,
          entry.expire,
          entry.timestamp,
        )
      } catch (err) {
        logFailure('set', err)
      } finally {
        if (pendingSets.get(cacheKey) === pending) pendingSets.delete(cacheKey)
        done()
      }
    },

    /** Pulls tag changes made by other instances (a no-op for the in-process store). */
    async refreshTags() {
      try {
        await getEngine().refreshTags()
      } catch (err) {
        logFailure('refreshTags', err)
      }
    },

    /**
     * The latest expiry (ms) among the soft tags, 0 if none. Next 15 passes the tags as
     * rest arguments, Next 16 as one array.
     */
    async getExpiration(...args) {
      const tags = Array.isArray(args[0]) ? args[0] : args
      try {
        return await getEngine().getExpiration(tags)
      } catch (err) {
        logFailure('getExpiration', err)
        return 0
      }
    },

    /**
     * Next 16's `updateTags(tags, durations?)`: `{ expire }` seconds for
     * `revalidateTag(tag, profile)`, none for `updateTag` / `revalidatePath`. A tag Next
     * lets through but we cannot store (too long) does nothing, as in Next.
     */
    async updateTags(tags, durations) {
      try {
        await updateTagsEach(getEngine(), tags, durations)
      } catch (err) {
        logFailure('updateTags', err)
      }
    },

    /** Next 15's `expireTags(...tags)`: the tags expire now. */
    async expireTags(...tags) {
      return this.updateTags(tags.flat())
    },
  }
}

// The process-wide engine is created when Next loads this module, so a bad configuration
// fails at startup with its code instead of turning every request into a logged miss.
const handler = createUseCacheHandler(sharedEngine())

module.exports = handler
module.exports.default = handler
module.exports.createUseCacheHandler = createUseCacheHandler
