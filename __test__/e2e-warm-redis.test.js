'use strict'
/**
 * Warm starts and deploys on Redis (issue 10), through real `next build` + `next start` of
 * a copy of examples/isr-app (under target/e2e-apps) and a throwaway redis-server:
 * - on an empty Redis, the first GET of a prerendered page is the build output (no render,
 *   no fetch), stored in Redis for the other instances, and revalidateTag regenerates it;
 * - a new build (deploy) on the same Redis: the tagged fetch is not refetched, the old
 *   build's pages are not served, and what `next build` with `TAGCACHE_REDIS_URL` wrote is
 *   what the new instance serves.
 * The pages (see e2e-warm.test.js) call the upstream's /render/<tag> on every render and read
 * the cached fetch /data/<tag>, so the upstream's counters show every render and fetch.
 */
const { isrAppDir, copyApp, buildAppAsync, startApp } = require('./helpers/next-app')
const { startUpstream } = require('./helpers/upstream')
const { startRedis } = require('./helpers/redis')
const { client, builtStamp: builtStampOf } = require('./helpers/http')

jest.setTimeout(90_000)

let redis
let upstream
let dir
const running = new Set()

beforeAll(async () => {
  ;[redis, upstream] = await Promise.all([startRedis(), startUpstream()])
  dir = copyApp(isrAppDir, 'warm-redis')
  // Build A runs without Redis: the instances below start on an empty Redis.
  await buildAppAsync({ UPSTREAM_URL: upstream.url, NEXT_PUBLIC_BUILD_LABEL: 'A' }, dir)
}, 240_000)
afterAll(async () => {
  await Promise.all([...running].map((app) => app.stop()))
  await Promise.all([redis && redis.stop(), upstream && upstream.stop()])
})

async function start() {
  const app = await startApp({ UPSTREAM_URL: upstream.url, TAGCACHE_REDIS_URL: redis.url }, dir)
  running.add(app)
  return { app, ...client(() => app) }
}
async function stop(...servers) {
  await Promise.all(servers.map((s) => s.app.terminate()))
  for (const s of servers) running.delete(s.app)
}

const renders = (tag) => upstream.calls(`/render/${tag}`)
const fetches = (tag) => upstream.calls(`/data/${tag}`)

const builtStamp = (file, name) => builtStampOf(dir, file, name)

/** Values build A's instances left in Redis, for the deploy below. */
const left = {}

describe('build A on an empty Redis', () => {
  let a1
  let a2
  beforeAll(async () => {
    ;[a1, a2] = await Promise.all([start(), start()])
  }, 60_000)
  afterAll(async () => {
    if (a1 && a2) await stop(a1, a2)
  })

  test('the first GET of a prerendered page is the build output: no render, no fetch; stored in Redis for the other instance', async () => {
    // No entry yet (the tag state, with its epoch, exists since the instances started).
    const entries = () => redis.cli('--scan', '--pattern', '*:e:*').split('\n').filter(Boolean)
    expect(entries()).toEqual([])
    const calls = upstream.calls()
    const built = builtStamp('app/warm/a.html', 'render')
    expect(await a1.stamp('/warm/a', 'render')).toBe(built)
    expect(await a1.stamp('/warm/a', 'data')).toBe(builtStamp('app/warm/a.html', 'data'))
    expect(await a1.get('/warm/a', { headers: { RSC: '1' } })).toContain(built)
    expect(upstream.calls()).toBe(calls)
    expect(entries().length).toBeGreaterThan(0)
    // The other instance reads it from Redis.
    const before = await a2.stats()
    expect(await a2.stamp('/warm/a', 'render')).toBe(built)
    expect((await a2.stats()).sharedReads).toBeGreaterThan(before.sharedReads)
    expect(upstream.calls()).toBe(calls)
  })

  test('revalidateTag through one instance: the other regenerates it (one render, one fetch), then both serve that', async () => {
    const built = builtStamp('app/warm/a.html', 'render')
    const [r, f] = [renders('warm-a'), fetches('warm-a')]
    await a1.get('/api/revalidate?tag=warm-a&expire=0')
    const fresh = await a2.stamp('/warm/a', 'render')
    expect(fresh).not.toBe(built)
    expect(await a1.stamp('/warm/a', 'render')).toBe(fresh)
    expect(renders('warm-a')).toBe(r + 1)
    expect(fetches('warm-a')).toBe(f + 1)
    left.a = await a1.stamp('/warm/a', 'data')
    expect(await a1.stamp('/warm/a', 'build')).toBe('A')
  })

  test('a revalidateTag made after the build, before the first GET, applies to the build output', async () => {
    const r = renders('warm-b')
    await a1.get('/api/revalidate?tag=warm-b&expire=0')
    expect(await a2.stamp('/warm/b', 'render')).not.toBe(builtStamp('app/warm/b.html', 'render'))
    expect(renders('warm-b')).toBe(r + 1)
  })

  test('a tagged fetch is cached in Redis; revalidated before the next build', async () => {
    left.c = await a1.stamp('/warm-data/c', 'data')
    const f = fetches('warm-c')
    expect(await a2.stamp('/warm-data/c', 'data')).toBe(left.c)
    expect(fetches('warm-c')).toBe(f)
    // The next build must fetch it again, and what it fetches is what build B serves.
    await a1.get('/api/revalidate?tag=warm-c&expire=0')
  })
})

describe('build B (a deploy) with TAGCACHE_REDIS_URL, on the same Redis', () => {
  let b
  let fetchesAtBuild
  beforeAll(async () => {
    const before = { a: fetches('warm-a'), b: fetches('warm-b'), c: fetches('warm-c') }
    await buildAppAsync(
      { UPSTREAM_URL: upstream.url, TAGCACHE_REDIS_URL: redis.url, NEXT_PUBLIC_BUILD_LABEL: 'B' },
      dir,
    )
    fetchesAtBuild = {
      a: fetches('warm-a') - before.a,
      b: fetches('warm-b') - before.b,
      c: fetches('warm-c') - before.c,
    }
    b = await start()
  }, 240_000)
  afterAll(async () => {
    if (b) await stop(b)
  })

  test('the build reads the tagged fetches from Redis: only the revalidated one is fetched again', () => {
    expect(fetchesAtBuild).toEqual({ a: 0, b: 0, c: 1 })
    expect(builtStamp('app/warm/a.html', 'data')).toBe(left.a)
    expect(builtStamp('app/warm/c.html', 'data')).not.toBe(left.c)
  })

  test("the new instance serves the new build's pages (never build A's from Redis), without a render or a fetch", async () => {
    const calls = upstream.calls()
    expect(await b.stamp('/warm/a', 'build')).toBe('B')
    expect(await b.stamp('/warm/a', 'render')).toBe(builtStamp('app/warm/a.html', 'render'))
    expect(await b.stamp('/warm/b', 'build')).toBe('B')
    expect(upstream.calls()).toBe(calls)
  })

  test('what `next build` wrote to Redis is what the new instance serves: the fetches, not refetched', async () => {
    const calls = upstream.calls()
    expect(await b.stamp('/warm-data/c', 'data')).toBe(builtStamp('app/warm/c.html', 'data'))
    expect(await b.stamp('/warm-data/a', 'data')).toBe(left.a)
    expect(upstream.calls()).toBe(calls)
  })
})
