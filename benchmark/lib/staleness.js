'use strict'
/**
 * Staleness window of the in-process tier in front of Redis (issue #13): how long after
 * another instance's write an instance's in-process copy of the key still answers.
 *
 * On a single Redis node an engine's copy read from Redis is tracked (client-side caching,
 * src/store/redis/tracking.rs): Redis announces another engine's write of the key and the
 * copy is dropped. Measured with two engines in two Node processes (this file, forked twice;
 * two engines in one process would share one tokio runtime), on the run's Redis, the same
 * `keyPrefix`:
 *
 * - B (`localTtlMs` = LOCAL_TTL_MS, 50 ms) reads key k through `get` (a Redis read), sleeps
 *   2 × localTtlMs and reads it again: the second read answered in process (`stats().sharedReads`
 *   did not move) with a copy older than localTtlMs, so the copy is tracked. Otherwise (tracking
 *   not live yet, or an announcement arrived during its read) B reads again, up to 10 times.
 * - B then polls k in a loop (`peek(k)`, and `get(k)` when `peek` has no in-process answer,
 *   as the Next adapters do), yielding with `setImmediate` between polls;
 * - A writes the next version of k (`set`, 1 KiB, the version in its first 4 bytes) and takes
 *   the time its `set` promise resolved;
 * - B takes the time it first sees the new version.
 *
 * The window is B's time minus A's (`performance.timeOrigin + performance.now()` in both
 * processes: the machine's clock; two processes' origins agree to a few µs). A sample B saw
 * before A's promise resolved counts as 0 (and is counted). One sample per version; the
 * parent relays the steps over IPC, outside the timed span.
 *
 * Without tracking (a cluster, Sentinel, Redis < 6, an engine's copy of its own write, a lost
 * tracking connection) a copy answers for `localTtlMs` at most (default 1000 ms): stated in
 * the report, not measured here.
 */
const path = require('node:path')
const os = require('node:os')
const { forkJob, killChild } = require('./child')
const { performance } = require('node:perf_hooks')
const { quantile } = require('./measure')

const root = path.join(__dirname, '..', '..')
/** B's `localTtlMs`: short, so that a copy answering after 2 × this is a tracked one. */
const LOCAL_TTL_MS = 50
const SIZE = 1024
const KEY = 'staleness:k'
const KEY_PREFIX = 'bench-stale'
/** The default `localTtlMs`: the bound of an untracked copy (stated, not measured). */
const DEFAULT_LOCAL_TTL_MS = 1000

const now = () => performance.timeOrigin + performance.now()
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

// ---------------------------------------------------------------------------------------
// The children: A (writer) and B (reader), one engine each.

function childMain() {
  let engine = null
  let watching = null
  const versionOf = (e) => (e && e.value && e.value.length >= 4 ? e.value.readUInt32BE(0) : -1)
  const read = async () => {
    const e = engine.peek(KEY)
    if (e !== undefined) return { e, via: 'peek' }
    return { e: await engine.get(KEY), via: 'get' }
  }
  const ops = {
    open({ redisUrl, localTtlMs }) {
      const { TagCache } = require(path.join(root, 'index.js'))
      engine = new TagCache({ redisUrl, keyPrefix: KEY_PREFIX, localTtlMs })
      return true
    },
    async write({ version }) {
      const buf = Buffer.alloc(SIZE, version & 0xff)
      buf.writeUInt32BE(version, 0)
      const tStart = now()
      await engine.set(KEY, buf, { tags: ['staleness'] })
      return { tStart, tDone: now() }
    },
    /** Holds a tracked copy of `version`: read, sleep past localTtlMs, read again in process. */
    async prime({ version, sleepMs }) {
      for (let attempt = 1; attempt <= 10; attempt++) {
        const first = await engine.get(KEY)
        if (versionOf(first) !== version) {
          await sleep(5)
          continue
        }
        const reads = engine.stats().sharedReads
        await sleep(sleepMs)
        const again = await engine.get(KEY)
        if (versionOf(again) === version && engine.stats().sharedReads === reads)
          return { tracked: true, attempts: attempt }
      }
      return { tracked: false, attempts: 10 }
    },
    /** Starts polling for `version` (answers at once; `seen` answers when it is seen). */
    watch({ version, maxWaitMs }) {
      watching = (async () => {
        const t0 = now()
        let polls = 0
        for (;;) {
          polls++
          const { e, via } = await read()
          const v = versionOf(e)
          if (v >= version) return { tSeen: now(), polls, via, exact: v === version }
          if (now() - t0 > maxWaitMs) return { timedOut: true, polls }
          await new Promise((r) => setImmediate(r))
        }
      })()
      return true
    },
    seen() {
      return watching
    },
    stats() {
      return engine.stats()
    },
    async close() {
      await engine?.close()
      return true
    },
  }
  process.on('message', async (msg) => {
    let reply
    try {
      reply = { id: msg.id, ok: true, result: await ops[msg.op](msg) }
    } catch (err) {
      reply = { id: msg.id, ok: false, error: String((err && err.stack) || err).slice(0, 2000) }
    }
    process.send(reply)
  })
}

if (require.main === module) childMain()

// ---------------------------------------------------------------------------------------
// The parent.

function spawnPeer(name, debug) {
  const { child, stderrTail } = forkJob(__filename, { cwd: path.join(__dirname, '..'), debug })
  let next = 1
  const waiting = new Map()
  child.on('message', (m) => {
    const w = waiting.get(m.id)
    if (!w) return
    waiting.delete(m.id)
    if (m.ok) w.resolve(m.result)
    else w.reject(new Error(`${name}: ${m.error}`))
  })
  child.on('exit', (code, signal) => {
    const tail = stderrTail(2)
    for (const w of waiting.values())
      w.reject(new Error(`${name} exited with ${signal || code}${tail ? `: ${tail}` : ''}`))
    waiting.clear()
  })
  return {
    child,
    call(op, args = {}, timeoutMs = 10000) {
      return new Promise((resolve, reject) => {
        const id = next++
        const timer = setTimeout(() => {
          waiting.delete(id)
          reject(new Error(`${name}: ${op} timed out after ${timeoutMs / 1000} s`))
        }, timeoutMs)
        waiting.set(id, {
          resolve: (v) => (clearTimeout(timer), resolve(v)),
          reject: (e) => (clearTimeout(timer), reject(e)),
        })
        child.send({ id, op, ...args })
      })
    },
    kill: () => killChild(child),
  }
}

const round3 = (x) => Math.round(x * 1000) / 1000

/** Quantiles (ms) of a list of windows. */
function summarize(values) {
  const sorted = Float64Array.from(values).sort()
  const n = sorted.length
  return {
    n,
    p50Ms: n ? quantile(sorted, n, 0.5) : null,
    p99Ms: n ? quantile(sorted, n, 0.99) : null,
    maxMs: n ? sorted[n - 1] : null,
    minMs: n ? sorted[0] : null,
    meanMs: n ? values.reduce((a, b) => a + b, 0) / n : null,
  }
}

/**
 * Runs the scenario on the run's Redis (`redis`: { port }). `settings`: { samples, maxWaitMs }.
 * Returns { staleness, errors }.
 */
async function runStaleness({ redis, settings, log, debug = false }) {
  const redisUrl = `redis://127.0.0.1:${redis.port}`
  const samples = settings.samples
  const maxWaitMs = settings.maxWaitMs ?? 2000
  const out = {
    settings: {
      samples,
      maxWaitMs,
      size: SIZE,
      localTtlMsReader: LOCAL_TTL_MS,
      primeSleepMs: 2 * LOCAL_TTL_MS,
      defaultLocalTtlMs: DEFAULT_LOCAL_TTL_MS,
    },
  }
  const a = spawnPeer('A (writer)', debug)
  const b = spawnPeer('B (reader)', debug)
  const kill = () => {
    a.kill()
    b.kill()
  }
  process.on('exit', kill)
  const started = Date.now()
  try {
    await a.call('open', { redisUrl })
    await b.call('open', { redisUrl, localTtlMs: LOCAL_TTL_MS })
    const windows = []
    const fromCall = []
    let version = 0
    await a.call('write', { version })
    let untracked = 0
    let timeouts = 0
    let early = 0
    let primeAttempts = 0
    let viaGet = 0
    let polls = 0
    // Untracked primes and timeouts do not count towards `samples`; bounded all the same.
    for (let tries = 0; windows.length + timeouts < samples && tries < samples * 2; tries++) {
      const p = await b.call('prime', { version, sleepMs: 2 * LOCAL_TTL_MS })
      primeAttempts += p.attempts
      if (!p.tracked) {
        untracked++
        // A write B never saw as tracked: start over from a fresh version.
        await a.call('write', { version: ++version })
        continue
      }
      version++
      await b.call('watch', { version, maxWaitMs })
      const w = await a.call('write', { version })
      const s = await b.call('seen', {}, maxWaitMs + 10000)
      if (s.timedOut) {
        timeouts++
        continue
      }
      const d = s.tSeen - w.tDone
      if (d < 0) early++
      windows.push(round3(Math.max(0, d)))
      fromCall.push(round3(s.tSeen - w.tStart))
      if (s.via === 'get') viaGet++
      polls += s.polls
    }
    const bStats = await b.call('stats')
    await Promise.allSettled([a.call('close'), b.call('close')])
    Object.assign(out, {
      ...summarize(windows),
      fromSetCall: summarize(fromCall),
      untracked,
      timeouts,
      seenBeforeSetResolved: early,
      primeReadsPerSample: windows.length ? primeAttempts / (windows.length + timeouts) : null,
      seenThroughGet: viaGet,
      pollsPerSample: windows.length ? polls / windows.length : null,
      readerSharedReads: bStats.sharedReads,
      readerStoreErrors: bStats.storeErrors,
      windowsMs: windows,
      seconds: Math.round((Date.now() - started) / 100) / 10,
      loadAvg: os.loadavg()[0],
    })
    return { staleness: out, errors: [] }
  } catch (err) {
    return {
      staleness: out,
      errors: [{ id: 'tagcache-redis', label: 'tagcache (Redis)', error: err.message }],
    }
  } finally {
    kill()
    process.removeListener('exit', kill)
    log?.(`  (staleness: ${((Date.now() - started) / 1000).toFixed(1)} s)`)
  }
}

module.exports = { runStaleness, LOCAL_TTL_MS, DEFAULT_LOCAL_TTL_MS }
