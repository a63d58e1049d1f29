'use strict'
/**
 * Disk tier against Next's FileSystemCache (issue #10): ISR-interface `set` and a cold `get`
 * after a restart, at 1 / 16 / 256 KiB, for `FETCH` and `APP_PAGE` entries.
 *
 * Each contender gets a directory of its own shaped like an app's: `<dir>/.next/server` is the
 * `serverDistDir` Next passes handlers; FileSystemCache writes fetch entries under
 * `<dir>/.next/cache/fetch-cache` and pages under `<dir>/.next/server/route-cache/…`;
 * tagcache's disk tier is `<dir>/.next/cache/tagcache` (where its Next handlers keep it).
 *
 * - `diskSet` (a fresh process): `count` sets one after the other (keys `s0…`), then `count`
 *   more with 64 in flight (keys `c0…`), every key distinct. FileSystemCache's set resolves
 *   once its files are written; tagcache's once its memory tier has the entry (the disk write
 *   is write-behind), so the job also times how long until a second engine opened on the same
 *   directory (as another process would) sees the last entry, and how long `close()` takes
 *   to flush. "durable" ops/s = entries ÷ (sets + close()).
 * - `diskGet` (another fresh process on the same directory): each entry read once, the `s`
 *   keys one after the other, the `c` keys 64 in flight: every first read comes from disk.
 *   With `dropPageCache`, the files are first synced and dropped from the OS page cache with
 *   `posix_fadvise(POSIX_FADV_DONTNEED)` (python3, no root needed); what stayed resident is
 *   counted with `fincore`. Then the `s` keys are read once more (now from memory).
 */
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const { spawnSync } = require('node:child_process')
const { performance } = require('node:perf_hooks')
const w = require('./workload')
const { quantile } = require('./measure')

const root = path.join(__dirname, '..', '..')
const MiB = 1024 * 1024
const KINDS = ['FETCH', 'APP_PAGE']

function serverDistDir(dir) {
  return path.join(dir, '.next', 'server')
}
function tagcacheDiskDir(dir) {
  return path.join(dir, '.next', 'cache', 'tagcache')
}

/** The context Next's `next start` gives a cache handler (IncrementalCache's constructor). */
function nextCtx(dir) {
  const { nodeFs } = require(
    path.join(root, 'node_modules/next/dist/server/lib/node-fs-methods.js'),
  )
  return {
    dev: false,
    fs: nodeFs,
    flushToDisk: true,
    serverDistDir: serverDistDir(dir),
    revalidatedTags: [],
    maxMemoryCacheSize: 50 * MiB,
    _requestHeaders: {},
    fetchCacheKeyPrefix: '',
  }
}

/**
 * Whether tagcache opens its disk tier in a temporary directory (`storage` is 'memory' when a
 * configured disk tier could not be opened); true or the reason.
 */
function diskSupport() {
  let TagCache
  try {
    ;({ TagCache } = require(path.join(root, 'index.js')))
  } catch (err) {
    return `the tagcache addon does not load: ${err.message.split('\n')[0]}`
  }
  const dir = fs.mkdtempSync(path.join(require('node:os').tmpdir(), 'tagcache-bench-probe-'))
  try {
    const probe = new TagCache({ diskDir: dir })
    const storage = probe.storage
    probe.close().catch(() => {})
    if (storage === 'disk') return true
    return `not available: the disk tier did not open (storage: ${storage})`
  } catch (err) {
    return `not available: tagcache rejects diskDir (${err.code || ''} ${err.message.split('\n')[0]})`
  } finally {
    setTimeout(() => fs.rmSync(dir, { recursive: true, force: true }), 200).unref()
  }
}

const CONTENDERS = [
  {
    id: 'tagcache-disk',
    label: 'tagcache (memory + disk)',
    note: 'createIncrementalCacheHandler(new TagCache({ diskDir: <app>/.next/cache/tagcache }))',
    available: diskSupport,
    create(dir) {
      const { TagCache } = require(path.join(root, 'index.js'))
      const { createIncrementalCacheHandler } = require(path.join(root, 'next', 'incremental.js'))
      const engine = new TagCache({ diskDir: tagcacheDiskDir(dir) })
      const Handler = createIncrementalCacheHandler(engine)
      return {
        handler: new Handler(nextCtx(dir)),
        engine,
        /** A second engine on the same directory, as a second process would open it. */
        openPeer: () => new TagCache({ diskDir: tagcacheDiskDir(dir) }),
        close: () => engine.close(),
        files: () => [tagcacheDiskDir(dir)],
      }
    },
  },
  {
    id: 'builtin-fs',
    label: 'Next built-in (FileSystemCache, flushToDisk)',
    note: 'new FileSystemCache({ fs: nodeFs, flushToDisk: true, serverDistDir, maxMemoryCacheSize: 50 MiB }), as next start builds it',
    available: () => true,
    create(dir) {
      const FileSystemCache = require(
        path.join(root, 'node_modules/next/dist/server/lib/incremental-cache/file-system-cache.js'),
      ).default
      return {
        handler: new FileSystemCache(nextCtx(dir)),
        engine: null,
        close() {},
        files: () => [path.join(dir, '.next')],
      }
    },
  },
]

function byId(id) {
  const c = CONTENDERS.find((x) => x.id === id)
  if (!c) throw new Error(`unknown disk contender ${id}`)
  return c
}

const FETCH_HASH = (k) => crypto.createHash('sha256').update(`bench-fetch-${k}`).digest('hex')

/** A key per kind, as Next makes them (fetch: a sha256 hex; pages: a route-cache key). */
function keyOf(kind, k) {
  return kind === 'FETCH' ? FETCH_HASH(k) : w.isrKey(k)
}

/** A fetch entry whose body (a base64 string, as Next stores it) is `size` characters. */
function fetchValue(size, k) {
  const body = crypto
    .randomBytes(Math.ceil((size * 3) / 4))
    .toString('base64')
    .slice(0, size)
  return {
    kind: 'FETCH',
    data: {
      headers: { 'content-type': 'application/json', 'x-bench': String(k) },
      body,
      status: 200,
      url: `https://api.example.com/items/${k}`,
    },
    revalidate: 900,
    tags: ['bench', `t${k.length % 1000}`],
  }
}

function fetchSetCtx(value, k) {
  return {
    fetchCache: true,
    tags: value.tags,
    revalidate: 900,
    fetchIdx: 0,
    fetchUrl: `https://api.example.com/items/${k}`,
  }
}

function valueOf(kind, size, k, i) {
  return kind === 'FETCH' ? fetchValue(size, k) : w.appPageValue(size, i)
}
function setCtx(kind, value, k) {
  return kind === 'FETCH' ? fetchSetCtx(value, k) : { ...w.ISR_SET_CTX }
}
function getCtx(kind, k) {
  if (kind === 'FETCH') {
    return {
      kind: 'FETCH',
      revalidate: 900,
      fetchUrl: `https://api.example.com/items/${k}`,
      fetchIdx: 0,
      tags: ['bench', `t${k.length % 1000}`],
      softTags: ['_N_T_/layout', '_N_T_/bench/layout', '_N_T_/bench/1'],
    }
  }
  return { ...w.ISR_GET_CTX }
}
/** Whether a get returned the whole entry. */
function checkHit(kind, size, r) {
  const v = r && r.value
  if (!v) return false
  if (kind === 'FETCH') return v.kind === 'FETCH' && v.data && v.data.body.length === size
  return (
    v.kind === 'APP_PAGE' &&
    v.rscData &&
    v.rscData.length === size >> 2 &&
    Boolean(v.segmentData && v.segmentData.get('/_tree'))
  )
}

function stats(lat, n, ms) {
  const sorted = Float64Array.from(lat.slice(0, n)).sort()
  return {
    ops: n,
    seconds: ms / 1000,
    opsPerSec: n ? (n / ms) * 1000 : NaN,
    p50: quantile(sorted, n, 0.5),
    p99: quantile(sorted, n, 0.99),
  }
}

/** Runs `op(i)` for i < count with `concurrency` in flight, within `maxMs`; latencies in µs. */
async function runCount(op, count, concurrency, maxMs) {
  const lat = []
  let next = 0
  let failed = 0
  const t0 = performance.now()
  const end = t0 + maxMs
  const worker = async () => {
    while (next < count && performance.now() < end) {
      const i = next++
      const s = performance.now()
      const ok = await op(i)
      lat.push((performance.now() - s) * 1000)
      if (!ok) failed++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const ms = performance.now() - t0
  return { ...stats(lat, lat.length, ms), failed, ms }
}

/** The job `diskSet`: { contender, dir, kind, size, count, concurrency, maxMs }. */
async function diskSet(job) {
  const { kind, size, count } = job
  fs.rmSync(job.dir, { recursive: true, force: true })
  fs.mkdirSync(serverDistDir(job.dir), { recursive: true })
  fs.writeFileSync(path.join(job.dir, '.next', 'BUILD_ID'), 'bench-build')
  const made = byId(job.contender).create(job.dir)
  const h = made.handler
  // Values made up front: the timed loop is the handler's work only.
  const values = { s: [], c: [] }
  for (const p of ['s', 'c'])
    for (let i = 0; i < count; i++) values[p].push(valueOf(kind, size, `${p}${i}`, i))
  const out = { kind, size }
  const setAll = async (p, concurrency) =>
    runCount(
      async (i) => {
        const k = `${p}${i}`
        await h.set(keyOf(kind, k), values[p][i], setCtx(kind, values[p][i], k))
        return true
      },
      count,
      concurrency,
      job.maxMs,
    )
  // A second engine on the directory (as another process would open it), read through a
  // handler of its own (whatever key the adapter stores entries under): how long until it
  // sees the last entry of a phase. For FileSystemCache a resolved set is on disk already.
  let ph = null
  let peer = null
  if (made.openPeer) {
    try {
      peer = made.openPeer()
      const { createIncrementalCacheHandler } = require(path.join(root, 'next', 'incremental.js'))
      const PeerHandler = createIncrementalCacheHandler(peer)
      ph = new PeerHandler(nextCtx(job.dir))
    } catch (err) {
      out.visibleError = String(err.message || err)
    }
  }
  const waitVisible = async (k) => {
    if (!made.openPeer) return 0
    if (!ph) return null
    const t = performance.now()
    const end = t + 10000
    while (performance.now() < end) {
      if (checkHit(kind, size, await ph.get(keyOf(kind, k), getCtx(kind, k))))
        return performance.now() - t
      await new Promise((r) => setTimeout(r, 1))
    }
    return null
  }
  out.seq = await setAll('s', 1)
  out.seq.visibleMs = await waitVisible(`s${out.seq.ops - 1}`)
  const tC = performance.now()
  out.c64 = await setAll('c', job.concurrency)
  const tSets = performance.now()
  out.c64.visibleMs = await waitVisible(`c${out.c64.ops - 1}`)
  if (made.engine?.stats) {
    try {
      const st = made.engine.stats()
      out.engineStats = { diskEntries: st.diskEntries, diskBytes: st.diskBytes }
    } catch {}
  }
  try {
    await peer?.close()
  } catch {}
  const tClose0 = performance.now()
  await made.close()
  const tClosed = performance.now()
  out.closeMs = tClosed - tClose0
  out.written = { s: out.seq.ops, c: out.c64.ops }
  // "durable": entries ÷ (the phase's sets + the wait until they are on disk): for the
  // sequential phase until the second engine sees its last entry, for the 64-in-flight phase
  // until that and close() (the flush) are done. null when the entries never showed up.
  out.seq.durableOpsPerSec =
    out.seq.visibleMs == null ? null : (out.seq.ops / (out.seq.ms + out.seq.visibleMs)) * 1000
  out.c64.flushMs = tClosed - tSets
  out.c64.durableOpsPerSec =
    out.c64.visibleMs == null ? null : (out.c64.ops / (tClosed - tC)) * 1000
  out.bytesOnDisk = duBytes(made.files())
  out.fileCount = fileCount(made.files())
  delete out.seq.ms
  delete out.c64.ms
  return out
}

function walk(paths, fn) {
  for (const p of paths) {
    let st
    try {
      st = fs.lstatSync(p)
    } catch {
      continue
    }
    if (st.isDirectory())
      walk(
        fs.readdirSync(p).map((f) => path.join(p, f)),
        fn,
      )
    else if (st.isFile()) fn(p, st)
  }
}
function duBytes(paths) {
  let n = 0
  walk(paths, (_p, st) => (n += st.size))
  return n
}
function fileCount(paths) {
  let n = 0
  walk(paths, () => n++)
  return n
}

/**
 * Syncs and drops `paths`' files from the page cache (posix_fadvise DONTNEED, through
 * python3); { dropped, residentBytes, totalBytes } or { error }.
 */
function dropPageCache(paths) {
  const files = []
  walk(paths, (p) => files.push(p))
  const script =
    'import os,sys\nos.sync()\nfor f in sys.stdin.read().split("\\0"):\n' +
    '  if not f: continue\n  fd=os.open(f,os.O_RDONLY)\n' +
    '  os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)\n  os.close(fd)\n'
  const r = spawnSync('python3', ['-c', script], { input: files.join('\0'), encoding: 'utf8' })
  if (r.status !== 0)
    return { error: `python3 posix_fadvise failed: ${(r.stderr || r.error?.message || '').trim()}` }
  return { dropped: files.length, ...resident(files) }
}

/** Bytes of `files` in the page cache (fincore), in chunks of 500 files. */
function resident(files) {
  let residentBytes = 0
  let totalBytes = 0
  for (let k = 0; k < files.length; k += 500) {
    const r = spawnSync(
      'fincore',
      ['-b', '-n', '-r', '-o', 'RES,SIZE', ...files.slice(k, k + 500)],
      {
        encoding: 'utf8',
      },
    )
    if (r.status !== 0) return { residentBytes: null, totalBytes: null }
    for (const line of r.stdout.trim().split('\n')) {
      const [res, size] = line.trim().split(/\s+/).map(Number)
      if (Number.isFinite(res)) residentBytes += res
      if (Number.isFinite(size)) totalBytes += size
    }
  }
  return { residentBytes, totalBytes }
}

/** The job `diskGet`: { contender, dir, kind, size, written: { s, c }, concurrency, dropPageCache, maxMs }. */
async function diskGet(job) {
  const { kind, size } = job
  const c = byId(job.contender)
  const out = { kind, size }
  if (job.dropPageCache) out.pageCache = dropPageCache([path.join(job.dir, '.next')])
  else out.pageCache = resident(filesUnder(path.join(job.dir, '.next')))
  const t0 = performance.now()
  const made = c.create(job.dir)
  out.openMs = performance.now() - t0
  const h = made.handler
  const read = (p) => async (i) => {
    const k = `${p}${i}`
    return checkHit(kind, size, await h.get(keyOf(kind, k), getCtx(kind, k)))
  }
  try {
    const tf = performance.now()
    const firstOk = await read('s')(0)
    out.firstGetMs = performance.now() - tf
    if (!firstOk) out.firstMiss = true
    const rest = await runCount((i) => read('s')(i + 1), job.written.s - 1, 1, job.maxMs)
    // The first read's latency joins the sequential figures.
    const seqMs = out.firstGetMs + rest.seconds * 1000
    out.seq = {
      ops: rest.ops + 1,
      failed: rest.failed + (firstOk ? 0 : 1),
      opsPerSec: ((rest.ops + 1) / seqMs) * 1000,
      p50: rest.p50,
      p99: rest.p99,
    }
    out.c64 = await runCount(read('c'), job.written.c, job.concurrency, job.maxMs)
    // Now from the memory tier in front (tagcache) or FileSystemCache's memory LRU.
    out.again = await runCount(read('s'), job.written.s, 1, job.maxMs)
    delete out.c64.ms
    delete out.again.ms
    if (made.engine?.stats) {
      try {
        const s = made.engine.stats()
        out.engineStats = { diskReads: s.diskReads, hits: s.hits, misses: s.misses }
      } catch {}
    }
  } finally {
    await made.close()
  }
  return out
}

function filesUnder(dir) {
  const files = []
  walk([dir], (p) => files.push(p))
  return files
}

module.exports = { CONTENDERS, KINDS, byId, diskSet, diskGet, diskSupport, tagcacheDiskDir }
