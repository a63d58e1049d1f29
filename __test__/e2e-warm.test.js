'use strict'
/**
 * Warm starts and deploys on one machine (issue 10), through real `next build` + `next
 * start` of copies of the example apps (under target/e2e-apps, so they can be rebuilt and
 * crashed without touching the examples the other e2e tests build in place).
 *
 * The pages of examples/isr-app used here call the test's upstream on every render
 * (`/render/<tag>`, outside Next's fetch cache) and read a tagged cached fetch
 * (`/data/<tag>`), so the upstream's counters show every render and every fetch:
 * - /warm/[a|b|c]: prerendered by `next build` (revalidate 3600), tags `warm`, `warm-<slug>`
 * - /warm-data/<slug>: dynamic, reads the same fetch as /warm/<slug>
 * - /load/<id>: on-demand ISR (nothing prerendered), tag `item-<id>`
 * and pages show the build they come from (`NEXT_PUBLIC_BUILD_LABEL`, inlined by the build).
 */
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const {
  appDir,
  isrAppDir,
  copyApp,
  buildAppAsync,
  startApp,
  tagcacheDirOf,
} = require('./helpers/next-app')
const { startUpstream } = require('./helpers/upstream')
const {
  client,
  sleep,
  waitForChange,
  stampOf,
  builtStamp: builtStampOf,
  staleAtMostOnce,
} = require('./helpers/http')

jest.setTimeout(90_000)

let upstream
let dir
/** Servers still running, stopped after the file whatever happens. */
const running = new Set()

beforeAll(async () => {
  upstream = await startUpstream()
  dir = copyApp(isrAppDir, 'warm')
  await buildAppAsync({ UPSTREAM_URL: upstream.url, NEXT_PUBLIC_BUILD_LABEL: 'one' }, dir)
}, 240_000)
afterAll(async () => {
  await Promise.all([...running].map((app) => app.stop()))
  if (upstream) await upstream.stop()
})

/** `next start` of `app` (default: the isr-app copy); `{ app, ...client(app) }`. */
async function start(env = {}, appPath = dir) {
  const app = await startApp({ UPSTREAM_URL: upstream.url, ...env }, appPath)
  running.add(app)
  return { app, ...client(() => app) }
}
/** Graceful stop (SIGTERM, as a restart by PM2 or a container runtime). */
async function restartStop(server) {
  await server.app.terminate()
  running.delete(server.app)
}
/** `kill -9` of the server's process group. */
async function crash(server) {
  await server.app.stop()
  running.delete(server.app)
}

const renders = (tag) => upstream.calls(`/render/${tag}`)
const fetches = (tag) => upstream.calls(`/data/${tag}`)

/** A stamp in the build output's prerendered HTML (`<serverDistDir>/<file>`). */
const builtStamp = (file, name, appPath = dir) => builtStampOf(appPath, file, name)

/** `stats()` fields the disk tier adds; asserted only where the engine reports them. */
function expectNoStoreErrors(stats, log) {
  expect(stats.storeErrors).toBe(0)
  // Every tagcache warning starts with `[tagcache]` (the disk fallback used `tagcache: `).
  expect(log).not.toMatch(/\[tagcache\]|tagcache: |malformed|corrupt/i)
}

describe('in memory (TAGCACHE_DISK_DIR=off): answered from the build output', () => {
  let s
  beforeAll(async () => {
    s = await start({ TAGCACHE_DISK_DIR: 'off' })
  }, 60_000)
  afterAll(async () => {
    if (s) await restartStop(s)
  })

  test('the first GET of a prerendered page makes no render and no fetch; it is then served from tagcache', async () => {
    const calls = upstream.calls()
    const built = builtStamp('app/warm/a.html', 'render')
    expect(await s.stamp('/warm/a', 'render')).toBe(built)
    expect(await s.stamp('/warm/a', 'data')).toBe(builtStamp('app/warm/a.html', 'data'))
    // A client navigation reads the same entry's rscData.
    expect(await s.get('/warm/a', { headers: { RSC: '1' } })).toContain(built)
    expect(upstream.calls()).toBe(calls)
    // Stored in tagcache: the next read is a hit in our store, not another file read.
    const before = await s.stats()
    if (before.diskEntries !== undefined) expect(before.diskEntries).toBe(0)
    expect(await s.stamp('/warm/a', 'render')).toBe(built)
    expect((await s.stats()).hits).toBeGreaterThan(before.hits)
    expect(upstream.calls()).toBe(calls)
  })

  test('revalidateTag of its tag then regenerates it: one render and one fetch, new content', async () => {
    const built = builtStamp('app/warm/a.html', 'render')
    const [r, f] = [renders('warm-a'), fetches('warm-a')]
    await s.get('/api/revalidate?tag=warm-a&expire=0')
    const fresh = await s.stamp('/warm/a', 'render')
    expect(fresh).not.toBe(built)
    expect(await s.stamp('/warm/a', 'render')).toBe(fresh)
    expect(renders('warm-a')).toBe(r + 1)
    expect(fetches('warm-a')).toBe(f + 1)
  })

  test("revalidateTag(tag, 'max'): the build's page is served at most once more, then the regenerated one", async () => {
    const built = builtStamp('app/warm/b.html', 'render')
    expect(await s.stamp('/warm/b', 'render')).toBe(built)
    const [r, f] = [renders('warm-b'), fetches('warm-b')]
    await s.get('/api/revalidate?tag=warm-b&profile=max')
    // The regeneration writes two entries: the page's tagged fetch, refetched, and the page.
    const { fresh } = await staleAtMostOnce({
      read: () => s.stamp('/warm/b', 'render'),
      stats: s.stats,
      old: built,
      before: await s.stats(),
      writes: 2,
    })
    expect(fresh).not.toBe(built)
    expect(await s.stamp('/warm/b', 'render')).toBe(fresh)
    // One regeneration: a second stale read would have rendered (and fetched) again.
    expect(renders('warm-b')).toBe(r + 1)
    expect(fetches('warm-b')).toBe(f + 1)
  })

  test('a revalidateTag made after the build, before the first GET, applies to the build output (its timestamp is the build time)', async () => {
    const built = builtStamp('app/warm/c.html', 'render')
    const r = renders('warm-c')
    await s.get('/api/revalidate?tag=warm-c&expire=0')
    expect(await s.stamp('/warm/c', 'render')).not.toBe(built)
    expect(renders('warm-c')).toBe(r + 1)
  })

  test('route handlers and Pages Router pages: the first GET is the build output', async () => {
    const body = fs.readFileSync(path.join(dir, '.next/server/app/api/cached.body'), 'utf8')
    expect(await s.get('/api/cached')).toBe(body)
    // revalidate: 2, built more than 2 s ago: the built page is served (stale), then regenerated.
    const legacy = builtStamp('pages/legacy.html', 'legacy')
    expect(await s.stamp('/legacy', 'legacy')).toBe(legacy)
    expect(await s.stamp('/isr', 'isr')).toBe(builtStamp('app/isr.html', 'isr'))
  })
})

describe('restart, disk tier on (the default without Redis)', () => {
  test('what the build fetched, regenerated pages, on-demand ISR pages and route handlers are served after a restart without a render; revalidations made before it stay in force', async () => {
    expect(fs.existsSync(tagcacheDirOf(dir))).toBe(true)
    const s1 = await start()
    // The build ran with the disk tier: the fetch it made for /warm/b is on disk.
    const builtData = builtStamp('app/warm/b.html', 'data')
    const f = fetches('warm-b')
    expect(await s1.stamp('/warm-data/b', 'data')).toBe(builtData)
    expect(fetches('warm-b')).toBe(f)

    // A prerendered page regenerated at run time (newer than the build output).
    await s1.get('/api/revalidate?tag=warm-c&expire=0')
    const regenerated = await s1.stamp('/warm/c', 'render')
    expect(regenerated).not.toBe(builtStamp('app/warm/c.html', 'render'))
    // On-demand ISR pages; a route handler.
    const p1 = await s1.stamp('/load/p1', 'load')
    const p2 = await s1.stamp('/load/p2', 'load')
    const p3 = await s1.stamp('/load/p3', 'load')
    const cached = await s1.get('/api/cached')
    // Revalidations before the restart, with nothing read after them.
    await s1.get('/api/revalidate?tag=item-p2&expire=0')
    await s1.get('/api/revalidate?tag=item-p3&profile=max')
    await sleep(500)
    const diskBefore = await s1.stats()
    await restartStop(s1)

    const s2 = await start()
    const calls = upstream.calls()
    expect(await s2.stamp('/warm/c', 'render')).toBe(regenerated)
    expect(await s2.stamp('/load/p1', 'load')).toBe(p1)
    expect(await s2.stamp('/warm-data/b', 'data')).toBe(builtData)
    expect(await s2.get('/api/cached')).toBe(cached)
    expect(upstream.calls()).toBe(calls)
    const stats = await s2.stats()
    if (diskBefore.diskEntries !== undefined) expect(stats.diskReads).toBeGreaterThan(0)

    // { expire: 0 } before the restart: rendered again at once.
    const r2 = renders('item-p2')
    expect(await s2.stamp('/load/p2', 'load')).not.toBe(p2)
    expect(renders('item-p2')).toBe(r2 + 1)
    // 'max' before the restart: stale, served at most once more, then regenerated.
    expect(await s2.untilChanged('/load/p3', 'load', p3)).not.toBe(p3)
    expectNoStoreErrors(await s2.stats(), s2.app.log())
    await restartStop(s2)
  })
})

describe('two `next start` processes sharing one disk directory', () => {
  let p
  let q
  beforeAll(async () => {
    ;[p, q] = await Promise.all([start(), start()])
  }, 60_000)
  afterAll(async () => {
    await Promise.all([p && restartStop(p), q && restartStop(q)])
  })

  test('an entry written through one is served by the other without a render', async () => {
    const a = await p.stamp('/load/s1', 'load')
    expect(renders('item-s1')).toBe(1)
    await sleep(300)
    const before = await q.stats()
    expect(await q.stamp('/load/s1', 'load')).toBe(a)
    expect(renders('item-s1')).toBe(1)
    const after = await q.stats()
    if (before.diskReads !== undefined) expect(after.diskReads).toBeGreaterThan(before.diskReads)
  })

  test('revalidateTag({ expire: 0 }) through one: the other renders anew on its next request, then the first serves that', async () => {
    const old = await q.stamp('/load/s1', 'load')
    expect(await p.stamp('/load/s1', 'load')).toBe(old)
    const r = renders('item-s1')
    await p.get('/api/revalidate?tag=item-s1&expire=0')
    const fresh = await q.stamp('/load/s1', 'load')
    expect(fresh).not.toBe(old)
    expect(renders('item-s1')).toBe(r + 1)
    await sleep(300)
    expect(await p.stamp('/load/s1', 'load')).toBe(fresh)
    expect(renders('item-s1')).toBe(r + 1)
  })

  test("revalidateTag(tag, 'max') through one reaches the other's fetch cache; both end on one value", async () => {
    const old = await p.stamp('/warm-data/a', 'data')
    expect(await q.stamp('/warm-data/a', 'data')).toBe(old)
    await q.get('/api/revalidate?tag=warm-a&profile=max')
    const fresh = await p.untilChanged('/warm-data/a', 'data', old)
    await sleep(300)
    expect(await waitForChange(() => q.stamp('/warm-data/a', 'data'), old)).not.toBe(old)
    let agreed = false
    for (let i = 0; i < 20 && !agreed; i++) {
      agreed = (await p.stamp('/warm-data/a', 'data')) === (await q.stamp('/warm-data/a', 'data'))
      if (!agreed) await sleep(200)
    }
    expect(agreed).toBe(true)
    expect(fresh).not.toBe(old)
  })
})

describe('kill -9 under a write load, then restart', () => {
  test('every response is correct, no entry is corrupt, the revalidations that resolved before the kill are in force', async () => {
    const k1 = await start()
    const ids = Array.from({ length: 10 }, (_, i) => `kr${i}`)
    const old = {}
    for (const id of ids) old[id] = await k1.stamp(`/load/${id}`, 'load')
    await sleep(1000) // on disk before the load starts

    const served = []
    const failures = []
    const resolved = []
    let killedAt = Infinity
    let stopping = false
    const writer = async (w) => {
      for (let n = 0; !stopping; n++) {
        const page = `/load/kw${w}x${n}`
        try {
          const res = await fetch(`${k1.app.url}${page}`)
          const body = await res.text()
          served.push({ page, status: res.status, body })
        } catch (err) {
          if (Date.now() < killedAt) failures.push(`${page}: ${err.message}`)
          return
        }
      }
    }
    // Revalidations all through the load, the last ones in flight at the kill: first the
    // pages warmed above, then pages written under load (each after its response arrived).
    const revalidator = async () => {
      for (let n = 0; !stopping; n++) {
        const written = served[n - ids.length]
        if (n >= ids.length && !written) {
          n -= 1
          await sleep(20)
          continue
        }
        const target =
          n < ids.length
            ? { page: `/load/${ids[n]}`, stamp: old[ids[n]] }
            : { page: written.page, stamp: stampOf(written.body, 'load') }
        try {
          const res = await fetch(
            `${k1.app.url}/api/revalidate?tag=item-${target.page.slice(6)}&expire=0`,
          )
          await res.text()
          if (res.status === 200) resolved.push(target)
          else failures.push(`revalidate ${target.page}: ${res.status}`)
        } catch (err) {
          if (Date.now() < killedAt) failures.push(`revalidate ${target.page}: ${err.message}`)
          return
        }
        await sleep(40)
      }
    }
    const load = [...Array.from({ length: 6 }, (_, w) => writer(w)), revalidator()]
    await sleep(2000)
    killedAt = Date.now()
    const log1 = k1.app.log()
    await crash(k1)
    stopping = true
    await Promise.all(load)

    // Before the kill: every response whole.
    expect(failures).toEqual([])
    expect(served.length).toBeGreaterThan(20)
    for (const { page, status, body } of served) {
      expect([page, status]).toEqual([page, 200])
      expect(stampOf(body, 'load').startsWith(`${page.slice(6)}|`)).toBe(true)
    }
    expect(resolved.length).toBeGreaterThan(ids.length)
    expect(log1).not.toMatch(/\[tagcache\]/)

    const k2 = await start()
    // The tag state is whole: each revalidation that resolved is in force.
    for (const { page, stamp } of resolved) {
      expect([page, await k2.stamp(page, 'load')]).not.toEqual([page, stamp])
    }
    // The others are served (old or new), never broken.
    for (const id of ids.filter((i) => !resolved.some((r) => r.page === `/load/${i}`))) {
      expect((await k2.stamp(`/load/${id}`, 'load')).startsWith(`${id}|`)).toBe(true)
    }
    // Every page written under load is served whole: the same render (from disk) or a new one.
    let kept = 0
    const queue = [...served]
    await Promise.all(
      Array.from({ length: 6 }, async () => {
        for (let item = queue.shift(); item; item = queue.shift()) {
          const id = item.page.slice(6)
          const html = await k2.get(item.page)
          expect(html).toContain('</html>')
          const now = stampOf(html, 'load')
          expect(now.startsWith(`${id}|`)).toBe(true)
          expect(stampOf(html, 'build')).toBe('one')
          if (now === stampOf(item.body, 'load')) kept += 1
        }
      }),
    )
    // Written well before the kill, some made it to disk.
    expect(kept).toBeGreaterThan(0)
    for (const { page } of served.slice(0, 10)) {
      expect(await k2.get(page, { headers: { RSC: '1' } })).toContain(`${page.slice(6)}|`)
    }
    expectNoStoreErrors(await k2.stats(), k2.app.log())
    const db = path.join(tagcacheDirOf(dir), 'tagcache.sqlite')
    const sqlite = spawnSync('sqlite3', [db, 'PRAGMA integrity_check'], { encoding: 'utf8' })
    if (!sqlite.error && fs.existsSync(db)) expect(sqlite.stdout.trim()).toBe('ok')
    await restartStop(k2)
  })
})

describe('a new build over the same directory (a deploy on one machine)', () => {
  test('the fetch cache is kept (not refetched), the old build’s pages are not served, the new build output is', async () => {
    const s1 = await start()
    const data = await s1.stamp('/warm-data/a', 'data')
    expect(await s1.stamp('/load/d1', 'build')).toBe('one')
    await sleep(500)
    await restartStop(s1)

    const f = fetches('warm-a')
    await buildAppAsync({ UPSTREAM_URL: upstream.url, NEXT_PUBLIC_BUILD_LABEL: 'two' }, dir, {
      keepCache: true,
    })
    // The new build read the shared fetch from the disk tier instead of the upstream.
    expect(fetches('warm-a')).toBe(f)
    expect(builtStamp('app/warm/a.html', 'data')).toBe(data)

    const s2 = await start()
    const calls = upstream.calls()
    expect(await s2.stamp('/warm-data/a', 'data')).toBe(data)
    expect(await s2.stamp('/warm/a', 'build')).toBe('two')
    expect(await s2.stamp('/warm/a', 'render')).toBe(builtStamp('app/warm/a.html', 'render'))
    expect(upstream.calls()).toBe(calls)
    // Build one's on-demand page is rendered again by build two.
    const r = renders('item-d1')
    expect(await s2.stamp('/load/d1', 'build')).toBe('two')
    expect(renders('item-d1')).toBe(r + 1)
    expectNoStoreErrors(await s2.stats(), s2.app.log())
    await restartStop(s2)
  })
})

describe("restart with 'use cache' (examples/next-app, cacheComponents)", () => {
  let useCacheDir
  beforeAll(async () => {
    useCacheDir = copyApp(appDir, 'warm-use-cache')
    await buildAppAsync({}, useCacheDir)
  }, 240_000)

  test("'use cache' entries are served after a restart; a revalidation made before it stays in force", async () => {
    const s1 = await start({}, useCacheDir)
    const time = await s1.stamp('/', 'time')
    const notes = await s1.stamp('/notes', 'notes')
    const pathDemo = await s1.stamp('/path-demo', 'path-demo')
    expect(await s1.stamp('/', 'time')).toBe(time)
    await s1.get('/api/revalidate?tag=notes&expire=0')
    await s1.get('/api/revalidate?tag=path-demo&profile=max')
    await sleep(500)
    await restartStop(s1)

    const s2 = await start({}, useCacheDir)
    expect(await s2.stamp('/', 'time')).toBe(time)
    expect(await s2.stamp('/notes', 'notes')).not.toBe(notes)
    // 'max' (revalidate after 30 days): only the revalidation can make it change.
    expect(await s2.untilChanged('/path-demo', 'path-demo', pathDemo)).not.toBe(pathDemo)
    expectNoStoreErrors(await s2.stats(), s2.app.log())
    await restartStop(s2)
  })
})
