'use strict'
/**
 * Fault injection across instances (issue 11, item 4): one `redis-server` (the test helpers',
 * on a free loopback port, append-only file on), three `TagCache` engines in this process,
 * each through its own loopback proxy (proxy.js) so a fault can hit one of them, and a
 * seeded workload of tagged sets, gets, `revalidateTag` with and without a profile,
 * `updateTags` and `refreshTags` on random instances, while one fault at a time is injected:
 *
 *   latency, drop, reset, half-open (one instance's link) · sigstop (SIGSTOP / SIGCONT of
 *   redis-server) · restart (SIGKILL and restart, with the append-only file kept:
 *   `persistent`, or wiped: `wiped`, all data lost) · maxmemory (`CONFIG SET maxmemory`
 *   just above what is used, `noeviction`: writes answer OOM) · tags-lost (the tag hash and
 *   log deleted, as an `allkeys-*` eviction or a restore would) · instance-restart (one
 *   engine closed and a new one made in its place).
 *
 * Every operation and fault goes to a history (history.js) that the checker (checker.js)
 * checks as it happens; when the time is up, faults and load stop, everything is healed and
 * the instances must agree (tag states and verdicts) within 2 s.
 *
 *   node __test__/faults/run.js --seconds=600 --seed=7 [--faults=latency,sigstop]
 *                               [--history=/tmp/h.jsonl] [--json]
 *
 * exits 1 when the checker found violations. `runFaults(options)` is the same from a test.
 */
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { TagCache } = require('../..')
const { startRedis } = require('../helpers/redis')
const { FaultProxy } = require('./proxy')
const { History, clock } = require('./history')
const { Checker } = require('./checker')
const admin = require('./admin')
const { LogTap } = require('./tap')

/** Every fault kind, in the order they are described above. */
const ALL_FAULTS = [
  'latency',
  'drop',
  'reset',
  'half-open',
  'sigstop',
  'restart',
  'maxmemory',
  'tags-lost',
  'instance-restart',
]

const TAGS = ['t0', 't1', 't2', 't3', 't4', 't5', 't6', 't7']
const KEYS = Array.from({ length: 24 }, (_, i) => `k${i}`)
/** The three instances: short timeouts, in-process tier off (0) or default. */
const INSTANCES = [
  { timeoutMs: 300, localTtlMs: 0 },
  { timeoutMs: 400 },
  { timeoutMs: 250, localTtlMs: 0 },
]
const CONVERGE_MS = 2000

/** mulberry32: a small seeded PRNG, and the draws the run needs. */
function prng(seed) {
  let a = seed >>> 0 || 1
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  const random = {
    next,
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo + 1)),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
    /** One of `weights`' keys, each as likely as its weight. */
    weighted(weights) {
      const entries = Object.entries(weights)
      let r = next() * entries.reduce((s, [, w]) => s + w, 0)
      for (const [k, w] of entries) {
        if ((r -= w) < 0) return k
      }
      return entries[entries.length - 1][0]
    },
    subset(list, lo, hi) {
      const n = random.int(lo, hi)
      const pool = [...list]
      const out = []
      while (out.length < n && pool.length)
        out.push(pool.splice(random.int(0, pool.length - 1), 1)[0])
      return out
    },
  }
  return random
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A value that says what it is: key, seq, writer, timestamp, tags, then a pattern. */
function makeValue(key, seq, writer, ts, tags, padding) {
  const header = Buffer.from(JSON.stringify({ k: key, s: seq, w: writer, ts, tags, n: padding }))
  const buf = Buffer.alloc(4 + header.length + padding)
  buf.writeUInt32BE(header.length, 0)
  header.copy(buf, 4)
  for (let i = 0; i < padding; i++) buf[4 + header.length + i] = (seq * 7 + i) & 0xff
  return buf
}

/** `'ok'`, or why the entry is not what a `set` of `key` wrote; `header` out. */
function checkValue(key, entry) {
  const buf = entry.value
  if (!Buffer.isBuffer(buf) || buf.length < 4) return { why: 'value too short' }
  const n = buf.readUInt32BE(0)
  if (4 + n > buf.length) return { why: `header length ${n} past the value (${buf.length})` }
  let h
  try {
    h = JSON.parse(buf.toString('utf8', 4, 4 + n))
  } catch {
    return { why: 'header does not parse' }
  }
  if (h.k !== key) return { why: `read ${key}, got the bytes of ${h.k} (seq ${h.s})` }
  if (h.ts !== entry.timestamp) return { why: `timestamp ${entry.timestamp}, written ${h.ts}` }
  if (JSON.stringify(h.tags) !== JSON.stringify(entry.tags)) {
    return { why: `tags ${JSON.stringify(entry.tags)}, written ${JSON.stringify(h.tags)}` }
  }
  if (buf.length !== 4 + n + h.n) return { why: `length ${buf.length}, written ${4 + n + h.n}` }
  for (let i = 0; i < h.n; i++) {
    if (buf[4 + n + i] !== ((h.s * 7 + i) & 0xff)) return { why: `byte ${i} of the pattern` }
  }
  return { why: 'ok', header: h }
}

function binaryInfo() {
  const file = path.join(__dirname, '..', '..', 'tagcache.linux-x64-gnu.node')
  try {
    const st = fs.statSync(file)
    const sha = crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex')
    return { file: path.basename(file), mtime: st.mtime.toISOString(), sha256: sha.slice(0, 16) }
  } catch {
    return { file: 'unknown' }
  }
}

const mb = (bytes) => Math.round((bytes / 1024 / 1024) * 10) / 10

/**
 * Runs the scenario for `seconds`; resolves to the summary (never rejects for what it
 * finds: violations are in the summary). Servers, proxies and engines are stopped whatever
 * happens.
 *
 * @param {{ seconds?: number, seed?: number, log?: (line: string) => void,
 *   faults?: string[], historyFile?: string, concurrency?: number, rssBoundMb?: number }} options
 */
async function runFaults({
  seconds = 60,
  seed = 1,
  log = () => {},
  faults: kinds = ALL_FAULTS,
  historyFile,
  concurrency = 6,
  rssBoundMb = 256,
} = {}) {
  for (const k of kinds) if (!ALL_FAULTS.includes(k)) throw new Error(`unknown fault kind ${k}`)
  const random = prng(seed)
  const history = new History({ file: historyFile })
  const slowMs = 6 * Math.max(...INSTANCES.map((o) => o.timeoutMs || 1000)) + 750
  const checker = new Checker({ slowMs })
  history.listen((ev) => checker.on(ev))
  const keyPrefix = `faults-${process.pid}-${seed}-${Date.now()}`
  const extra = [] // violations the driver finds (crash, rss, convergence, unhandled)
  const addViolation = (kind, diagnosis, detail) => {
    extra.push(kind)
    checker.violation(kind, diagnosis, detail)
  }
  const onUnhandled = (reason) =>
    addViolation('unhandled-rejection', 'unexplained', {
      code: reason && reason.code,
      message: String((reason && reason.message) || reason),
    })
  process.on('unhandledRejection', onUnhandled)
  // The helpers add one `exit` listener per redis-server launch; restarts are bounded.
  const maxRestarts = Math.ceil(seconds / 5) + 2
  process.setMaxListeners(process.getMaxListeners() + maxRestarts)

  let redis
  const proxies = []
  const instances = []
  const rss = { start: 0, peak: 0, end: 0, samples: 0 }
  let sampler
  let tap
  const summary = { seed, seconds, binary: binaryInfo(), keyPrefix, faultKinds: kinds }
  let lastBeat = 0
  try {
    redis = await startRedis(['--appendonly', 'yes', '--appendfsync', 'everysec'])
    const dataDir = (await admin.command(redis.port, ['CONFIG', 'GET', 'dir']))[1]
    for (let i = 0; i < INSTANCES.length; i++) {
      const proxy = new FaultProxy({ targetPort: redis.port, name: `p${i}`, random: random.next })
      await proxy.start()
      proxies.push(proxy)
    }
    const makeEngine = (i) => new TagCache({ redisUrl: proxies[i].url, keyPrefix, ...INSTANCES[i] })
    for (let i = 0; i < INSTANCES.length; i++) {
      instances.push({ idx: i, gen: 0, cache: makeEngine(i), inflight: 0, restarting: false })
    }
    let frozen = false
    let down = false
    tap = new LogTap(redis.port, `{${keyPrefix}}:tags:log`)
    tap.start(200, () => frozen || down)
    log(
      `faults: seed ${seed}, ${seconds} s, redis-server pid ${redis.pid} on ${redis.port}, ` +
        `proxies ${proxies.map((p) => p.port).join(', ')}, binary ${summary.binary.sha256} ` +
        `(${summary.binary.mtime})`,
    )

    // One operation on one instance, recorded.
    let seq = 0
    const call = async (inst, op, fields, fn) => {
      // Not on an engine being replaced (a request's later reads land here).
      if (inst.restarting) return
      const id = history.begin(op, { inst: inst.idx, gen: inst.gen, ...fields })
      const cache = inst.cache
      inst.inflight++
      try {
        const out = await fn(cache)
        history.end(id, { ok: true, ...out })
      } catch (err) {
        history.end(id, {
          ok: false,
          code: err && err.code,
          message: String((err && err.message) || err).slice(0, 300),
        })
      } finally {
        inst.inflight--
      }
    }
    // `peek` first, as the Next adapters do: the in-process answer, or undefined when only
    // Redis can answer (then `get`). `tier` says which answered.
    const get = (inst, key) =>
      call(inst, 'get', { key }, async (cache) => {
        const local = cache.peek(key)
        const tier = local === undefined ? 'redis' : 'memory'
        const entry = local === undefined ? await cache.get(key) : local
        if (!entry) return { hit: false, tier }
        let state
        try {
          state = cache.tagStates(entry.tags)
        } catch {
          state = undefined
        }
        const { why, header } = checkValue(key, entry)
        return {
          hit: true,
          tier,
          status: entry.status,
          revalidated: entry.revalidated,
          ts: entry.timestamp,
          tags: header ? header.tags : entry.tags,
          writer: header ? `${header.w}#${header.s}` : undefined,
          value: why,
          state,
        }
      })
    const refresh = (inst) => call(inst, 'refreshTags', {}, (cache) => cache.refreshTags())
    const setProfiles = [
      { profile: 'default' },
      { profile: 'hours' },
      { profile: 'max' },
      { revalidate: 3, expire: 30 },
    ]
    const revalidateProfiles = [undefined, 'max', 'hours', { expire: 0 }, { expire: 2 }]
    const operations = {
      async request(inst) {
        await refresh(inst)
        for (let n = random.int(1, 3); n > 0; n--) await get(inst, random.pick(KEYS))
      },
      get: (inst) => get(inst, random.pick(KEYS)),
      set(inst) {
        const key = random.pick(KEYS)
        const tags = random.subset(TAGS, 1, 3)
        const ts = clock() - (random.chance(0.3) ? 0 : random.int(1, 300))
        const padding = random.chance(0.1) ? random.int(8_000, 40_000) : random.int(32, 3000)
        const s = ++seq
        const value = makeValue(key, s, inst.idx, ts, tags, padding)
        const meta = { tags, timestamp: ts, ...random.pick(setProfiles) }
        return call(inst, 'set', { key, tags, seq: s, ts }, (cache) => cache.set(key, value, meta))
      },
      revalidateTag(inst) {
        const tags = random.subset(TAGS, 1, 2)
        const profile = random.pick(revalidateProfiles)
        const arg = tags.length === 1 && random.chance(0.5) ? tags[0] : tags
        return call(
          inst,
          'revalidateTag',
          { tags, profile: profile === undefined ? null : profile },
          (c) => (profile === undefined ? c.revalidateTag(arg) : c.revalidateTag(arg, profile)),
        )
      },
      updateTags(inst) {
        const tags = random.subset(TAGS, 1, 2)
        const durations = random.pick([undefined, { expire: 0 }, { expire: 3 }, {}])
        return call(inst, 'updateTags', { tags, durations: durations ?? null }, (c) =>
          durations === undefined ? c.updateTags(tags) : c.updateTags(tags, durations),
        )
      },
      refreshTags: (inst) => refresh(inst),
    }
    const weights = {
      request: 35,
      get: 15,
      set: 30,
      revalidateTag: 5,
      updateTags: 3,
      refreshTags: 10,
    }

    const started = clock()
    const stopAt = started + seconds * 1000
    let stopping = false
    const pickInstance = () => {
      const ready = instances.filter((i) => !i.restarting)
      return ready.length ? random.pick(ready) : null
    }
    const worker = async () => {
      while (!stopping && clock() < stopAt) {
        const inst = pickInstance()
        if (inst) await operations[random.weighted(weights)](inst)
        await sleep(random.int(0, 12))
      }
    }

    rss.start = process.memoryUsage().rss
    rss.peak = rss.start
    sampler = setInterval(() => {
      const now = process.memoryUsage().rss
      rss.peak = Math.max(rss.peak, now)
      rss.samples++
      if (clock() - lastBeat >= 10_000) {
        lastBeat = clock()
        const total = Object.values(history.counts).reduce((a, b) => a + b, 0)
        log(
          `  ${Math.round((clock() - started) / 1000)} s: ${total} ops, ` +
            `${Object.values(checker.faults).reduce((a, b) => a + b, 0)} faults, ` +
            `${checker.total} violations, rss ${mb(now)} MiB`,
        )
      }
    }, 250)
    sampler.unref()
    lastBeat = clock()

    // Faults, one at a time.
    let restarts = 0
    let lastFault = null
    const lostTags = async (why) => history.mark('lost', { why })
    const faultRunners = {
      async latency() {
        const inst = random.pick(instances)
        const slow = random.chance(0.5)
        const ms = slow ? random.int(350, 900) : random.int(20, 200)
        const jitter = random.int(0, 60)
        const dur = random.int(500, 3000)
        history.fault('latency', 'start', {
          inst: inst.idx,
          variant: slow ? 'over-timeout' : 'under-timeout',
          ms,
          jitter,
        })
        proxies[inst.idx].setLatency(ms, jitter)
        await sleep(dur)
        proxies[inst.idx].setLatency(0)
        history.fault('latency', 'end', { inst: inst.idx })
      },
      async drop() {
        const inst = random.pick(instances)
        const dur = random.int(200, 1500)
        history.fault('drop', 'start', { inst: inst.idx })
        proxies[inst.idx].drop(true)
        await sleep(dur)
        proxies[inst.idx].refusing = false
        history.fault('drop', 'end', { inst: inst.idx })
      },
      async reset() {
        const inst = random.pick(instances)
        const until = clock() + random.int(300, 1500)
        history.fault('reset', 'start', { inst: inst.idx })
        while (clock() < until) {
          proxies[inst.idx].reset()
          await sleep(random.int(100, 400))
        }
        history.fault('reset', 'end', { inst: inst.idx })
      },
      async 'half-open'() {
        const inst = random.pick(instances)
        const how = random.chance(0.5) ? 'flush' : 'kill'
        const dur = random.int(500, 3000)
        history.fault('half-open', 'start', { inst: inst.idx, variant: how })
        proxies[inst.idx].holdAll()
        await sleep(dur)
        proxies[inst.idx].releaseAll(how)
        history.fault('half-open', 'end', { inst: inst.idx })
      },
      async sigstop() {
        const dur = random.int(300, 2500)
        history.fault('sigstop', 'start', { pid: redis.pid })
        frozen = true
        redis.pause()
        try {
          await sleep(dur)
        } finally {
          redis.resume()
          frozen = false
        }
        history.fault('sigstop', 'end')
      },
      async restart() {
        if (restarts >= maxRestarts) return false
        restarts++
        const wiped = random.chance(0.5)
        await tap.poll().catch(() => {})
        down = true
        history.fault('restart', 'start', {
          pid: redis.pid,
          variant: wiped ? 'wiped' : 'persistent',
        })
        await redis.kill()
        await sleep(random.int(100, 1500))
        if (wiped) {
          fs.rmSync(path.join(dataDir, 'appendonlydir'), { recursive: true, force: true })
          fs.rmSync(path.join(dataDir, 'dump.rdb'), { force: true })
          await lostTags('redis-server restarted without its data')
        }
        await redis.restart()
        down = false
        history.fault('restart', 'end', { pid: redis.pid })
      },
      async maxmemory() {
        const mem = await admin.info(redis.port, 'memory')
        const used = Number(mem.used_memory)
        const limit = used + random.int(0, 128 * 1024)
        const dur = random.int(1000, 4000)
        await admin.command(redis.port, ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'])
        await admin.command(redis.port, ['CONFIG', 'SET', 'maxmemory', String(limit)])
        history.fault('maxmemory', 'start', { used, limit })
        try {
          await sleep(dur)
        } finally {
          await admin.command(redis.port, ['CONFIG', 'SET', 'maxmemory', '0'])
        }
        history.fault('maxmemory', 'end')
      },
      async 'tags-lost'() {
        await tap.poll().catch(() => {})
        history.fault('tags-lost', 'start')
        await admin.command(redis.port, ['DEL', `{${keyPrefix}}:tags`, `{${keyPrefix}}:tags:log`])
        await lostTags('tag keys deleted')
        history.fault('tags-lost', 'end')
      },
      async 'instance-restart'() {
        const inst = random.pick(instances)
        inst.restarting = true
        history.fault('instance-restart', 'start', { inst: inst.idx, gen: inst.gen })
        const deadline = clock() + 3000
        while (inst.inflight > 0 && clock() < deadline) await sleep(5)
        history.mark('closing', { inst: inst.idx, gen: inst.gen })
        try {
          await inst.cache.close()
        } catch (err) {
          addViolation('crash', 'unexplained', {
            what: 'close',
            message: String(err && err.message),
          })
        }
        await sleep(random.int(0, 500))
        inst.gen++
        try {
          inst.cache = makeEngine(inst.idx)
        } catch (err) {
          addViolation('crash', 'unexplained', {
            what: 'new TagCache',
            message: String(err && err.message),
          })
        }
        inst.restarting = false
        history.fault('instance-restart', 'end', { inst: inst.idx, gen: inst.gen })
      },
    }
    // A shuffled deck of the enabled kinds, dealt one at a time and dealt again when empty:
    // every kind comes once per round, in a seeded order.
    const enabled = ALL_FAULTS.filter((k) => kinds.includes(k))
    let deck = []
    const deal = () => {
      if (!deck.length) deck = random.subset(enabled, enabled.length, enabled.length)
      return deck.pop()
    }
    const faulter = async () => {
      await sleep(1500)
      while (!stopping && clock() < stopAt - 1000 && enabled.length) {
        const kind = deal()
        // Before Redis runs out of memory, let earlier faults' back-offs end, so a failed
        // read there is the maxmemory's doing.
        await sleep(kind === 'maxmemory' ? random.int(2500, 3500) : random.int(300, 1500))
        if (stopping || clock() >= stopAt - 1000) break
        lastFault = kind
        await faultRunners[kind]()
      }
    }

    const workers = Array.from({ length: concurrency }, () => worker())
    await Promise.all([...workers, faulter()])
    stopping = true

    // Heal everything, then the instances must agree within CONVERGE_MS.
    for (const p of proxies) p.heal()
    try {
      redis.resume()
    } catch {
      // not running
    }
    await admin.command(redis.port, ['CONFIG', 'SET', 'maxmemory', '0']).catch(() => {})
    history.mark('healed')
    const healed = clock()
    summary.convergence = await converge(instances, { call, healed, keyPrefix, redis, checker })
    const c = summary.convergence
    if (!c.ok) {
      addViolation('no-convergence', c.diagnosis, {
        within: CONVERGE_MS,
        convergedAfterMs: c.ms,
        diffs: c.diffs.slice(0, 8),
        rounds: c.rounds,
        lastFault: lastFault,
      })
    }
    await tap.stop()
    summary.tagLog = tap.inversions()
    // A read that held an older tag state than a resolved write: was the older write
    // after the newer one in Redis's own log? Then Redis (and every engine) went back.
    checker.refine((record) => {
      if (!['backwards', 'unexplained'].includes(record.diagnosis)) return undefined
      const late = tap.lateWrite(record.tag, record.stateAtRead, record.revalidation.begin)
      if (!late) return undefined
      record.redisLog = late
      return 'backwards-in-redis'
    })
    summary.stats = instances.map((i) => ({ inst: i.idx, gen: i.gen, ...i.cache.stats() }))
    summary.proxies = proxies.map((p) => p.counters)
  } catch (err) {
    addViolation('crash', 'unexplained', { message: String((err && err.stack) || err) })
  } finally {
    if (sampler) clearInterval(sampler)
    if (tap && tap.running) await tap.stop().catch(() => {})
    for (const inst of instances) await inst.cache.close().catch(() => {})
    for (const p of proxies) await p.close().catch(() => {})
    if (redis) await redis.stop()
    history.close()
    process.off('unhandledRejection', onUnhandled)
    process.setMaxListeners(Math.max(10, process.getMaxListeners() - maxRestarts))
  }
  rss.end = process.memoryUsage().rss
  rss.peak = Math.max(rss.peak, rss.end)
  summary.rssMb = { start: mb(rss.start), peak: mb(rss.peak), end: mb(rss.end), bound: rssBoundMb }
  if (rss.start && rss.peak - rss.start > rssBoundMb * 1024 * 1024) {
    addViolation('rss', 'unexplained', { ...summary.rssMb })
  }
  Object.assign(summary, checker.summary())
  summary.operations = Object.values(history.counts).reduce((a, b) => a + b, 0)
  summary.operationsByKind = history.counts
  summary.violationCount = checker.total
  if (historyFile) summary.historyFile = historyFile
  report(summary, log)
  return summary
}

/**
 * After the heal: rounds of refreshTags + tagStates + a get of every key on every instance,
 * until all agree. `{ ok, ms, diffs, diagnosis }`; `ms` is when they agreed (even if late).
 */
async function converge(instances, { call, healed, keyPrefix, redis, checker }) {
  const give = 5000
  let diffs = []
  const rounds = []
  for (;;) {
    const views = []
    for (const inst of instances) {
      await call(inst, 'refreshTags', {}, (cache) => cache.refreshTags())
      let states
      try {
        states = inst.cache.tagStates(TAGS)
      } catch (err) {
        states = String(err && err.message)
      }
      const verdicts = {}
      await Promise.all(
        KEYS.map(async (key) => {
          const entry = await inst.cache.get(key).catch((err) => ({ error: err.code }))
          verdicts[key] = !entry
            ? 'miss'
            : entry.error
              ? `error ${entry.error}`
              : `${entry.status}${entry.revalidated ? '(tag)' : ''}@${entry.timestamp}`
        }),
      )
      views.push({ inst: inst.idx, gen: inst.gen, states, verdicts })
    }
    diffs = compareViews(views)
    const ms = Math.round(clock() - healed)
    rounds.push({ ms, diffs: diffs.length, what: diffs.slice(0, 3) })
    if (!diffs.length) {
      const late = ms > CONVERGE_MS
      if (!late) return { ok: true, ms, diffs: [], rounds: rounds.length }
      // Late: what held it up, judged on the last round that still differed.
      const last = rounds[rounds.length - 2]
      const why = new Set()
      for (const d of (last && last.what) || []) {
        if (d.key !== undefined) for (const w of ownVersions(d, instances, checker)) why.add(w)
      }
      const diagnosis = `late:${[...why].join('+') || 'unexplained'}`
      return { ok: false, ms, diffs: [], diagnosis, rounds: rounds.slice(-6) }
    }
    if (ms > give) break
    await sleep(50)
  }
  // Not converged: say which tag fields differ, what Redis holds, and why.
  let stored = {}
  try {
    const flat = await admin.command(redis.port, ['HGETALL', `{${keyPrefix}}:tags`])
    for (let i = 0; i < flat.length; i += 2) stored[flat[i]] = Number(flat[i + 1])
  } catch (err) {
    stored = { error: String(err.message) }
  }
  const diagnoses = new Set()
  for (const d of diffs) {
    if (d.key !== undefined) {
      for (const why of ownVersions(d, instances, checker)) diagnoses.add(why)
      continue
    }
    d.redis = stored[`${d.field === 'stale' ? 's' : 'x'}:${d.tag}`]
    for (const v of d.values) {
      if (v.value === d.redis) continue
      v.why =
        v.value !== undefined && (d.redis === undefined || v.value > d.redis)
          ? checker.explainTagValue(v.inst, v.gen, d.tag, v.value)
          : checker.explainTagValue(v.inst, v.gen, d.tag, undefined)
      diagnoses.add(v.why)
    }
  }
  const diagnosis = [...diagnoses].sort().join('+') || 'unexplained'
  return { ok: false, ms: null, diffs, diagnosis, rounds: rounds.slice(-6) }
}

/**
 * Why one instance serves another version of a key than the rest: its in-process tier holds
 * a newer version (by timestamp) than Redis does, and keeps preferring it. Redis's version
 * is older when the newer one's SET failed, or an older one's SET landed after it (a render
 * that finished later, a write delivered late). `own`: the instance had set that version
 * itself (`rejected` or `accepted`).
 */
function ownVersions(diff, instances, checker) {
  const out = []
  const stamp = (v) => Number(String(v.verdict).split('@')[1]) || 0
  for (const v of diff.values) {
    const inst = instances[v.inst]
    const others = diff.values.filter((o) => o.inst !== v.inst)
    if (!stamp(v) || INSTANCES[v.inst].localTtlMs === 0) continue
    if (!others.every((o) => o.verdict !== v.verdict && stamp(o) < stamp(v))) continue
    v.own = checker.ownSet(v.inst, inst.gen, diff.key, stamp(v))
    v.why = 'tier-keeps-newer-version'
    out.push(v.why)
  }
  return out
}

/** Where instances disagree: per tag field, then per key. */
function compareViews(views) {
  const diffs = []
  for (const tag of TAGS) {
    for (const field of ['stale', 'expired']) {
      const values = views.map((v) => {
        const s = Array.isArray(v.states) ? v.states.find((x) => x.tag === tag) : undefined
        return { inst: v.inst, gen: v.gen, value: s ? s[field] : undefined }
      })
      if (new Set(values.map((x) => x.value)).size > 1) diffs.push({ tag, field, values })
    }
  }
  for (const key of KEYS) {
    const values = views.map((v) => ({ inst: v.inst, verdict: v.verdicts[key] }))
    if (new Set(values.map((x) => x.verdict)).size > 1) diffs.push({ key, values })
  }
  return diffs
}

/** The end-of-run lines: operations, faults, violations (and the first few in detail). */
function report(s, log) {
  const count = (o) => Object.values(o || {}).reduce((a, b) => a + b, 0)
  log(`faults run: seed ${s.seed}, ${s.seconds} s, binary ${s.binary.sha256} (${s.binary.mtime})`)
  log(`  operations: ${s.operations} ${JSON.stringify(s.operationsByKind)}`)
  log(`  outcomes: ${JSON.stringify(s.ops)}`)
  log(`  max latency ms: ${JSON.stringify(s.latencyMaxMs)}`)
  log(
    `  faults: ${count(s.faults)} ${JSON.stringify(s.faults)} seconds ${JSON.stringify(s.faultSeconds)}`,
  )
  log(
    `  reads: quiet ${JSON.stringify(s.reads && s.reads.quiet)} during faults ${JSON.stringify(s.reads && s.reads.fault)}`,
  )
  log(`  hits checked: ${s.hitsChecked} (fresh: ${s.freshHitsChecked})`)
  log(`  errors: ${JSON.stringify(s.errors)}`)
  log(`  rss MiB: ${JSON.stringify(s.rssMb)}`)
  const c = s.convergence
  log(
    `  convergence: ${c ? (c.ms !== null ? `${c.ms} ms` : `none within 5 s (${c.diagnosis})`) : 'not reached'}`,
  )
  const v = s.violations || { counts: {} }
  log(
    `  violations: ${s.violationCount} ${JSON.stringify(v.counts)} ${JSON.stringify(v.byDiagnosis)}`,
  )
  for (const [what, list] of Object.entries(s.examples || {})) {
    log(`  first of ${what}:`)
    for (const d of list.slice(0, 2)) log(`    ${JSON.stringify(d)}`)
  }
}

module.exports = { runFaults, ALL_FAULTS, prng, makeValue, checkValue }

if (require.main === module) {
  const args = Object.fromEntries(
    process.argv.slice(2).map((a) => {
      const [k, v] = a.replace(/^--/, '').split('=')
      return [k, v === undefined ? true : v]
    }),
  )
  const options = {
    seconds: Number(args.seconds || 60),
    seed: Number(args.seed || 1),
    log: args.json ? () => {} : (line) => console.log(line),
  }
  if (args.faults) options.faults = String(args.faults).split(',')
  if (args.history) options.historyFile = path.resolve(String(args.history))
  if (args.concurrency) options.concurrency = Number(args.concurrency)
  runFaults(options).then(
    (summary) => {
      if (args.json) console.log(JSON.stringify(summary, null, 2))
      if (args.out) fs.writeFileSync(String(args.out), JSON.stringify(summary, null, 2))
      process.exit(summary.violationCount ? 1 : 0)
    },
    (err) => {
      console.error(err)
      process.exit(2)
    },
  )
}
