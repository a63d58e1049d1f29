'use strict'
/**
 * The `tagcache` executable (bin/tagcache.js) as a child process against real stores: a
 * disk-tier directory that this test's engine shares with it, and a throwaway redis-server.
 * What the CLI changes must be what another instance sees after `refreshTags()`.
 */
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { TagCache } = require('../binding.js')
const { startRedis } = require('./helpers/redis')

const BIN = path.join(__dirname, '..', 'bin', 'tagcache.js')

/** The environment without any TAGCACHE_* variable, plus `extra`. */
function cleanEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('TAGCACHE_')) env[k] = v
  return { ...env, ...extra }
}

/** Runs the CLI: `{ code, stdout, stderr }`. */
function cli(args, { env } = {}) {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { env: cleanEnv(env), timeout: 15_000, encoding: 'utf8' },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr })
      },
    )
  })
}

async function cliJson(args, opts) {
  const out = await cli([...args, '--json'], opts)
  if (out.code !== 0) throw new Error(`tagcache ${args.join(' ')}: ${out.code} ${out.stderr}`)
  return JSON.parse(out.stdout)
}

const html = Buffer.from('<p>hello</p>')
let tmp

beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-cli-'))
})
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }))

describe('on a disk-tier directory', () => {
  let dir
  let cache
  const disk = () => ['--disk-dir', dir]

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(tmp, 'disk-'))
    cache = new TagCache({ diskDir: dir })
  })
  afterEach(() => cache.close())

  async function seed(key, tags, meta = {}) {
    await cache.set(key, html, { tags, profile: 'hours', ...meta })
    cache.flush()
  }

  test('revalidate --profile max: the entry is stale for another instance, not gone', async () => {
    await seed('fetch:a', ['posts'])
    const out = await cli(['revalidate', 'posts', '--profile', 'max', ...disk()])
    expect(out).toMatchObject({ code: 0, stderr: '' })
    expect(out.stdout).toMatch(/^revalidated posts: stale now, expires in 31536000 s/)
    await cache.refreshTags()
    const entry = await cache.get('fetch:a')
    expect(entry).toMatchObject({ status: 'stale', revalidated: true })
    const [state] = cache.tagStates(['posts'])
    expect(state.stale).toBeLessThanOrEqual(Date.now())
    expect(state.expired).toBeGreaterThan(Date.now() + 364 * 86400_000)
  })

  test('revalidate --expire 0 and update: the entries are gone', async () => {
    await seed('fetch:a', ['posts'])
    await seed('fetch:b', ['comments'])
    await seed('fetch:c', ['authors'])
    const json = await cliJson(['revalidate', 'posts', '--expire', '0', ...disk()])
    expect(json).toMatchObject({ command: 'revalidate', tags: ['posts'], profile: { expire: 0 } })
    expect(json.states[0].expiredNow).toBe(true)
    const up = await cli(['update', 'comments', 'authors', ...disk()])
    expect(up).toMatchObject({ code: 0, stdout: 'updated comments, authors: expired now\n' })
    await cache.refreshTags()
    expect(await cache.get('fetch:a')).toBeNull()
    expect(await cache.get('fetch:b')).toBeNull()
    expect(await cache.get('fetch:c')).toBeNull()
  })

  test('tags: human and --json', async () => {
    await cli(['revalidate', 'posts', '--profile', 'hours', ...disk()])
    await cli(['update', 'gone', ...disk()])
    const out = await cli(['tags', 'posts', 'gone', 'never', ...disk()])
    expect(out.code).toBe(0)
    const lines = out.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^posts: stale since \d{4}-\d\d-\d\dT[\d:.]+Z, expires \d{4}-.*Z$/)
    expect(lines[1]).toMatch(/^gone: expired \d{4}-.*Z$/)
    expect(lines[2]).toBe('never: never revalidated')
    const json = await cliJson(['tags', 'posts', 'never', ...disk()])
    expect(json.tags[1]).toEqual({ tag: 'never' })
    const posts = json.tags[0]
    expect(posts.expired - posts.stale).toBeCloseTo(86400_000, -3) // hours: expire 1 day
    expect(posts).toMatchObject({
      expiredNow: false,
      staleIso: new Date(posts.stale).toISOString(),
    })
    // What the engine itself knows, to the float.
    await cache.refreshTags()
    const [mine] = cache.tagStates(['posts'])
    expect(mine).toEqual({ tag: 'posts', stale: posts.stale, expired: posts.expired })
  })

  test('inspect: an entry written by another process, and an absent key', async () => {
    const written = Date.now() - 2 * 3600_000 // past revalidate (1 h), before expire (1 day)
    await seed('page:b1:/blog', ['posts', 'blog'], { timestamp: written })
    const json = await cliJson(['inspect', 'page:b1:/blog', ...disk()])
    expect(json).toEqual({
      command: 'inspect',
      key: 'page:b1:/blog',
      found: true,
      status: 'stale',
      revalidated: false,
      tags: ['posts', 'blog'],
      stale: 300,
      revalidate: 3600,
      expire: 86400,
      timestamp: written,
      timestampIso: new Date(written).toISOString(),
      size: html.length,
    })
    await seed('fetch:x', [], { profile: 'max' })
    const human = await cli(['inspect', 'fetch:x', ...disk()])
    expect(human.stdout).toMatch(/^fetch:x: fresh\n/)
    expect(human.stdout).toContain(`  size        ${html.length} bytes`)
    expect(human.stdout).toContain('  tags        (none)')
    const absent = await cli(['inspect', 'fetch:nothing', ...disk()])
    expect(absent).toMatchObject({ code: 0, stdout: 'fetch:nothing: absent\n' })
    expect((await cliJson(['inspect', 'fetch:nothing', ...disk()])).found).toBe(false)
  })

  test('revalidate-path expires the implicit tags of the page', async () => {
    await seed('page:b1:/blog', [])
    const softTags = ['_N_T_/layout', '_N_T_/blog/layout', '_N_T_/blog/page', '_N_T_/blog']
    expect(await cache.get('page:b1:/blog', softTags)).not.toBeNull()
    const json = await cliJson(['revalidate-path', '/blog', '--type', 'page', ...disk()])
    expect(json).toMatchObject({ command: 'revalidate-path', path: '/blog', type: 'page' })
    expect(json.tags).toContain('_N_T_/blog/page')
    await cache.refreshTags()
    expect(await cache.get('page:b1:/blog', softTags)).toBeNull()
    const human = await cli(['revalidate-path', '/', ...disk()])
    expect(human.stdout).toMatch(/^revalidated \/: expired _N_T_\//)
  })

  test('purge --old-builds keeps the current build and the fetch cache', async () => {
    await seed('page:old1:/a', [])
    await seed('page:old1:/b', [])
    await seed('page:old2:/a', [])
    await seed('page:new:/a', [])
    await seed('fetch:x', [])
    await cache.close()
    const dist = path.join(tmp, `dist-${Date.now()}`)
    fs.mkdirSync(dist)
    fs.writeFileSync(path.join(dist, 'BUILD_ID'), 'new\n')
    const out = await cli(['purge', '--old-builds', '--dist-dir', dist, ...disk()])
    expect(out).toMatchObject({ code: 0, stderr: '' })
    expect(out.stdout).toBe('kept build new; removed 3 page entries of other builds (disk)\n')
    cache = new TagCache({ diskDir: dir })
    expect(await cache.get('page:old1:/a')).toBeNull()
    expect(await cache.get('page:old2:/a')).toBeNull()
    expect(await cache.get('page:new:/a')).not.toBeNull()
    expect(await cache.get('fetch:x')).not.toBeNull()
    const again = await cliJson(['purge', '--old-builds', '--build-id', 'new', ...disk()])
    expect(again).toMatchObject({ buildId: 'new', removed: 0, storage: 'disk' })
    const missing = await cli(['purge', '--old-builds', '--dist-dir', tmp, ...disk()])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/BUILD_ID.*\(ERR_NO_BUILD_ID\)\n$/)
  })

  test('stats --json reports the disk tier', async () => {
    await seed('fetch:a', [])
    await seed('fetch:b', [])
    const json = await cliJson(['stats', ...disk()])
    expect(json).toMatchObject({ command: 'stats', storage: 'disk', diskEntries: 2 })
    expect(json.diskBytes).toBeGreaterThan(0)
    const human = await cli(['stats', ...disk()])
    expect(human.stdout).toMatch(/^storage: disk\n(.*\n)*diskEntries: 2\n/)
  })

  test('TAGCACHE_DISK_DIR names the store; flags win over it', async () => {
    await seed('fetch:a', ['posts'])
    const other = fs.mkdtempSync(path.join(tmp, 'other-'))
    await cli(['update', 'posts'], { env: { TAGCACHE_DISK_DIR: other } })
    await cache.refreshTags()
    expect(await cache.get('fetch:a')).not.toBeNull()
    await cli(['update', 'posts', ...disk()], { env: { TAGCACHE_DISK_DIR: other } })
    await cache.refreshTags()
    expect(await cache.get('fetch:a')).toBeNull()
    const env = await cliJson(['stats'], { env: { TAGCACHE_DISK_DIR: dir } })
    expect(env.storage).toBe('disk')
  })

  test('an unknown profile exits 1 with ERR_UNKNOWN_PROFILE and changes nothing', async () => {
    await seed('fetch:a', ['posts'])
    const out = await cli(['revalidate', 'posts', 'other', '--profile', 'nope', ...disk()])
    expect(out.code).toBe(1)
    expect(out.stdout).toBe('')
    expect(out.stderr).toMatch(
      /^tagcache: unknown cacheLife profile "nope".*\(ERR_UNKNOWN_PROFILE\)\n$/,
    )
    await cache.refreshTags()
    expect(cache.tagStates(['posts', 'other'])).toEqual([{ tag: 'posts' }, { tag: 'other' }])
    expect(await cache.get('fetch:a')).toMatchObject({ status: 'fresh' })
  })

  test('--config: the app cacheLife resolves --profile; its store is not used', async () => {
    await seed('fetch:a', ['posts'])
    // As withTagCache does, the config writes TAGCACHE_OPTIONS (here: a Redis the CLI must
    // not switch to) and is a function of the phase.
    const config = path.join(tmp, 'next.config.js')
    fs.writeFileSync(
      config,
      `process.env.TAGCACHE_OPTIONS = JSON.stringify({ redisUrl: 'redis://127.0.0.1:1' })
module.exports = (phase) => ({
  cacheLife: { editorial: { stale: 60, revalidate: 120, expire: phase === 'phase-production-server' ? 7200 : 1 } },
})
`,
    )
    const out = await cli([
      'revalidate',
      'posts',
      '--profile',
      'editorial',
      '--config',
      config,
      ...disk(),
    ])
    expect(out.code).toBe(0)
    expect(out.stdout).toBe('revalidated posts: stale now, expires in 7200 s (profile editorial)\n')
    expect(out.stderr).toMatch(
      /^tagcache: note: the config's withTagCache names Redis redis:\/\/127\.0\.0\.1:1 .*; using the disk dir /,
    )
    await cache.refreshTags()
    expect(await cache.get('fetch:a')).toMatchObject({ status: 'stale' })
    const [state] = cache.tagStates(['posts'])
    expect(state.expired - state.stale).toBeCloseTo(7200_000, -3)

    // An ESM config, with the profile under experimental (Next 15).
    const mjs = path.join(tmp, 'next.config.mjs')
    fs.writeFileSync(
      mjs,
      `export default { experimental: { cacheLife: { weekly: { expire: 604800 } } } }\n`,
    )
    const json = await cliJson([
      'revalidate',
      'posts',
      '--profile',
      'weekly',
      '--config',
      mjs,
      ...disk(),
    ])
    expect(json.resolved.expire).toBe(604800)
    // The real withTagCache, naming another disk dir: the CLI stays on --disk-dir.
    const wrapped = path.join(tmp, 'wrapped.config.js')
    const elsewhere = path.join(tmp, 'elsewhere')
    fs.writeFileSync(
      wrapped,
      `const { withTagCache } = require(${JSON.stringify(require.resolve('../next/config.js'))})
module.exports = withTagCache({ cacheLife: { hourly: { expire: 3600 } } }, { diskDir: ${JSON.stringify(elsewhere)} })
`,
    )
    const real = await cli(['update', 'posts', '--config', wrapped, ...disk()])
    expect(real.code).toBe(0)
    expect(real.stderr).toContain(`names the disk dir ${elsewhere}; using the disk dir ${dir}`)
    expect(fs.existsSync(elsewhere)).toBe(false)
    await cache.refreshTags()
    expect(await cache.get('fetch:a')).toBeNull()
    const hourly = await cliJson([
      'revalidate',
      'posts',
      '--profile',
      'hourly',
      '--config',
      wrapped,
      ...disk(),
    ])
    expect(hourly.resolved.expire).toBe(3600)
    // Without the config the name is unknown.
    const unknown = await cli(['revalidate', 'posts', '--profile', 'editorial', ...disk()])
    expect(unknown.code).toBe(1)
    expect(unknown.stderr).toContain('(ERR_UNKNOWN_PROFILE)')
  })
})

describe('on Redis', () => {
  let redis
  let cache
  const prefix = `cli${process.pid}`
  const store = () => ['--redis-url', redis.url, '--key-prefix', prefix]
  const storeOptions = () => ({ redisUrl: redis.url, keyPrefix: prefix })

  beforeAll(async () => {
    redis = await startRedis()
    cache = new TagCache({ redisUrl: redis.url, keyPrefix: prefix })
  })
  afterAll(async () => {
    await cache.close()
    await redis.stop()
  })

  test('revalidate --profile: stale for another instance; --expire 0 and update: gone', async () => {
    await cache.set('fetch:r1', html, { tags: ['r-posts'], profile: 'hours' })
    await cache.set('fetch:r2', html, { tags: ['r-comments'], profile: 'hours' })
    await cache.set('fetch:r3', html, { tags: ['r-authors'], profile: 'hours' })
    const out = await cli(['revalidate', 'r-posts', '--profile', 'days', ...store()])
    expect(out).toMatchObject({ code: 0, stderr: '' })
    await cache.refreshTags()
    expect(await cache.get('fetch:r1')).toMatchObject({ status: 'stale', revalidated: true })

    await cli(['revalidate', 'r-comments', '--expire', '0', ...store()])
    await cli(['update', 'r-authors', ...store()])
    await cache.refreshTags()
    expect(await cache.get('fetch:r2')).toBeNull()
    expect(await cache.get('fetch:r3')).toBeNull()

    const tags = await cliJson(['tags', 'r-posts', 'r-authors', ...store()])
    expect(tags.tags.map((t) => [t.tag, t.expiredNow])).toEqual([
      ['r-posts', false],
      ['r-authors', true],
    ])
  })

  test('TAGCACHE_REDIS_URL / TAGCACHE_KEY_PREFIX name the store', async () => {
    await cache.set('fetch:env', html, { tags: ['r-env'], profile: 'hours' })
    const env = { TAGCACHE_REDIS_URL: redis.url, TAGCACHE_KEY_PREFIX: prefix }
    expect((await cli(['update', 'r-env'], { env })).code).toBe(0)
    await cache.refreshTags()
    expect(await cache.get('fetch:env')).toBeNull()
  })

  test('inspect reads Redis; an unknown profile changes nothing', async () => {
    await cache.set('fetch:r4', html, { tags: ['r-keep'], profile: 'hours' })
    const json = await cliJson(['inspect', 'fetch:r4', ...store()])
    expect(json).toMatchObject({
      found: true,
      tags: ['r-keep'],
      status: 'fresh',
      size: html.length,
    })
    const out = await cli(['revalidate', 'r-keep', '--profile', 'nope', ...store()])
    expect(out.code).toBe(1)
    expect(out.stderr).toContain('(ERR_UNKNOWN_PROFILE)')
    await cache.refreshTags()
    expect(cache.tagStates(['r-keep'])).toEqual([{ tag: 'r-keep' }])
    expect(await cache.get('fetch:r4')).toMatchObject({ status: 'fresh' })
  })

  test("purge --old-builds removes other builds' pages from Redis; stats", async () => {
    const writer = new TagCache(storeOptions())
    for (const key of ['page:b1:/a', 'page:b1:/b', 'page:b9:/a', 'fetch:r-purge']) {
      await writer.set(key, Buffer.from(key))
    }
    await writer.close()
    const out = await cli(['purge', '--old-builds', '--build-id', 'b9', ...store()])
    expect(out.code).toBe(0)
    expect(out.stdout).toMatch(/removed 2 page entries of other builds \(redis\)/)
    const reader = new TagCache(storeOptions())
    expect(await reader.get('page:b1:/a')).toBeNull()
    expect((await reader.get('page:b9:/a')).value.toString()).toBe('page:b9:/a')
    expect((await reader.get('fetch:r-purge')).value.toString()).toBe('fetch:r-purge')
    await reader.close()
    const stats = await cliJson(['stats', ...store()])
    expect(stats).toMatchObject({ command: 'stats', storage: 'redis', storeErrors: 0 })
  })

  test('a Redis that does not answer: ERR_STORE, exit 1', async () => {
    const out = await cli(['update', 'x', '--redis-url', 'redis://127.0.0.1:1'])
    expect(out.code).toBe(1)
    // The engine's own outage line first, then the CLI's error.
    expect(out.stderr).toMatch(/\ntagcache: .*\(ERR_STORE\)\n$/)
  })
})

describe('usage', () => {
  test('usage errors exit 2', async () => {
    const cases = [
      [],
      ['frobnicate', '--disk-dir', tmp],
      ['revalidate', '--disk-dir', tmp],
      ['revalidate', 'a', '--profile', 'max', '--expire', '0', '--disk-dir', tmp],
      ['revalidate', 'a', '--expire', 'soon', '--disk-dir', tmp],
      ['revalidate-path', '/a', '--type', 'route', '--disk-dir', tmp],
      ['tags', 'a', '--bogus'],
      ['update', 'a', '--profile', 'max', '--disk-dir', tmp],
      ['purge', '--disk-dir', tmp],
      ['tags', 'a'], // no store
      ['tags', 'a', '--disk-dir', tmp, '--redis-url', 'redis://127.0.0.1:1'],
    ]
    const results = await Promise.all(cases.map((args) => cli(args)))
    results.forEach((out, i) => {
      expect([cases[i], out.code]).toEqual([cases[i], 2])
      expect(out.stdout).toBe('')
    })
    expect(results[1].stderr).toBe('tagcache: unknown command "frobnicate" (ERR_USAGE)\n')
    expect(results[0].stderr).toMatch(/^Usage: tagcache <command>/)
  })

  test('--help prints the usage and exits 0', async () => {
    const out = await cli(['--help'])
    expect(out.code).toBe(0)
    expect(out.stdout).toMatch(/^Usage: tagcache <command>/)
    expect(out.stdout).toContain('page:<buildId>:<key>')
  })

  test('a missing disk dir is an error, not a new empty cache', async () => {
    const missing = path.join(tmp, 'does-not-exist')
    const out = await cli(['tags', 'a', '--disk-dir', missing])
    expect(out.code).toBe(1)
    expect(out.stderr).toMatch(/does not exist \(ERR_INVALID_OPTIONS\)\n$/)
    expect(fs.existsSync(missing)).toBe(false)
  })
})
