'use strict'
/**
 * End to end: the example app is built with `next build`, started with `next start`, and
 * driven over HTTP. Every 'use cache' entry lives in tagcache (`cacheMaxMemorySize: 0` turns
 * Next's own in-memory handler into a no-op), and the store's own counters, read from the
 * app's /api/tagcache-stats route, show that tagcache did the caching and saw the
 * revalidations.
 */
const { buildApp, startApp } = require('./helpers/next-app')
const { client, sleep, stampOf, staleAtMostOnce } = require('./helpers/http')

jest.setTimeout(60_000)

let app
beforeAll(async () => {
  buildApp()
  app = await startApp()
}, 240_000)
afterAll(async () => {
  if (app) await app.stop()
})

const { get, stamp, stats, untilChanged } = client(() => app)
const revalidate = (query) => get(`/api/revalidate?${query}`)

test('a cached value is stable, and tagcache stored and served it', async () => {
  const before = await stats()
  const first = await stamp('/', 'time')
  const second = await stamp('/', 'time')
  const third = await stamp('/', 'time')
  expect(second).toBe(first)
  expect(third).toBe(first)
  const after = await stats()
  expect(after.sets).toBeGreaterThan(before.sets)
  expect(after.hits - before.hits).toBeGreaterThanOrEqual(2)
  expect(after.entries).toBeGreaterThan(0)
})

test("revalidateTag(tag, 'max') serves the old value once, then a fresh one", async () => {
  const old = await stamp('/', 'time')
  const before = await stats()
  await revalidate('tag=time&profile=max')
  const afterRevalidate = await stats()
  // Our engine received the revalidation (not only Next's in-process manifest).
  expect(afterRevalidate.tagUpdates).toBeGreaterThan(before.tagUpdates)
  const { first, fresh } = await staleAtMostOnce({
    read: () => stamp('/', 'time'),
    stats,
    old,
    before: afterRevalidate,
  })
  // Stale-while-revalidate: the first response is the old value, served by our store as
  // stale; once the one regeneration is stored, the next is fresh.
  expect(first).toBe(old)
  expect(fresh).not.toBe(old)
  expect(await stamp('/', 'time')).toBe(fresh)
  const after = await stats()
  expect(after.staleHits - afterRevalidate.staleHits).toBe(1)
  expect(after.sets - afterRevalidate.sets).toBe(1)
})

test('revalidateTag(tag, { expire: 0 }) serves a fresh value at once', async () => {
  const old = await stamp('/', 'time')
  expect(await stamp('/', 'time')).toBe(old)
  const before = await stats()
  await revalidate('tag=time&expire=0')
  const fresh = await stamp('/', 'time')
  expect(fresh).not.toBe(old)
  const after = await stats()
  expect(after.tagUpdates).toBeGreaterThan(before.tagUpdates)
  expect(after.staleHits).toBe(before.staleHits)
  expect(await stamp('/', 'time')).toBe(fresh)
})

test('revalidatePath serves a fresh value at once', async () => {
  const old = await stamp('/path-demo', 'path-demo')
  expect(await stamp('/path-demo', 'path-demo')).toBe(old)
  const before = await stats()
  await get('/api/revalidate-path?path=/path-demo')
  expect((await stats()).tagUpdates).toBeGreaterThan(before.tagUpdates)
  const fresh = await stamp('/path-demo', 'path-demo')
  expect(fresh).not.toBe(old)
  expect(await stamp('/path-demo', 'path-demo')).toBe(fresh)
  // Another page's cached value is untouched.
  const home = await stamp('/', 'time')
  await get('/api/revalidate-path?path=/path-demo')
  expect(await stamp('/', 'time')).toBe(home)
})

test('the custom cacheLife profile: revalidate after 3 s, and revalidateTag resolves it', async () => {
  const old = await stamp('/profile', 'blog-posts')
  expect(await stamp('/profile', 'blog-posts')).toBe(old)
  // The 'blog' profile (next.config.js) revalidates after 3 s: stale once, then fresh.
  await sleep(3200)
  const before = await stats()
  expect(await stamp('/profile', 'blog-posts')).toBe(old)
  expect((await stats()).staleHits).toBeGreaterThan(before.staleHits)
  const fresh = await untilChanged('/profile', 'blog-posts', old)
  // revalidateTag(tag, 'blog') goes through the custom profile: SWR again. `fresh` is well
  // under 3 s old here, so a stale hit now can only come from the tag.
  const beforeTag = await stats()
  await revalidate('tag=blog-posts&profile=blog')
  expect(await stamp('/profile', 'blog-posts')).toBe(fresh)
  const afterTag = await stats()
  expect(afterTag.tagUpdates).toBeGreaterThan(beforeTag.tagUpdates)
  expect(afterTag.staleHits).toBeGreaterThan(beforeTag.staleHits)
  expect(await untilChanged('/profile', 'blog-posts', fresh)).not.toBe(fresh)
})

test('updateTag in a Server Action: the response is fresh, and so is every entry of the tag', async () => {
  const html = await get('/update-tag')
  const old = stampOf(html, 'notes')
  expect(await stamp('/update-tag', 'notes')).toBe(old)
  // Another cache key with the same tag, which the action's own request never renders.
  const other = await stamp('/notes', 'notes')
  expect(await stamp('/notes', 'notes')).toBe(other)
  const actionField = html.match(/name="(\$ACTION_ID_[0-9a-f]+)"/)[1]
  const form = new FormData()
  form.append(actionField, '')
  const before = await stats()
  const response = await get('/update-tag', { method: 'POST', body: form })
  const fresh = stampOf(response, 'notes')
  expect(fresh).not.toBe(old)
  expect((await stats()).tagUpdates).toBeGreaterThan(before.tagUpdates)
  // Only our store knows about the update in this later request.
  expect(await stamp('/notes', 'notes')).not.toBe(other)
})
