'use strict'
const { TagCache, now } = require('./helpers/engine')
const { createIncrementalCacheHandler } = require('../next/incremental')

let warn
beforeEach(() => {
  warn = jest.spyOn(console, 'warn').mockImplementation(() => {})
})
afterEach(() => warn.mockRestore())

function setup() {
  const engine = new TagCache()
  const Handler = createIncrementalCacheHandler(engine)
  return { engine, Handler, handler: new Handler({}) }
}

/** A small seeded PRNG, so a failing case can be replayed. */
function prng(seed) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

function valuesOfEveryKind(random) {
  const bytes = (n) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)))
  const text = () => random().toString(36).slice(2) + 'é✓'.repeat(Math.floor(random() * 3))
  const size = () => Math.floor(random() * 5000)
  return [
    {
      kind: 'APP_PAGE',
      html: text(),
      rscData: bytes(size()),
      headers: { 'x-next-cache-tags': 'a,_N_T_/layout', 'set-cookie': ['x=1', 'y=2'] },
      postponed: undefined,
      status: 200,
      segmentData: new Map([
        ['/_tree', bytes(size())],
        ['/_full', bytes(0)],
      ]),
    },
    {
      kind: 'APP_PAGE',
      html: '',
      rscData: undefined,
      headers: undefined,
      postponed: text(),
      status: undefined,
      segmentData: undefined,
    },
    { kind: 'APP_ROUTE', body: bytes(size()), status: 201, headers: { 'content-type': 'x/y' } },
    {
      kind: 'PAGES',
      html: text(),
      pageData: { props: { n: random(), nested: [1, null, { s: text() }] } },
      headers: undefined,
      status: 200,
    },
    {
      kind: 'FETCH',
      data: {
        headers: { a: 'b' },
        body: bytes(size()).toString('base64'),
        url: 'http://x/y',
        status: 200,
      },
      tags: ['t1', 't2'],
      revalidate: 60,
    },
    { kind: 'REDIRECT', props: { __N_REDIRECT: '/x', __N_REDIRECT_STATUS: 307 } },
    {
      kind: 'IMAGE',
      etag: text(),
      upstreamEtag: text(),
      buffer: bytes(size()),
      extension: 'webp',
      revalidate: 60,
    },
    null,
  ]
}

/** Deep equality that also checks Buffer / Map / undefined-field identity of types. */
function expectExactly(actual, expected) {
  if (Buffer.isBuffer(expected)) {
    expect(Buffer.isBuffer(actual)).toBe(true)
    expect(actual.equals(expected)).toBe(true)
  } else if (expected instanceof Map) {
    // v8.deserialize builds it in Node's realm, not jest's: check the type, not the constructor.
    expect(require('node:util').types.isMap(actual)).toBe(true)
    expect([...actual.keys()]).toEqual([...expected.keys()])
    for (const [k, v] of expected) expectExactly(actual.get(k), v)
  } else if (expected && typeof expected === 'object') {
    expect(Object.keys(actual).sort()).toEqual(Object.keys(expected).sort())
    for (const k of Object.keys(expected)) expectExactly(actual[k], expected[k])
  } else {
    expect(actual).toBe(expected)
  }
}

test('every value kind round-trips exactly (Buffers, Maps, undefined, null)', async () => {
  const { handler } = setup()
  for (let seed = 1; seed <= 20; seed++) {
    const values = valuesOfEveryKind(prng(seed))
    for (const [i, value] of values.entries()) {
      const key = `k${seed}-${i}`
      const cacheControl = { revalidate: 60, expire: 3600 }
      await handler.set(
        key,
        value,
        value && value.kind === 'FETCH' ? { fetchCache: true, tags: ['t1'] } : { cacheControl },
      )
      const got = await handler.get(key, { kind: value ? value.kind : 'APP_PAGE' })
      expect(got).not.toBeNull()
      expectExactly(got.value, value)
      expect(got.lastModified).toBeGreaterThan(now() - 10_000)
    }
  }
})

test('a hot fresh page is deserialized once; a new set or a stale hit reads the bytes again', async () => {
  const { engine, handler } = setup()
  const page = (html) => ({ kind: 'APP_PAGE', html, headers: { 'x-next-cache-tags': 't' } })
  const cacheControl = { revalidate: 60, expire: 3600 }
  await handler.set('p', page('v1'), { cacheControl })
  // The engine shares one entry object from an entry's second fresh hit on (the first
  // keeps nothing alive), and the adapter deserializes once per shared object.
  const once = await handler.get('p', { kind: 'APP_PAGE' })
  const first = await handler.get('p', { kind: 'APP_PAGE' })
  expect(first.value).toEqual(once.value)
  const again = await handler.get('p', { kind: 'APP_PAGE' })
  expect(again.value).toBe(first.value)
  expect(again).not.toBe(first)
  await handler.set('p', page('v2'), { cacheControl })
  expect((await handler.get('p', { kind: 'APP_PAGE' })).value.html).toBe('v2')
  await engine.revalidateTag('t', 'max')
  const stale = await handler.get('p', { kind: 'APP_PAGE' })
  expect(stale.value.html).toBe('v2')
  expect(stale.lastModified).toBeLessThan(now() - 60_000)
})

test('cacheControl is returned as set was given it', async () => {
  const { handler } = setup()
  const cacheControl = { revalidate: 30, expire: 600 }
  await handler.set(
    'page',
    { kind: 'APP_ROUTE', body: Buffer.from('x'), status: 200, headers: {} },
    { cacheControl },
  )
  expect((await handler.get('page', { kind: 'APP_ROUTE' })).cacheControl).toEqual(cacheControl)
})

test('the class is cheap to construct and every instance shares the engine', async () => {
  const { Handler } = setup()
  await new Handler({}).set('shared', { kind: 'REDIRECT', props: {} }, {})
  expect((await new Handler({}).get('shared', {})).value).toEqual({ kind: 'REDIRECT', props: {} })
})

describe('tags', () => {
  const fetchValue = {
    kind: 'FETCH',
    data: { headers: {}, body: 'e30=', url: 'u' },
    revalidate: 60,
  }
  const page = (tags) => ({
    kind: 'APP_PAGE',
    html: '<p>',
    rscData: Buffer.from('rsc'),
    headers: { 'x-next-cache-tags': tags },
    status: 200,
  })

  test('fetch entries are tagged from ctx.tags; an expired tag is a miss', async () => {
    const { handler } = setup()
    await handler.set('f', fetchValue, { fetchCache: true, tags: ['posts'] })
    expect(await handler.get('f', { kind: 'FETCH', tags: ['posts'] })).not.toBeNull()
    await handler.revalidateTag('posts')
    expect(await handler.get('f', { kind: 'FETCH', tags: ['posts'] })).toBeNull()
  })

  test('pages are tagged from the x-next-cache-tags header', async () => {
    const { handler } = setup()
    await handler.set('p', page('a,_N_T_/blog/layout'), { cacheControl: { revalidate: 60 } })
    await handler.revalidateTag(['_N_T_/blog/layout'])
    expect(await handler.get('p', { kind: 'APP_PAGE' })).toBeNull()
  })

  test('a soft tag from ctx.softTags expires fetch entries too', async () => {
    const { handler } = setup()
    await handler.set('f', fetchValue, { fetchCache: true, tags: [] })
    await handler.revalidateTag('_N_T_/blog')
    expect(await handler.get('f', { kind: 'FETCH', softTags: ['_N_T_/blog'] })).toBeNull()
  })

  test('a tag revalidated with a profile makes a fetch entry stale the way Next reads it', async () => {
    const { handler } = setup()
    await handler.set('f', fetchValue, { fetchCache: true, tags: ['posts'] })
    await handler.revalidateTag(['posts'], { expire: 31536000 })
    const got = await handler.get('f', { kind: 'FETCH', tags: ['posts'], revalidate: 60 })
    // Next: isStale = age > revalidate, with age = (now - lastModified) / 1000.
    expect((now() - got.lastModified) / 1000).toBeGreaterThan(60)
  })

  test('... and a page entry stale past its cacheControl.revalidate, not blocking', async () => {
    const { handler } = setup()
    await handler.set('p', page('posts'), { cacheControl: { revalidate: 300, expire: 3600 } })
    await handler.revalidateTag('posts', { expire: 100 })
    const got = await handler.get('p', { kind: 'APP_PAGE' })
    // Next: stale when lastModified + revalidate * 1000 < now; blocking only when past expire.
    expect(got.lastModified + 300 * 1000).toBeLessThan(now())
    expect(got.lastModified + 3600 * 1000).toBeGreaterThan(now())
  })

  test('a page that never revalidates by time is regenerated blocking (-1)', async () => {
    const { handler } = setup()
    await handler.set('p', page('posts'), {
      cacheControl: { revalidate: false, expire: undefined },
    })
    await handler.revalidateTag('posts', { expire: 100 })
    expect((await handler.get('p', { kind: 'APP_PAGE' })).lastModified).toBe(-1)
  })

  test('a page with a tag Next never stores (257–1024 characters) is still cached', async () => {
    const { handler } = setup()
    await handler.set('p', page(`${'x'.repeat(300)},ok,_N_T_/${'y'.repeat(900)}`), {
      cacheControl: { revalidate: 60 },
    })
    expect(await handler.get('p', { kind: 'APP_PAGE' })).not.toBeNull()
    await handler.revalidateTag(`_N_T_/${'y'.repeat(900)}`)
    expect(await handler.get('p', { kind: 'APP_PAGE' })).toBeNull()
  })

  test('revalidateTag retries tag by tag only for a bad tag, never after ERR_STORE', async () => {
    const calls = []
    const failing = (code) => {
      const engine = new TagCache()
      engine.updateTags = async (tags) => {
        calls.push(tags)
        if (tags.length > 1 || code === 'ERR_STORE') throw Object.assign(new Error(code), { code })
      }
      return engine
    }
    const Store = createIncrementalCacheHandler(failing('ERR_STORE'))
    await new Store({}).revalidateTag(['a', 'b'])
    expect(calls).toEqual([['a', 'b']])
    calls.length = 0
    const Bad = createIncrementalCacheHandler(failing('ERR_TAG_TOO_LONG'))
    await new Bad({}).revalidateTag(['a', 'b'])
    expect(calls).toEqual([['a', 'b'], ['a'], ['b']])
  })

  test('too-long tags in a header are skipped, the rest still count', async () => {
    const { handler } = setup()
    await handler.set('p', page(`${'x'.repeat(2000)},ok`), { cacheControl: { revalidate: 60 } })
    await handler.revalidateTag('ok')
    expect(await handler.get('p', { kind: 'APP_PAGE' })).toBeNull()
  })
})

test('a failure is a miss (null), logged once; set and revalidateTag never reject', async () => {
  const { engine, handler } = setup()
  await engine.close()
  expect(await handler.get('k', {})).toBeNull()
  expect(await handler.get('k', {})).toBeNull()
  await expect(handler.set('k', null, {})).resolves.toBeUndefined()
  await expect(handler.revalidateTag('t')).resolves.toBeUndefined()
  expect(() => handler.resetRequestCache()).not.toThrow()
  const getWarnings = warn.mock.calls.filter((c) => c[0].includes('incremental get failed'))
  expect(getWarnings).toHaveLength(1)
})

test('the default export is a class on the shared engine, shared with use-cache', async () => {
  const Handler = require('../next/incremental')
  expect(typeof Handler).toBe('function')
  expect(Handler.default).toBe(Handler)
  await new Handler({}).set('isr-shared', { kind: 'REDIRECT', props: { a: 1 } }, {})
  const { sharedEngine } = require('../next/engine')
  expect(await sharedEngine().get(Handler.pageKey('', 'isr-shared'))).not.toBeNull()
})

test('one revalidation reaches both handlers: the shared engine applies it to both entries', async () => {
  const Handler = require('../next/incremental')
  const useCache = require('../next/use-cache')
  const engine = require('../next/engine').sharedEngine()
  /** An ISR page and a 'use cache' entry under `key`, both tagged `tag`. */
  const store = async (key, tag) => {
    const page = { kind: 'APP_PAGE', html: '<p>', headers: { 'x-next-cache-tags': tag } }
    await new Handler({}).set(key, page, { cacheControl: { revalidate: 60, expire: 3600 } })
    await useCache.set(
      key,
      Promise.resolve({
        value: new Blob(['cached']).stream(),
        tags: [tag],
        stale: 300,
        timestamp: now() - 1000,
        expire: 3600,
        revalidate: 900,
      }),
    )
    expect(await new Handler({}).get(key, { kind: 'APP_PAGE' })).not.toBeNull()
    expect((await useCache.get(key, [])).revalidate).toBe(900)
  }
  // Through the ISR handler, with a profile: the 'use cache' entry is stale (Next serves it
  // once and regenerates it), as our store counts it.
  await store('one', 'tag-one')
  let before = engine.stats()
  await new Handler({}).revalidateTag('tag-one', { expire: 3600 })
  expect(engine.stats().tagUpdates).toBe(before.tagUpdates + 1)
  expect((await useCache.get('one', [])).revalidate).toBe(-1)
  expect(engine.stats().staleHits).toBe(before.staleHits + 1)
  // Through the 'use cache' handler, expired now: the ISR entry is a miss in our store.
  await store('two', 'tag-two')
  before = engine.stats()
  await useCache.updateTags(['tag-two'])
  expect(engine.stats().tagUpdates).toBe(before.tagUpdates + 1)
  expect(await new Handler({}).get('two', { kind: 'APP_PAGE' })).toBeNull()
  expect(engine.stats().misses).toBe(before.misses + 1)
  expect(await engine.get(Handler.pageKey('', 'two'))).toBeNull()
})
