'use strict'
/**
 * End to end on Next.js 14.2 (examples/next14-app, with its own node_modules): one `next
 * build`, then one instance on the default disk tier and two on one Redis. Next 14 has no
 * 'use cache'; its cacheHandler gets `ctx.kindHint`, kinds `PAGE` / `ROUTE` / `FETCH` and a
 * one-argument `revalidateTag(tag)` (expired at once). `withTagCache` writes only the keys
 * 14 knows, so an App Router route that imports `tagcache` (app/api/webhook) is left to
 * Node, and the build's prerendered files are answered in 14's shapes.
 */
const fs = require('node:fs')
const path = require('node:path')
const { buildAppAsync, startApp, installApp, next14AppDir } = require('./helpers/next-app')
const { startUpstream } = require('./helpers/upstream')
const { startRedis } = require('./helpers/redis')
const {
  client,
  sleep,
  settled,
  waitForChange,
  builtStamp: builtStampOf,
} = require('./helpers/http')

jest.setTimeout(60_000)

const ENV = { NEXT_IGNORE_INCORRECT_LOCKFILE: '1' }
const CONFIG_WARNING = /Unrecognized key|Invalid next\.config/

let buildLog = ''
let upstream
let sharedUpstream
let redis
let one
let a
let b
beforeAll(async () => {
  installApp(next14AppDir)
  ;[upstream, sharedUpstream, redis] = await Promise.all([
    startUpstream(),
    startUpstream(),
    startRedis(),
  ])
  buildLog = await buildAppAsync({ ...ENV, UPSTREAM_URL: upstream.url }, next14AppDir)
  const onRedis = {
    ...ENV,
    UPSTREAM_URL: sharedUpstream.url,
    TAGCACHE_REDIS_URL: redis.url,
    TAGCACHE_KEY_PREFIX: `e2e14-${process.pid}-${Date.now()}`,
  }
  ;[one, a, b] = await Promise.all([
    startApp({ ...ENV, UPSTREAM_URL: upstream.url }, next14AppDir),
    startApp(onRedis, next14AppDir),
    startApp(onRedis, next14AppDir),
  ])
}, 400_000)
afterAll(async () => {
  await Promise.all([one && one.stop(), a && a.stop(), b && b.stop()])
  await Promise.all([upstream && upstream.stop(), sharedUpstream && sharedUpstream.stop()])
  if (redis) await redis.stop()
})

const { get, stamp, stats } = client(() => one)
const onA = client(() => a)
const onB = client(() => b)

const builtFile = (file) => path.join(next14AppDir, '.next', 'server', file)

/** The ISR page's stamp in an RSC payload. */
function rscStamp(text) {
  const match = text.match(/"data-stamp":"isr","children":"([^"]+)"/)
  if (!match) throw new Error(`no isr stamp in ${text.slice(0, 1000)}`)
  return match[1]
}

/** The stamp `next build` wrote into a prerendered file. */
const builtStamp = (file, name) => builtStampOf(next14AppDir, file, name)

test('next build and next start print no config warning; the build is Next 14', async () => {
  expect(buildLog).toContain('Next.js 14.2.35')
  expect(buildLog).not.toMatch(CONFIG_WARNING)
  // The route importing tagcache was built (not a build failure) and is dynamic.
  expect(buildLog).toMatch(/\/api\/webhook/)
  await get('/api/tagcache-stats')
  for (const app of [one, a, b]) {
    expect(app.log()).toContain('Next.js 14.2.35')
    expect(app.log()).not.toMatch(CONFIG_WARNING)
    expect(app.log()).not.toMatch(/ERR_TAGCACHE|\[tagcache\]/)
  }
})

test('prerendered pages and routes are served from the build in 14 shapes, then stored', async () => {
  const before = await stats()
  // The build's PAGE (app router, with its RSC text), PAGE (pages router, no .meta) and
  // ROUTE: a value of another Next version's shape would not render the build's stamp.
  expect(await stamp('/legacy', 'legacy')).toBe(builtStamp('pages/legacy.html', 'legacy'))
  // The app page's data as 14 reads it (`pageData`: the `.rsc` text; Next 14 renders the
  // RSC payload apart from the HTML, so the two files carry different stamps).
  const rsc = await get('/isr', { headers: { RSC: '1' } })
  expect(rscStamp(rsc)).toBe(rscStamp(fs.readFileSync(builtFile('app/isr.rsc'), 'utf8')))
  const built = fs.readFileSync(builtFile('app/api/cached.body'), 'utf8')
  expect(JSON.parse(await get('/api/cached')).value).toBe(JSON.parse(built).value)
  const after = await stats()
  expect(after.sets).toBeGreaterThanOrEqual(before.sets + 3)
})

test('tagged fetch: cached (upstream called once), one-argument revalidateTag refetches', async () => {
  const read = () => stamp('/fetch', 'upstream')
  const old = await read()
  const calls = upstream.calls('/data')
  const before = await stats()
  expect(await read()).toBe(old)
  expect(await read()).toBe(old)
  expect(upstream.calls('/data')).toBe(calls)
  expect((await stats()).hits).toBeGreaterThan(before.hits)
  await get('/api/revalidate?tag=upstream')
  expect((await stats()).tagUpdates).toBe(before.tagUpdates + 1)
  const fresh = await read()
  expect(fresh).not.toBe(old)
  expect(upstream.calls('/data')).toBe(calls + 1)
  expect(await read()).toBe(fresh)
  expect(upstream.calls('/data')).toBe(calls + 1)
})

test('the App Router route importing tagcache answers, and its own engine revalidates through the store', async () => {
  const read = () => stamp('/fetch', 'upstream')
  const old = await read()
  const calls = upstream.calls('/data')
  const answer = JSON.parse(await get('/api/webhook?tag=upstream'))
  expect(answer).toEqual({ revalidated: 'upstream', storage: 'disk' })
  // Another engine's update, seen by the handlers' engine through the disk tier.
  const fresh = await read()
  expect(fresh).not.toBe(old)
  expect(upstream.calls('/data')).toBe(calls + 1)
})

test('ISR page: cached (its RSC data too), regenerated after its 2 s', async () => {
  const read = () => stamp('/isr', 'isr')
  const first = await settled(read)
  const before = await stats()
  expect(await read()).toBe(first)
  expect((await stats()).hits).toBeGreaterThan(before.hits)
  const readRsc = async () => rscStamp(await get('/isr', { headers: { RSC: '1' } }))
  expect(await readRsc()).toBe(await readRsc())
  await sleep(2200)
  const next = await waitForChange(read, first)
  expect(next).not.toBe(first)
  expect(await settled(read)).not.toBe(first)
})

test('route handler: cached', async () => {
  const value = JSON.parse(await get('/api/cached')).value
  const before = await stats()
  expect(JSON.parse(await get('/api/cached')).value).toBe(value)
  expect(JSON.parse(await get('/api/cached')).value).toBe(value)
  expect((await stats()).hits).toBeGreaterThanOrEqual(before.hits + 2)
})

test('Pages Router: cached, res.revalidate regenerates it', async () => {
  const read = () => stamp('/legacy', 'legacy')
  const old = await read()
  expect(await read()).toBe(old)
  const before = await stats()
  expect(JSON.parse(await get('/api/revalidate-legacy'))).toEqual({ revalidated: '/legacy' })
  expect((await stats()).sets).toBeGreaterThan(before.sets)
  const fresh = await read()
  expect(fresh).not.toBe(old)
  expect(await read()).toBe(fresh)
})

describe('two instances on one Redis', () => {
  const readA = () => onA.stamp('/fetch', 'upstream')
  const readB = () => onB.stamp('/fetch', 'upstream')

  test('what A fetched B serves from Redis; revalidateTag on A is seen by B', async () => {
    const fromA = await readA()
    const calls = sharedUpstream.calls('/data')
    expect(await readB()).toBe(fromA)
    expect(sharedUpstream.calls('/data')).toBe(calls)
    expect((await onB.stats()).sharedReads).toBeGreaterThan(0)

    await onA.get('/api/revalidate?tag=upstream')
    const fresh = await readB()
    expect(fresh).not.toBe(fromA)
    expect(sharedUpstream.calls('/data')).toBe(calls + 1)
    expect(await readA()).toBe(fresh)
    expect(sharedUpstream.calls('/data')).toBe(calls + 1)
  })

  test('the webhook route on B revalidates through Redis with its own engine; A refetches', async () => {
    const old = await readA()
    expect(await readB()).toBe(old)
    const calls = sharedUpstream.calls('/data')
    expect(JSON.parse(await onB.get('/api/webhook?tag=upstream'))).toEqual({
      revalidated: 'upstream',
      storage: 'redis',
    })
    const fresh = await readA()
    expect(fresh).not.toBe(old)
    expect(sharedUpstream.calls('/data')).toBe(calls + 1)
    expect(await readB()).toBe(fresh)
  })
})
