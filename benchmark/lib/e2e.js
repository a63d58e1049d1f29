'use strict'
/**
 * End to end (issue #6): `next start` of examples/next-app under autocannon, for its page `/`
 * (a 'use cache' value inside a dynamic Suspense hole, so every request calls the 'use cache'
 * handler). Each configuration is a copy of the app in benchmark/.work/ (the example's own
 * files are never touched), built once with the repository's `next` and started on a free
 * loopback port, one server at a time, stopped by pid:
 *
 * - tagcache (memory): the app as it is (its next.config.js uses withTagCache);
 * - Next built-in (memory): the same app with a next.config.js without withTagCache;
 * - tagcache (Redis): the first build, started with TAGCACHE_REDIS_URL / TAGCACHE_KEY_PREFIX;
 * - trieb (Redis): a copy whose `cacheHandlers.default` is trieb's 'use cache' handler, built
 *   as benchmark/lib/contenders.js builds it.
 */
const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const { spawn } = require('node:child_process')
const redisLib = require('./redis')

const benchDir = path.join(__dirname, '..')
const root = path.join(benchDir, '..')
const appDir = path.join(root, 'examples', 'next-app')
const workDir = path.join(benchDir, '.work')
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next')

/** The example's next.config.js without withTagCache: same flags, same cacheLife. */
const CONFIG_BASE = `  cacheComponents: true,
  partialPrefetching: true,
  cacheLife: {
    blog: { stale: 5, revalidate: 3, expire: 600 },
  },
`
const BUILTIN_CONFIG = `// Written by benchmark/lib/e2e.js: the example app on Next's built-in cache handlers.
module.exports = {
${CONFIG_BASE}}
`
const TRIEB_CONFIG = `// Written by benchmark/lib/e2e.js: the example app on trieb's 'use cache' handler (Redis).
module.exports = {
${CONFIG_BASE}  cacheHandlers: { default: require.resolve('./trieb-handler.js') },
}
`
const TRIEB_HANDLER = `// Written by benchmark/lib/e2e.js: as benchmark/lib/contenders.js builds the 'trieb' contender.
const { getRedisCacheComponentsHandler } = require('@trieb.work/nextjs-turbo-redis-cache')

module.exports = getRedisCacheComponentsHandler({
  redisUrl: process.env.BENCH_REDIS_URL,
  keyPrefix: 'trieb-e2e:',
})
`

/** The builds: one copy of the app each. */
const BUILDS = {
  tagcache: { dir: 'e2e-tagcache', files: {} },
  builtin: { dir: 'e2e-builtin', files: { 'next.config.js': BUILTIN_CONFIG } },
  trieb: {
    dir: 'e2e-trieb',
    files: { 'next.config.js': TRIEB_CONFIG, 'trieb-handler.js': TRIEB_HANDLER },
    redis: true,
  },
}

/** The servers measured, in this order. */
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
]

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer()
    srv.unref()
    srv.on('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address()
      srv.close(() => resolve(port))
    })
  })
}

/** Runs a command to its end; rejects with the output's tail when it fails. */
function run(cmd, args, { cwd, env, timeoutMs, track }) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    track(child)
    let out = ''
    const keep = (d) => {
      out += d
      if (out.length > 40000) out = out.slice(-20000)
    }
    child.stdout.on('data', keep)
    child.stderr.on('data', keep)
    const timer = setTimeout(() => {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {}
    }, timeoutMs)
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      track(null)
      if (code === 0) return resolve(out)
      const tail = out.trim().split('\n').filter(Boolean).slice(-6).join(' | ')
      reject(new Error(`next ${args[1]} exited with ${signal || code}: ${tail}`))
    })
  })
}

function copyApp(name, files) {
  const dir = path.join(workDir, name)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.cpSync(appDir, dir, {
    recursive: true,
    filter: (src) => !/[\\/](node_modules|\.next)$/.test(src),
  })
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text)
  return dir
}

async function get(url) {
  const res = await fetch(url, { signal: AbortSignal.timeout(30000) })
  return { status: res.status, text: await res.text() }
}

/** The cached value the page rendered (the 'use cache' result inside the Suspense hole). */
function stampOf(html) {
  return /data-stamp="time">([^<]+)</.exec(html)?.[1] || null
}

function rssBytes(pid) {
  try {
    const kb = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]
    return kb ? Number(kb) * 1024 : null
  } catch {
    return null
  }
}

function autocannonRun(autocannon, opts) {
  return new Promise((resolve, reject) => {
    autocannon(opts, (err, result) => (err ? reject(err) : resolve(result)))
  })
}

/**
 * Runs the scenario. `settings`: { durationS, connections, warmupRequests }. Returns
 * { settings, rows: { id: row }, unavailable: [{ id, label, reason }], errors: [...] }.
 */
async function runE2E({ settings, redisUrl, redisPort, log, keepWork = false }) {
  const autocannon = require(path.join(benchDir, 'node_modules', 'autocannon'))
  const out = { settings, rows: {}, unavailable: [], errors: [] }
  let child = null
  const track = (c) => (child = c)
  const stopChild = () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGKILL')
      } catch {}
    }
  }
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
        const dir = copyApp(b.dir, b.files)
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
        out.rows[s.id] = await measureServer(s, dir)
        const r = out.rows[s.id]
        log(
          `  ${s.id.padEnd(15)} ${Math.round(r.reqPerSec)} req/s, p50 ${r.p50} ms, p99 ${r.p99} ms` +
            (r.errors || r.non2xx ? ` (${r.errors} errors, ${r.non2xx} non-2xx)` : '') +
            (r.cached ? '' : ' (the page value changed between requests!)'),
        )
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

  async function measureServer(s, dir) {
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
    let serverLog = ''
    const keep = (d) => {
      serverLog += d
      if (serverLog.length > 40000) serverLog = serverLog.slice(-20000)
    }
    server.stdout.on('data', keep)
    server.stderr.on('data', keep)
    const url = `http://127.0.0.1:${port}`
    const tail = () => serverLog.trim().split('\n').filter(Boolean).slice(-4).join(' | ')
    try {
      const deadline = Date.now() + 60000
      let first = null
      for (;;) {
        if (server.exitCode !== null) throw new Error(`next start exited: ${tail()}`)
        try {
          first = await get(`${url}/`)
          if (first.status === 200) break
        } catch {}
        if (Date.now() > deadline) throw new Error(`next start did not answer: ${tail()}`)
        await new Promise((r) => setTimeout(r, 200))
      }
      await autocannonRun(autocannon, {
        url: `${url}/`,
        connections: 8,
        amount: settings.warmupRequests,
      })
      const a = await get(`${url}/`)
      const b = await get(`${url}/`)
      const stamp = stampOf(a.text)
      const cached = Boolean(stamp) && stamp === stampOf(b.text) && stamp === stampOf(first.text)
      const statsBefore = await tagcacheStats(url)
      const redis = redisPort ? await redisLib.connect(redisPort) : null
      const cmdsBefore = redis && s.store === 'redis' ? await redisLib.commandStats(redis) : null
      const r = await autocannonRun(autocannon, {
        url: `${url}/`,
        connections: settings.connections,
        duration: settings.durationS,
      })
      const cmdsAfter = cmdsBefore ? await redisLib.commandStats(redis) : null
      redis?.close()
      const statsAfter = await tagcacheStats(url)
      const rss = rssBytes(server.pid)
      const requests = r.requests.total
      const cmds = cmdsBefore ? redisLib.commandDelta(cmdsBefore, cmdsAfter) : null
      const gets =
        statsBefore && statsAfter
          ? statsAfter.hits +
            statsAfter.misses +
            statsAfter.staleHits -
            (statsBefore.hits + statsBefore.misses + statsBefore.staleHits)
          : null
      return {
        label: s.label,
        store: s.store,
        peer: Boolean(s.peer),
        reqPerSec: requests / (r.duration || settings.durationS),
        avgReqPerSec: r.requests.average,
        p50: r.latency.p50,
        p99: r.latency.p99,
        latencyMean: r.latency.average,
        requests,
        errors: r.errors + r.timeouts,
        non2xx: r.non2xx,
        bytesPerRequest: requests ? r.throughput.total / requests : null,
        cached,
        handlerGetsPerRequest: gets != null && requests ? gets / requests : null,
        redisCommandsPerRequest: cmds && requests ? cmds.total / requests : null,
        redisCommands: cmds ? cmds.byCommand : null,
        rssBytes: rss,
      }
    } finally {
      if (server.exitCode === null && server.signalCode === null) {
        const exit = new Promise((r) => server.once('exit', () => r(true)))
        try {
          process.kill(server.pid, 'SIGTERM')
        } catch {}
        const exited = await Promise.race([
          exit,
          new Promise((r) => setTimeout(() => r(false), 5000)),
        ])
        if (!exited) {
          try {
            process.kill(server.pid, 'SIGKILL')
          } catch {}
        }
      }
      track(null)
    }
  }
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

module.exports = { runE2E, SERVERS }
