import type { TagCache, TagCacheOptions } from '../index'

/** A cache entry as Next.js passes it to and expects it from a `'use cache'` handler. */
interface UseCacheEntry {
  /** The serialized value; a new stream on every hit. */
  value: ReadableStream<Uint8Array>
  /** The entry's explicit tags (not the soft/implicit ones). */
  tags: string[]
  /** Seconds the client may reuse the value. */
  stale: number
  /** When the entry was created, ms since the epoch (a float). */
  timestamp: number
  /** Seconds until the entry is no longer served. */
  expire: number
  /** Seconds until the entry is stale; `-1` when a tag made it stale. */
  revalidate: number
}

/**
 * Next.js 16's `CacheHandler` (`cacheHandlers`) interface, plus Next 15's `expireTags`.
 * `get` and `set` never reject: a failure is a miss, logged once.
 */
interface UseCacheHandler {
  get(cacheKey: string, softTags: string[]): Promise<UseCacheEntry | undefined>
  set(cacheKey: string, pendingEntry: Promise<UseCacheEntry>): Promise<void>
  refreshTags(): Promise<void>
  /** Latest expiry (ms since the epoch) among `tags`, 0 if none. */
  getExpiration(tags: string[]): Promise<number>
  /** `durations.expire` in seconds: stale now, expired then; none: expired now. */
  updateTags(tags: string[], durations?: { expire?: number }): Promise<void>
  /** Next 15: the tags expire now. */
  expireTags(...tags: string[]): Promise<void>
}

/**
 * A `'use cache'` handler over the given engine, or over a new engine built from
 * `options`; without either, over the process-wide engine configured by `TAGCACHE_*`.
 */
declare function createUseCacheHandler(options?: TagCacheOptions | TagCache): UseCacheHandler

/**
 * The handler Next loads from `cacheHandlers.default`: the process-wide engine. The module
 * is `module.exports = handler` (with `.default` and `.createUseCacheHandler` on it).
 */
declare const handler: UseCacheHandler & {
  default: UseCacheHandler
  createUseCacheHandler: typeof createUseCacheHandler
}
declare namespace handler {
  export type { UseCacheEntry, UseCacheHandler }
}
export = handler
