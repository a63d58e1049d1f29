import type { TagCacheOptions } from '../index'

/**
 * Engine options for the Next.js handlers. `diskDir` defaults to
 * `<cwd>/<distDir>/cache/tagcache` when none of `redisUrl`, `redisCluster`, `redisSentinel` is given;
 * `false` turns the disk tier off (memory only), a string moves it. An explicit `diskDir`
 * with Redis throws `ERR_INVALID_OPTIONS`.
 */
export type WithTagCacheOptions = Omit<TagCacheOptions, 'diskDir'> & { diskDir?: string | false }

/**
 * Wires tagcache into a Next.js config: `cacheHandlers.default` and `.remote` →
 * `tagcache/next/use-cache` (under `experimental` on Next 15, none on 14), `cacheHandler` →
 * `tagcache/next/incremental`, `cacheMaxMemorySize: 0`, `tagcache` in `serverExternalPackages`
 * (Next 14: `experimental.serverComponentsExternalPackages` and a server webpack external),
 * only the keys the installed Next major knows, and the options (with the app's
 * `cacheLife`) passed to the handlers. `generateBuildId` is wrapped (the app's id kept, or one
 * generated as Next would when it returns null) to publish the build id in
 * `TAGCACHE_BUILD_ID` for `next build`'s workers; with `deploymentId` and no
 * `generateBuildId` the config is left alone (Next's constant id) and the deployment id is
 * the namespace. Throws `ERR_INVALID_OPTIONS` / `ERR_INVALID_CACHE_LIFE` for bad options
 * (validated without opening the disk tier). Accepts a config object or function.
 */
export declare function withTagCache<C extends object>(
  nextConfig?: C,
  options?: WithTagCacheOptions,
): C
export declare function withTagCache<C extends object>(
  nextConfig: (...args: any[]) => C | Promise<C>,
  options?: WithTagCacheOptions,
): (...args: any[]) => Promise<C>
