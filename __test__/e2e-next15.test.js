'use strict'
/**
 * End to end on Next.js 15.5 (examples/next15-app, with its own node_modules): the same
 * handlers detect Next 15's call shapes (`getExpiration(...tags)`, `expireTags(...tags)`,
 * ISR without `cacheControl`) and `withTagCache` writes the 15 config keys. Next 15's
 * `revalidateTag(tag)` expires at once.
 */
const { serveWithUpstream, installApp, next15AppDir } = require('./helpers/next-app')
const { client, sleep, settled, waitForChange: untilChanged } = require('./helpers/http')

jest.setTimeout(60_000)

let served
beforeAll(async () => {
  installApp(next15AppDir)
  served = await serveWithUpstream(next15AppDir, { NEXT_IGNORE_INCORRECT_LOCKFILE: '1' })
}, 400_000)
afterAll(async () => {
  if (served) await served.stop()
})
const upstream = { calls: () => served.upstream.calls() }

const { get, stamp, stats } = client(() => served.app)

test("'use cache' on Next 15: stable, then fresh at once after revalidateTag(tag)", async () => {
  const read = () => stamp('/cached', 'time')
  const old = await read()
  const before = await stats()
  expect(await read()).toBe(old)
  expect((await stats()).hits).toBeGreaterThan(before.hits)
  await get('/api/revalidate?tag=time')
  expect((await stats()).tagUpdates).toBeGreaterThan(before.tagUpdates)
  const fresh = await read()
  expect(fresh).not.toBe(old)
  expect(await read()).toBe(fresh)
})

test("'use cache' on Next 15: revalidatePath is fresh at once", async () => {
  const read = () => stamp('/path-demo', 'path-demo')
  const old = await read()
  expect(await read()).toBe(old)
  await get('/api/revalidate-path?path=/path-demo')
  expect(await read()).not.toBe(old)
})

test('fetch cache on Next 15: stable, the upstream called once, fresh after revalidateTag', async () => {
  const read = () => stamp('/fetch', 'upstream')
  const old = await read()
  const calls = upstream.calls()
  expect(await read()).toBe(old)
  expect(upstream.calls()).toBe(calls)
  await get('/api/revalidate?tag=upstream')
  const fresh = await read()
  expect(fresh).not.toBe(old)
  expect(await read()).toBe(fresh)
})

test('ISR page on Next 15: cached, regenerated after 2 s, same data for RSC', async () => {
  const read = () => stamp('/isr', 'isr')
  const first = await settled(read)
  expect(await read()).toBe(first)
  const rsc = await get('/isr', { headers: { RSC: '1' } })
  expect(rsc).toContain(first)
  await sleep(2200)
  expect(await untilChanged(read, first)).not.toBe(first)
})

test('route handler on Next 15: cached', async () => {
  const a = JSON.parse(await get('/api/cached')).value
  expect(JSON.parse(await get('/api/cached')).value).toBe(a)
})
