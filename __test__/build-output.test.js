'use strict'
/**
 * `next/build-output.js` against a real `next build` of the ISR example: every kind it reads
 * must equal what Next's own FileSystemCache returns for the same key, and the ISR handler
 * answers a miss of a prerendered route from it (judged by the engine's tag rules).
 */
const fs = require('node:fs')
const fsp = require('node:fs/promises')
const path = require('node:path')
const { isrAppDir, buildApp } = require('./helpers/next-app')
const { createBuildOutput } = require('../next/build-output')
const { createIncrementalCacheHandler, pageKey } = require('../next/incremental')
const { TagCache } = require('../binding.js')

const nextDist = path.join(path.dirname(require.resolve('next/package.json')), 'dist')
const FileSystemCache = require(
  path.join(nextDist, 'server/lib/incremental-cache/file-system-cache.js'),
).default
const { nodeFs } = require(path.join(nextDist, 'server/lib/node-fs-methods.js'))
const { getRouteCacheKey } = require(path.join(nextDist, 'server/lib/route-cache-key.js'))

const appDir = path.join(__dirname, '..', '.tagcache-test', `build-output-${process.pid}`)
const serverDistDir = path.join(appDir, '.next', 'server')
const ROUTES = {
  APP_PAGE: { pathname: '/isr', sourceRoute: '/isr/page', file: 'app/isr.html' },
  APP_ROUTE: {
    pathname: '/api/cached',
    sourceRoute: '/api/cached/route',
    file: 'app/api/cached.body',
  },
  PAGES: { pathname: '/legacy', sourceRoute: '/legacy', file: 'pages/legacy.html' },
}
const keyOf = (kind) =>
  getRouteCacheKey(ROUTES[kind].pathname, { kind, sourceRoute: ROUTES[kind].sourceRoute })
let manifest

jest.setTimeout(60_000)

beforeAll(() => {
  fs.rmSync(appDir, { recursive: true, force: true })
  fs.cpSync(isrAppDir, appDir, {
    recursive: true,
    filter: (src) => !/[\\/](\.next|node_modules)$/.test(src),
  })
  buildApp({ TAGCACHE_DISK_DIR: 'off' }, appDir)
  manifest = JSON.parse(fs.readFileSync(path.join(appDir, '.next/prerender-manifest.json'), 'utf8'))
})
afterAll(() => fs.rmSync(appDir, { recursive: true, force: true }))

describe.each(Object.keys(ROUTES))('%s', (kind) => {
  const ctx = { kind, isFallback: false, isRoutePPREnabled: false }

  test("equals Next's FileSystemCache entry, with the manifest's cache control", async () => {
    const next = new FileSystemCache({
      fs: nodeFs,
      flushToDisk: false,
      serverDistDir,
      revalidatedTags: [],
    })
    const expected = await next.get(keyOf(kind), ctx)
    expect(expected).not.toBeNull()
    const entry = await createBuildOutput(serverDistDir).read(keyOf(kind), ctx)
    expect(entry.value).toStrictEqual(expected.value)
    expect(entry.lastModified).toBe(expected.lastModified)
    // The build's time: what the `.meta` recorded (Next 16.4 writes `routeCacheLastModified`,
    // a Date.now() taken before the file was written, so its mtime may be a millisecond
    // later), else the primary file's mtime.
    const primary = path.join(serverDistDir, ROUTES[kind].file)
    const metaFile = primary.replace(/\.(body|html)$/, '.meta')
    const recorded = fs.existsSync(metaFile)
      ? JSON.parse(fs.readFileSync(metaFile, 'utf8')).routeCacheLastModified
      : undefined
    expect(entry.lastModified).toBe(recorded ?? fs.statSync(primary).mtime.getTime())
    // What IncrementalCache derives from the prerender manifest for this route.
    const route = manifest.routes[ROUTES[kind].pathname]
    expect(entry.cacheControl).toEqual({
      revalidate: route.initialRevalidateSeconds,
      expire: route.initialExpireSeconds,
    })
    if (kind === 'APP_PAGE') {
      expect(entry.value.segmentData).toBeInstanceOf(Map)
      expect(entry.value.segmentData.size).toBeGreaterThan(0)
      expect(Buffer.isBuffer(entry.value.rscData)).toBe(true)
    }
    if (kind === 'APP_ROUTE') expect(Buffer.isBuffer(entry.value.body)).toBe(true)
  })

  test("tags are the .meta's x-next-cache-tags", async () => {
    const entry = await createBuildOutput(serverDistDir).read(keyOf(kind), ctx)
    const metaFile = path.join(serverDistDir, ROUTES[kind].file.replace(/\.(html|body)$/, '.meta'))
    const meta = JSON.parse(fs.readFileSync(metaFile, 'utf8'))
    const headers = entry.value.headers
    expect(headers && headers['x-next-cache-tags']).toBe(
      meta.headers && meta.headers['x-next-cache-tags'],
    )
  })

  test('a Next 14 / 15 key (the page path) reads the same files', async () => {
    const buildOutput = createBuildOutput(serverDistDir)
    const scoped = await buildOutput.read(keyOf(kind), ctx)
    expect(await buildOutput.read(ROUTES[kind].pathname, ctx)).toStrictEqual(scoped)
  })
})

test('a key the build did not prerender is null without touching the filesystem', async () => {
  const buildOutput = createBuildOutput(serverDistDir)
  await buildOutput.read(keyOf('APP_PAGE'), { kind: 'APP_PAGE' }) // manifest read once here
  const readFile = jest.spyOn(fsp, 'readFile')
  const stat = jest.spyOn(fsp, 'stat')
  try {
    const dynamicPage = getRouteCacheKey('/fetch', { kind: 'APP_PAGE', sourceRoute: '/fetch/page' })
    expect(await buildOutput.read(dynamicPage, { kind: 'APP_PAGE' })).toBeNull()
    expect(await buildOutput.read('/nope', { kind: 'APP_PAGE' })).toBeNull()
    expect(await buildOutput.read('a-fetch-cache-key', { kind: 'FETCH' })).toBeNull()
    // The right path under another kind is not this route's entry.
    expect(await buildOutput.read('/isr', { kind: 'APP_ROUTE' })).toBeNull()
    expect(readFile).not.toHaveBeenCalled()
    expect(stat).not.toHaveBeenCalled()
  } finally {
    readFile.mockRestore()
    stat.mockRestore()
  }
})

test("a scoped key whose owner is not the build file's is null, as in Next", async () => {
  const other = getRouteCacheKey('/isr', { kind: 'APP_PAGE', sourceRoute: '/(group)/isr/page' })
  expect(await createBuildOutput(serverDistDir).read(other, { kind: 'APP_PAGE' })).toBeNull()
})

/**
 * The engine, with `set(..., { ifAbsent })` emulated when the built addon predates it (the
 * emulation is not atomic; the engine's own is).
 */
function engineWithIfAbsent() {
  const engine = new TagCache()
  if (typeof engine.deleteByPrefix === 'function') return engine
  const set = engine.set.bind(engine)
  engine.set = async (key, value, { ifAbsent, ...meta }) => {
    if (ifAbsent && (await engine.get(key))) return
    return set(key, value, meta)
  }
  engine.deleteByPrefix = async () => 0
  return engine
}

describe('the ISR handler', () => {
  const saved = { phase: process.env.NEXT_PHASE, id: process.env.TAGCACHE_BUILD_ID }
  afterEach(() => {
    for (const [name, value] of [
      ['NEXT_PHASE', saved.phase],
      ['TAGCACHE_BUILD_ID', saved.id],
    ]) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
  })

  test('answers a miss from the build, stores it under the build id, and a later revalidateTag expires it', async () => {
    const engine = engineWithIfAbsent()
    const Handler = createIncrementalCacheHandler(engine)
    const handler = new Handler({ serverDistDir, dev: false })
    const key = keyOf('APP_PAGE')
    const ctx = { kind: 'APP_PAGE', isFallback: false, isRoutePPREnabled: false }
    const expected = await createBuildOutput(serverDistDir).read(key, ctx)

    const got = await handler.get(key, ctx)
    expect(got).toStrictEqual(expected)
    const buildId = fs.readFileSync(path.join(serverDistDir, '..', 'BUILD_ID'), 'utf8').trim()
    const stored = await engine.get(pageKey(buildId, key))
    expect(stored.timestamp).toBe(expected.lastModified)
    expect(stored.tags).toEqual(expected.value.headers['x-next-cache-tags'].split(','))

    // A newer entry (a regeneration) is never overwritten by the build's.
    await handler.set(
      key,
      { ...expected.value, html: 'regenerated' },
      {
        cacheControl: expected.cacheControl,
      },
    )
    expect((await new Handler({ serverDistDir }).get(key, ctx)).value.html).toBe('regenerated')

    await handler.revalidateTag('_N_T_/isr')
    expect(await handler.get(key, ctx)).toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 20))
    await engine.close()
  })

  test('not during next build, nor in dev', async () => {
    const key = keyOf('APP_ROUTE')
    process.env.NEXT_PHASE = 'phase-production-build'
    let Handler = createIncrementalCacheHandler(engineWithIfAbsent())
    expect(await new Handler({ serverDistDir }).get(key, { kind: 'APP_ROUTE' })).toBeNull()
    delete process.env.NEXT_PHASE
    Handler = createIncrementalCacheHandler(engineWithIfAbsent())
    expect(
      await new Handler({ serverDistDir, dev: true }).get(key, { kind: 'APP_ROUTE' }),
    ).toBeNull()
    Handler = createIncrementalCacheHandler(engineWithIfAbsent())
    expect(await new Handler({ serverDistDir }).get(key, { kind: 'APP_ROUTE' })).not.toBeNull()
  })

  test('TAGCACHE_BUILD_ID wins over BUILD_ID; fetch entries carry no build id', async () => {
    process.env.TAGCACHE_BUILD_ID = 'from-env'
    const engine = engineWithIfAbsent()
    const Handler = createIncrementalCacheHandler(engine)
    const handler = new Handler({ serverDistDir })
    await handler.set('/p', { kind: 'REDIRECT', props: {} }, {})
    await handler.set('f', { kind: 'FETCH', data: { body: '' }, revalidate: 60 }, { tags: [] })
    expect(await engine.get(pageKey('from-env', '/p'))).not.toBeNull()
    expect(await engine.get('fetch:f')).not.toBeNull()
    await new Promise((resolve) => setTimeout(resolve, 20))
    await engine.close()
  })
})
