'use strict'
/**
 * End to end (issue #6): `next start` of examples/next-app under autocannon, for two pages
 * (see PAGES): the example's `/` (one small 'use cache' value inside a dynamic Suspense
 * hole, so every request calls the 'use cache' handler; its time is React's render) and
 * `/bench-reads`, a page added to the copies (benchmark/fixtures/e2e/pages/), whose dynamic
 * hole reads 20 distinct 'use cache' values of 4–16 KiB, so that a request's time is mostly
 * cache reads. Each
 * configuration is a copy of the app in benchmark/.work/ (the example's own files are never
 * touched), built once with the repository's `next` and started on a free loopback port, one
 * server at a time, stopped by pid:
 *
 * - tagcache (memory): the app as it is (its next.config.js uses withTagCache);
 * - Next built-in (memory): the same app with a next.config.js without withTagCache;
 * - tagcache (Redis): the first build, started with TAGCACHE_REDIS_URL / TAGCACHE_KEY_PREFIX;
 * - trieb (Redis): a copy whose `cacheHandlers.default` is trieb's 'use cache' handler, built
 *   as benchmark/lib/contenders.js builds it;
 * - with in-process copies off (issue #13), every get reading Redis: tagcache (Redis,
 *   `localTtlMs: 0`, a copy with benchmark/fixtures/e2e/nolocal/next.config.js) and trieb
 *   (`redisGetDeduplication: false`, the trieb build started with BENCH_TRIEB_NO_DEDUP=1).
 */
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { freePort } = require('../../__test__/helpers/ports')
const redisLib = require('./redis')
const { killChild, stopGracefully, tailLines, keepOutput } = require('./child')

const benchDir = path.join(__dirname, '..')
const root = path.join(benchDir, '..')
const appDir = path.join(root, 'examples', 'next-app')
const workDir = path.join(benchDir, '.work')
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next')

/** Overlays copied over examples/next-app, by build (benchmark/fixtures/e2e/<name>/). */
const fixtures = path.join(benchDir, 'fixtures', 'e2e')

/** The number of 'use cache' values /bench-reads reads per request (`N` in its page). */
const READS = 20

/**
 * The pages measured on each server, in this order. `values`: 'use cache' values a request
 * reads; `stamps`: the data-stamp attributes that must not change between two requests.
 */
const PAGES = [
  {
    path: '/',
    label: "/ (1 small 'use cache' value, render-bound)",
    values: 1,
    stamps: ['time'],
  },
  {
    path: '/bench-reads',
    label: `/bench-reads (${READS} 'use cache' values of 4–16 KiB)`,
    values: READS,
    stamps: Array.from({ length: READS }, (_, i) => `b${i}`),
  },
]

/**
 * The builds: one copy of the app each, with the overlays of benchmark/fixtures/e2e/ copied
 * over it: `pages` (/bench-reads and /api/bench-counters) in every copy; `builtin`, a
 * next.config.js without withTagCache; `trieb`, a next.config.js whose 'use cache' handler is
 * trieb's (its Redis URL: BENCH_REDIS_URL).
 */
const BUILDS = {
  tagcache: { dir: 'e2e-tagcache', overlays: ['pages'] },
  builtin: { dir: 'e2e-builtin', overlays: ['pages', 'builtin'] },
  trieb: { dir: 'e2e-trieb', overlays: ['pages', 'trieb'], redis: true },
  'tagcache-nolocal': { dir: 'e2e-tagcache-nolocal', overlays: ['pages', 'nolocal'], redis: true },
}

/**
 * The servers measured, in this order. `variant`: 'nolocal' for the in-process copies off
 * pair (compared with each other), else the defaults.
 */
const SERVERS = [
  { id: 'tagcache', label: 'tagcache (memory)', store: 'memory', build: 'tagcache' },
  { id: 'builtin', label: 'Next built-in (memory)', store: 'memory', build: 'builtin' },
  {
    id: 'tagcache-redis',
    label: 'tagcache (Redis)',
    store: 'redis',
    build: 'tagcache',
    env: (redisUrl) => ({ TAGCACHE_REDIS_URL: redisUrl, TAGCACHE_KEY_PREFIX: 'bench-e2e' }),
  },
  {
    id: 'trieb',
    label: 'trieb (Redis)',
    store: 'redis',
    build: 'trieb',
    peer: true,
    env: (redisUrl) => ({ BENCH_REDIS_URL: redisUrl }),
  },
  {
    id: 'tagcache-redis-nolocal',
    label: 'tagcache (Redis, no in-process copy)',
    store: 'redis',
    variant: 'nolocal',
    build: 'tagcache-nolocal',
    env: (redisUrl) => ({ TAGCACHE_REDIS_URL: redisUrl, TAGCACHE_KEY_PREFIX: 'bench-e2e-nolocal' }),
  },
  {
    id: 'trieb-nodedup',
    label: 'trieb (Redis, no in-process copy)',
    store: 'redis',
    variant: 'nolocal',
    build: 'trieb',
    peer: true,
    env: (redisUrl) => ({ BENCH_REDIS_URL: redisUrl, BENCH_TRIEB_NO_DEDUP: '1' }),
  },
]

/** Runs a command to its end; rejects with the output's tail when it fails. */
function run(cmd, args, { cwd, env, timeoutMs, track }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    track(child)
    const output = keepOutput(child)
    const timer = setTimeout(() => killChild(child), timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      track(null)
      if (code === 0) return resolve(output())
      const tail = tailLines(output(), 6)
      reject(new Error(`next ${args[1]} exited with ${signal || code}: ${tail}`))
    })
  })
}

function copyApp(name, overlays) {
  const dir = path.join(workDir, name)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.cpSync(appDir, dir, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.next)$/.test(src),
  })
  for (const o of overlays) fs.cpSync(path.join(fixtures, o), dir, { recursive: true })
  return dir
}

async function get(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(30000) })
  return { status: res.status, text: await res.text() }
}

/**
 * The cached values the page rendered (the 'use cache' results inside the Suspense hole),
 * joined; null when one is missing.
 */
function stampsOf(html, names) {
  const out = []
  for (const name of names) {
    const v = new RegExp(`data-stamp="${name}">([^<]+)<`).exec(html)?.[1]
    if (!v) return null
    out.push(v)
  }
  return out.join(' ')
}

function rssBytes(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) * 1024 : null
  } catch {
    return null
  }
}

/** CPU time (user + system) of a process so far, ms; null when unknown. */
function cpuMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return ((Number(f[11]) + Number(f[12])) * 1000) / 100
  } catch {
    return null
  }
}

/**
 * Waits until a process uses less than 5% of a core over 200 ms (its requests are done), for
 * at most `maxMs`.
 */
async function waitIdle(pid, maxMs = 15000) {
  const end = Date.now() + maxMs
  let last = cpuMs(pid)
  while (last != null && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200))
    const now = cpuMs(pid)
    if (now == null || now - last <= 10) return
    last = now
  }
}

function autocannonRun(autocannon, opts) {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)))
  })
}

/**
 * Runs the scenario. `settings`: { durationS, connections, warmupRequests }. Returns
 * { settings, pages: { path: { label, values, rows: { id: row } } }, unavailable:
 * [{ id, label, reason }], errors: [...] }.
 */
async function runE2E({ settings, redisUrl, redisPort, log, keepWork = false }) {
  const autocannon = require(path.join(benchDir, 'node_modules', 'autocannon'))
  const out = { settings, pages: {}, unavailable: [], errors: [] }
  for (const p of PAGES) out.pages[p.path] = { label: p.label, values: p.values, rows: {} }
  let child = null
  const track = (c) => (child = c)
  const stopChild = () => killChild(child)
  process.on('exit', stopChild)
  const baseEnv = {
    ...process.env,
    NODE_ENV: 'production',
    NEXT_TELEMETRY_DISABLED: '1',
  }
  for (const k of Object.keys(baseEnv)) if (k.startsWith('TAGCACHE_')) delete baseEnv[k]
  const redisEnv = redisUrl ? { BENCH_REDIS_URL: redisUrl } : {}
  const built = {}
  try {
    fs.mkdirSync(workDir, { recursive: true })
    for (const [name, b] of Object.entries(BUILDS)) {
      if (b.redis && !redisUrl) continue
      const t0 = Date.now()
      try {
        const dir = copyApp(b.dir, b.overlays)
        await run(process.execPath, [nextBin, 'build'], {
          cwd: dir,
          env: { ...baseEnv, ...(b.redis ? redisEnv : {}) },
          timeoutMs: 300000,
          track,
        })
        built[name] = dir
        log(`  built ${b.dir} in ${((Date.now() - t0) / 1000).toFixed(0)} s`)
      } catch (err) {
        built[name] = err
        log(`  ! next build of ${b.dir} failed: ${err.message}`)
      }
    }

    for (const s of SERVERS) {
      if (s.store === 'redis' && !redisUrl) {
        out.unavailable.push({ id: s.id, label: s.label, reason: 'no Redis in this run' })
        continue
      }
      const dir = built[s.build]
      if (!(typeof dir === 'string')) {
        out.unavailable.push({
          id: s.id,
          label: s.label,
          reason: `not available: next build failed (${String(dir?.message || dir).slice(0, 300)})`,
        })
        continue
      }
      if (s.store === 'redis') {
        const c = await redisLib.connect(redisPort)
        await c.command('FLUSHALL')
        c.close()
      }
      try {
        await measureServer(s, dir, (page, r) => {
          out.pages[page.path].rows[s.id] = r
          const cmds = r.redisCommandsPerRequest
          log(
            `  ${s.id.padEnd(15)} ${page.path.padEnd(13)} ${Math.round(r.reqPerSec)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms` +
              (r.handlerGetsPerRequest != null
                ? `, ${r.handlerGetsPerRequest.toFixed(2)} handler gets/request (${r.handlerGetsSource})`
                : '') +
              (cmds != null
                ? `, ${cmds.toFixed(2)} Redis commands/request (${Object.entries(r.redisCommands)
                    .map(([c, n]) => `${c.toUpperCase()} ${(n / r.requestsSent).toFixed(2)}`)
                    .join(', ')})`
                : '') +
              (r.errors || r.non2xx ? ` (${r.errors} errors, ${r.non2xx} non-2xx)` : '') +
              (r.cached ? '' : ' (the page values changed between requests!)'),
          )
        })
      } catch (err) {
        out.errors.push({ id: s.id, label: s.label, error: err.message })
        log(`  ! ${s.id}: ${err.message}`)
      }
    }
  } finally {
    stopChild()
    process.removeListener('exit', stopChild)
    if (!keepWork)
      for (const b of Object.values(BUILDS))
        fs.rmSync(path.join(workDir, b.dir), { recursive: true, force: true })
  }
  return out

  /** Starts `s`'s server once and measures every page on it; `onPage(page, row)` per page. */
  async function measureServer(s, dir, onPage) {
    const port = await freePort()
    const env = { ...baseEnv, ...(s.env ? s.env(redisUrl) : {}) }
    const server = spawn(
      process.execPath,
      [nextBin, 'start', '-H', '127.0.0.1', '-p', String(port)],
      {
        cwd: dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    track(server)
    const serverLog = keepOutput(server)
    const url = `http://127.0.0.1:${port}`
    const tail = () => tailLines(serverLog(), 4)
    try {
      const deadline = Date.now() + 60000
      for (;;) {
        if (server.exitCode !== null) throw new Error(`next start exited: ${tail()}`)
        try {
          if ((await get(`${url}/`)).status === 200) break
        } catch {}
        if (Date.now() > deadline) throw new Error(`next start did not answer: ${tail()}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      for (const page of PAGES) {
        if (server.exitCode !== null) throw new Error(`next start exited: ${tail()}`)
        onPage(page, await measurePage(s, url, page, server.pid))
      }
    } finally {
      await stopGracefully(server, 5000)
      track(null)
    }
  }

  async function measurePage(s, url, page, pid) {
    const pageUrl = `${url}${page.path}`
    const first = await get(pageUrl)
    if (first.status !== 200) throw new Error(`${page.path} answered ${first.status}`)
    await autocannonRun(autocannon, {
      url: pageUrl,
      connections: 8,
      amount: settings.warmupRequests,
    })
    // Two requests in a row, alone: the cached values must not change (hits, not refills),
    // and with nothing else in flight each one calls the handler once per value.
    const countersA = await handlerCounters(url)
    const a = await get(pageUrl)
    const countersB = await handlerCounters(url)
    const b = await get(pageUrl)
    const stamp = stampsOf(a.text, page.stamps)
    const cached =
      Boolean(stamp) &&
      stamp === stampsOf(b.text, page.stamps) &&
      stamp === stampsOf(first.text, page.stamps)
    const alone = countersDelta(countersA, countersB)

    const countersBefore = await handlerCounters(url)
    const redis = redisPort && s.store === 'redis' ? await redisLib.connect(redisPort) : null
    const cmdsBefore = redis ? await redisLib.commandStats(redis) : null
    const cpuBefore = cpuMs(pid)
    const r = await autocannonRun(autocannon, {
      url: pageUrl,
      connections: settings.connections,
      duration: settings.durationS,
    })
    // The requests still in flight when autocannon stops are not in its count of completed
    // requests, but the server finishes them: let it go idle, and count the server's work per
    // request sent.
    await waitIdle(pid)
    const cpuAfter = cpuMs(pid)
    const cmdsAfter = redis ? await redisLib.commandStats(redis) : null
    redis?.close()
    const countersAfter = await handlerCounters(url)
    const rss = rssBytes(pid)
    const requests = r.requests.total
    const sent = Math.max(r.requests.sent || 0, requests)
    const cmds = cmdsBefore ? redisLib.commandDelta(cmdsBefore, cmdsAfter) : null
    const load = countersDelta(countersBefore, countersAfter)
    const perRequest = (n) => (n != null && sent ? n / sent : null)
    return {
      label: s.label,
      store: s.store,
      variant: s.variant || 'default',
      peer: Boolean(s.peer),
      reqPerSec: requests / (r.duration || settings.durationS),
      avgReqPerSec: r.requests.average,
      p50: r.latency.p50,
      p99: r.latency.p99,
      latencyMean: r.latency.average,
      requests,
      requestsSent: sent,
      errors: r.errors + r.timeouts,
      non2xx: r.non2xx,
      bytesPerRequest: requests ? r.throughput.total / requests : null,
      cached,
      // Handler gets: tagcache's engine counters (its 'use cache' and ISR handlers share
      // one engine, so a page's ISR lookup is in the count) or the counted trieb handler.
      handlerGetsSource: load?.source ?? null,
      handlerGetsPerRequest: perRequest(load?.gets),
      handlerHitRatio: load?.gets ? load.hits / load.gets : null,
      handlerGetsAlone: alone?.gets ?? null,
      handlerHitsAlone: alone?.hits ?? null,
      // Gets the engine sent to Redis (not answered by its in-process tier).
      sharedReadsPerRequest: perRequest(load?.sharedReads),
      redisCommandsPerRequest: cmds ? perRequest(cmds.total) : null,
      redisCommands: cmds ? cmds.byCommand : null,
      rssBytes: rss,
      // The server's CPU time per request: on a 2-core machine requests/s moves with the CPU
      // the server happens to get (48-63 req/s for one build, run to run); this does not.
      serverCpuMsPerRequest:
        cpuBefore != null && cpuAfter != null && sent ? (cpuAfter - cpuBefore) / sent : null,
    }
  }
}

/** Differences of two `handlerCounters` readings, or null. */
function countersDelta(a, b) {
  if (!a || !b || a.source !== b.source) return null
  const d = { source: a.source }
  for (const k of ['gets', 'hits', 'sharedReads']) d[k] = a[k] == null ? null : b[k] - a[k]
  return d
}

/**
 * Cache handler counters of a server: tagcache's engine stats (`gets` = hits + misses;
 * `staleHits` are part of `hits`) or the counted trieb handler's; null for Next's built-in.
 */
async function handlerCounters(url) {
  const t = await tagcacheStats(url)
  if (t) {
    return {
      source: "tagcache engine: 'use cache' + ISR",
      gets: t.hits + t.misses,
      hits: t.hits,
      sharedReads: t.sharedReads,
    }
  }
  try {
    const r = await get(`${url}/api/bench-counters`)
    const j = JSON.parse(r.text)
    if (j && typeof j.gets === 'number')
      return { source: "counted handler: 'use cache'", gets: j.gets, hits: j.hits }
  } catch {}
  return null
}

/** tagcache's counters from the example's /api/tagcache-stats (null when tagcache is unused). */
async function tagcacheStats(url) {
  try {
    const r = await get(`${url}/api/tagcache-stats`)
    const j = JSON.parse(r.text)
    return typeof j.hits === 'number' ? j : null
  } catch {
    return null
  }
}

module.exports = { runE2E, SERVERS, PAGES }
