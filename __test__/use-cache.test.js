'use strict'
const { TagCache, secondsAgo, now } = require('./helpers/engine')
const { createUseCacheHandler } = require('../next/use-cache')

function streamOf(...chunks) {
  return new ReadableStream({
    start(controller) {
      for (const c of chunks) controller.enqueue(typeof c === 'string' ? Buffer.from(c) : c)
      controller.close()
    },
  })
}

function erroringStream() {
  return new ReadableStream({
    start(controller) {
      controller.enqueue(Buffer.from('partial'))
      controller.error(new Error('render failed'))
    },
  })
}

function entry(overrides = {}) {
  return {
    value: streamOf('hello ', 'world'),
    tags: ['posts'],
    stale: 300,
    timestamp: now(),
    expire: 3600,
    revalidate: 900,
    ...overrides,
  }
}

async function text(stream) {
  return Buffer.from(await new Response(stream).arrayBuffer()).toString()
}

function setup() {
  const engine = new TagCache()
  return { engine, handler: createUseCacheHandler(engine) }
}

let warn
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => {})
})
afterEach(() => warn.mockRestore())

test('set stores what the stream carried; get returns it with its metadata', async () => {
  const { engine, handler } = setup()
  const e = entry()
  await handler.set('k', Promise.resolve(e))
  const hit = await handler.get('k', [])
  expect(await text(hit.value)).toBe('hello world')
  expect(hit).toMatchObject({ tags: ['posts'], stale: 300, expire: 3600, revalidate: 900 })
  expect(hit.timestamp).toBe(e.timestamp)
  expect(engine.stats()).toMatchObject({ sets: 1, hits: 1 })
})

test('a get waits for a pending set of the same key', async () => {
  const { handler } = setup()
  let resolve
  const pendingEntry = new Promise((r) => (resolve = r))
  const setting = handler.set('k', pendingEntry)
  const getting = handler.get('k', [])
  setTimeout(() => resolve(entry()), 20)
  const hit = await getting
  expect(hit).toBeDefined()
  expect(await text(hit.value)).toBe('hello world')
  await setting
})

test('every hit gets a new stream', async () => {
  const { handler } = setup()
  await handler.set('k', Promise.resolve(entry()))
  const a = await handler.get('k', [])
  const b = await handler.get('k', [])
  expect(a.value).not.toBe(b.value)
  expect(await text(a.value)).toBe('hello world')
  expect(await text(b.value)).toBe('hello world')
  const c = await handler.get('k', [])
  expect(await text(c.value)).toBe('hello world')
})

test('an errored stream stores nothing and set does not reject', async () => {
  const { engine, handler } = setup()
  await expect(
    handler.set('k', Promise.resolve(entry({ value: erroringStream() }))),
  ).resolves.toBeUndefined()
  expect(await handler.get('k', [])).toBeUndefined()
  expect(engine.stats().sets).toBe(0)
})

test('a rejected pending entry stores nothing and set does not reject', async () => {
  const { handler } = setup()
  await expect(handler.set('k', Promise.reject(new Error('boom')))).resolves.toBeUndefined()
  expect(await handler.get('k', [])).toBeUndefined()
})

test('expire: 0 entries are not stored in production', async () => {
  const { engine, handler } = setup()
  await handler.set('k', Promise.resolve(entry({ expire: 0, revalidate: 0 })))
  expect(engine.stats().sets).toBe(0)
  expect(await handler.get('k', [])).toBeUndefined()
})

test('a store failure is a miss, logged once', async () => {
  const { engine, handler } = setup()
  await handler.set('k', Promise.resolve(entry()))
  await engine.close()
  expect(await handler.get('k', [])).toBeUndefined()
  expect(await handler.get('k', [])).toBeUndefined()
  await handler.set('k', Promise.resolve(entry()))
  expect(await handler.getExpiration(['t'])).toBe(0)
  await expect(handler.refreshTags()).resolves.toBeUndefined()
  await expect(handler.updateTags(['t'])).resolves.toBeUndefined()
  const messages = warn.mock.calls.map((c) => c[0])
  expect(messages.filter((m) => m.includes('use-cache get failed (ERR_CLOSED)'))).toHaveLength(1)
  expect(messages.some((m) => m.includes('use-cache set failed (ERR_CLOSED)'))).toBe(true)
})

test('a stale tag gives the entry with revalidate -1; an expired tag gives undefined', async () => {
  const { handler } = setup()
  await handler.set('a', Promise.resolve(entry({ tags: ['a'], timestamp: secondsAgo(1) })))
  await handler.set('b', Promise.resolve(entry({ tags: ['b'], timestamp: secondsAgo(1) })))
  await handler.updateTags(['a'], { expire: 31536000 })
  await handler.updateTags(['b'])
  const a = await handler.get('a', [])
  expect(a.revalidate).toBe(-1)
  expect(await text(a.value)).toBe('hello world')
  expect(await handler.get('b', [])).toBeUndefined()
})

test('entries past revalidate but within expire are returned (Next regenerates them)', async () => {
  const { handler } = setup()
  await handler.set(
    'k',
    Promise.resolve(entry({ revalidate: 1, expire: 100, timestamp: secondsAgo(5) })),
  )
  expect(await handler.get('k', [])).toBeDefined()
})

test('soft tags are checked in get; getExpiration reports them', async () => {
  const { handler } = setup()
  await handler.set('k', Promise.resolve(entry({ tags: [], timestamp: secondsAgo(1) })))
  await handler.updateTags(['_N_T_/blog'])
  expect(await handler.get('k', ['_N_T_/layout', '_N_T_/about'])).toBeDefined()
  expect(await handler.get('k', ['_N_T_/layout', '_N_T_/blog'])).toBeUndefined()
  const expiration = await handler.getExpiration(['_N_T_/layout', '_N_T_/blog'])
  expect(expiration).toBeGreaterThan(secondsAgo(1))
  // Next 15 passes the tags as rest arguments.
  expect(await handler.getExpiration('_N_T_/layout', '_N_T_/blog')).toBe(expiration)
})

test('one soft-tags array read many times (as in one request) is converted once', async () => {
  const { engine, handler } = setup()
  const convert = jest.spyOn(engine, 'softTags')
  await handler.set('k', Promise.resolve(entry({ tags: [], timestamp: secondsAgo(1) })))
  const implicit = ['_N_T_/layout', '_N_T_/blog']
  for (let i = 0; i < 4; i++) expect(await handler.get('k', implicit)).toBeDefined()
  expect(convert).toHaveBeenCalledTimes(1)
  await handler.updateTags(['_N_T_/blog'])
  expect(await handler.get('k', implicit)).toBeUndefined()
  expect(await handler.get('k', ['_N_T_/layout', '_N_T_/blog'])).toBeUndefined()
  convert.mockRestore()
})

test('updateTags with a tag too long for the store still applies the others', async () => {
  const { handler } = setup()
  await handler.set('k', Promise.resolve(entry({ tags: ['ok'], timestamp: secondsAgo(1) })))
  await handler.updateTags(['x'.repeat(300), 'ok'])
  expect(await handler.get('k', [])).toBeUndefined()
  expect(warn.mock.calls[0][0]).toMatch(/ERR_TAG_TOO_LONG/)
})

test('Next 15 expireTags expires now', async () => {
  const { handler } = setup()
  await handler.set('k', Promise.resolve(entry({ tags: ['a'], timestamp: secondsAgo(1) })))
  await handler.expireTags('a')
  expect(await handler.get('k', [])).toBeUndefined()
})

test('the default export is a ready handler on the shared engine', async () => {
  const handler = require('../next/use-cache')
  expect(typeof handler.get).toBe('function')
  expect(handler.default).toBe(handler)
  await handler.set('shared', Promise.resolve(entry()))
  const { sharedEngine } = require('../next/engine')
  expect((await sharedEngine().get('shared')).value.toString()).toBe('hello world')
})
