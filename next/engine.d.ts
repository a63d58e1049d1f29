import type { TagCache, TagCacheOptions } from '../index'

/**
 * The process-wide engine the Next.js handlers share, created on first use from
 * `TAGCACHE_OPTIONS`, `TAGCACHE_MAX_MEMORY_BYTES`, `TAGCACHE_KEY_PREFIX`,
 * `TAGCACHE_REDIS_URL`. Use it for `stats()` or to revalidate outside a request.
 */
export declare function sharedEngine(): TagCache
/** `TagCacheOptions` from the `TAGCACHE_*` environment variables. */
export declare function optionsFromEnv(env?: NodeJS.ProcessEnv): TagCacheOptions
/** Options as JSON, with `Infinity` written as 4294967294 (Next's `INFINITE_CACHE`). */
export declare function serializeOptions(options: TagCacheOptions): string
/** Next's `INFINITE_CACHE`: 4294967294 seconds, "never". */
export declare const INFINITE_CACHE: 4294967294
/** The engine a handler factory uses, created on first call: the given one, a new one from options, or the shared one. */
export declare function lazyEngine(options?: TagCacheOptions | TagCache): () => TagCache
