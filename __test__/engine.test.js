'use strict'
const { TagCache, rejection, thrown, now, secondsAgo } = require('./helpers/engine')
const { describeSemantics } = require('./helpers/semantics')

const INFINITE_CACHE = 4294967294
const value = (text = 'v') => Buffer.from(text)

describe('cacheLife profiles', () => {
  test('the seven built-in profiles are those of Next 16.4, in seconds', () => {
    const cache = new TagCache()
    expect(cache.resolveProfile('default')).toEqual({
      stale: 300,
      revalidate: 900,
      expire: INFINITE_CACHE,
    })
    expect(cache.resolveProfile('seconds')).toEqual({ stale: 30, revalidate: 1, expire: 60 })
    expect(cache.resolveProfile('minutes')).toEqual({ stale: 300, revalidate: 60, expire: 3600 })
    expect(cache.resolveProfile('hours')).toEqual({ stale: 300, revalidate: 3600, expire: 86400 })
    expect(cache.resolveProfile('days')).toEqual({ stale: 300, revalidate: 86400, expire: 604800 })
    expect(cache.resolveProfile('weeks')).toEqual({
      stale: 300,
      revalidate: 604800,
      expire: 2592000,
    })
    expect(cache.resolveProfile('max')).toEqual({
      stale: 300,
      revalidate: 2592000,
      expire: 31536000,
    })
  })

  test('custom profiles replace built-ins, inherit from default, store Infinity as never', () => {
    const cache = new TagCache({
      cacheLife: {
        hours: { revalidate: 10 },
        blog: { stale: 5, revalidate: 60, expire: Infinity },
      },
    })
    expect(cache.resolveProfile('hours')).toEqual({
      stale: 300,
      revalidate: 10,
      expire: INFINITE_CACHE,
    })
    expect(cache.resolveProfile('blog')).toEqual({
      stale: 5,
      revalidate: 60,
      expire: INFINITE_CACHE,
    })
    expect(cache.resolveProfile({ revalidate: 1, expire: 2 })).toEqual({
      stale: 300,
      revalidate: 1,
      expire: 2,
    })
  })

  test('only fields written together are checked against each other, as in Next', () => {
    // The filled-in revalidate (900) is larger than the written expire: Next accepts this.
    const cache = new TagCache({ cacheLife: { blog: { expire: 120 }, default: { expire: 0 } } })
    expect(cache.resolveProfile('blog')).toEqual({ stale: 300, revalidate: 900, expire: 120 })
    expect(cache.resolveProfile('default')).toEqual({ stale: 300, revalidate: 900, expire: 0 })
  })

  test('a custom default is what other profiles inherit', () => {
    const cache = new TagCache({
      cacheLife: { default: { expire: 1000 }, short: { revalidate: 5 } },
    })
    expect(cache.resolveProfile('short')).toEqual({ stale: 300, revalidate: 5, expire: 1000 })
  })

  test.each([
    [{ blog: { expire: false } }, /cacheLife\.blog\.expire .*Infinity instead of false/],
    [{ blog: { stale: -1 } }, /cacheLife\.blog\.stale must be zero or more/],
    [{ blog: { revalidate: NaN } }, /cacheLife\.blog\.revalidate .*NaN/],
    [{ blog: { revalidate: '60' } }, /cacheLife\.blog\.revalidate .*"60"/],
    [
      { blog: { revalidate: 100, expire: 10 } },
      /cacheLife\.blog: expire \(10\) .*revalidate \(100\)/,
    ],
    [{ blog: 60 }, /cacheLife\.blog must be an object/],
    [{ blog: { expires: 60 } }, /unknown field "expires"/],
  ])('invalid cacheLife %p throws ERR_INVALID_CACHE_LIFE', (cacheLife, message) => {
    const err = thrown(() => new TagCache({ cacheLife }))
    expect(err.code).toBe('ERR_INVALID_CACHE_LIFE')
    expect(err.message).toMatch(message)
  })

  test('an unknown profile name is ERR_UNKNOWN_PROFILE naming it', () => {
    const err = thrown(() => new TagCache().resolveProfile('hourly'))
    expect(err.code).toBe('ERR_UNKNOWN_PROFILE')
    expect(err.message).toMatch(/"hourly"/)
  })
})

describe('get and set', () => {
  // The round trip (bytes, tags, timings, exact float timestamp) is describeSemantics('memory').
  test('explicit timings inherit missing fields from default; no meta means default', async () => {
    const cache = new TagCache()
    await cache.set('a', value(), { revalidate: 5 })
    expect(await cache.get('a')).toMatchObject({
      stale: 300,
      revalidate: 5,
      expire: INFINITE_CACHE,
    })
    await cache.set('b', value())
    expect(await cache.get('b')).toMatchObject({
      stale: 300,
      revalidate: 900,
      expire: INFINITE_CACHE,
    })
    await cache.set('c', value(), { profile: { revalidate: 1, expire: 2 } })
    expect(await cache.get('c')).toMatchObject({ revalidate: 1, expire: 2 })
  })

  test('explicit timings are stored as given, even revalidate > expire (Next writes those)', async () => {
    const cache = new TagCache()
    await cache.set('k', value(), { stale: 300, revalidate: 900, expire: 600 })
    expect(await cache.get('k')).toMatchObject({ revalidate: 900, expire: 600 })
  })

  test('the store keeps its own copy; chunks are joined; a hot entry returns one Buffer', async () => {
    const cache = new TagCache()
    const own = Buffer.alloc(10_000, 1)
    const pooled = Buffer.from('small') // a view into Node's shared 8 KiB pool
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.byteLength)
    await cache.set('own', own)
    await cache.set('pooled', pooled)
    await cache.set('chunks', [Buffer.from('ab'), new Uint8Array([99]), Buffer.alloc(0)])
    own.fill(2) // the caller may reuse what it gave
    const hit = (await cache.get('own')).value
    expect(hit).not.toBe(own)
    expect(hit.equals(Buffer.alloc(10_000, 1))).toBe(true)
    const once = (await cache.get('pooled')).value
    expect(once.toString()).toBe('small')
    expect(once.buffer.byteLength).toBe(5)
    // From the second fresh hit on, the entry is hot: one object, one Buffer.
    const copy = (await cache.get('pooled')).value
    expect(copy).not.toBe(once)
    expect(copy.toString()).toBe('small')
    expect((await cache.get('pooled')).value).toBe(copy)
    expect((await cache.get('chunks')).value.toString()).toBe('abc')
    expect(cache.stats().bytes).toBe(3 + 10_000 + 96 + 6 + 5 + 96 + 6 + 3 + 96)
    const bad = await rejection(cache.set('k', [Buffer.from('a'), 'b']))
    expect(bad.code).toBe('ERR_INVALID_OPTIONS')
    expect(bad.message).toMatch(/a Buffer, a Uint8Array or an array of them, got array/)
  })

  test('a chunk getter that detaches an earlier chunk cannot change what is stored', async () => {
    const cache = new TagCache()
    const first = new Uint8Array(4096).fill(1)
    const chunks = [first, null]
    Object.defineProperty(chunks, 1, {
      get() {
        // Moves the first chunk's memory to another ArrayBuffer and overwrites it.
        const moved = structuredClone(first.buffer, { transfer: [first.buffer] })
        new Uint8Array(moved).fill(9)
        return Buffer.from('z')
      },
    })
    await cache.set('k', chunks)
    const stored = (await cache.get('k')).value
    expect(stored.length).toBe(4097)
    expect(stored.subarray(0, 4096).every((b) => b === 1)).toBe(true)
  })

  test('peek answers synchronously: the entry, or null; it counts like get', async () => {
    const cache = new TagCache()
    await cache.set('k', value('x'), { tags: ['t'] })
    expect(cache.peek('k').value.toString()).toBe('x')
    expect(cache.peek('nope')).toBeNull()
    await cache.updateTag('t')
    expect(cache.peek('k', ['_N_T_/'])).toBeNull()
    expect(cache.stats()).toMatchObject({ hits: 1, misses: 2 })
    expect(() => cache.peek(42)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }))
  })

  test('fresh hits of a hot entry share one frozen object; stale hits get their own', async () => {
    const cache = new TagCache()
    await cache.set('k', value('x'), { tags: ['t'], revalidate: 900 })
    // An entry read once keeps no JS objects: its first hit's object is its own.
    const once = cache.peek('k')
    expect(Object.isFrozen(once)).toBe(false)
    const first = cache.peek('k')
    expect(first).not.toBe(once)
    expect(first).toEqual(once)
    expect(await cache.get('k')).toBe(first)
    expect(cache.peek('k', ['_N_T_/'])).toBe(first)
    expect(Object.isFrozen(first) && Object.isFrozen(first.tags)).toBe(true)
    expect(() => {
      'use strict'
      first.tags.push('u')
    }).toThrow(/not extensible/)
    await cache.revalidateTag('t', 'max')
    const stale = cache.peek('k')
    expect(stale).not.toBe(first)
    expect(stale).toMatchObject({ status: 'stale', revalidated: true, tags: ['t'] })
    expect(stale.value).toBe(first.value)
    // A new set is a new entry with a new object.
    await cache.set('k', value('y'), { tags: ['t'] })
    expect(cache.peek('k').value.toString()).toBe('y')
  })

  test('setNextEntry stores what set stores, with the same errors', async () => {
    const cache = new TagCache()
    const timestamp = now() - 0.5
    await cache.setNextEntry('a', [Buffer.from('v')], ['t'], 30, 60, 600, timestamp)
    await cache.set('b', Buffer.from('v'), {
      tags: ['t'],
      stale: 30,
      revalidate: 60,
      expire: 600,
      timestamp,
    })
    const { value: _a, ...a } = await cache.get('a')
    const { value: _b, ...b } = await cache.get('b')
    expect(a).toEqual(b)
    expect(a).toMatchObject({ tags: ['t'], stale: 30, revalidate: 60, expire: 600, timestamp })
    const badTag = await rejection(cache.setNextEntry('c', Buffer.from('v'), [''], 30, 60, 600, 1))
    expect(badTag.code).toBe('ERR_INVALID_TAG')
    const badTime = await rejection(cache.setNextEntry('c', Buffer.from('v'), [], '30', 60, 600, 1))
    expect(badTime).toMatchObject({ code: 'ERR_INVALID_CACHE_LIFE' })
    expect(badTime.message).toMatch(/meta\.stale/)
    expect(cache.peek('c')).toBeNull()
  })

  test('softTags: converted once, read like the array it was made from', async () => {
    const cache = new TagCache()
    await cache.set('k', value('x'), { timestamp: now() - 1000 })
    const implicit = ['_N_T_/layout', '', 42, '_N_T_/blog']
    const made = cache.softTags(implicit)
    cache.peek('k') // the second hit on makes the entry hot: one object
    expect(cache.peek('k', made)).toBe(cache.peek('k', implicit))
    await cache.revalidatePath('/blog')
    expect(cache.peek('k', implicit)).toBeNull()
    expect(cache.peek('k', made)).toBeNull()
    expect(await cache.get('k', made)).toBeNull()
    // Another engine's object or a plain object is not a SoftTags: no soft tags, as before.
    await cache.set('k2', value('y'), { timestamp: now() - 1000 })
    expect(cache.peek('k2', {})).not.toBeNull()
    expect(cache.peek('k2', new TagCache())).not.toBeNull()
    expect(cache.peek('k2', made)).toBeNull()
  })

  test("an entry expired only by one page's soft tags still serves another page", async () => {
    const cache = new TagCache()
    await cache.set('shared', value('x'), { tags: ['t'], timestamp: now() - 1000 })
    await cache.revalidatePath('/blog')
    expect(cache.peek('shared', ['_N_T_/layout', '_N_T_/blog'])).toBeNull()
    expect(cache.peek('shared', ['_N_T_/layout', '_N_T_/about'])).not.toBeNull()
    expect(cache.stats().entries).toBe(1)
    // Expired by its own tag, it is a miss for every page.
    await cache.updateTag('t')
    expect(cache.peek('shared', ['_N_T_/layout', '_N_T_/about'])).toBeNull()
    // Kept, as Next keeps it: a revalidation with a profile moves the tag's expiry into the
    // future, and then Next serves the entry stale again.
    await cache.revalidateTag('t', 'max')
    expect(cache.peek('shared', ['_N_T_/layout', '_N_T_/about']).status).toBe('stale')
  })

  test("revalidateTag reads a profile's expire as Next does: as written, '' is none", async () => {
    const cache = new TagCache({ cacheLife: { editorial: { revalidate: 60 } } })
    await cache.set('a', value(), { tags: ['a'], timestamp: now() - 1000 })
    await cache.set('b', value(), { tags: ['b'], timestamp: now() - 1000 })
    // A custom profile without `expire`: the tag goes stale, never expired.
    await cache.revalidateTag('a', 'editorial')
    expect(await cache.getExpiration(['a'])).toBe(0)
    expect(cache.peek('a').status).toBe('stale')
    // '' is no profile (expired now); revalidate above expire is rejected, as in Next.
    await cache.revalidateTag('b', '')
    expect(cache.peek('b')).toBeNull()
    const err = await rejection(cache.revalidateTag('b', { revalidate: 10, expire: 5 }))
    expect(err.code).toBe('ERR_INVALID_CACHE_LIFE')
    expect((await cache.revalidatePath('/x', '')).length).toBeGreaterThan(0)
  })

  test('an entry past its own expire is dropped on the read that finds it', async () => {
    const cache = new TagCache()
    await cache.set('old', value('x'), { revalidate: 1, expire: 2, timestamp: now() - 3000 })
    expect(cache.stats().entries).toBe(1)
    expect(cache.peek('old')).toBeNull()
    expect(cache.stats().entries).toBe(0)
  })

  test('a Uint8Array is accepted as a value', async () => {
    const cache = new TagCache()
    await cache.set('u8', new Uint8Array([1, 2, 3]))
    expect([...(await cache.get('u8')).value]).toEqual([1, 2, 3])
  })
})

test('tagStates: what revalidateTag and updateTag did to each tag, in ms', async () => {
  const cache = new TagCache()
  const before = now()
  await cache.revalidateTag('a', 'max')
  await cache.updateTag('b')
  const [a, b, c] = cache.tagStates(['a', 'b', 'c'])
  expect(a.tag).toBe('a')
  expect(a.stale).toBeGreaterThanOrEqual(before)
  expect(a.expired - a.stale).toBeCloseTo(31536000 * 1000, -3) // 'max': a year later
  expect(b).toEqual({ tag: 'b', expired: expect.any(Number) })
  expect(c).toEqual({ tag: 'c' })
})

test('metrics(): Prometheus text with get results, counters, gauges and latencies', async () => {
  const cache = new TagCache()
  await cache.set('k', Buffer.from('v'), { tags: ['t'] })
  await cache.get('k')
  await cache.get('missing')
  await cache.revalidateTag('t', 'max')
  await cache.get('k') // stale
  const text = cache.metrics()
  expect(text).toContain('# TYPE tagcache_gets_total counter\n')
  expect(text).toContain('tagcache_gets_total{result="hit"} 1\n')
  expect(text).toContain('tagcache_gets_total{result="stale"} 1\n')
  expect(text).toContain('tagcache_gets_total{result="miss"} 1\n')
  expect(text).toContain('tagcache_sets_total 1\n')
  expect(text).toContain('tagcache_tag_updates_total 1\n')
  expect(text).toContain('tagcache_entries 1\n')
  expect(text).toContain('# TYPE tagcache_operation_duration_seconds histogram\n')
  expect(text).toContain(
    'tagcache_operation_duration_seconds_count{op="tag_update",tier="memory"} 1\n',
  )
  // In-process gets are counted above, not timed (a hit must not pay for two clock reads).
  expect(text).not.toContain('op="get",tier="memory"')
  expect(text).toMatch(
    /tagcache_operation_duration_seconds_bucket\{op="set",tier="memory",le="\+Inf"\} 1\n/,
  )
  // Every sample line parses as `name{labels} number`.
  for (const line of text.split('\n').filter((l) => l && !l.startsWith('#'))) {
    expect(line).toMatch(/^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$/)
  }
})

describeSemantics('memory', async (options) => {
  const cache = new TagCache(options)
  return { writer: cache, reader: cache, sync: async () => {} }
})

describe('revalidatePath arguments', () => {
  test('a path over 1024 characters is ERR_TAG_TOO_LONG; up to 1024 is fine', async () => {
    const cache = new TagCache()
    const path = '/' + 'a'.repeat(1023)
    expect(await cache.revalidatePath(path, 'layout')).toEqual([`_N_T_${path}/layout`])
    expect((await rejection(cache.revalidatePath(path + 'a'))).code).toBe('ERR_TAG_TOO_LONG')
  })

  test('long soft tags (long URLs) do not break a get', async () => {
    const cache = new TagCache()
    await cache.set('k', value())
    const long = `_N_T_/${'a'.repeat(2000)}`
    expect(await cache.get('k', ['_N_T_/layout', long])).not.toBeNull()
    expect(await cache.getExpiration([long, 42])).toBe(0)
  })

  test('expires the implicit tags Next derives, with the / and /index twin', async () => {
    const cache = new TagCache()
    expect(await cache.revalidatePath('/')).toEqual(['_N_T_/', '_N_T_/index'])
    expect(await cache.revalidatePath('/index')).toEqual(['_N_T_/index', '_N_T_/'])
    expect(await cache.revalidatePath('/blog/')).toEqual(['_N_T_/blog'])
    expect(await cache.revalidatePath('/blog', 'layout')).toEqual(['_N_T_/blog/layout'])
    expect(await cache.revalidatePath('/', 'page')).toEqual(['_N_T_/page'])
    const err = await rejection(cache.revalidatePath('/blog', 'pages'))
    expect(err.code).toBe('ERR_INVALID_OPTIONS')
  })
})

describe('the memory store is bounded in bytes, least recently used first', () => {
  test('evicts the least recently used entries and stays under the bound', async () => {
    // Each entry costs key (2) + value (1000) + tags (0) + 96 bytes of overhead.
    const cache = new TagCache({ maxMemoryBytes: 3 * 1098 })
    for (const k of ['k0', 'k1', 'k2']) await cache.set(k, Buffer.alloc(1000))
    expect(cache.stats()).toMatchObject({ entries: 3, bytes: 3294, evictions: 0 })
    await cache.get('k0') // k1 is now the least recently used
    await cache.set('k3', Buffer.alloc(1000))
    expect(await cache.get('k1')).toBeNull()
    for (const k of ['k0', 'k2', 'k3']) expect(await cache.get(k)).not.toBeNull()
    await cache.set('k4', Buffer.alloc(2000))
    const stats = cache.stats()
    expect(stats.evictions).toBe(3)
    expect(stats.bytes).toBeLessThanOrEqual(3 * 1098)
  })

  test('a value that can never fit is ERR_VALUE_TOO_LARGE and evicts nothing else', async () => {
    const cache = new TagCache({ maxMemoryBytes: 1000 })
    await cache.set('small', Buffer.alloc(10))
    await cache.set('big', Buffer.alloc(10))
    const err = await rejection(cache.set('big', Buffer.alloc(1000)))
    expect(err.code).toBe('ERR_VALUE_TOO_LARGE')
    expect(err.message).toMatch(/maxMemoryBytes \(1000\)/)
    expect(await cache.get('small')).not.toBeNull()
    // The older value of the key it meant to replace is not served any more.
    expect(await cache.get('big')).toBeNull()
  })
})

describe('every error code, with the input that triggers it', () => {
  const cache = new TagCache()

  test.each([
    ['ERR_INVALID_TAG', () => cache.set('k', value(), { tags: ['ok', 42] }), /meta\.tags\[1\]/],
    ['ERR_INVALID_TAG', () => cache.revalidateTag(''), /non-empty/],
    ['ERR_INVALID_TAG', () => cache.revalidateTag(null), /string or an array/],
    ['ERR_TAG_TOO_LONG', () => cache.revalidateTag('x'.repeat(257)), /257 characters/],
    ['ERR_TAG_TOO_LONG', () => cache.set('k', value(), { tags: ['x'.repeat(300)] }), /300/],
    ['ERR_UNKNOWN_PROFILE', () => cache.set('k', value(), { profile: 'hourly' }), /"hourly"/],
    ['ERR_UNKNOWN_PROFILE', () => cache.revalidateTag('t', 'hourly'), /"hourly"/],
    ['ERR_INVALID_CACHE_LIFE', () => cache.set('k', value(), { expire: -1 }), /meta\.expire/],
    ['ERR_INVALID_CACHE_LIFE', () => cache.revalidateTag('t', { expire: NaN }), /expire/],
    [
      'ERR_INVALID_CACHE_LIFE',
      () => cache.set('k', value(), { profile: { revalidate: 10, expire: 5 } }),
      /profile: expire \(5\)/,
    ],
    ['ERR_INVALID_OPTIONS', () => cache.set('k', 'not a buffer'), /value must be a Buffer/],
    ['ERR_INVALID_OPTIONS', () => cache.set('k', new Float64Array(2)), /value must be a Buffer/],
    ['ERR_INVALID_OPTIONS', () => cache.set(42, value()), /key must be a string, got 42/],
    ['ERR_INVALID_OPTIONS', () => cache.get({}), /key must be a string/],
    ['ERR_INVALID_OPTIONS', () => cache.set('k', value(), { tag: ['a'] }), /unknown field "tag"/],
    [
      'ERR_INVALID_OPTIONS',
      () => cache.set('k', value(), { profile: 'hours', revalidate: 1 }),
      /either profile or/,
    ],
    ['ERR_INVALID_OPTIONS', () => cache.set('k', value(), { timestamp: 'now' }), /timestamp/],
  ])('%s from %p', async (code, call, message) => {
    const err = await rejection(call())
    expect(require('node:util').types.isNativeError(err)).toBe(true)
    expect(err.code).toBe(code)
    expect(err.message).toMatch(message)
  })

  test.each([
    [{ maxMemory: 1 }, /unknown option "maxMemory"/],
    [{ maxMemoryBytes: -1 }, /maxMemoryBytes/],
    [{ maxMemoryBytes: '64mb' }, /"64mb"/],
    [{ keyPrefix: 1 }, /keyPrefix/],
    [{ redisUrl: 'http://user:secret@host' }, /^redisUrl http:\/\/host is not a valid Redis URL/],
    [{ redisUrl: 6379 }, /redisUrl must be/],
    [{ redisCluster: [] }, /redisCluster must be/],
    [{ timeoutMs: 0 }, /timeoutMs/],
    // Every numeric option names its bound; none of these may panic (1e30 once did).
    [{ timeoutMs: 1e30 }, /timeoutMs .*≤ 2147483647/],
    [{ timeoutMs: Infinity }, /timeoutMs/],
    [{ timeoutMs: NaN }, /timeoutMs/],
    [{ localTtlMs: 1e30 }, /localTtlMs .*to 2147483647/],
    [{ localTtlMs: -0.5 }, /localTtlMs/],
    [{ maxMemoryBytes: 1e30 }, /maxMemoryBytes .*to 9007199254740991/],
    [{ maxMemoryBytes: 1.5 }, /maxMemoryBytes/],
    [{ maxDiskBytes: 1e30 }, /maxDiskBytes .*to 9007199254740991/],
    [{ maxDiskBytes: 1024 }, /maxDiskBytes .*1048576/],
    ['fast', /options must be an object/],
  ])('ERR_INVALID_OPTIONS from new TagCache(%p)', (options, message) => {
    const err = thrown(() => new TagCache(options))
    expect(err.code).toBe('ERR_INVALID_OPTIONS')
    expect(err.message).toMatch(message)
  })

  test('ERR_VALUE_TOO_LARGE from a value over maxMemoryBytes', async () => {
    const small = new TagCache({ maxMemoryBytes: 100 })
    expect((await rejection(small.set('k', Buffer.alloc(100)))).code).toBe('ERR_VALUE_TOO_LARGE')
  })

  test('ERR_CLOSED from any call after close()', async () => {
    const closed = new TagCache()
    await closed.set('k', value())
    await closed.close()
    await closed.close()
    for (const call of [
      () => closed.get('k'),
      () => closed.set('k', value()),
      () => closed.delete('k'),
      () => closed.revalidateTag('t', 'max'),
      () => closed.updateTag('t'),
      () => closed.revalidatePath('/'),
      () => closed.updateTags(['t']),
      () => closed.getExpiration(['t']),
      () => closed.refreshTags(),
    ]) {
      expect((await rejection(call())).code).toBe('ERR_CLOSED')
    }
  })

  test('garbage never crashes the process', async () => {
    const weird = [
      undefined,
      null,
      Symbol('s'),
      () => 1,
      10n,
      { a: { b: { c: { d: { e: { f: { g: { h: { i: {} } } } } } } } } },
      new Map(),
      [[[[]]]],
      Object.assign([], { length: 2 ** 32 - 1 }), // a sparse array nobody can allocate
      Object.assign([], { length: 5 }),
      NaN,
    ]
    for (const w of weird) {
      for (const call of [
        () => cache.get(w, w),
        () => cache.set(w, w, w),
        () => cache.set('k', value(), w),
        () => cache.revalidateTag(w, w),
        () => cache.updateTags(w, w),
        () => cache.revalidatePath(w, w),
        () => cache.getExpiration(w),
      ]) {
        const outcome = await Promise.resolve()
          .then(call)
          .then(
            () => 'ok',
            (err) => err.code,
          )
        expect(outcome === 'ok' || outcome.startsWith('ERR_')).toBe(true)
      }
    }
    expect(() => new TagCache(Symbol('x'))).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTIONS' }),
    )
  })
})

describe('stats', () => {
  test('counts hits, misses, stale hits, sets, tag updates and bytes', async () => {
    const cache = new TagCache()
    await cache.set('k', Buffer.alloc(10), { tags: ['t'], timestamp: secondsAgo(1) })
    await cache.get('k')
    await cache.get('nope')
    await cache.revalidateTag(['t', 'u'], 'max')
    await cache.get('k')
    expect(cache.stats()).toEqual({
      hits: 2,
      misses: 1,
      staleHits: 1,
      sets: 1,
      evictions: 0,
      tagUpdates: 2,
      entries: 1,
      bytes: 1 + 10 + 1 + 96,
      storeErrors: 0,
      sharedReads: 0,
      diskReads: 0,
      diskEntries: 0,
      diskBytes: 0,
    })
  })
})
