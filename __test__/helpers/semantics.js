'use strict'
/**
 * The engine's semantics, as one suite run against every store: in process (writer and
 * reader are one cache) and on Redis (the writer and the reader are two instances, and the
 * reader sees the writer's revalidations after `refreshTags`, as Next calls it).
 */
const { rejection, now, secondsAgo } = require('./engine')

const value = (text = 'v') => Buffer.from(text)

/**
 * @param {string} name
 * @param {(options?: object) => Promise<{ writer, reader, sync: () => Promise<void> }>} setup
 */
function describeSemantics(name, setup) {
  describe(`${name}: get and set`, () => {
    test('round trip: bytes, tags, timings and the exact float timestamp', async () => {
      const { writer, reader, sync } = await setup()
      const timestamp = now() - 0.123456
      await writer.set('k', value('hello'), { tags: ['a', 'b'], profile: 'hours', timestamp })
      await sync()
      const entry = await reader.get('k')
      expect(entry.value.toString()).toBe('hello')
      expect(entry).toMatchObject({
        tags: ['a', 'b'],
        stale: 300,
        revalidate: 3600,
        expire: 86400,
        timestamp,
        status: 'fresh',
        revalidated: false,
      })
      expect(await reader.get('missing')).toBeNull()
    })

    test('past revalidate the entry is stale; past expire it is gone', async () => {
      const { writer, reader, sync } = await setup()
      await writer.set('stale', value(), { revalidate: 10, expire: 100, timestamp: secondsAgo(11) })
      await writer.set('gone', value(), { revalidate: 10, expire: 100, timestamp: secondsAgo(101) })
      await sync()
      expect(await reader.get('stale')).toMatchObject({ status: 'stale', revalidated: false })
      expect(await reader.get('gone')).toBeNull()
    })

    test('delete removes one entry', async () => {
      const { writer, reader, sync } = await setup()
      await writer.set('a', value())
      await writer.set('b', value())
      expect(await writer.delete('a')).toBe(true)
      await sync()
      expect(await reader.get('a')).toBeNull()
      expect(await reader.get('b')).not.toBeNull()
    })
  })

  describe(`${name}: revalidateTag, as Next 16`, () => {
    async function withEntry(options) {
      const caches = await setup(options)
      await caches.writer.set('k', value(), {
        tags: ['posts', 'Mixed'],
        profile: 'days',
        timestamp: secondsAgo(1),
      })
      await caches.sync()
      expect((await caches.reader.get('k')).status).toBe('fresh')
      return caches
    }

    test("'max': stale now (served, SWR), expiry a year away", async () => {
      const { writer, reader, sync } = await withEntry()
      await writer.revalidateTag('posts', 'max')
      await sync()
      expect(await reader.get('k')).toMatchObject({ status: 'stale', revalidated: true })
      // The expiry is in the future, so it does not count yet.
      expect(await reader.getExpiration(['posts'])).toBe(0)
      // An entry written after the revalidation is fresh.
      await writer.set('k', value('new'), { tags: ['posts'], profile: 'days' })
      await sync()
      expect(await reader.get('k')).toMatchObject({ status: 'fresh' })
    })

    test('a named profile from the config resolves its expire', async () => {
      const { writer, reader, sync } = await withEntry({
        cacheLife: { blog: { revalidate: 1, expire: 2 } },
      })
      await writer.revalidateTag('posts', 'blog')
      await sync()
      expect((await reader.get('k')).status).toBe('stale')
      // The tag expires 2 s after the revalidation.
      await new Promise((r) => setTimeout(r, 2100))
      expect(await reader.get('k')).toBeNull()
    })

    test('{ expire: 0 } expires now', async () => {
      const { writer, reader, sync } = await withEntry()
      await writer.revalidateTag('posts', { expire: 0 })
      await sync()
      expect(await reader.get('k')).toBeNull()
    })

    test('{ expire: N } is stale now and expired after N seconds', async () => {
      const { writer, reader, sync } = await withEntry()
      await writer.revalidateTag('posts', { expire: 1 })
      await sync()
      expect((await reader.get('k')).status).toBe('stale')
      await new Promise((r) => setTimeout(r, 1100))
      expect(await reader.get('k')).toBeNull()
    })

    test('no profile (deprecated in Next) expires now', async () => {
      const { writer, reader, sync } = await withEntry()
      await writer.revalidateTag('posts')
      await sync()
      expect(await reader.get('k')).toBeNull()
    })

    test('an array of tags; tags are case-sensitive', async () => {
      const { writer, reader, sync } = await withEntry()
      await writer.revalidateTag(['mixed', 'other'])
      await sync()
      expect((await reader.get('k')).status).toBe('fresh')
      await writer.revalidateTag(['other', 'Mixed'])
      await sync()
      expect(await reader.get('k')).toBeNull()
    })

    test('an unknown profile rejects with ERR_UNKNOWN_PROFILE and changes nothing', async () => {
      const { writer, reader, sync } = await withEntry()
      const err = await rejection(writer.revalidateTag('posts', 'hourly'))
      expect(err.code).toBe('ERR_UNKNOWN_PROFILE')
      await sync()
      expect((await reader.get('k')).status).toBe('fresh')
      expect(writer.stats().tagUpdates).toBe(0)
    })

    test('updateTag expires now; a later write is fresh (read-your-own-writes)', async () => {
      const { writer, reader, sync } = await withEntry()
      await writer.updateTag('posts')
      expect(await writer.get('k')).toBeNull()
      await sync()
      expect(await reader.get('k')).toBeNull()
      expect(await reader.getExpiration(['posts', 'unknown'])).toBeGreaterThan(now() - 5000)
      await writer.set('k', value('new'), { tags: ['posts'] })
      await sync()
      expect((await reader.get('k')).value.toString()).toBe('new')
    })

    test("non-ASCII tags match Next's percent-encoded form", async () => {
      const { writer, reader, sync } = await setup()
      // Next hands handlers `encodeHeaderSafe(tag)`; a webhook calls with the raw tag.
      await writer.set('k', value(), { tags: ['caf%C3%A9'], timestamp: secondsAgo(1) })
      await writer.revalidateTag('café')
      await sync()
      expect(await reader.get('k')).toBeNull()
    })
  })

  describe(`${name}: updateTags, getExpiration, revalidatePath`, () => {
    test('updateTags with durations: stale now; without: expired now', async () => {
      const { writer, reader, sync } = await setup()
      await writer.set('a', value(), { tags: ['a'], timestamp: secondsAgo(1) })
      await writer.set('b', value(), { tags: ['b'], timestamp: secondsAgo(1) })
      await writer.updateTags(['a'], { expire: 60 })
      await writer.updateTags(['b'])
      await sync()
      expect((await reader.get('a')).status).toBe('stale')
      expect(await reader.get('b')).toBeNull()
      const expiration = await reader.getExpiration(['a', 'b'])
      expect(expiration).toBeGreaterThan(now() - 5000)
      expect(expiration).toBeLessThanOrEqual(now())
      expect(await reader.getExpiration([])).toBe(0)
    })

    test('revalidatePath: an entry read with that soft tag is gone; others stay', async () => {
      const { writer, reader, sync } = await setup()
      await writer.set('blog', value(), { timestamp: secondsAgo(1) })
      await writer.set('about', value(), { timestamp: secondsAgo(1) })
      await writer.revalidatePath('/blog')
      await sync()
      expect(await reader.get('blog', ['_N_T_/layout', '_N_T_/blog'])).toBeNull()
      expect(await reader.get('about', ['_N_T_/layout', '_N_T_/about'])).not.toBeNull()
    })
  })
}

module.exports = { describeSemantics }
