'use strict'
const { withTagCache } = require('../next/config')
const { optionsFromEnv, serializeOptions } = require('../next/engine')

const saved = process.env.TAGCACHE_OPTIONS
afterEach(() => {
  if (saved === undefined) delete process.env.TAGCACHE_OPTIONS
  else process.env.TAGCACHE_OPTIONS = saved
})

test('wires the use-cache handler, turns off Next memory caches, passes cacheLife on', () => {
  const config = withTagCache(
    {
      cacheComponents: true,
      cacheLife: { blog: { revalidate: 60, expire: Infinity } },
      cacheHandlers: { custom: '/x.js' },
      serverExternalPackages: ['sharp', 'tagcache'],
    },
    { maxMemoryBytes: 1024 },
  )
  const useCache = require.resolve('../next/use-cache.js')
  expect(config).toMatchObject({
    cacheComponents: true,
    cacheMaxMemorySize: 0,
    serverExternalPackages: ['sharp', 'tagcache'],
    cacheHandler: require.resolve('../next/incremental.js'),
    cacheHandlers: { custom: '/x.js', default: useCache, remote: useCache },
  })
  const options = optionsFromEnv()
  expect(options).toEqual({
    maxMemoryBytes: 1024,
    cacheLife: { blog: { revalidate: 60, expire: 4294967294 } },
  })
  expect(withTagCache({}).serverExternalPackages).toEqual(['tagcache'])
})

test('bad options fail at config time with their code', () => {
  expect(() => withTagCache({ cacheLife: { blog: { expire: false } } })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_CACHE_LIFE' }),
  )
  expect(() => withTagCache({}, { maxMemory: 5 })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
  )
})

test('a redefined default profile is backfilled from expireTime and staleTimes.static', () => {
  withTagCache({
    cacheLife: { default: { revalidate: 60 } },
    expireTime: 7200,
    experimental: { staleTimes: { static: 120 } },
  })
  expect(optionsFromEnv().cacheLife.default).toEqual({ revalidate: 60, expire: 7200, stale: 120 })
})

test('a config function is wrapped', async () => {
  const config = await withTagCache(async () => ({ cacheComponents: true }))('phase', {})
  expect(config.cacheMaxMemorySize).toBe(0)
})

test('options from the environment', () => {
  expect(
    optionsFromEnv({
      TAGCACHE_OPTIONS: serializeOptions({ cacheLife: { x: { expire: Infinity } } }),
      TAGCACHE_MAX_MEMORY_BYTES: '2048',
      TAGCACHE_KEY_PREFIX: 'build-1',
    }),
  ).toEqual({
    cacheLife: { x: { expire: 4294967294 } },
    maxMemoryBytes: 2048,
    keyPrefix: 'build-1',
  })
  expect(() => optionsFromEnv({ TAGCACHE_OPTIONS: '{nope' })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
  )
  expect(() => optionsFromEnv({ TAGCACHE_MAX_MEMORY_BYTES: 'lots' })).toThrow(
    expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
  )
})
