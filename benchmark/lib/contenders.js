'use strict'
/**
 * The contenders, per interface. Each one is built exactly as a user of that package would
 * build it (its README's setup, default options unless a note says otherwise), and is then
 * driven only through the interface Next.js calls:
 *
 * - 'use cache' (`cacheHandlers`): get(key, softTags) → { value: ReadableStream, … },
 *   set(key, Promise<entry>), updateTags(tags, durations)
 * - ISR (`cacheHandler`): new Class(ctx); get(key, ctx), set(key, data, ctx), revalidateTag(tags, durations)
 *
 * `available(env)` answers true or the reason it cannot run (the reason becomes a "not
 * available" row instead of failing the run); `create(env)` answers { handler, close }.
 *
 * To add a contender, add an entry here: the scenarios pick them up by `api` and `store`.
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..', '..')
const benchModules = path.join(__dirname, '..', 'node_modules')

const MiB = 1024 * 1024

function loadTagCache() {
  return require(path.join(root, 'index.js'))
}

/** Whether tagcache opens a Redis store at the run's URL with `extra` options; true or the reason. */
function tagcacheRedisSupport(env, extra = {}) {
  let TagCache
  try {
    ;({ TagCache } = loadTagCache())
  } catch (err) {
    return `the tagcache addon does not load: ${err.message.split('\n')[0]}`
  }
  try {
    const probe = new TagCache({ redisUrl: env.redisUrl, keyPrefix: 'probe:', ...extra })
    probe.close().catch(() => {})
    return true
  } catch (err) {
    return `tagcache rejects the Redis options: ${err.code || ''} ${err.message}`
  }
}

/** Options that turn off tagcache's in-process copy in front of Redis (every get reads Redis). */
const NO_LOCAL = { localTtlMs: 0 }

/** An ISR handler instance: `new (createIncrementalCacheHandler(options))(ctx)`. */
function tagcacheIsrHandler(options, ctx) {
  const { createIncrementalCacheHandler } = require(path.join(root, 'next', 'incremental.js'))
  const Handler = createIncrementalCacheHandler(options)
  return new Handler(ctx)
}

function isrCtx() {
  // No build output: a path that does not exist (handlers only read BUILD_ID and manifests
  // from it, and treat their absence as "none").
  const serverDistDir = path.join(os.tmpdir(), 'tagcache-bench-no-build', 'server')
  return {
    dev: false,
    fs: require('node:fs'),
    flushToDisk: false,
    serverDistDir,
    revalidatedTags: [],
    maxMemoryCacheSize: 50 * MiB,
    _requestHeaders: {},
    fetchCacheKeyPrefix: '',
  }
}

/** A fresh temporary disk-tier directory and a close that closes the engine, then removes it. */
function diskEngine(extra = {}) {
  const { TagCache } = loadTagCache()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-bench-disk-'))
  const engine = new TagCache({ diskDir: dir, ...extra })
  return {
    engine,
    close: async () => {
      try {
        await engine.close()
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}

const useCache = [
  {
    id: 'tagcache',
    label: 'tagcache (memory)',
    store: 'memory',
    available: () => {
      try {
        loadTagCache()
        return true
      } catch (err) {
        return `the tagcache addon does not load: ${err.message.split('\n')[0]}`
      }
    },
    create: (env, opts = {}) => {
      const { TagCache } = loadTagCache()
      const engine = new TagCache(
        opts.maxMemoryBytes ? { maxMemoryBytes: opts.maxMemoryBytes } : {},
      )
      const handler = require(path.join(root, 'next', 'use-cache.js')).createUseCacheHandler(engine)
      return { handler, engine, close: () => engine.close() }
    },
  },
  {
    id: 'tagcache-disk',
    label: 'tagcache (memory + disk)',
    store: 'disk',
    note: 'new TagCache({ diskDir }): the disk tier behind the memory tier, writes behind',
    available: () => require('./disk').diskSupport(),
    create: (env, opts = {}) => {
      const d = diskEngine(opts.maxMemoryBytes ? { maxMemoryBytes: opts.maxMemoryBytes } : {})
      const handler = require(path.join(root, 'next', 'use-cache.js')).createUseCacheHandler(
        d.engine,
      )
      return { handler, close: d.close }
    },
  },
  {
    id: 'builtin',
    label: 'Next built-in (memory)',
    store: 'memory',
    note: 'createDefaultCacheHandler(50 MiB), as Next builds it by default',
    available: () => true,
    create: (env, opts = {}) => {
      const { createDefaultCacheHandler } = require(
        path.join(root, 'node_modules/next/dist/server/lib/cache-handlers/default.js'),
      )
      return { handler: createDefaultCacheHandler(opts.maxMemoryBytes || 50 * MiB), close() {} }
    },
  },
  {
    id: 'map-floor',
    label: 'JS Map + ReadableStream (floor)',
    store: 'memory',
    floor: true,
    note: 'a Map of Buffers, a new ReadableStream per hit: no tags, no LRU, no pending sets',
    available: () => true,
    create: () => ({ handler: mapFloor(), close() {} }),
  },
  {
    id: 'mrjasonroy-memory',
    label: 'mrjasonroy (memory)',
    store: 'memory',
    pkg: '@mrjasonroy/cache-components-cache-handler',
    note: "createCacheHandler({ type: 'memory' })",
    available: () => true,
    create: async (env, opts = {}) => {
      const { createCacheHandler } = await import('@mrjasonroy/cache-components-cache-handler')
      const handler = createCacheHandler({
        type: 'memory',
        ...(opts.maxMemoryBytes ? { maxSize: opts.maxMemoryBytes } : {}),
      })
      return { handler, close() {} }
    },
  },
  {
    id: 'tagcache-redis',
    label: 'tagcache (Redis)',
    store: 'redis',
    available: (env) => tagcacheRedisSupport(env),
    create: (env) => {
      const { TagCache } = loadTagCache()
      const engine = new TagCache({ redisUrl: env.redisUrl, keyPrefix: 'tagcache:' })
      const handler = require(path.join(root, 'next', 'use-cache.js')).createUseCacheHandler(engine)
      return { handler, engine, close: () => engine.close() }
    },
  },
  {
    id: 'tagcache-redis-nolocal',
    label: 'tagcache (Redis, no in-process copy)',
    store: 'redis',
    note: 'localTtlMs: 0, so every get reads Redis',
    available: (env) => tagcacheRedisSupport(env, NO_LOCAL),
    create: (env) => {
      const { TagCache } = loadTagCache()
      const engine = new TagCache({ redisUrl: env.redisUrl, keyPrefix: 'tagcache:', ...NO_LOCAL })
      const handler = require(path.join(root, 'next', 'use-cache.js')).createUseCacheHandler(engine)
      return { handler, engine, close: () => engine.close() }
    },
  },
  {
    id: 'trieb',
    label: 'trieb (Redis)',
    store: 'redis',
    pkg: '@trieb.work/nextjs-turbo-redis-cache',
    note: 'redisCacheHandler defaults: a 10 s in-process copy of recent gets and sets (redisGetDeduplication)',
    available: () => true,
    create: (env) => {
      const { getRedisCacheComponentsHandler } = require('@trieb.work/nextjs-turbo-redis-cache')
      const handler = getRedisCacheComponentsHandler({
        redisUrl: env.redisUrl,
        keyPrefix: 'trieb:',
      })
      return { handler, close() {} }
    },
  },
  {
    id: 'trieb-nodedup',
    label: 'trieb (Redis, no in-process copy)',
    store: 'redis',
    pkg: '@trieb.work/nextjs-turbo-redis-cache',
    note: 'redisGetDeduplication: false, so every get reads Redis',
    available: () => true,
    create: (env) => {
      const { getRedisCacheComponentsHandler } = require('@trieb.work/nextjs-turbo-redis-cache')
      const handler = getRedisCacheComponentsHandler({
        redisUrl: env.redisUrl,
        keyPrefix: 'trieb:',
        redisGetDeduplication: false,
      })
      return { handler, close() {} }
    },
  },
  {
    id: 'mrjasonroy-redis',
    label: 'mrjasonroy (Redis)',
    store: 'redis',
    pkg: '@mrjasonroy/cache-components-cache-handler',
    note: "createCacheHandler({ type: 'redis' }) (ioredis)",
    available: () => true,
    create: async (env) => {
      const { createCacheHandler } = await import('@mrjasonroy/cache-components-cache-handler')
      const handler = createCacheHandler({ type: 'redis', url: env.redisUrl, keyPrefix: 'mjr:' })
      return { handler, close() {} }
    },
  },
]

const isr = [
  {
    id: 'tagcache-isr',
    label: 'tagcache (memory)',
    store: 'memory',
    available: () => true,
    create: () => {
      const handler = tagcacheIsrHandler({}, isrCtx())
      return { handler, close() {} }
    },
  },
  {
    id: 'tagcache-isr-disk',
    label: 'tagcache (memory + disk)',
    store: 'disk',
    note: 'createIncrementalCacheHandler(new TagCache({ diskDir }))',
    available: () => require('./disk').diskSupport(),
    create: () => {
      const d = diskEngine()
      const handler = tagcacheIsrHandler(d.engine, isrCtx())
      return { handler, close: d.close }
    },
  },
  {
    id: 'builtin-isr',
    label: 'Next built-in (memory)',
    store: 'memory',
    note: 'FileSystemCache with its 50 MiB memory LRU, flushToDisk off',
    tagsCheckedByNext: true,
    available: () => true,
    create: () => {
      const FileSystemCache = require(
        path.join(root, 'node_modules/next/dist/server/lib/incremental-cache/file-system-cache.js'),
      ).default
      return { handler: new FileSystemCache(isrCtx()), close() {} }
    },
  },
  {
    id: 'tagcache-isr-redis',
    label: 'tagcache (Redis)',
    store: 'redis',
    available: (env) => tagcacheRedisSupport(env),
    create: (env) => {
      const handler = tagcacheIsrHandler(
        { redisUrl: env.redisUrl, keyPrefix: 'tagcache:' },
        isrCtx(),
      )
      return { handler, close() {} }
    },
  },
  {
    id: 'tagcache-isr-redis-nolocal',
    label: 'tagcache (Redis, no in-process copy)',
    store: 'redis',
    note: 'localTtlMs: 0',
    available: (env) => tagcacheRedisSupport(env, NO_LOCAL),
    create: (env) => {
      const handler = tagcacheIsrHandler(
        { redisUrl: env.redisUrl, keyPrefix: 'tagcache:', ...NO_LOCAL },
        isrCtx(),
      )
      return { handler, close() {} }
    },
  },
  {
    id: 'forte',
    label: 'fortedigital (Redis)',
    store: 'redis',
    pkg: '@fortedigital/nextjs-cache-handler',
    note: 'CacheHandler + redis-strings on node-redis 5, as in its README',
    available: () => true,
    create: async (env) => {
      const { CacheHandler } = require('@fortedigital/nextjs-cache-handler')
      const createRedisHandler = require('@fortedigital/nextjs-cache-handler/redis-strings').default
      const { createClient } = require('@redis/client')
      const client = createClient({ url: env.redisUrl })
      client.on('error', () => {})
      await client.connect()
      CacheHandler.onCreation(() => ({
        handlers: [createRedisHandler({ client, keyPrefix: 'forte:' })],
      }))
      const handler = new CacheHandler(isrCtx())
      return { handler, close: () => client.quit().catch(() => {}) }
    },
  },
  {
    id: 'trieb-isr',
    label: 'trieb (Redis)',
    store: 'redis',
    pkg: '@trieb.work/nextjs-turbo-redis-cache',
    note: 'the package default export (CachedHandler) with its defaults: a 10 s in-process copy',
    available: () => true,
    create: (env) => {
      const CachedHandler = require('@trieb.work/nextjs-turbo-redis-cache').default
      const handler = new CachedHandler({
        redisUrl: env.redisUrl,
        keyPrefix: 'trieb:',
        ...isrCtx(),
      })
      return { handler, close() {} }
    },
  },
  {
    id: 'trieb-isr-nodedup',
    label: 'trieb (Redis, no in-process copy)',
    store: 'redis',
    pkg: '@trieb.work/nextjs-turbo-redis-cache',
    note: 'redisGetDeduplication: false',
    available: () => true,
    create: (env) => {
      const CachedHandler = require('@trieb.work/nextjs-turbo-redis-cache').default
      const handler = new CachedHandler({
        redisUrl: env.redisUrl,
        keyPrefix: 'trieb:',
        redisGetDeduplication: false,
        ...isrCtx(),
      })
      return { handler, close() {} }
    },
  },
]

/** The floor: a Map of Buffers and a new ReadableStream per hit, nothing else. */
function mapFloor() {
  const map = new Map()
  return {
    async get(key) {
      const e = map.get(key)
      if (!e) return undefined
      const buf = e.buf
      return {
        ...e.meta,
        value: new ReadableStream({
          start(c) {
            c.enqueue(buf)
            c.close()
          },
        }),
      }
    },
    async set(key, pending) {
      const entry = await pending
      const chunks = []
      const reader = entry.value.getReader()
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        chunks.push(value)
      }
      const { value: _v, ...meta } = entry
      map.set(key, { buf: Buffer.concat(chunks), meta })
    },
    async refreshTags() {},
    async getExpiration() {
      return 0
    },
    async updateTags() {},
  }
}

function byId(list, id) {
  const c = list.find((x) => x.id === id)
  if (!c) throw new Error(`unknown contender ${id}`)
  return c
}

module.exports = { useCache, isr, byId, root, benchModules }
