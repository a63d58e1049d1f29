'use strict'
/**
 * One job in a fresh process: builds one contender, runs one scenario against it, sends the
 * result to the parent over IPC and exits. Started by run.js with `--expose-gc`.
 */
const crypto = require('node:crypto')
const v8 = require('node:v8')
const { runLoad, timeRepeated } = require('./measure')
const redis = require('./redis')
const contenders = require('./contenders')
const w = require('./workload')

const log = (...a) => process.env.BENCH_DEBUG && console.error('[worker]', ...a)

async function withHandler(list, job, fn) {
  const c = contenders.byId(list, job.contender)
  const made = await c.create(job.env, job.createOptions || {})
  try {
    return await fn(made.handler, made)
  } finally {
    try {
      await made.close()
    } catch {}
  }
}

/** Runs `fn` between two INFO commandstats snapshots: Redis commands sent per op. */
async function countCommands(job, ops, fn) {
  if (!job.env.redisPort || !job.redisCommands) return null
  const c = await redis.connect(job.env.redisPort)
  try {
    const before = await redis.commandStats(c)
    await fn()
    // Let fire-and-forget writes land before the second snapshot.
    await new Promise((r) => setTimeout(r, 50))
    const after = await redis.commandStats(c)
    const d = redis.commandDelta(before, after)
    return { perOp: d.total / ops, byCommand: d.byCommand }
  } finally {
    c.close()
  }
}

/** 'use cache' get-hit and set at one size, sequential and `concurrency` in flight. */
async function useCacheThroughput(job) {
  return withHandler(contenders.useCache, job, async (h) => {
    const { size, load } = job
    const n = w.keyCount(size)
    const keys = Array.from({ length: n }, (_, i) => w.useCacheKey(i))
    const tags = keys.map((_, i) => w.entryTags(i))
    const src = crypto.randomBytes(size)
    for (let i = 0; i < n; i++) await h.set(keys[i], w.pendingEntry(src, tags[i]))
    // Sanity: a get right after the sets is a hit of the right size.
    const probe = await h.get(keys[n - 1], w.SOFT_TAGS)
    if (!probe) throw new Error('get after set was a miss')
    const got = await w.readToEnd(probe.value)
    if (got !== size) throw new Error(`get after set returned ${got} bytes, expected ${size}`)

    const get = async (i) => {
      const e = await h.get(keys[i % n], w.SOFT_TAGS)
      if (!e) return false
      return (await w.readToEnd(e.value)) === size
    }
    const set = async (i) => {
      await h.set(keys[i % n], w.pendingEntry(src, tags[i % n]))
      return true
    }
    const out = { get: {}, set: {} }
    for (const mode of job.modes) {
      const concurrency = mode === 'seq' ? 1 : job.concurrency
      out.get[mode] = await runLoad(get, { ...load, concurrency })
    }
    for (const mode of job.modes) {
      const concurrency = mode === 'seq' ? 1 : job.concurrency
      out.set[mode] = await runLoad(set, { ...load, concurrency })
    }
    const probeOps = job.probeOps
    out.redisCommands = {
      get: await countCommands(job, probeOps, async () => {
        for (let i = 0; i < probeOps; i++) await get(i)
      }),
      set: await countCommands(job, probeOps, async () => {
        for (let i = 0; i < probeOps; i++) await set(i)
      }),
    }
    return out
  })
}

/** ISR APP_PAGE get-hit at one size, sequential and `concurrency` in flight. */
async function isrThroughput(job) {
  return withHandler(contenders.isr, job, async (h) => {
    const { size, load } = job
    const n = w.keyCount(size)
    const keys = Array.from({ length: n }, (_, i) => w.isrKey(i))
    for (let i = 0; i < n; i++) await h.set(keys[i], w.appPageValue(size, i), { ...w.ISR_SET_CTX })
    const rscLen = size >> 2
    const get = async (i) => {
      const r = await h.get(keys[i % n], { ...w.ISR_GET_CTX })
      const v = r && r.value
      return Boolean(
        v &&
        v.kind === 'APP_PAGE' &&
        v.rscData &&
        v.rscData.length === rscLen &&
        v.segmentData?.get('/_tree'),
      )
    }
    if (!(await get(n - 1)))
      throw new Error('get after set was a miss (or lost rscData / segmentData)')
    const out = { get: {} }
    for (const mode of job.modes) {
      const concurrency = mode === 'seq' ? 1 : job.concurrency
      out.get[mode] = await runLoad(get, { ...load, concurrency })
    }
    const probeOps = job.probeOps
    out.redisCommands = {
      get: await countCommands(job, probeOps, async () => {
        for (let i = 0; i < probeOps; i++) await get(i)
      }),
    }
    return out
  })
}

/** Fills a handler with `count` small entries, `inFlight` sets in flight, within `maxMs`. */
async function populate(count, maxMs, setOne, inFlight = 64) {
  const end = Date.now() + maxMs
  let next = 0
  let done = 0
  const worker = async () => {
    while (next < count && Date.now() < end) {
      const i = next++
      await setOne(i)
      done++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, worker))
  return done
}

/**
 * revalidateTag / updateTags of one tag (1 in 1000 entries carries it) with `entries` present,
 * each of `valueBytes` (256 unless the job says otherwise: the 1M-entry runs use tiny ones).
 */
async function revalidate(job) {
  const list = job.api === 'isr' ? contenders.isr : contenders.useCache
  return withHandler(list, job, async (h, made) => {
    const valueBytes = job.valueBytes || 256
    const small = crypto.randomBytes(valueBytes)
    const inFlight = job.populateInFlight || 64
    const t0 = Date.now()
    const present =
      job.api === 'isr'
        ? await populate(
            job.entries,
            job.populateMs,
            (i) => h.set(w.isrKey(i), w.appPageValue(valueBytes, i), { ...w.ISR_SET_CTX }),
            inFlight,
          )
        : await populate(
            job.entries,
            job.populateMs,
            // The 1M-entry runs (tagcache only) fill the engine directly, with the call the
            // 'use cache' handler's set ends in (next/use-cache.js): the same entries, without a
            // ReadableStream per entry.
            job.populateDirect && made.engine
              ? (i) =>
                  made.engine.setNextEntry(
                    w.useCacheKey(i),
                    small,
                    w.entryTags(i),
                    300,
                    900,
                    86400,
                    Date.now(),
                  )
              : (i) => h.set(w.useCacheKey(i), w.pendingEntry(small, w.entryTags(i))),
            inFlight,
          )
    const populateSeconds = (Date.now() - t0) / 1000
    if (present < job.entries) {
      return {
        present,
        populateSeconds,
        error: `only ${present} of ${job.entries} entries stored in ${job.populateMs / 1000} s`,
      }
    }
    // Let trieb's and forte's background tag syncing settle before timing.
    await new Promise((r) => setTimeout(r, 200))
    const call =
      job.api === 'isr'
        ? (r) => h.revalidateTag([`t${r}`], w.MAX_DURATIONS)
        : (r) => h.updateTags([`t${r}`], w.MAX_DURATIONS)
    const timing = await timeRepeated(call, { reps: job.reps, maxMs: job.maxMs })
    const redisCommands = await countCommands(job, 3, async () => {
      for (let r = 0; r < 3; r++) await call(500 + r)
    })
    // Sanity: an entry carrying a revalidated tag is no longer a plain hit, and the last entry
    // written (its tag never revalidated) still is (none was evicted to make room).
    let effective = null
    let lastKept = null
    const last = job.entries - 1
    if (job.api === 'isr') {
      // A miss, or a lastModified that Next reads as stale (past the 900 s revalidate).
      const r = await h.get(w.isrKey(0), { ...w.ISR_GET_CTX })
      effective =
        !r || !r.value || r.lastModified === -1 || r.lastModified + 900 * 1000 < Date.now()
      lastKept = Boolean((await h.get(w.isrKey(last), { ...w.ISR_GET_CTX }))?.value)
    } else {
      const e = await h.get(w.useCacheKey(0), [])
      if (e) await w.readToEnd(e.value)
      effective = !e || e.revalidate === -1
      const l = await h.get(w.useCacheKey(last), [])
      lastKept = Boolean(l) && (await w.readToEnd(l.value)) === valueBytes
    }
    return { present, populateSeconds, valueBytes, ...timing, redisCommands, effective, lastKept }
  })
}

/**
 * Heap and RSS growth for `entries` × `size` entries set through the 'use cache' interface,
 * measured twice: after the sets, and again after every entry was read once (a get and its
 * stream read to the end), since a handler may build per-entry objects on an entry's first
 * hit (tagcache keeps a frozen entry object and its Buffer from an entry's second fresh hit).
 */
async function memory(job) {
  const usage = () => ({
    ...process.memoryUsage(),
    youngGen: v8
      .getHeapSpaceStatistics()
      .filter((s) => s.space_name === 'new_space')
      .reduce((n, s) => n + s.space_size, 0),
  })
  const gc = async () => {
    for (let k = 0; k < 3; k++) {
      global.gc()
      await new Promise((r) => setImmediate(r))
    }
  }
  return withHandler(contenders.useCache, job, async (h) => {
    await gc()
    const before = usage()
    const src = crypto.randomBytes(job.size)
    for (let i = 0; i < job.entries; i++) {
      // Each entry gets bytes of its own, as each render does: views of one shared buffer
      // would let a handler that keeps the stream's chunks store no bytes at all.
      await h.set(w.useCacheKey(i), w.pendingEntry(new Uint8Array(src), w.entryTags(i)))
    }
    await gc()
    const after = usage()
    const growth = (m) => {
      const heap = m.heapUsed - before.heapUsed
      const external = m.external - before.external
      return {
        heapBytes: heap,
        externalBytes: external,
        jsBytes: heap + external,
        // V8's young generation grows to its maximum (32 MiB here) with the allocation rate,
        // whatever is kept: a handler that allocates little while setting would be charged
        // ~1 KiB per entry for it on the later reads. It is left out of RSS growth.
        rssBytes: m.rss - m.youngGen - (before.rss - before.youngGen),
        rawRssBytes: m.rss - before.rss,
      }
    }
    // Every entry read once, as Next reads a hit: get (with the request's soft tags), then
    // the stream to its end; nothing of it is kept here. All must be hits (no eviction), or
    // the comparison means nothing.
    let hits = 0
    for (let i = 0; i < job.entries; i++) {
      const e = await h.get(w.useCacheKey(i), w.SOFT_TAGS)
      if (e && (await w.readToEnd(e.value)) === job.size) hits++
    }
    await gc()
    const afterRead = usage()
    return {
      entries: job.entries,
      size: job.size,
      retained: hits === job.entries,
      hits,
      ...growth(after),
      afterRead: growth(afterRead),
    }
  })
}

const { diskSet, diskGet } = require('./disk')

const JOBS = { useCacheThroughput, isrThroughput, revalidate, memory, diskSet, diskGet }

process.on('message', async (job) => {
  let reply
  try {
    log('job', job.type, job.contender, job.size || job.entries || '')
    reply = { ok: true, result: await JOBS[job.type](job) }
  } catch (err) {
    reply = {
      ok: false,
      error: String((err && err.stack) || err)
        .split('\n')
        .slice(0, 3)
        .join(' | '),
    }
  }
  process.send(reply, () => process.exit(0))
})
