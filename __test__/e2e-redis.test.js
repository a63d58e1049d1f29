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

async function get(app, path) {
  const res = await fetch(`${app.url}${path}`)
  const body = await res.text()
  if (res.status !== 200) throw new Error(`${path}: ${res.status}\n${body}\n${app.log()}`)
  return body
}

async function stamp(app, path = '/', tag = 'time') {
  const html = await get(app, path)
  const match = html.match(new RegExp(`data-stamp="${tag}">([^<]+)<`))
  if (!match) throw new Error(`no stamp in ${path}:\n${html.slice(0, 1500)}`)
  return match[1]
}

const stats = async (app) => JSON.parse(await get(app, '/api/tagcache-stats'))
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function untilChanged(app, old, path, tag) {
  for (let i = 0; i < 50; i++) {
    const now = await stamp(app, path, tag)
    if (now !== old) return now
    await sleep(100)
  }
  throw new Error(`kept serving ${old}`)
}

test('a value cached by A is served by B, from Redis', async () => {
  const fromA = await stamp(a)
  const before = await stats(b)
  expect(await stamp(b)).toBe(fromA)
  const after = await stats(b)
  expect(after.sharedReads).toBeGreaterThan(before.sharedReads)
  expect(after.hits).toBeGreaterThan(before.hits)
  expect(after.sets).toBe(before.sets)
})

test("revalidateTag(tag, 'max') on A: B serves the old value at most once, then fresh", async () => {
  const old = await stamp(a)
  expect(await stamp(b)).toBe(old)
  await get(a, '/api/revalidate?tag=time&profile=max')
  const first = await stamp(b)
  const fresh = first === old ? await untilChanged(b, old) : first
  expect(fresh).not.toBe(old)
  // Both instances now agree on the regenerated value.
  await sleep(1100)
  expect(await stamp(a)).toBe(await stamp(b))
})

test('revalidateTag(tag, { expire: 0 }) on A: B is fresh at once', async () => {
  const old = await stamp(b)
  expect(await stamp(a)).toBe(old)
  await get(a, '/api/revalidate?tag=time&expire=0')
  expect(await stamp(b)).not.toBe(old)
})

test('a webhook worker (new TagCache({ redisUrl }).revalidateTag) reaches both', async () => {
  const old = await stamp(a, '/path-demo', 'path-demo')
  expect(await stamp(b, '/path-demo', 'path-demo')).toBe(old)
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
  const freshA = await stamp(a, '/path-demo', 'path-demo')
  expect(freshA).not.toBe(old)
  const freshB = await stamp(b, '/path-demo', 'path-demo')
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
  const before = await stats(a)
  const deadline = Date.now() + 15_000
  let resumed = false
  while (!resumed && Date.now() < deadline) {
    await get(a, '/api/revalidate?tag=time&expire=0').catch(() => {})
    const v = await stamp(a)
    resumed = (await stamp(a)) === v && (await stats(a)).sets > before.sets
    if (!resumed) await sleep(300)
  }
  expect(resumed).toBe(true)
  expect(a.log()).toMatch(/\[tagcache\] Redis at redis:\/\/127\.0\.0\.1:\d+ failed/)
})
