'use strict'
/**
 * End to end for the `cacheHandler` side: examples/isr-app (no cacheComponents) is built and
 * started; its fetch cache, ISR page, cached route handler and Pages Router page all live in
 * tagcache (`cacheMaxMemorySize: 0`, Next's FileSystemCache unused), which the store's own
 * counters and the upstream's call count show.
 */
const { serveWithUpstream, isrAppDir } = require('./helpers/next-app')
const {
  client,
  sleep,
  settled,
  staleAtMostOnce,
  waitForChange: untilChanged,
} = require('./helpers/http')

jest.setTimeout(60_000)

let served
beforeAll(async () => {
  served = await serveWithUpstream(isrAppDir)
}, 240_000)
afterAll(async () => {
  if (served) await served.stop()
})
const upstream = { calls: () => served.upstream.calls() }

const { get, stamp, stats } = client(() => served.app)

const upstreamValue = () => stamp('/fetch', 'upstream')
/** Requests of /fetch's cached fetch that reached the upstream. */
const fetches = () => served.upstream.paths().filter((p) => p === '/data').length

test('fetch cache: stable, served from tagcache, the upstream called once', async () => {
  const first = await upstreamValue()
  const calls = upstream.calls()
  const before = await stats()
  expect(await upstreamValue()).toBe(first)
  expect(await upstreamValue()).toBe(first)
  expect(upstream.calls()).toBe(calls)
  expect((await stats()).hits - before.hits).toBeGreaterThanOrEqual(2)
})

test("fetch cache: revalidateTag(tag, 'max') serves the old value at most once, refetches once, then fresh", async () => {
  const old = await upstreamValue()
  const calls = fetches()
  const revalidated = await stats()
  await get('/api/revalidate?tag=upstream&profile=max')
  const before = await stats()
  expect(before.tagUpdates).toBeGreaterThan(revalidated.tagUpdates)
  const { fresh } = await staleAtMostOnce({ read: upstreamValue, stats, old, before })
  expect(fresh).not.toBe(old)
  expect(await upstreamValue()).toBe(fresh)
  // One stale read starts one refetch; a second stale read would have started another.
  expect(fetches()).toBe(calls + 1)
})

test('fetch cache: revalidateTag(tag, { expire: 0 }) is fresh at once', async () => {
  const old = await upstreamValue()
  await get('/api/revalidate?tag=upstream&expire=0')
  const fresh = await upstreamValue()
  expect(fresh).not.toBe(old)
  expect(await upstreamValue()).toBe(fresh)
})

test('ISR page: cached, then regenerated after its revalidate time (2 s)', async () => {
  const read = () => stamp('/isr', 'isr')
  await settled(read)
  // Cached: back-to-back requests get the same render, not one render each. (Compared with
  // `settled`'s answer instead, a loaded machine can let the 2 s window pass in between.)
  const first = await read()
  expect(await read()).toBe(first)
  const before = await stats()
  await sleep(2200)
  // Stale-while-revalidate: at most one stale response, then the regenerated page.
  const { fresh } = await staleAtMostOnce({ read, stats, old: first, before })
  expect(fresh).not.toBe(first)
  const after = await stats()
  expect(after.sets).toBeGreaterThan(before.sets)
  expect(after.hits).toBeGreaterThan(before.hits)
})

test('ISR page: a client navigation (RSC: 1) gets the same data from the store', async () => {
  const html = await stamp('/isr', 'isr')
  const rsc = await get('/isr', { headers: { RSC: '1' } })
  // Either the same render, or (if it just went stale) the following one; never a broken Buffer.
  expect(rsc).toContain('data-stamp')
  const fromRsc = rsc.match(/"data-stamp":"isr","children":"([^"]+)"/)
  expect(fromRsc).not.toBeNull()
  const again = await stamp('/isr', 'isr')
  expect([html, again]).toContain(fromRsc[1])
})

test('tagcache/next/metrics serves the engine the handlers use, in the Prometheus format', async () => {
  const res = await fetch(`${served.app.url}/api/metrics`)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4')
  const hits = (text) => Number(text.match(/^tagcache_gets_total\{result="hit"\} (\d+)$/m)[1])
  const before = hits(await res.text())
  await upstreamValue()
  await upstreamValue()
  const text = await (await fetch(`${served.app.url}/api/metrics`)).text()
  // The same counters as the handlers' engine: the page's cached fetch counted its hits.
  expect(hits(text)).toBeGreaterThanOrEqual(before + 2)
  // Each request pulls other processes' revalidations from the (default) disk tier.
  expect(text).toMatch(
    /^tagcache_operation_duration_seconds_count\{op="refresh",tier="disk"\} \d+$/m,
  )
})

test('route handler: cached', async () => {
  const a = JSON.parse(await get('/api/cached')).value
  const before = await stats()
  expect(JSON.parse(await get('/api/cached')).value).toBe(a)
  expect(JSON.parse(await get('/api/cached')).value).toBe(a)
  expect((await stats()).hits - before.hits).toBeGreaterThanOrEqual(2)
})

test('Pages Router getStaticProps + revalidate: cached, then regenerated', async () => {
  const read = () => stamp('/legacy', 'legacy')
  const first = await settled(read)
  expect(await read()).toBe(first)
  await sleep(2200)
  expect(await untilChanged(read, first)).not.toBe(first)
})
