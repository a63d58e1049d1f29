import type { TagCache, TagCacheOptions } from '../index'

/** Next's `cacheControl` for pages and routes, in seconds. */
interface CacheControl {
  revalidate: number | false
  expire: number | undefined
}

/** What `get` returns, as Next's `CacheHandlerValue`. */
interface IncrementalCacheEntry {
  /** ms since the epoch; older than the revalidate window when a tag made it stale; -1: regenerate blocking. */
  lastModified: number
  /** The cached value of any kind (APP_PAGE, APP_ROUTE, PAGES, FETCH, REDIRECT, IMAGE), or null. */
  value: any
  /** The cache control `set` received (Next 16.4+). */
  cacheControl?: CacheControl
}

/**
 * Next's `cacheHandler` class interface (ISR, fetch, route handlers, images). `get` and
 * `set` never reject: a failure is a miss, logged once.
 *
 * Engine keys: `fetch:<cacheKey>` (fetch entries, shared by every build as Next's fetch cache
 * is) and `page:<buildId>:<cacheKey>` (every other kind). The build id is
 * `TAGCACHE_BUILD_ID` (set by `withTagCache` during `next build`), else `<distDir>/BUILD_ID`.
 * In `next start`, a miss for a route the build prerendered is answered from the build's
 * files (as Next's FileSystemCache) and stored without overwriting a newer entry; the first
 * request drops older builds' `page:` entries.
 */
declare class IncrementalHandler {
  constructor(ctx?: unknown)
  get(
    cacheKey: string,
    ctx?: { kind?: string; tags?: string[]; softTags?: string[]; revalidate?: number | false },
  ): Promise<IncrementalCacheEntry | null>
  set(
    cacheKey: string,
    data: any,
    ctx?: {
      tags?: string[]
      cacheControl?: CacheControl
      revalidate?: number | false
      fetchCache?: boolean
    },
  ): Promise<void>
  /** `durations.expire` in seconds: stale now, expired then; none: expired now. */
  revalidateTag(tags: string | string[], durations?: { expire?: number }): Promise<void>
  resetRequestCache(): void
}

/** A handler class over the given engine, a new engine from `options`, or the process-wide one. */
declare function createIncrementalCacheHandler(
  options?: TagCacheOptions | TagCache,
): typeof IncrementalHandler

/**
 * The class Next loads from `cacheHandler`: the process-wide engine. The module is
 * `module.exports = Handler` (with `.default` and `.createIncrementalCacheHandler` on it).
 */
declare const Handler: typeof IncrementalHandler & {
  default: typeof IncrementalHandler
  createIncrementalCacheHandler: typeof createIncrementalCacheHandler
  /** The engine key of a fetch entry: `fetch:<cacheKey>`. */
  fetchKey(cacheKey: string): string
  /** The engine key of a build-bound entry: `page:<buildId>:<cacheKey>`. */
  pageKey(buildId: string, cacheKey: string): string
  /** `TAGCACHE_BUILD_ID`, else `<serverDistDir>/../BUILD_ID`, else '' (not known yet). */
  readBuildId(serverDistDir?: string, env?: Record<string, string | undefined>): string
}
declare namespace Handler {
  export type { CacheControl, IncrementalCacheEntry }
  export type TagCacheIncrementalHandler = IncrementalHandler
}
export = Handler
