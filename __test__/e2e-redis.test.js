'use strict'
/**
 * Many instances, one cache: two `next start` instances of examples/next-app share one
 * Redis. What A caches B serves; a revalidation on A (or from a webhook worker in another
 * process) reaches B by its next request; and Redis going away (frozen, then killed) never
 * turns a response into an error, nor grows memory without bound.
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { buildApp, startApp } = require('./helpers/next-app')
const { startRedis } = require('./helpers/redis')
const { client, sleep, staleAtMostOnce } = require('./helpers/http')

jest.setTimeout(90_000)

let redis
let a
let b
const keyPrefix = `e2e-${process.pid}-${Date.now()}`

beforeAll(async () => {
  redis = await startRedis()
  buildApp()
  const env = { TAGCACHE_REDIS_URL: redis.url, TAGCACHE_KEY_PREFIX: keyPrefix }
  a = await startApp(env)
  b = await startApp(env)
}, 240_000)
afterAll(async () => {
  await Promise.all([a && a.stop(), b && b.stop()])
  if (redis) await redis.stop()
})

const onA = client(() => a)
const onB = client(() => b)
/** The home page's 'use cache' value (tag `time`) on an instance. */
const time = (on) => on.stamp('/', 'time')
const pathDemo = (on) => on.stamp('/path-demo', 'path-demo')

test('a value cached by A is served by B, from Redis', async () => {
  const fromA = await time(onA)
  const before = await onB.stats()
  expect(await time(onB)).toBe(fromA)
  const after = await onB.stats()
  expect(after.sharedReads).toBeGreaterThan(before.sharedReads)
  expect(after.hits).toBeGreaterThan(before.hits)
  expect(after.sets).toBe(before.sets)
})

test("revalidateTag(tag, 'max') on A: B serves the old value at most once, regenerates it once, then fresh", async () => {
  const old = await time(onA)
  expect(await time(onB)).toBe(old)
  await onA.get('/api/revalidate?tag=time&profile=max')
  const before = await onB.stats()
  const { first, fresh } = await staleAtMostOnce({
    read: () => time(onB),
    stats: onB.stats,
    old,
    before,
  })
  expect(fresh).not.toBe(old)
  expect(await time(onB)).toBe(fresh)
  // Our store on B: the stale read (if any) was its one stale hit, and one regeneration was
  // written; every read after it was a fresh hit.
  const after = await onB.stats()
  expect(after.staleHits - before.staleHits).toBe(first === old ? 1 : 0)
  expect(after.sets - before.sets).toBe(1)
  // Both instances agree on the regenerated value once A's in-process copy (localTtlMs, 1 s)
  // has made way for Redis's.
  await sleep(1100)
  expect(await time(onA)).toBe(await time(onB))
})

test('revalidateTag(tag, { expire: 0 }) on A: B is fresh at once', async () => {
  const old = await time(onB)
  expect(await time(onA)).toBe(old)
  await onA.get('/api/revalidate?tag=time&expire=0')
  expect(await time(onB)).not.toBe(old)
})

test('a webhook worker (new TagCache({ redisUrl }).revalidateTag) reaches both', async () => {
  const old = await pathDemo(onA)
  expect(await pathDemo(onB)).toBe(old)
  const worker = spawnSync(
    process.execPath,
    [
      '-e',
      `const { TagCache } = require(${JSON.stringify(path.join(__dirname, '..'))})
       new TagCache({ redisUrl: process.argv[1], keyPrefix: process.argv[2] })
         .revalidateTag('path-demo', { expire: 0 }).then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })`,
      redis.url,
      keyPrefix,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  )
  expect(worker.status).toBe(0)
  const freshA = await pathDemo(onA)
  expect(freshA).not.toBe(old)
  const freshB = await pathDemo(onB)
  expect(freshB).not.toBe(old)
})

function rssKb(pid) {
  // The server runs in its own process group; its Node process is the child we spawned.
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8')
  return Number(status.match(/VmRSS:\s+(\d+)/)[1])
}

test('Redis frozen, then killed, under load: every response is 200, memory stays bounded, caching resumes', async () => {
  const pid = a.pid
  const rssBefore = rssKb(pid)
  let requests = 0
  let failures = 0
  let stop = false
  const worker = async () => {
    while (!stop) {
      const res = await fetch(`${a.url}/`).catch(() => null)
      requests += 1
      if (!res || res.status !== 200) failures += 1
      if (res) await res.arrayBuffer()
    }
  }
  const load = Array.from({ length: 8 }, worker)
  await sleep(500)
  redis.pause()
  await sleep(2500)
  redis.resume()
  await sleep(300)
  await redis.kill()
  await sleep(1500)
  await redis.restart()
  await sleep(1500)
  stop = true
  await Promise.all(load)
  expect(requests).toBeGreaterThan(50)
  expect(failures).toBe(0)
  // No queue grows during the outage: RSS stays within a bound.
  expect(rssKb(pid) - rssBefore).toBeLessThan(150 * 1024)
  // Caching resumes by itself: new entries are stored and served again.
  const before = await onA.stats()
  const deadline = Date.now() + 15_000
  let resumed = false
  while (!resumed && Date.now() < deadline) {
    await onA.get('/api/revalidate?tag=time&expire=0').catch(() => {})
    const v = await time(onA)
    resumed = (await time(onA)) === v && (await onA.stats()).sets > before.sets
    if (!resumed) await sleep(300)
  }
  expect(resumed).toBe(true)
  expect(a.log()).toMatch(/\[tagcache\] Redis at redis:\/\/127\.0\.0\.1:\d+ failed/)
})
