'use strict'
const { withTagCache } = require('../next/config')
const { optionsFromEnv, serializeOptions } = require('../next/engine')

const path = require('node:path')

const VARIABLES = ['TAGCACHE_OPTIONS', 'TAGCACHE_BUILD_ID', 'NEXT_DEPLOYMENT_ID']
const saved = Object.fromEntries(VARIABLES.map((name) => [name, process.env[name]]))
afterEach(() => {
  for (const name of VARIABLES) {
    if (saved[name] === undefined) delete process.env[name]
    else process.env[name] = saved[name]
  }
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
    diskDir: path.resolve('.next', 'cache', 'tagcache'),
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

describe('disk tier', () => {
  test('on by default under <distDir>/cache/tagcache; false turns it off; a string moves it', () => {
    withTagCache({})
    expect(optionsFromEnv().diskDir).toBe(path.resolve('.next/cache/tagcache'))
    withTagCache({ distDir: 'build' })
    expect(optionsFromEnv().diskDir).toBe(path.resolve('build/cache/tagcache'))
    withTagCache({}, { diskDir: false })
    expect(optionsFromEnv()).not.toHaveProperty('diskDir')
    withTagCache({}, { diskDir: '/var/cache/app', maxDiskBytes: 1 << 20 })
    expect(optionsFromEnv()).toMatchObject({ diskDir: '/var/cache/app', maxDiskBytes: 1 << 20 })
  })

  test('validating the options does not open the disk tier', () => {
    const dir = path.join(require('node:os').tmpdir(), `tagcache-config-${process.pid}`)
    withTagCache({}, { diskDir: dir })
    expect(require('node:fs').existsSync(dir)).toBe(false)
    // The engine's bound (≥ 1 MiB) is checked when the config loads, not at the first request.
    expect(() => withTagCache({}, { maxDiskBytes: 1000 })).toThrow(/maxDiskBytes .*1048576/)
    expect(() => withTagCache({}, { maxDiskBytes: 'big' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    )
    expect(() => withTagCache({}, { diskDir: 5 })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    )
  })

  test('Redis replaces it: none by default, an explicit one is an error, the env drops it', () => {
    withTagCache({}, { redisUrl: 'redis://127.0.0.1:1', keyPrefix: 'x' })
    expect(optionsFromEnv()).not.toHaveProperty('diskDir')
    expect(() => withTagCache({}, { redisUrl: 'redis://127.0.0.1:1', diskDir: '/tmp/x' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    )
    const env = { TAGCACHE_OPTIONS: serializeOptions({ diskDir: '/tmp/d', maxDiskBytes: 10 }) }
    expect(optionsFromEnv(env)).toEqual({ diskDir: '/tmp/d', maxDiskBytes: 10 })
    expect(optionsFromEnv({ ...env, TAGCACHE_REDIS_URL: 'redis://h:6379' })).toEqual({
      redisUrl: 'redis://h:6379',
    })
  })

  test('TAGCACHE_DISK_DIR and TAGCACHE_MAX_DISK_BYTES', () => {
    const env = { TAGCACHE_OPTIONS: serializeOptions({ diskDir: '/tmp/d' }) }
    expect(optionsFromEnv({ ...env, TAGCACHE_DISK_DIR: '/srv/c' }).diskDir).toBe('/srv/c')
    for (const off of ['off', 'false', '', 'OFF']) {
      expect(optionsFromEnv({ ...env, TAGCACHE_DISK_DIR: off })).not.toHaveProperty('diskDir')
    }
    expect(optionsFromEnv({ TAGCACHE_MAX_DISK_BYTES: '4096' })).toEqual({ maxDiskBytes: 4096 })
    expect(() => optionsFromEnv({ TAGCACHE_MAX_DISK_BYTES: 'lots' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    )
  })
})

describe('build id', () => {
  beforeEach(() => {
    delete process.env.TAGCACHE_BUILD_ID
    delete process.env.NEXT_DEPLOYMENT_ID
  })

  test("the app's generateBuildId is kept and its id published in TAGCACHE_BUILD_ID", async () => {
    const config = withTagCache({ generateBuildId: async () => ' release-42 ' })
    expect(process.env.TAGCACHE_BUILD_ID).toBeUndefined()
    expect(await config.generateBuildId()).toBe(' release-42 ')
    expect(process.env.TAGCACHE_BUILD_ID).toBe('release-42')
  })

  test('null (or no generateBuildId) generates an id as Next would', async () => {
    for (const config of [withTagCache({ generateBuildId: () => null }), withTagCache({})]) {
      const id = await config.generateBuildId()
      expect(id).toMatch(/^[\w-]{21}$/)
      expect(id).not.toMatch(/ad/i)
      expect(process.env.TAGCACHE_BUILD_ID).toBe(id)
    }
  })

  test('a non-string id is passed through for Next to reject, and not published', async () => {
    const config = withTagCache({ generateBuildId: () => undefined })
    expect(await config.generateBuildId()).toBeUndefined()
    expect(process.env.TAGCACHE_BUILD_ID).toBeUndefined()
  })

  test('deploymentId without generateBuildId: Next keeps its constant id; the deployment id namespaces', () => {
    const config = withTagCache({ deploymentId: 'dpl_1' })
    expect(config.generateBuildId).toBeUndefined()
    expect(process.env.TAGCACHE_BUILD_ID).toBe('dpl_1')
    process.env.NEXT_DEPLOYMENT_ID = 'dpl_env'
    expect(withTagCache({}).generateBuildId).toBeUndefined()
    expect(process.env.TAGCACHE_BUILD_ID).toBe('dpl_env')
  })
})

describe('per installed Next major: only the keys that version knows', () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const cwd = process.cwd()
  const useCache = require.resolve('../next/use-cache.js')
  const incremental = require.resolve('../next/incremental.js')

  /** Runs `fn` in an app directory whose `next` is `version` (a package.json is enough). */
  function withNext(version, fn) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tagcache-next${version}-`))
    fs.mkdirSync(path.join(dir, 'node_modules', 'next'), { recursive: true })
    fs.writeFileSync(
      path.join(dir, 'node_modules', 'next', 'package.json'),
      JSON.stringify({ name: 'next', version }),
    )
    process.chdir(dir)
    try {
      return fn()
    } finally {
      process.chdir(cwd)
      fs.rmSync(dir, { recursive: true, force: true })
    }
  }

  /** The keys Next 14.2's config schema knows, among those withTagCache could write. */
  const NEXT_14_TOP = ['cacheHandler', 'cacheMaxMemorySize', 'experimental', 'generateBuildId']

  test('14: cacheHandler, cacheMaxMemorySize, experimental.serverComponentsExternalPackages', () => {
    const config = withNext('14.2.35', () =>
      withTagCache({
        serverExternalPackages: ['sharp'],
        experimental: { serverComponentsExternalPackages: ['pg', 'tagcache'] },
      }),
    )
    expect(config).toMatchObject({ cacheHandler: incremental, cacheMaxMemorySize: 0 })
    for (const key of Object.keys(config)) expect([...NEXT_14_TOP, 'webpack']).toContain(key)
    expect(config).not.toHaveProperty('serverExternalPackages')
    expect(config).not.toHaveProperty('cacheHandlers')
    expect(config.experimental).toEqual({
      serverComponentsExternalPackages: ['pg', 'sharp', 'tagcache'],
    })
    expect(withNext('14.2.35', () => withTagCache({})).experimental).toEqual({
      serverComponentsExternalPackages: ['tagcache'],
    })
  })

  test('14: a linked tagcache is a commonjs external of the server compilations only', () => {
    const calls = []
    const config = withNext('14.2.35', () =>
      withTagCache({
        webpack(webpackConfig, context) {
          calls.push(context.isServer)
          return { ...webpackConfig, user: true }
        },
      }),
    )
    const nextsOwn = () => {}
    const server = config.webpack({ externals: [nextsOwn] }, { isServer: true })
    expect(server.user).toBe(true)
    expect(server.externals).toHaveLength(2)
    expect(server.externals[1]).toBe(nextsOwn)
    const resolve = (request) =>
      new Promise((done) => server.externals[0]({ request }, (err, result) => done(result)))
    return Promise.all([
      resolve('tagcache'),
      resolve('tagcache/next/engine'),
      resolve('tagcache-other'),
      resolve('react'),
    ]).then((results) => {
      expect(results).toEqual([
        'commonjs tagcache',
        'commonjs tagcache/next/engine',
        undefined,
        undefined,
      ])
      const client = config.webpack({ externals: [nextsOwn] }, { isServer: false })
      expect(client.externals).toEqual([nextsOwn])
      expect(calls).toEqual([true, false])
    })
  })

  test('15: experimental.cacheHandlers, top-level serverExternalPackages', () => {
    const config = withNext('15.5.29', () =>
      withTagCache({ experimental: { useCache: true }, serverExternalPackages: ['sharp'] }),
    )
    expect(config).toMatchObject({
      cacheHandler: incremental,
      cacheMaxMemorySize: 0,
      serverExternalPackages: ['sharp', 'tagcache'],
      experimental: { useCache: true, cacheHandlers: { default: useCache, remote: useCache } },
    })
    expect(config).not.toHaveProperty('cacheHandlers')
    expect(config).not.toHaveProperty('webpack')
    expect(config.experimental).not.toHaveProperty('serverComponentsExternalPackages')
  })

  test('16 (and an unknown version): top-level cacheHandlers', () => {
    for (const version of ['16.4.6', 'not-a-version']) {
      const config = withNext(version, () => withTagCache({ cacheComponents: true }))
      expect(config).toMatchObject({
        cacheHandler: incremental,
        cacheMaxMemorySize: 0,
        serverExternalPackages: ['tagcache'],
        cacheHandlers: { default: useCache, remote: useCache },
      })
      expect(config).not.toHaveProperty('experimental')
      expect(config).not.toHaveProperty('webpack')
    }
  })
})
