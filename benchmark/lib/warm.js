'use strict'
/**
 * Warm starts (issue #10): time from spawning `next start` to the first 200 response of a page
 * that `next build` prerendered, tagcache (its default configuration) against Next's built-in
 * handler, on copies of examples/isr-app in benchmark/.work/ (the example is never touched):
 *
 * - tagcache: the app as it is (`withTagCache`);
 * - Next built-in: the same app with a next.config.js without withTagCache (FileSystemCache).
 *
 * Each copy is built once; its `.next` is saved next to it, and before each repetition of the
 * "first start after next build" measurement `.next` is restored from that copy, so every
 * repetition starts from the build's output and nothing else. Each repetition then measures:
 *
 * 1. first start after `next build`: spawn `next start -H 127.0.0.1`, request the page in a
 *    loop (10 ms apart while the port refuses connections) until a 200; recorded: spawn → 200
 *    (`startToFirstMs`), the first request that reached the server (`firstRequestMs`, from
 *    sending it to the end of its body), and whether that response was rendered by this
 *    server (the page's `data-stamp` is a render time: newer than the spawn means rendered on
 *    this request or just before it; equal to the build output's stamp means served from the
 *    build's files). Then the page once more, a second later (`secondRequestMs`).
 * 2. restart: the server is stopped (SIGTERM, as a deploy tool or PM2 does, then waited for),
 *    started again on the same `.next`, and measured the same way: now the cache holds what the
 *    first run left (the page regenerated in the background after the first request, since its
 *    `revalidate` of 2 s had passed).
 *
 * Servers one at a time, alternating the order per repetition, on free loopback ports, stopped
 * by pid in finally blocks.
 */
const fs = require('node:fs')
const path = require('node:path')
const { spawn } = require('node:child_process')
const { killChild, stopGracefully, keepOutput } = require('./child')
const { performance } = require('node:perf_hooks')
const { freePort } = require('../../__test__/helpers/ports')
const { median } = require('./measure')

const benchDir = path.join(__dirname, '..')
const root = path.join(benchDir, '..')
const appDir = path.join(root, 'examples', 'isr-app')
const workDir = path.join(benchDir, '.work')
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next')

const PAGE = '/isr'
const STAMP = 'isr'

/**
 * Overlays copied over examples/isr-app (benchmark/fixtures/warm/<name>/): `engine` (the
 * /api/bench-engine route: what the engine uses) in every copy; `builtin`, a next.config.js
 * without withTagCache.
 */
const fixtures = path.join(benchDir, 'fixtures', 'warm')

const BUILDS = [
  {
    id: 'tagcache',
    label: 'tagcache (default: memory + disk)',
    dir: 'warm-tagcache',
    overlays: ['engine'],
  },
  {
    id: 'builtin',
    label: 'Next built-in (FileSystemCache)',
    dir: 'warm-builtin',
    overlays: ['engine', 'builtin'],
  },
]

function stampOf(html) {
  return new RegExp(`data-stamp="${STAMP}">([^<]+)<`).exec(html)?.[1] ?? null
}
/** The render time a stamp carries (ms since the epoch), or null. */
function stampTime(stamp) {
  const t = Date.parse(String(stamp).split('|')[0])
  return Number.isFinite(t) ? t : null
}

async function runWarm({ settings, log, keepWork = false }) {
  const out = { settings, page: PAGE, rows: {}, unavailable: [], errors: [] }
  let child = null
  const stopChild = () => killChild(child)
  process.on('exit', stopChild)
  const env = { ...process.env, NODE_ENV: 'production', NEXT_TELEMETRY_DISABLED: '1' }
  for (const k of Object.keys(env)) if (k.startsWith('TAGCACHE_')) delete env[k]
  const built = {}
  try {
    fs.mkdirSync(workDir, { recursive: true })
    for (const b of BUILDS) {
      const t0 = Date.now()
      try {
        const dir = path.join(workDir, b.dir)
        fs.rmSync(dir, { recursive: true, force: true })
        fs.cpSync(appDir, dir, {
          recursive: true,
          filter: (src) => !/[\\/](node_modules|\.next|\.next-build)$/.test(src),
        })
        for (const o of b.overlays) fs.cpSync(path.join(fixtures, o), dir, { recursive: true })
        await runToEnd([nextBin, 'build'], dir, env, 300000)
        const html = fs.readFileSync(path.join(dir, '.next', 'server', 'app', 'isr.html'), 'utf8')
        const buildStamp = stampOf(html)
        fs.cpSync(path.join(dir, '.next'), path.join(dir, '.next-build'), { recursive: true })
        built[b.id] = { dir, buildStamp, buildSeconds: (Date.now() - t0) / 1000 }
        log(
          `  built ${b.dir} in ${((Date.now() - t0) / 1000).toFixed(0)} s (prerendered ${PAGE}: ${buildStamp})`,
        )
      } catch (err) {
        built[b.id] = { error: err.message }
        out.unavailable.push({
          id: b.id,
          label: b.label,
          reason: `not available: next build failed (${err.message.slice(0, 300)})`,
        })
        log(`  ! next build of ${b.dir} failed: ${err.message}`)
      }
    }
    const runs = {}
    for (let rep = 0; rep < settings.reps; rep++) {
      const order = rep % 2 ? [...BUILDS].reverse() : BUILDS
      for (const b of order) {
        const bt = built[b.id]
        if (!bt || bt.error) continue
        const r = (runs[b.id] ||= { first: [], restart: [] })
        try {
          fs.rmSync(path.join(bt.dir, '.next'), { recursive: true, force: true })
          fs.cpSync(path.join(bt.dir, '.next-build'), path.join(bt.dir, '.next'), {
            recursive: true,
          })
          const first = await startAndMeasure(bt, env, { waitRegen: true })
          r.first.push(first)
          const restart = await startAndMeasure(bt, env, { expectStamp: first.lastStamp })
          r.restart.push(restart)
          log(
            `  r${rep + 1} ${b.id.padEnd(9)} first start: ${fmtMs(first.startToFirstMs)} to the first 200 (first request ${fmtMs(first.firstRequestMs)}, ${first.rendered ? 'RENDERED' : first.fromBuild ? 'from the build output' : 'from the cache'}); restart: ${fmtMs(restart.startToFirstMs)} (first request ${fmtMs(restart.firstRequestMs)}, ${restart.rendered ? 'RENDERED' : restart.fromBuild ? 'from the build output' : restart.fromPreviousRun ? "the previous run's regeneration" : 'from the cache'})` +
              `; regenerated before the stop: ${first.lastStamp !== first.stamp ? 'yes' : 'no'}` +
              (first.engine ? `; engine storage ${first.engine.storage}` : ''),
          )
        } catch (err) {
          out.errors.push({ id: b.id, label: b.label, error: err.message })
          log(`  ! ${b.id}: ${err.message}`)
        }
      }
    }
    for (const b of BUILDS) {
      const r = runs[b.id]
      if (!r || r.first.length === 0) continue
      out.rows[b.id] = {
        label: b.label,
        buildSeconds: built[b.id].buildSeconds,
        buildStamp: built[b.id].buildStamp,
        first: summarize(r.first),
        restart: summarize(r.restart),
      }
    }
  } finally {
    stopChild()
    process.removeListener('exit', stopChild)
    if (!keepWork)
      for (const b of BUILDS) fs.rmSync(path.join(workDir, b.dir), { recursive: true, force: true })
  }
  return out

  function runToEnd(args, cwd, env, timeoutMs) {
    return new Promise((resolve, reject) => {
      const c = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
      child = c
      const output = keepOutput(c)
      const timer = setTimeout(() => killChild(c), timeoutMs)
      c.on('exit', (code, signal) => {
        clearTimeout(timer)
        child = null
        if (code === 0) return resolve(output())
        // No '|' in it: it ends up in Markdown table cells.
        const tail = output()
          .trim()
          .split('\n')
          .filter(Boolean)
          .slice(-6)
          .join(' / ')
          .replace(/\|/g, '/')
        reject(new Error(`next ${args[1]} exited with ${signal || code}: ${tail}`))
      })
    })
  }

  /** One `next start`: spawn → first 200 of the page; stopped (SIGTERM, waited for) at the end. */
  async function startAndMeasure(bt, env, { waitRegen = false, expectStamp = null } = {}) {
    const port = await freePort()
    const url = `http://127.0.0.1:${port}${PAGE}`
    const spawnedAt = Date.now()
    const t0 = performance.now()
    const server = spawn(
      process.execPath,
      [nextBin, 'start', '-H', '127.0.0.1', '-p', String(port)],
      {
        cwd: bt.dir,
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    )
    child = server
    const serverLog = keepOutput(server)
    const tail = () =>
      serverLog().trim().split('\n').filter(Boolean).slice(-4).join(' / ').replace(/\|/g, '/')
    try {
      let first = null
      let attempts = 0
      const deadline = t0 + 60000
      while (!first) {
        if (server.exitCode !== null) throw new Error(`next start exited: ${tail()}`)
        if (performance.now() > deadline) throw new Error(`next start did not answer: ${tail()}`)
        const a = performance.now()
        attempts++
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(30000) })
          const text = await res.text()
          const b = performance.now()
          if (res.status !== 200) throw new Error(`${PAGE} answered ${res.status}`)
          first = { requestMs: b - a, atMs: b - t0, text }
        } catch (err) {
          if (/answered/.test(err.message)) throw err
          await new Promise((r) => setTimeout(r, 10))
        }
      }
      const stamp = stampOf(first.text)
      const rendered = stamp == null || (stampTime(stamp) ?? 0) >= spawnedAt
      await new Promise((r) => setTimeout(r, 1000))
      const a = performance.now()
      const second = await fetch(url, { signal: AbortSignal.timeout(30000) })
      const secondStamp = stampOf(await second.text())
      const secondRequestMs = performance.now() - a
      // Before a restart: wait (5 s at most) until the background regeneration the first
      // request started has landed, so the restart has a newer entry to serve than the build's.
      let lastStamp = secondStamp
      if (waitRegen) {
        const end = performance.now() + 5000
        while (lastStamp === stamp && performance.now() < end) {
          await new Promise((r) => setTimeout(r, 250))
          const r = await fetch(url, { signal: AbortSignal.timeout(30000) })
          lastStamp = stampOf(await r.text())
        }
      }
      let engine = null
      try {
        const r = await fetch(`http://127.0.0.1:${port}/api/bench-engine`, {
          signal: AbortSignal.timeout(10000),
        })
        engine = await r.json()
      } catch {}
      return {
        startToFirstMs: first.atMs,
        firstRequestMs: first.requestMs,
        attempts,
        secondRequestMs,
        stamp,
        // A new stamp 1 s later: the page (past its 2 s) was regenerated in the background.
        regeneratedAfterFirst: secondStamp != null && secondStamp !== stamp,
        lastStamp,
        // The restart served what the run before it regenerated (kept by the handler's store).
        fromPreviousRun:
          expectStamp != null && expectStamp !== bt.buildStamp && stamp === expectStamp,
        fromBuild: stamp === bt.buildStamp,
        rendered,
        engine,
      }
    } finally {
      await stopGracefully(server, 10000)
      child = null
    }
  }
}

function summarize(list) {
  return {
    reps: list.length,
    startToFirstMs: median(list.map((x) => x.startToFirstMs)),
    firstRequestMs: median(list.map((x) => x.firstRequestMs)),
    secondRequestMs: median(list.map((x) => x.secondRequestMs)),
    rendered: list.filter((x) => x.rendered).length,
    regeneratedAfterFirst: list.filter((x) => x.regeneratedAfterFirst).length,
    fromBuild: list.filter((x) => x.fromBuild).length,
    fromPreviousRun: list.filter((x) => x.fromPreviousRun).length,
    regeneratedBeforeStop: list.filter((x) => x.lastStamp != null && x.lastStamp !== x.stamp)
      .length,
    storage: list.find((x) => x.engine)?.engine?.storage ?? null,
    diskEntries: list.find((x) => x.engine?.stats)?.engine?.stats?.diskEntries ?? null,
    all: list.map(({ engine: _engine, ...x }) => ({
      ...x,
      startToFirstMs: Math.round(x.startToFirstMs * 10) / 10,
      firstRequestMs: Math.round(x.firstRequestMs * 10) / 10,
      secondRequestMs: Math.round(x.secondRequestMs * 10) / 10,
    })),
  }
}

function fmtMs(n) {
  return Number.isFinite(n) ? `${Math.round(n)} ms` : '—'
}

module.exports = { runWarm, PAGE }
