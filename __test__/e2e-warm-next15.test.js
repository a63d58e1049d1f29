'use strict'
/**
 * Warm starts on Next.js 15.5 (issue 10): a copy of examples/next15-app (its own Next 15
 * through a link to its node_modules, installed by `installApp`) under target/e2e-apps.
 * Next 15 keys ISR entries by page path (no `/route-cache/` owner keys) and passes no
 * `ctx.kind` to every call: the build output must still answer the first GET, and the disk
 * tier must keep fetch, 'use cache' and revalidations across a restart.
 */
const fs = require('node:fs')
const path = require('node:path')
const { next15AppDir, installApp, copyApp, buildAppAsync, startApp } = require('./helpers/next-app')
const { startUpstream } = require('./helpers/upstream')
const { client, sleep, stampOf } = require('./helpers/http')

jest.setTimeout(90_000)

let upstream
let dir
const running = new Set()
const env = () => ({ UPSTREAM_URL: upstream.url, NEXT_IGNORE_INCORRECT_LOCKFILE: '1' })

beforeAll(async () => {
  installApp(next15AppDir)
  upstream = await startUpstream()
  dir = copyApp(next15AppDir, 'warm-next15')
  await buildAppAsync(env(), dir)
}, 400_000)
afterAll(async () => {
  await Promise.all([...running].map((app) => app.stop()))
  if (upstream) await upstream.stop()
})

async function start(extra = {}) {
  const app = await startApp({ ...env(), ...extra }, dir)
  running.add(app)
  return { app, ...client(() => app) }
}
async function stop(server) {
  await server.app.terminate()
  running.delete(server.app)
}
const built = (file) => fs.readFileSync(path.join(dir, '.next', 'server', file), 'utf8')

test('in memory: the first GET of a prerendered page and of a cached route is the build output; revalidatePath then regenerates', async () => {
  const s = await start({ TAGCACHE_DISK_DIR: 'off' })
  // revalidate: 2, built more than 2 s ago: the built page is served (stale), then regenerated.
  expect(await s.stamp('/isr', 'isr')).toBe(stampOf(built('app/isr.html'), 'isr'))
  const body = built('app/api/cached.body')
  expect(await s.get('/api/cached')).toBe(body)
  const before = await s.stats()
  expect(await s.get('/api/cached')).toBe(body)
  expect((await s.stats()).hits).toBeGreaterThan(before.hits)
  await s.get('/api/revalidate-path?path=/api/cached')
  const fresh = await s.get('/api/cached')
  expect(fresh).not.toBe(body)
  expect(await s.get('/api/cached')).toBe(fresh)
  await stop(s)
})

test("restart with the disk tier: fetch and 'use cache' entries are served again; a revalidation made before it stays in force", async () => {
  const s1 = await start()
  const data = await s1.stamp('/fetch', 'upstream')
  const time = await s1.stamp('/cached', 'time')
  const pathDemo = await s1.stamp('/path-demo', 'path-demo')
  await s1.get('/api/revalidate?tag=path-demo')
  await sleep(500)
  await stop(s1)

  const s2 = await start()
  const calls = upstream.calls()
  expect(await s2.stamp('/fetch', 'upstream')).toBe(data)
  expect(await s2.stamp('/cached', 'time')).toBe(time)
  expect(upstream.calls()).toBe(calls)
  expect(await s2.stamp('/path-demo', 'path-demo')).not.toBe(pathDemo)
  const stats = await s2.stats()
  expect(stats.storeErrors).toBe(0)
  expect(s2.app.log()).not.toMatch(/\[tagcache\]|tagcache: /)
  await stop(s2)
})
