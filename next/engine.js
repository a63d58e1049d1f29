'use strict'
/**
 * The one engine per process that the Next.js handlers share, configured from the
 * environment (`withTagCache` writes `TAGCACHE_OPTIONS`; the other variables override it):
 *
 * - `TAGCACHE_OPTIONS`: JSON of `TagCacheOptions` (including the app's `cacheLife`)
 * - `TAGCACHE_MAX_MEMORY_BYTES`: bound of the in-process store, bytes
 * - `TAGCACHE_KEY_PREFIX`: key namespace in a shared store
 * - `TAGCACHE_REDIS_URL`: Redis URL (shared store); it replaces the options' Redis
 *   (`redisCluster`, `redisSentinel`) and the disk tier (the two cannot be combined)
 * - `TAGCACHE_DISK_DIR`: directory of the disk tier (`withTagCache` defaults it to
 *   `<distDir>/cache/tagcache`); `off`, `false` or empty: no disk tier (memory only)
 * - `TAGCACHE_MAX_DISK_BYTES`: bound of the disk tier, bytes (engine default 1 GiB)
 *
 * Kept on `globalThis` so that every copy of this module (Next loads handlers with
 * `import()`, apps may `require` them too) sees the same engine and the same tags.
 */
const { TagCache } = require('../binding.js')

const ENGINE = Symbol.for('tagcache.engine')
/** Next's `INFINITE_CACHE` in seconds: how `Infinity` travels through JSON. */
const INFINITE_CACHE = 4294967294

/**
 * `TagCacheOptions` from environment variables. Throws `ERR_INVALID_OPTIONS` when
 * `TAGCACHE_OPTIONS` is not JSON or a number variable is not a number.
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {import('../index').TagCacheOptions}
 */
function optionsFromEnv(env = process.env) {
  let options = {}
  if (env.TAGCACHE_OPTIONS) {
    try {
      options = JSON.parse(env.TAGCACHE_OPTIONS)
    } catch (err) {
      throw codedError('ERR_INVALID_OPTIONS', `TAGCACHE_OPTIONS is not JSON: ${err.message}`)
    }
  }
  const memoryBytes = bytesFromEnv(env, 'TAGCACHE_MAX_MEMORY_BYTES')
  if (memoryBytes !== undefined) options.maxMemoryBytes = memoryBytes
  const diskBytes = bytesFromEnv(env, 'TAGCACHE_MAX_DISK_BYTES')
  if (diskBytes !== undefined) options.maxDiskBytes = diskBytes
  if (env.TAGCACHE_DISK_DIR !== undefined) {
    const dir = env.TAGCACHE_DISK_DIR.trim()
    if (dir === '' || /^(off|false)$/i.test(dir)) delete options.diskDir
    else options.diskDir = dir
  }
  if (env.TAGCACHE_KEY_PREFIX) options.keyPrefix = env.TAGCACHE_KEY_PREFIX
  if (env.TAGCACHE_REDIS_URL) {
    // The variable replaces whichever Redis the options name (the engine takes one).
    delete options.redisCluster
    delete options.redisSentinel
    options.redisUrl = env.TAGCACHE_REDIS_URL
  }
  // Redis wins over the (default-on) disk tier: the engine rejects the two together.
  if (options.redisUrl || options.redisCluster || options.redisSentinel) {
    delete options.diskDir
    delete options.maxDiskBytes
  }
  return options
}

/** A byte count from `env[name]`; undefined when unset; `ERR_INVALID_OPTIONS` when not a number. */
function bytesFromEnv(env, name) {
  if (!env[name]) return undefined
  const bytes = Number(env[name])
  if (!Number.isFinite(bytes)) {
    throw codedError(
      'ERR_INVALID_OPTIONS',
      `${name} must be a number of bytes, got ${JSON.stringify(env[name])}`,
    )
  }
  return bytes
}

/**
 * Options as JSON for `TAGCACHE_OPTIONS`. `Infinity` becomes `INFINITE_CACHE`
 * (4294967294 s), as Next normalizes it; plain JSON would turn it into `null`.
 * @param {import('../index').TagCacheOptions} options
 */
function serializeOptions(options) {
  return JSON.stringify(options, (_key, value) => (value === Infinity ? INFINITE_CACHE : value))
}

/** The process-wide engine, created from the environment on first use. */
function sharedEngine() {
  if (!globalThis[ENGINE]) {
    const engine = new TagCache(optionsFromEnv())
    // Disk writes are write-behind: commit the queued ones when the process exits (`next
    // build`'s workers exit right after their last prerender; `next start` on SIGTERM).
    if (engine.storage === 'disk') process.once('exit', () => engine.flush())
    // OpenTelemetry metrics when the app has `@opentelemetry/api` (a no-op without an SDK).
    require('./otel.js').registerOpenTelemetry(engine)
    globalThis[ENGINE] = engine
  }
  return globalThis[ENGINE]
}

/**
 * The engine a handler factory uses, created on first use: the given `TagCache`, a new one
 * from `options`, or (without either) the process-wide one. Creating it lazily keeps a
 * handler's construction free of failures; a bad configuration then shows as a logged miss.
 * @param {import('../index').TagCacheOptions | TagCache} [options]
 * @returns {() => TagCache}
 */
function lazyEngine(options) {
  let engine
  return () => {
    if (!engine) {
      if (options instanceof TagCache) engine = options
      else if (options) engine = new TagCache(options)
      else engine = sharedEngine()
    }
    return engine
  }
}

function codedError(code, message) {
  const err = new Error(message)
  err.code = code
  return err
}

module.exports = {
  sharedEngine,
  lazyEngine,
  optionsFromEnv,
  serializeOptions,
  codedError,
  INFINITE_CACHE,
}
