#!/usr/bin/env node
'use strict'
/**
 * tagcache benchmarks: tagcache against Next.js's built-in handlers and the JavaScript peers,
 * in one run, reported as ratios (tagcache ÷ contender) because absolute times drift on a
 * shared machine while ratios measured side by side hold.
 *
 *   node benchmark/run.js            full run (about 20–25 minutes)
 *   node benchmark/run.js --quick    every scenario, short loads (about 3 minutes, the 1M-entry
 *                                    revalidations most of it); prints the tables, writes
 *                                    benchmark/results/quick.json, leaves the docs alone unless
 *                                    --write
 *   options: --only=floor,uc,isr,revalidate,staleness,memory,disk,warm,e2e,soak   --rounds=N
 *            --write | --no-write   --debug
 *            --report-only (rewrite the docs from the last run's benchmark/results/latest.json)
 *            --soak-seconds=N (default 600, 60 with --quick)   --soak-stores=memory,disk,redis,redis-nolocal
 *
 * `floor`: redis-benchmark GET/SET with 1 and 64 clients, and with 1 client pipelining 16
 * (`-P 16`, issue #13: the bound for tagcache's 64 gets in flight on its one connection).
 * `revalidate`: updateTags / revalidateTag of one tag with 10k and 100k entries present, and
 * with 1M (tagcache in process and on Redis only, 32-byte values; issue #13). `staleness`
 * (issue #13): two engines in two processes on the run's Redis, the time from one's write to
 * the other's in-process copy giving way to it (see lib/staleness.js; about 30 s).
 *
 * `disk` (issue #10): tagcache's disk tier against Next's FileSystemCache, ISR set and a cold get
 * in a fresh process (see lib/disk.js). `warm` (issue #10): `next build` of examples/isr-app, then
 * the time from spawning `next start` to the first 200 of its prerendered page, tagcache against
 * the built-in, after the build and after a restart (see lib/warm.js; about a minute).
 *
 * `soak` (issue #11) runs only when asked for (--only=soak): RSS and p99 latency over
 * --soak-seconds of churn through the byte bound, per store in a fresh process: memory, disk
 * tier, and Redis (the Redis store's seconds shared by its two configurations, localTtlMs
 * default and 0), about 30 minutes in all (see lib/soak.js); docs/benchmarks-soak.svg.
 *
 * `e2e` (`next start` of examples/next-app under autocannon on two pages, about 3 minutes) is part of a full
 * run and left out of --quick unless asked for (--quick --only=e2e). A run of some scenarios
 * only (--only=…) that writes benchmark/results/latest.json keeps the other scenarios' results
 * of the run before.
 *
 * Installs benchmark/node_modules (npm ci) when missing, starts its own redis-server on a free
 * loopback port (installing Debian's redis-server with apt-get when missing) and stops it by
 * pid at the end, runs each job in a fresh Node process, prints the tables and writes
 * docs/benchmarks.md and docs/benchmarks.svg. Raw numbers: benchmark/results/latest.json.
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const benchDir = __dirname
const root = path.join(benchDir, '..')

const args = process.argv.slice(2)
const flag = (name) => args.includes(`--${name}`)
const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
const quick = flag('quick')
const ALL = ['floor', 'uc', 'isr', 'revalidate', 'staleness', 'memory', 'disk', 'warm', 'e2e']
/** Scenarios that run only when named in --only (the soak takes half an hour). */
const OPT_IN = ['soak']
const only = option('only') ? option('only').split(',') : ALL.filter((s) => !(quick && s === 'e2e'))
for (const s of only)
  if (!ALL.includes(s) && !OPT_IN.includes(s))
    die(`unknown scenario ${s}: one of ${[...ALL, ...OPT_IN].join(', ')}`)

/**
 * revalidateTag with 1M entries present (issue #13): tagcache only (in process and on Redis),
 * 32-byte values (the other counts use 256 bytes), filled through the engine's setNextEntry
 * (the call the 'use cache' handler's set ends in) with 256 in flight.
 */
const LARGE_REVALIDATE = {
  entries: 1000000,
  ids: ['tagcache', 'tagcache-redis'],
  valueBytes: 32,
  populateInFlight: 256,
  populateMs: 150000,
  jobTimeoutMs: 300000,
  createOptions: { maxMemoryBytes: 1024 * 1024 * 1024 },
}
/** The in-process 'use cache' contenders measured over `settings.loadLong` (full mode). */
const IN_PROCESS_LONG = ['tagcache', 'tagcache-disk', 'builtin']

const settings = quick
  ? {
      rounds: 1,
      load: { durationMs: 120, warmupMs: 50, maxOps: 200000 },
      concurrency: 64,
      floorRequests: { 1024: 4000, 16384: 4000, 262144: 1000 },
      floorPipelinedRequests: { 1024: 50000, 16384: 20000, 262144: 2000 },
      revalidateEntries: [10000],
      revalidateReps: 5,
      revalidateMaxMs: 3000,
      populateMs: 30000,
      revalidateLarge: LARGE_REVALIDATE,
      staleness: { samples: 200, maxWaitMs: 2000 },
      memoryEntries: 30000,
      probeOps: 30,
      jobTimeoutMs: 90000,
      e2e: { durationS: 5, connections: 32, warmupRequests: 200 },
      disk: { entries: { 1024: 300, 16384: 300, 262144: 48 }, maxMs: 10000 },
      warm: { reps: 1 },
      soak: { seconds: 60 },
    }
  : {
      rounds: 3,
      load: { durationMs: 500, warmupMs: 150, maxOps: 500000 },
      // 'use cache' in process, the contenders the targets compare (IN_PROCESS_LONG): 2 s
      // windows, so that three rounds separate a 10% difference on a shared machine.
      loadLong: { durationMs: 2000, warmupMs: 300, maxOps: 1000000 },
      concurrency: 64,
      floorRequests: { 1024: 20000, 16384: 20000, 262144: 5000 },
      floorPipelinedRequests: { 1024: 200000, 16384: 100000, 262144: 10000 },
      revalidateEntries: [10000, 100000],
      revalidateReps: 20,
      revalidateMaxMs: 8000,
      populateMs: 60000,
      revalidateLarge: LARGE_REVALIDATE,
      staleness: { samples: 300, maxWaitMs: 2000 },
      memoryEntries: 100000,
      probeOps: 100,
      jobTimeoutMs: 180000,
      e2e: { durationS: 10, connections: 32, warmupRequests: 200 },
      disk: { entries: { 1024: 1000, 16384: 1000, 262144: 200 }, maxMs: 20000 },
      warm: { reps: 5 },
      soak: { seconds: 600 },
    }
if (option('rounds')) settings.rounds = Number(option('rounds'))
if (option('soak-seconds')) settings.soak.seconds = Number(option('soak-seconds'))
if (option('soak-stores')) settings.soak.stores = option('soak-stores').split(',')
for (const id of settings.soak.stores || [])
  if (!require('./lib/soak').CONFIGS.some((c) => c.id === id))
    die(
      `unknown soak store ${id}: one of ${require('./lib/soak')
        .CONFIGS.map((c) => c.id)
        .join(', ')}`,
    )
if (!(settings.soak.seconds >= 10)) die('--soak-seconds must be a number of seconds, at least 10')

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(0)}s`
function log(msg) {
  console.log(`[bench ${elapsed()}] ${msg}`)
}
function die(msg) {
  console.error(`bench: ${msg}`)
  process.exit(1)
}

// ---------------------------------------------------------------------------------------
// Setup: root packages and addon (fresh clone), benchmark packages, Redis.

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs
  } catch {
    return 0
  }
}

function sleepSync(ms) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

function ensureRootReady() {
  const setup = () => require(path.join(root, 'scripts', 'setup.js'))
  if (!fs.existsSync(path.join(root, 'node_modules', 'next', 'package.json'))) {
    log('installing the repository packages (npm ci at the root)')
    setup().ensureNodeModules()
  }
  const addon = fs.readdirSync(root).find((f) => /^tagcache\..*\.node$/.test(f))
  if (addon) return
  // A build in progress (napi build replaces the file) may hide it for a moment; a checkout
  // that was never built (no target/) has nothing to wait for.
  const building = fs.existsSync(path.join(root, 'target'))
  for (let k = 0; building && k < 30; k++) {
    sleepSync(2000)
    if (fs.readdirSync(root).some((f) => /^tagcache\..*\.node$/.test(f))) return
  }
  log('building the addon (napi build --release)')
  setup().buildAddon()
}

function ensureBenchPackages() {
  const lock = path.join(benchDir, 'package-lock.json')
  const marker = path.join(benchDir, 'node_modules', '.package-lock.json')
  if (mtime(marker) >= mtime(lock) && mtime(marker) > 0) return
  log('installing benchmark packages (npm ci in benchmark/)')
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const r = spawnSync(npm, ['ci', '--no-audit', '--no-fund'], { cwd: benchDir, stdio: 'inherit' })
  if (r.status !== 0) die('npm ci in benchmark/ failed')
}

ensureRootReady()
ensureBenchPackages()

const redisLib = require('./lib/redis')
const contenders = require('./lib/contenders')
const { SIZES, sizeLabel } = require('./lib/workload')
const { median } = require('./lib/measure')
const report = require('./lib/report')
const { runE2E, PAGES: E2E_PAGES } = require('./lib/e2e')
const { runWarm } = require('./lib/warm')
const { forkJob, killChild } = require('./lib/child')

let redisServer = null
let currentChild = null
function cleanup() {
  killChild(currentChild)
  if (redisServer) {
    redisServer.stop()
    redisServer = null
  }
}
process.on('exit', cleanup)
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, () => {
    cleanup()
    process.exit(130)
  })
}

// ---------------------------------------------------------------------------------------
// Jobs

/**
 * Runs one job in a fresh Node process; resolves to its result or { error }. A job that
 * could not load the addon (a rebuild replacing it at that moment) is tried once more.
 */
async function runJob(job, timeoutMs = settings.jobTimeoutMs) {
  const r = await runJobOnce(job, timeoutMs)
  if (r.error && /\.node\b|native binding|does not load|ERR_DLOPEN/i.test(r.error)) {
    log('  (the addon did not load, a rebuild in progress? trying again in 10 s)')
    await new Promise((res) => setTimeout(res, 10000))
    return runJobOnce(job, timeoutMs)
  }
  return r
}

function runJobOnce(job, timeoutMs = settings.jobTimeoutMs) {
  return new Promise((resolve) => {
    const { child, stderrTail } = forkJob(path.join(benchDir, 'lib', 'worker.js'), {
      cwd: benchDir,
      execArgv: ['--expose-gc', '--max-old-space-size=4096'],
      env: { BENCH_DEBUG: flag('debug') ? '1' : '' },
      debug: flag('debug'),
    })
    currentChild = child
    let reply = null
    const timer = setTimeout(() => {
      reply = reply || { ok: false, error: `timed out after ${timeoutMs / 1000} s` }
      killChild(child)
    }, timeoutMs)
    child.on('message', (m) => (reply = m))
    child.on('exit', (code, signal) => {
      clearTimeout(timer)
      currentChild = null
      if (reply && reply.ok) return resolve(reply.result)
      const why = reply?.error || `exited with ${signal || code}`
      const tail = stderrTail(2)
      resolve({ error: tail && !reply ? `${why}: ${tail}` : why })
    })
    child.send(job)
  })
}

async function flushRedis() {
  if (!redisServer) return
  const c = await redisLib.connect(redisServer.port)
  await c.command('FLUSHALL')
  c.close()
}

function envFor() {
  return redisServer
    ? { redisUrl: `redis://127.0.0.1:${redisServer.port}`, redisPort: redisServer.port }
    : {}
}

const results = {
  meta: {},
  unavailable: [],
  errors: [],
  floor: {},
  uc: {},
  isr: {},
  revalidate: { uc: {}, isr: {} },
  staleness: {},
  memory: {},
  disk: {},
  warm: {},
  e2e: {},
  soak: {},
}

/** Splits a contender list into those that can run and "not available" rows. */
function selectContenders(scenario, list) {
  const env = envFor()
  const runnable = []
  for (const c of list) {
    if (c.store === 'redis' && !redisServer) {
      results.unavailable.push({
        scenario,
        id: c.id,
        label: c.label,
        reason: 'no Redis in this run',
      })
      continue
    }
    const ok = c.available(env)
    if (ok === true) runnable.push(c)
    else results.unavailable.push({ scenario, id: c.id, label: c.label, reason: ok })
  }
  return runnable
}

function recordError(scenario, c, extra, error) {
  const msg = `${scenario} ${c.label}${extra ? ` ${extra}` : ''}: ${error}`
  results.errors.push({ scenario, id: c.id, label: c.label, extra, error: String(error) })
  log(`  ! ${msg}`)
}

/** Median across rounds of each numeric field of {ops, opsPerSec, p50, p99, failed}. */
function mergeRounds(rounds) {
  const ok = rounds.filter(Boolean)
  if (ok.length === 0) return null
  const out = {}
  for (const k of ['opsPerSec', 'p50', 'p99']) out[k] = median(ok.map((r) => r[k]))
  out.ops = ok.reduce((a, r) => a + r.ops, 0)
  out.failed = ok.reduce((a, r) => a + r.failed, 0)
  out.rounds = ok.length
  return out
}

async function throughputScenario(name, type, list, ops) {
  const runnable = selectContenders(name, list)
  log(`${name}: ${runnable.map((c) => c.id).join(', ')}`)
  const raw = {}
  for (let round = 0; round < settings.rounds; round++) {
    for (const size of SIZES) {
      for (const c of runnable) {
        if (c.store === 'redis') await flushRedis()
        const r = await runJob({
          type,
          contender: c.id,
          env: envFor(),
          size,
          modes: ['seq', 'c64'],
          concurrency: settings.concurrency,
          load:
            settings.loadLong && type === 'useCacheThroughput' && IN_PROCESS_LONG.includes(c.id)
              ? settings.loadLong
              : settings.load,
          probeOps: settings.probeOps,
          redisCommands: c.store === 'redis',
        })
        if (r.error) {
          recordError(name, c, sizeLabel(size), r.error)
          continue
        }
        const slot = ((raw[c.id] ||= {})[size] ||= { rounds: [], redisCommands: r.redisCommands })
        slot.rounds.push(r)
        const g = r.get.seq
        log(
          `  r${round + 1} ${sizeLabel(size).padStart(7)} ${c.id.padEnd(18)} get ${fmt(g.opsPerSec)}/s` +
            (r.get.c64 ? ` | x${settings.concurrency} ${fmt(r.get.c64.opsPerSec)}/s` : '') +
            (r.set
              ? ` | set ${fmt(r.set.seq.opsPerSec)}/s, x${settings.concurrency} ${fmt(r.set.c64.opsPerSec)}/s`
              : ''),
        )
      }
    }
  }
  const out = {}
  for (const [id, bySize] of Object.entries(raw)) {
    out[id] = {}
    for (const [size, slot] of Object.entries(bySize)) {
      const entry = { redisCommands: slot.redisCommands }
      for (const op of ops) {
        entry[op] = {}
        for (const mode of ['seq', 'c64'])
          entry[op][mode] = mergeRounds(slot.rounds.map((r) => r[op]?.[mode]))
      }
      out[id][size] = entry
    }
  }
  return out
}

/** Median of each numeric leaf across rounds of results of one shape (other leaves: the first). */
function medianDeep(list) {
  const ok = list.filter((x) => x != null)
  if (ok.length === 0) return null
  const first = ok[0]
  if (typeof first === 'number') return median(ok)
  if (typeof first !== 'object' || Array.isArray(first)) return first
  const out = {}
  for (const k of Object.keys(first)) out[k] = medianDeep(ok.map((x) => x[k]))
  return out
}

/** Disk tier vs FileSystemCache: set in one fresh process, cold get in the next (lib/disk.js). */
async function diskScenario() {
  const disk = require('./lib/disk')
  const runnable = []
  for (const c of disk.CONTENDERS) {
    const ok = c.available()
    if (ok === true) runnable.push(c)
    else results.unavailable.push({ scenario: 'disk', id: c.id, label: c.label, reason: ok })
  }
  const s = settings.disk
  log(
    `disk: ${runnable.map((c) => c.id).join(', ')}; ${disk.KINDS.join(' and ')} entries, set then a cold get in a fresh process (page cache kept, then dropped)`,
  )
  const raw = {}
  for (let round = 0; round < settings.rounds; round++) {
    for (const kind of disk.KINDS) {
      for (const size of SIZES) {
        for (const c of runnable) {
          const dir = path.join(os.tmpdir(), `tagcache-bench-disk-${process.pid}-${c.id}`)
          const tag = `${kind} ${sizeLabel(size)}`
          try {
            const set = await runJob({
              type: 'diskSet',
              contender: c.id,
              dir,
              kind,
              size,
              count: s.entries[size],
              concurrency: settings.concurrency,
              maxMs: s.maxMs,
            })
            if (set.error) {
              recordError('disk', c, `${tag} set`, set.error)
              continue
            }
            const slot = (((raw[kind] ||= {})[size] ||= {})[c.id] ||= {
              set: [],
              get: { pagecache: [], dropped: [] },
            })
            slot.set.push(set)
            const gets = {}
            for (const variant of ['pagecache', 'dropped']) {
              const g = await runJob({
                type: 'diskGet',
                contender: c.id,
                dir,
                kind,
                size,
                written: set.written,
                concurrency: settings.concurrency,
                dropPageCache: variant === 'dropped',
                maxMs: s.maxMs,
              })
              if (g.error) {
                recordError('disk', c, `${tag} cold get (${variant})`, g.error)
                continue
              }
              slot.get[variant].push(g)
              gets[variant] = g
            }
            const d = gets.dropped
            log(
              `  r${round + 1} ${tag.padEnd(16)} ${c.id.padEnd(14)} set ${fmt(set.seq.opsPerSec)}/s` +
                ` (on disk ${fmt(set.seq.durableOpsPerSec)}/s), x${settings.concurrency} ${fmt(set.c64.opsPerSec)}/s (on disk ${fmt(set.c64.durableOpsPerSec)}/s, close ${fmt(set.closeMs)} ms)` +
                (gets.pagecache ? ` | cold get ${fmt(gets.pagecache.seq.opsPerSec)}/s` : '') +
                (d
                  ? `, page cache dropped ${fmt(d.seq.opsPerSec)}/s (first ${fmt(d.firstGetMs)} ms, ${d.pageCache?.residentBytes ?? '?'} B left resident)`
                  : '') +
                (gets.pagecache?.seq.failed || d?.seq.failed
                  ? ` (${(gets.pagecache?.seq.failed || 0) + (d?.seq.failed || 0)} misses!)`
                  : ''),
            )
          } finally {
            fs.rmSync(dir, { recursive: true, force: true })
          }
        }
      }
    }
  }
  const out = {}
  for (const [kind, bySize] of Object.entries(raw)) {
    out[kind] = {}
    for (const [size, byId] of Object.entries(bySize)) {
      out[kind][size] = {}
      for (const [id, slot] of Object.entries(byId)) {
        out[kind][size][id] = {
          rounds: slot.set.length,
          set: medianDeep(slot.set),
          get: {
            pagecache: medianDeep(slot.get.pagecache),
            dropped: medianDeep(slot.get.dropped),
          },
        }
      }
    }
  }
  results.disk = out
}

function fmt(n) {
  if (!Number.isFinite(n)) return '—'
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  return n.toPrecision(3)
}

/**
 * A run of some scenarios only (--only=…) replaces just those in latest.json: the other
 * scenarios, their "not available" rows and the main run's meta are kept from the file, and
 * this run is listed in meta.partialRuns.
 */
function mergeWithPrevious(file) {
  const ran = only
  if (!fs.existsSync(file)) return results
  let prev
  try {
    prev = JSON.parse(fs.readFileSync(file, 'utf8'))
  } catch {
    return results
  }
  if (ALL.every((s) => ran.includes(s))) {
    // A full run replaces everything but the opt-in scenarios it did not run (the soak
    // carries its own date and build in results.soak.meta).
    const merged = { ...results }
    for (const s of OPT_IN.filter((x) => !ran.includes(x))) {
      merged[s] = prev[s] || {}
      merged.unavailable.push(...(prev.unavailable || []).filter((u) => u.scenario === s))
      merged.errors.push(...(prev.errors || []).filter((e) => e.scenario === s))
    }
    return merged
  }
  const mine = (scenario) => ran.some((s) => scenario === s || scenario?.startsWith(`${s}-`))
  const merged = { ...prev }
  for (const s of ran) merged[s] = results[s]
  merged.unavailable = [
    ...(prev.unavailable || []).filter((u) => !mine(u.scenario)),
    ...results.unavailable,
  ]
  merged.errors = [...(prev.errors || []).filter((e) => !mine(e.scenario)), ...results.errors]
  const m = results.meta
  const part = {
    scenarios: ran,
    date: m.date,
    mode: m.mode,
    seconds: m.seconds,
    loadStart: m.loadStart,
    loadEnd: m.loadEnd,
    node: m.node,
    next: m.next,
    redis: m.redis,
    build: m.build,
  }
  merged.meta = {
    ...prev.meta,
    partialRuns: [
      ...(prev.meta?.partialRuns || []).filter((p) => !p.scenarios.every((s) => ran.includes(s))),
      part,
    ],
  }
  log(
    `kept the other scenarios' results of ${prev.meta?.date ?? 'the previous run'} in ${path.relative(root, file)}`,
  )
  return merged
}

/** docs/benchmarks-soak.svg, when there is a soak to draw. */
function writeSoakSvg(saved) {
  if (Object.keys(saved.soak?.stores || {}).length === 0) return
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks-soak.svg'), require('./lib/soak').svg(saved))
}

/** `--report-only`: regenerate the docs from benchmark/results/latest.json (after editing NOTES.md). */
function reportOnly() {
  const saved = JSON.parse(fs.readFileSync(path.join(benchDir, 'results', 'latest.json'), 'utf8'))
  console.log(report.consoleTables(saved))
  fs.mkdirSync(path.join(root, 'docs'), { recursive: true })
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.md'), report.markdown(saved))
  fs.writeFileSync(path.join(root, 'docs', 'benchmarks.svg'), report.svg(saved))
  writeSoakSvg(saved)
  log('rewrote docs/benchmarks.md and docs/benchmarks*.svg from benchmark/results/latest.json')
}

async function main() {
  if (flag('report-only')) return reportOnly()
  const needRedis = only.some((s) =>
    ['floor', 'uc', 'isr', 'revalidate', 'staleness', 'e2e', 'soak'].includes(s),
  )
  if (needRedis) {
    if (!redisLib.ensureRedisInstalled(log)) {
      log('redis-server could not be installed: the Redis scenarios are skipped')
    } else {
      try {
        redisServer = await redisLib.startRedis(log)
      } catch (err) {
        log(`${err.message}: the Redis scenarios are skipped`)
      }
    }
  }
  results.meta = report.collectMeta({ root, benchDir, quick, settings, redisServer })
  const load = os.loadavg()[0]
  if (load > os.cpus().length / 2) {
    log(
      `note: load average ${load.toFixed(2)} on ${os.cpus().length} cores: other work is running, absolute numbers will be low (ratios hold better)`,
    )
  }

  if (only.includes('floor') && redisServer) {
    log('floor: redis-benchmark GET/SET, 1 and 64 clients, and 1 client pipelining 16 (-P 16)')
    for (const size of SIZES) {
      results.floor[size] = {}
      for (const clients of [1, settings.concurrency]) {
        await flushRedis()
        try {
          results.floor[size][clients === 1 ? 'c1' : 'c64'] = redisLib.redisBenchmark(
            redisServer.port,
            {
              size,
              clients,
              requests: settings.floorRequests[size],
            },
          )
        } catch (err) {
          results.errors.push({ scenario: 'floor', label: 'redis-benchmark', error: err.message })
        }
      }
      await flushRedis()
      try {
        results.floor[size].p16 = redisLib.redisBenchmark(redisServer.port, {
          size,
          clients: 1,
          pipeline: 16,
          requests: settings.floorPipelinedRequests[size],
        })
      } catch (err) {
        results.errors.push({
          scenario: 'floor',
          label: 'redis-benchmark -P 16',
          error: err.message,
        })
      }
      const f = results.floor[size].c1
      const p = results.floor[size].p16
      if (f)
        log(
          `  ${sizeLabel(size).padStart(7)} -c 1 GET ${fmt(f.get.opsPerSec)}/s SET ${fmt(f.set.opsPerSec)}/s` +
            (p ? ` | -c 1 -P 16 GET ${fmt(p.get.opsPerSec)}/s` : ''),
        )
    }
  }

  if (only.includes('uc')) {
    results.uc = await throughputScenario('uc', 'useCacheThroughput', contenders.useCache, [
      'get',
      'set',
    ])
  }
  if (only.includes('isr')) {
    results.isr = await throughputScenario('isr', 'isrThroughput', contenders.isr, ['get'])
  }

  if (only.includes('revalidate')) {
    const pick = (list, skip) => list.filter((c) => !skip.includes(c.id))
    const groups = [
      ['uc', pick(contenders.useCache, ['map-floor', 'trieb-nodedup', 'tagcache-redis-nolocal'])],
      ['isr', pick(contenders.isr, ['trieb-isr-nodedup', 'tagcache-isr-redis-nolocal'])],
    ]
    for (const [api, list] of groups) {
      const runnable = selectContenders(`revalidate-${api}`, list)
      log(`revalidate (${api}): ${runnable.map((c) => c.id).join(', ')}`)
      const large = settings.revalidateLarge
      const counts = [...settings.revalidateEntries, ...(api === 'uc' ? [large.entries] : [])]
      for (const entries of counts) {
        const isLarge = entries === large.entries
        for (const c of runnable) {
          if (isLarge && !large.ids.includes(c.id)) continue
          if (c.store === 'redis') await flushRedis()
          const r = await runJob(
            {
              type: 'revalidate',
              api,
              contender: c.id,
              env: envFor(),
              entries,
              reps: settings.revalidateReps,
              maxMs: settings.revalidateMaxMs,
              populateMs: isLarge ? large.populateMs : settings.populateMs,
              redisCommands: c.store === 'redis',
              ...(isLarge
                ? {
                    valueBytes: large.valueBytes,
                    populateInFlight: large.populateInFlight,
                    populateDirect: true,
                    createOptions: large.createOptions,
                  }
                : {}),
            },
            isLarge ? large.jobTimeoutMs : settings.jobTimeoutMs,
          )
          if (r.error && !r.present) {
            recordError(`revalidate-${api}`, c, `${entries} entries`, r.error)
            continue
          }
          ;(results.revalidate[api][c.id] ||= {})[entries] = r
          log(
            `  ${String(entries).padStart(7)} entries ${c.id.padEnd(18)} ` +
              (r.error
                ? `! ${r.error}`
                : `median ${r.medianMs.toFixed(3)} ms (${r.reps} reps, populated in ${r.populateSeconds.toFixed(1)} s)`),
          )
        }
      }
    }
    await flushRedis()
  }

  if (only.includes('staleness')) {
    const s = settings.staleness
    if (!redisServer) {
      results.unavailable.push({
        scenario: 'staleness',
        id: 'tagcache-redis',
        label: 'tagcache (Redis)',
        reason: 'no Redis in this run',
      })
    } else {
      const { runStaleness, LOCAL_TTL_MS } = require('./lib/staleness')
      log(
        `staleness: engines A and B in two processes on Redis, ${s.samples} writes by A, each timed until B (localTtlMs ${LOCAL_TTL_MS}, its copy tracked) sees it`,
      )
      await flushRedis()
      const r = await runStaleness({ redis: redisServer, settings: s, log, debug: flag('debug') })
      results.staleness = r.staleness
      for (const x of r.errors) results.errors.push({ scenario: 'staleness', ...x })
      const st = r.staleness
      for (const x of r.errors) log(`  ! staleness: ${x.error}`)
      if (st.n)
        log(
          `  ${st.n} samples: p50 ${st.p50Ms.toFixed(3)} ms, p99 ${st.p99Ms.toFixed(3)} ms, max ${st.maxMs.toFixed(3)} ms (${st.untracked} untracked primes, ${st.timeouts} timeouts, ${st.seenBeforeSetResolved} seen before A's set resolved)`,
        )
      await flushRedis()
    }
  }

  if (only.includes('memory')) {
    const list = contenders.useCache.filter((c) => c.store === 'memory')
    const runnable = selectContenders('memory', list)
    log(
      `memory: ${settings.memoryEntries} × 1 KiB through 'use cache' set, then each read once, fresh process each`,
    )
    for (const c of runnable) {
      const r = await runJob({
        type: 'memory',
        contender: c.id,
        env: {},
        entries: settings.memoryEntries,
        size: 1024,
        createOptions: { maxMemoryBytes: 512 * 1024 * 1024 },
      })
      if (r.error) {
        recordError('memory', c, '', r.error)
        continue
      }
      results.memory[c.id] = r
      const perEntry = (b) => `${Math.round(b / r.entries)} B/entry`
      log(
        `  ${c.id.padEnd(18)} after set: RSS +${(r.rssBytes / 1048576).toFixed(1)} MiB (${perEntry(r.rssBytes)}), heap+external +${(r.jsBytes / 1048576).toFixed(1)} MiB (${perEntry(r.jsBytes)})` +
          (r.afterRead
            ? `; after one read each: RSS ${perEntry(r.afterRead.rssBytes)}, heap+external ${perEntry(r.afterRead.jsBytes)}`
            : '') +
          (r.retained ? '' : ' (entries were evicted!)'),
      )
    }
  }

  if (only.includes('disk')) await diskScenario()

  if (only.includes('warm')) {
    log(
      `warm: next build of examples/isr-app (tagcache, built-in), then next start → first 200 of /isr, ${settings.warm.reps} repetition(s) of first start and restart`,
    )
    const r = await runWarm({ settings: settings.warm, log, keepWork: flag('debug') })
    results.warm = { settings: r.settings, page: r.page, rows: r.rows }
    for (const u of r.unavailable) results.unavailable.push({ scenario: 'warm', ...u })
    for (const x of r.errors) results.errors.push({ scenario: 'warm', ...x })
  }

  if (only.includes('e2e')) {
    const e = settings.e2e
    log(
      `e2e: next start of examples/next-app, autocannon ${e.connections} connections × ${e.durationS} s on ${E2E_PAGES.map((p) => p.path).join(' and ')}`,
    )
    const r = await runE2E({
      settings: e,
      redisUrl: envFor().redisUrl,
      redisPort: redisServer?.port,
      log,
      keepWork: flag('debug'),
    })
    results.e2e = { settings: r.settings, pages: r.pages }
    for (const u of r.unavailable) results.unavailable.push({ scenario: 'e2e', ...u })
    for (const x of r.errors) results.errors.push({ scenario: 'e2e', ...x })
  }

  if (only.includes('soak')) {
    const s = settings.soak
    log(
      `soak: ${s.seconds} s of churn per store (${s.stores ? s.stores.join(', ') : 'memory, disk, Redis'}), RSS and p99 per 10-s window`,
    )
    const r = await require('./lib/soak').runSoak({
      seconds: s.seconds,
      stores: s.stores,
      redis: redisServer,
      log,
      debug: flag('debug'),
    })
    results.soak = r.soak
    for (const u of r.unavailable) results.unavailable.push({ scenario: 'soak', ...u })
    for (const x of r.errors) results.errors.push({ scenario: 'soak', ...x })
  }

  cleanup()
  results.meta.seconds = Math.round((Date.now() - started) / 1000)
  results.meta.loadEnd = os.loadavg().map((x) => Number(x.toFixed(2)))

  const outDir = path.join(benchDir, 'results')
  fs.mkdirSync(outDir, { recursive: true })
  // A quick run never replaces the full run's numbers or docs unless asked to (--write).
  const writeDocs = flag('write') || (!quick && !flag('no-write'))
  const latest = path.join(outDir, quick && !flag('write') ? 'quick.json' : 'latest.json')
  const saved = path.basename(latest) === 'latest.json' ? mergeWithPrevious(latest) : results
  fs.writeFileSync(latest, JSON.stringify(saved, null, 2) + '\n')
  // Keep the repository's `prettier --check .` clean (Markdown is not checked).
  const prettier = path.join(root, 'node_modules', '.bin', 'prettier')
  if (fs.existsSync(prettier))
    spawnSync(prettier, ['--write', '--log-level=warn', latest], { cwd: root })

  const md = report.markdown(saved)
  console.log('\n' + report.consoleTables(results))
  if (writeDocs) {
    fs.mkdirSync(path.join(root, 'docs'), { recursive: true })
    fs.writeFileSync(path.join(root, 'docs', 'benchmarks.md'), md)
    fs.writeFileSync(path.join(root, 'docs', 'benchmarks.svg'), report.svg(saved))
    writeSoakSvg(saved)
    log(`wrote docs/benchmarks.md, docs/benchmarks*.svg and ${path.relative(root, latest)}`)
  } else {
    log(
      `wrote ${path.relative(root, latest)} (docs left as they are${quick ? '; --write to update them from a quick run' : ''})`,
    )
  }
  log(`done in ${elapsed()}`)
}

main().catch((err) => {
  console.error(err)
  cleanup()
  process.exit(1)
})
