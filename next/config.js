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
 * bundler would trace its loader's optional requires of other platforms' binaries), and hands
 * the options, including the app's `cacheLife`, to the handlers through `TAGCACHE_OPTIONS`.
 * The options are validated here, so a typo fails `next build` / `next start` at once with a
 * coded error instead of turning every request into a miss.
 *
 * Disk tier: without `redisUrl` / `redisCluster` / `redisSentinel`, `diskDir` defaults to
 * `<cwd>/<distDir>/cache/tagcache` (a directory Next users already keep between builds), so a
 * restart finds the cache warm; `diskDir: false` turns it off, a string moves it.
 *
 * Per installed Next major (`nextMajor()`), only keys that version knows, so none prints an
 * "Unrecognized key" warning:
 *
 * | major | keys written                                                                              |
 * | ----- | ----------------------------------------------------------------------------------------- |
 * | 14    | `cacheHandler`, `cacheMaxMemorySize`, `experimental.serverComponentsExternalPackages`     |
 * | 15    | those but `serverExternalPackages` top-level, and `experimental.cacheHandlers`            |
 * | 16    | `cacheHandler`, `cacheMaxMemorySize`, `serverExternalPackages`, `cacheHandlers`           |
 *
 * (`generateBuildId` in all three.) On 14 an app's own top-level `serverExternalPackages` is
 * moved under `experimental.serverComponentsExternalPackages`.
 *
 * Build id: `generateBuildId` is wrapped so that the id of this build (the app's own, or one
 * generated as Next would when it returns null) is in `TAGCACHE_BUILD_ID` before `next build`
 * renders anything; its worker processes inherit it, and the ISR handler namespaces the
 * build's pages with it (`BUILD_ID` is written only at the end of the build).
 */
const path = require('node:path')
const { randomBytes } = require('node:crypto')
const { TagCache } = require('../binding.js')
const { serializeOptions, codedError } = require('./engine.js')

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
  const engineOptions = withDiskDir(dropUndefined({ ...options, cacheLife }), nextConfig)
  validate(engineOptions)
  process.env.TAGCACHE_OPTIONS = serializeOptions(engineOptions)

  const major = nextMajor()
  const wired = {
    ...nextConfig,
    ...buildIdConfig(nextConfig),
    cacheHandler: require.resolve('./incremental.js'),
    cacheMaxMemorySize: 0,
  }
  if (major <= 14) {
    // Next 14 has no 'use cache' (no `cacheHandlers`) and knows the externals only as
    // `experimental.serverComponentsExternalPackages`: a top-level `serverExternalPackages`
    // is an "Unrecognized key" there and ignored, so a route importing tagcache would be
    // bundled. An app's own top-level list (a config shared with Next 15+) is moved there.
    const { serverExternalPackages, ...rest } = wired
    rest.experimental = {
      ...experimental,
      serverComponentsExternalPackages: withTagcache(
        experimental.serverComponentsExternalPackages,
        serverExternalPackages,
      ),
    }
    rest.webpack = externalizeTagcache(nextConfig.webpack)
    return rest
  }
  const useCache = require.resolve('./use-cache.js')
  wired.serverExternalPackages = withTagcache(nextConfig.serverExternalPackages)
  if (major >= 16) {
    wired.cacheHandlers = { ...nextConfig.cacheHandlers, default: useCache, remote: useCache }
  } else {
    wired.experimental = {
      ...experimental,
      cacheHandlers: { ...experimental.cacheHandlers, default: useCache, remote: useCache },
    }
  }
  return wired
}

/**
 * `diskDir` as the handlers get it: none with Redis (the engine cannot combine them) or
 * `diskDir: false`; the given string; else `<cwd>/<distDir>/cache/tagcache`.
 */
function withDiskDir(engineOptions, nextConfig) {
  const { diskDir, ...rest } = engineOptions
  const redis = ['redisUrl', 'redisCluster', 'redisSentinel'].some((k) => rest[k] !== undefined)
  if (diskDir === false) return rest
  if (redis) {
    if (diskDir !== undefined) {
      throw codedError(
        'ERR_INVALID_OPTIONS',
        'diskDir cannot be combined with redisUrl / redisCluster / redisSentinel: Redis is the shared tier',
      )
    }
    return rest
  }
  if (diskDir !== undefined && typeof diskDir !== 'string') {
    throw codedError(
      'ERR_INVALID_OPTIONS',
      `diskDir must be a path or false, got ${typeof diskDir}`,
    )
  }
  const dir = diskDir ?? path.join(nextConfig.distDir || '.next', 'cache', 'tagcache')
  return { ...rest, diskDir: path.resolve(process.cwd(), dir) }
}

/**
 * Runs every check the handlers' engine would, without its disk tier: opening
 * `<diskDir>/tagcache.sqlite` in the process that loads the config would hold the file for
 * nothing (and create the directory at config time).
 */
function validate(engineOptions) {
  const rest = { ...engineOptions }
  const maxDiskBytes = rest.maxDiskBytes
  delete rest.diskDir
  delete rest.maxDiskBytes
  // The engine's own rule (`src/options.rs`), checked here since the disk tier is not opened.
  if (
    maxDiskBytes !== undefined &&
    maxDiskBytes !== null &&
    !(Number.isInteger(maxDiskBytes) && maxDiskBytes >= 1048576)
  ) {
    throw codedError(
      'ERR_INVALID_OPTIONS',
      `maxDiskBytes must be a whole number of bytes ≥ 1048576 (1 MiB), got ${JSON.stringify(maxDiskBytes)}`,
    )
  }
  new TagCache(rest).close()
}

/**
 * The `generateBuildId` that publishes the build id in `TAGCACHE_BUILD_ID`.
 *
 * Mirrors Next's `getBuildId` (`build/index.js`): with a `deploymentId` (config or
 * `NEXT_DEPLOYMENT_ID`) and no `generateBuildId`, Next uses a constant build id and relies on
 * the deployment id for skew protection; the config is left as it is then, and the
 * deployment id (which, unlike that constant, differs per deploy) is the namespace, set in
 * every process that loads the config, `next start` included.
 */
function buildIdConfig(nextConfig) {
  const userGenerate = nextConfig.generateBuildId
  const deploymentId = process.env.NEXT_DEPLOYMENT_ID || nextConfig.deploymentId
  if (deploymentId && !userGenerate) {
    process.env.TAGCACHE_BUILD_ID = String(deploymentId)
    return {}
  }
  return {
    async generateBuildId() {
      let id = userGenerate ? await userGenerate() : null
      // Next's `generateBuildId`: null means "generate one" (nanoid, never containing "ad").
      if (id === null) id = generatedBuildId()
      if (typeof id === 'string') process.env.TAGCACHE_BUILD_ID = id.trim()
      return id
    },
  }
}

/** A build id as Next generates one: its nanoid, retried while it contains `ad`. */
function generatedBuildId() {
  let nanoid
  try {
    const file = require.resolve('next/dist/compiled/nanoid/index.cjs', { paths: [process.cwd()] })
    nanoid = require(file).nanoid
  } catch {
    nanoid = () => randomBytes(16).toString('base64url').slice(0, 21)
  }
  let id
  while (!id || /ad/i.test(id)) id = nanoid()
  return id
}

/**
 * The major version of the app's Next.js (resolved from the app's directory, where `next
 * build` / `next start` load the config), 16 if unknown.
 */
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

/**
 * Next 14's webpack keeps a package external only when its resolved path is under
 * `node_modules/<name>/`; a linked tagcache (`file:`, npm / yarn workspaces) resolves to its
 * real path and would be bundled (and fail with `ERR_TAGCACHE_NO_BINARY`). The server
 * compilations get `tagcache` and `tagcache/…` as `commonjs` externals in front of Next's
 * own, whatever the path; the app's `webpack` function runs first.
 */
function externalizeTagcache(userWebpack) {
  return function webpack(config, context) {
    const result = userWebpack ? userWebpack(config, context) : config
    if (context && context.isServer && result) {
      const external = ({ request }, callback) =>
        typeof request === 'string' && /^tagcache(\/|$)/.test(request)
          ? callback(null, `commonjs ${request}`)
          : callback()
      const current = result.externals
      result.externals = [
        external,
        ...(Array.isArray(current) ? current : current ? [current] : []),
      ]
    }
    return result
  }
}

/** The given package lists, merged without duplicates, with `tagcache` last. */
function withTagcache(...lists) {
  const names = lists.flatMap((list) => list || []).filter((name) => name !== 'tagcache')
  return [...new Set([...names, 'tagcache'])]
}

function dropUndefined(object) {
  return Object.fromEntries(Object.entries(object).filter(([, v]) => v !== undefined))
}

module.exports = { withTagCache }
