'use strict'
/**
 * `withTagCache(nextConfig, options)`: wires tagcache into a Next.js config in one line.
 *
 *   module.exports = withTagCache({ cacheComponents: true, cacheLife: { ... } })
 *
 * It sets `cacheHandlers.default` and `.remote` to `tagcache/next/use-cache` (under
 * `experimental` for Next 15), `cacheHandler` to `tagcache/next/incremental` (ISR, fetch,
 * route handlers), `cacheMaxMemorySize: 0` (Next's own in-memory caches off: tagcache is
 * the cache) and adds `tagcache` to `serverExternalPackages` (Node loads the addon; the
 * bundler would trace its loader's optional requires of other platforms' binaries), and hands the options, including the app's `cacheLife`, to the handlers
 * through `TAGCACHE_OPTIONS`. The options are validated here, so a typo fails `next build` /
 * `next start` at once with a coded error instead of turning every request into a miss.
 */
const { TagCache } = require('../binding.js')
const { serializeOptions } = require('./engine.js')

/**
 * @param {object} [nextConfig] the app's Next.js config object
 * @param {import('../index').TagCacheOptions} [options] engine options; `cacheLife`
 *   defaults to `nextConfig.cacheLife` (Next 16) or `nextConfig.experimental.cacheLife` (15)
 * @returns {object} the config with tagcache wired in
 * @throws {Error} `ERR_INVALID_OPTIONS` or `ERR_INVALID_CACHE_LIFE` for bad options
 */
function withTagCache(nextConfig = {}, options = {}) {
  if (typeof nextConfig === 'function') {
    return async (...args) => withTagCache(await nextConfig(...args), options)
  }
  const experimental = nextConfig.experimental || {}
  const cacheLife = withDefaultBackfill(
    options.cacheLife ?? nextConfig.cacheLife ?? experimental.cacheLife,
    nextConfig,
  )
  const engineOptions = dropUndefined({ ...options, cacheLife })
  // Validate now: constructing an engine runs every check the handlers would.
  new TagCache(engineOptions).close()
  process.env.TAGCACHE_OPTIONS = serializeOptions(engineOptions)

  const useCache = require.resolve('./use-cache.js')
  const wired = {
    ...nextConfig,
    cacheHandler: require.resolve('./incremental.js'),
    cacheMaxMemorySize: 0,
    serverExternalPackages: [
      ...new Set([...(nextConfig.serverExternalPackages || []), 'tagcache']),
    ],
  }
  if (nextMajor() >= 16) {
    wired.cacheHandlers = { ...nextConfig.cacheHandlers, default: useCache, remote: useCache }
  } else {
    wired.experimental = {
      ...experimental,
      cacheHandlers: { ...experimental.cacheHandlers, default: useCache, remote: useCache },
    }
  }
  return wired
}

/** The major version of the app's Next.js (resolved from the app's directory), 16 if unknown. */
function nextMajor() {
  try {
    const pkg = require.resolve('next/package.json', { paths: [process.cwd()] })
    return Number(require(pkg).version.split('.')[0]) || 16
  } catch {
    return 16
  }
}

/**
 * Next fills a redefined `default` profile's missing `stale` from
 * `experimental.staleTimes.static` and `expire` from `expireTime` (`server/config.ts`);
 * the engine fills the rest from the built-in default.
 */
function withDefaultBackfill(cacheLife, nextConfig) {
  if (!cacheLife || !cacheLife.default) return cacheLife
  const staleTimes = (nextConfig.experimental || {}).staleTimes || {}
  const backfilled = { ...cacheLife.default }
  if (backfilled.stale === undefined && staleTimes.static !== undefined) {
    backfilled.stale = staleTimes.static
  }
  if (backfilled.expire === undefined && nextConfig.expireTime !== undefined) {
    backfilled.expire = nextConfig.expireTime
  }
  return { ...cacheLife, default: backfilled }
}

function dropUndefined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined))
}

module.exports = { withTagCache }
