'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')

test('without a binary for the platform, the error says what to do', () => {
  const result = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(path.join(__dirname, '..'))})`],
    {
      env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: path.join(__dirname, 'no-such.node') },
      encoding: 'utf8',
    },
  )
  expect(result.status).not.toBe(0)
  expect(result.stderr).toMatch(/tagcache could not load its native binary for \w+-\w+/)
  expect(result.stderr).toMatch(/NAPI_RS_NATIVE_LIBRARY_PATH/)
  expect(result.stderr).toMatch(/ERR_TAGCACHE_NO_BINARY/)
})

describe('what the binding reads from JS memory', () => {
  const { TagCache, SoftTags } = require('..')
  const now = () => performance.timeOrigin + performance.now()

  // `get` / `peek` take a SoftTags by napi-rs's class-instance conversion (napi_unwrap, then
  // the class's type tag). If that check went away, another class's instance would be read
  // as a SoftTags: garbage tags or a crash, not this.
  test('only a real SoftTags instance is read as one', async () => {
    const cache = new TagCache()
    await cache.set('k', Buffer.from('v'), { timestamp: now() - 1000 })
    await cache.revalidatePath('/blog')
    const made = cache.softTags(['_N_T_/blog'])
    expect(made).toBeInstanceOf(SoftTags)
    expect(cache.peek('k', made)).toBeNull()
    expect(await cache.get('k', made)).toBeNull()
    const others = [
      new TagCache(), // wrapped, another class's type tag
      Object.create(SoftTags.prototype), // the prototype, not wrapped
      new Proxy(made, {}), // not the wrapped object itself
      { tags: ['_N_T_/blog'] },
    ]
    for (const other of others) {
      expect(cache.peek('k', other)).not.toBeNull()
      expect(await cache.get('k', other)).not.toBeNull()
    }
    expect(() => new SoftTags()).toThrow()
  })

  test('bytes are copied from any Uint8Array view, shared memory included', async () => {
    const cache = new TagCache()
    const backing = new ArrayBuffer(16)
    new Uint8Array(backing).set([...Array(16).keys()])
    await cache.set('view', new Uint8Array(backing, 4, 3))
    expect([...cache.peek('view').value]).toEqual([4, 5, 6])
    const shared = new Uint8Array(new SharedArrayBuffer(8))
    shared.set([9, 8, 7, 6, 5, 4, 3, 2])
    await cache.set('shared', shared.subarray(2))
    expect([...cache.peek('shared').value]).toEqual([7, 6, 5, 4, 3, 2])
    await cache.set('chunks', [Buffer.from([1]), shared.subarray(0, 2), new Uint8Array(0)])
    expect([...cache.peek('chunks').value]).toEqual([1, 9, 8])
    shared[0] = 0 // the store kept a copy
    expect([...cache.peek('chunks').value]).toEqual([1, 9, 8])
  })
})

describe('entry objects', () => {
  // The binding makes them with an object literal compiled once per cache (napi_run_script):
  // they must be the plain objects napi made before, field for field.
  const script = `
    const { TagCache } = require(process.argv[1])
    const cache = new TagCache()
    const old = performance.timeOrigin + performance.now() - 5000
    ;(async () => {
      await cache.set('k', Buffer.from('v'), { tags: ['t'], revalidate: 1, timestamp: old })
      await cache.set('f', Buffer.from('w'), { tags: ['t'] })
      const shape = (e) => ({
        proto: Object.getPrototypeOf(e) === Object.prototype,
        keys: Object.keys(e),
        status: e.status,
        revalidated: e.revalidated,
        value: e.value.toString(),
        tags: e.tags,
        numbers: [e.stale, e.revalidate, e.expire].every(Number.isFinite) && e.timestamp > 0,
      })
      const stale = cache.peek('k')
      const once = await cache.get('f')
      const hot = cache.peek('f')
      console.log(JSON.stringify({ stale: shape(stale), once: shape(once), hot: shape(hot),
        frozen: Object.isFrozen(hot) && !Object.isFrozen(once), shared: cache.peek('f') === hot }))
    })()`
  const run = (flags) =>
    spawnSync(process.execPath, [...flags, '-e', script, path.join(__dirname, '..')], {
      encoding: 'utf8',
    })
  const keys = [
    'value',
    'tags',
    'stale',
    'revalidate',
    'expire',
    'timestamp',
    'status',
    'revalidated',
  ]

  test('are plain objects with every field, shared once hot', () => {
    const result = run([])
    expect(result.stderr).toBe('')
    const out = JSON.parse(result.stdout)
    const fresh = {
      proto: true,
      keys,
      status: 'fresh',
      revalidated: false,
      tags: ['t'],
      numbers: true,
    }
    expect(out.stale).toEqual({ ...fresh, status: 'stale', value: 'v' })
    expect(out.once).toEqual({ ...fresh, value: 'w' })
    expect(out.hot).toEqual({ ...fresh, value: 'w' })
    expect(out.frozen).toBe(true)
    expect(out.shared).toBe(true)
  })
})
