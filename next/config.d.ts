import type { TagCacheOptions } from '../index'

/**
 * Wires tagcache into a Next.js config: `cacheHandlers.default` and `.remote` →
 * `tagcache/next/use-cache` (under `experimental` on Next 15), `cacheHandler` →
 * `tagcache/next/incremental`, `cacheMaxMemorySize: 0`, and the options (with the app's
 * `cacheLife`) passed to the handlers. Throws `ERR_INVALID_OPTIONS` /
 * `ERR_INVALID_CACHE_LIFE` for bad options. Accepts a config object or function.
 */
export declare function withTagCache<C extends object>(nextConfig?: C, options?: TagCacheOptions): C
export declare function withTagCache<C extends object>(
  nextConfig: (...args: any[]) => C | Promise<C>,
  options?: TagCacheOptions,
): (...args: any[]) => Promise<C>
