'use strict'
/**
 * Model-based test (issue 11, item 4): random, seeded sequences of set / get / peek /
 * delete / revalidateTag / updateTag / updateTags / revalidatePath / getExpiration /
 * refreshTags / sleeps, run on engines and on the plain reference model of Next 16's
 * semantics in `helpers/model.js` (the rules of `src/fuzz/model.rs`). Verdicts (miss, fresh,
 * stale, stale by tag), returned bytes, tags, timings, timestamps, tag states, expirations
 * and hit counters must agree after every step.
 *
 * - On Redis: three engines with one keyPrefix on one `redis-server` (`localTtlMs` 0, the
 *   default 1000, and 25 so that tier copies also age out within a run), each operation on
 *   a random one. A reader calls `refreshTags()` before it reads when another engine updated
 *   tags (as Next does at the start of a request). An engine's tier copy of another version
 *   may answer while younger than its `localTtlMs`: fresh, or with any verdict when its
 *   timestamp is later than Redis's version's (a newer copy wins while young); past that,
 *   a copy Redis tracks (client-side caching) only until the announcement of the write that
 *   replaced it can have arrived (`TRACK_MS`), and another engine's write may drop a copy.
 * - In process: the same sequences on one `new TagCache()`.
 *
 * The engine's clock is real: entries get explicit timestamps in the past (or near an edge,
 * crossing it during the run, or exactly at a tag's time), each engine's clock offset is
 * measured (and must stay one constant), and a verdict is checked against every verdict
 * possible for a time within the call (± TAGCACHE_MODEL_MARGIN_MS, default 20, for an
 * entry's own expire on Redis, which drops it by a TTL on its own clock).
 *
 * `npm test` runs TAGCACHE_MODEL_OPS (default 2500) operations per suite; longer by hand:
 *   TAGCACHE_MODEL_OPS=200000 npx jest __test__/model-redis.test.js
 * TAGCACHE_MODEL_SEED fixes the seed (random otherwise; printed on a failure, with the
 * shrunk sequence, also written to target/model-failure-<suite>.json);
 * TAGCACHE_MODEL_REPLAY=<that file> replays one sequence; TAGCACHE_MODEL_VERBOSE=1 prints a
 * summary per suite.
 *
 * What it found (issue 11): "tier-keeps-newer-version", also seen by the fault harness
 * (__test__/faults.test.js). The in-process tier kept its copy of a key over Redis's version
 * whenever its copy had the later `timestamp` (`MemoryStore::insert_unless_newer` on every
 * read), for as long as the copy lived, not `localTtlMs`. Shrunk (engines A: localTtlMs 0,
 * B: default):
 *   B.set('k1', v0, { profile: 'short', timestamp: now - 6000 + 34 })
 *   A.set('k1', v1, { timestamp: now - 12000 })      // written later, rendered earlier
 *   B.get('k1')                                      // model, A: v1 fresh; B: its v0, stale
 * (and with B's copy expired by a tag: B a miss, Redis's v1 stale), and after `localTtlMs`
 * just the same. Now a newer copy wins only while it is young (`Cache::read_shared`).
 */
const fs = require('node:fs')
const path = require('node:path')
const { TagCache } = require('./helpers/engine')
const { startRedis } = require('./helpers/redis')
const { Rng, generateOps, runCase, shrink, formatOps } = require('./helpers/model')

const OPS = Number(process.env.TAGCACHE_MODEL_OPS || 2500)
const SEED = Number(process.env.TAGCACHE_MODEL_SEED || Math.floor(Math.random() * 2 ** 31))
const MARGIN_MS = Number(process.env.TAGCACHE_MODEL_MARGIN_MS || 20)
const REPLAY = process.env.TAGCACHE_MODEL_REPLAY
const VERBOSE =
  Boolean(process.env.TAGCACHE_MODEL_VERBOSE) || Boolean(process.env.TAGCACHE_MODEL_OPS)
/** The Redis engines' `localTtlMs` (`undefined`: the default). */
const LOCAL_TTLS = [0, undefined, 25]
const DEFAULT_LOCAL_TTL_MS = 1000

// ~1 ms an operation on Redis, plus shrinking a failure.
jest.setTimeout(Math.max(120_000, OPS * 5 + 120_000))

/**
 * Runs OPS operations in cases of 20–250 (fresh engines each), or the replayed one; on a
 * mismatch, throws with the seed and the shrunk sequence.
 */
async function runModel(suite, setup, { instances, refresh }) {
  const options = { setup, marginMs: MARGIN_MS }
  const stats = { ops: 0, cases: 0, reads: 0, nearEdge: 0, tierCopyAllowed: 0, tierCopyServed: 0 }
  stats.deletesChecked = 0
  const started = Date.now()
  const report = async (what, ops, customDefault, failure) => {
    const run = (candidate) => runCase(candidate, { ...options, customDefault, stats: {} })
    const shrunk = await shrink(ops, failure, run)
    const final = shrunk.failure ?? failure
    const file = path.join(__dirname, '..', 'target', `model-failure-${suite}.json`)
    fs.mkdirSync(path.dirname(file), { recursive: true })
    fs.writeFileSync(file, JSON.stringify({ suite, customDefault, ops: shrunk.ops }, null, 2))
    return new Error(
      [
        `${suite}: the engine disagrees with the model (${what}, custom default: ${customDefault})`,
        `at op ${final.index}: ${final.message}`,
        shrunk.failure
          ? `shrunk to ${shrunk.ops.length} ops in ${shrunk.runs} runs:`
          : `did not fail again when replayed (timing); the ops up to the failure:`,
        formatOps(shrunk.ops, shrunk.failure ? final.log : []),
        `written to ${file}; replay: TAGCACHE_MODEL_REPLAY=${file} npx jest ${path.basename(__filename)} -t ${suite}`,
      ].join('\n'),
    )
  }
  if (REPLAY) {
    const saved = JSON.parse(fs.readFileSync(REPLAY, 'utf8'))
    if (saved.suite !== suite) return
    const failure = await runCase(saved.ops, {
      ...options,
      customDefault: saved.customDefault,
      stats,
    })
    if (failure) {
      throw new Error(
        `replay: at op ${failure.index}: ${failure.message}\n${formatOps(saved.ops, failure.log)}`,
      )
    }
    return
  }
  const rng = new Rng(SEED)
  while (stats.ops < OPS) {
    const caseSeed = rng.int(2 ** 31)
    const caseRng = new Rng(caseSeed)
    const customDefault = caseRng.chance(0.5)
    const length = Math.min(OPS - stats.ops, 20 + caseRng.int(231))
    const ops = generateOps(caseRng, length, { instances, refresh })
    const failure = await runCase(ops, { ...options, customDefault, stats })
    if (failure) {
      throw await report(
        `seed ${SEED}, case ${stats.cases} (case seed ${caseSeed})`,
        ops,
        customDefault,
        failure,
      )
    }
    stats.ops += length
    stats.cases++
  }
  if (VERBOSE) {
    console.log(
      `${suite}: ${stats.ops} ops in ${stats.cases} cases, ${Date.now() - started} ms, seed ${SEED}; ` +
        `${stats.reads} reads: ${stats.nearEdge} near an edge (either verdict allowed), ` +
        `${stats.tierCopyAllowed} where a young tier copy of another version may answer ` +
        `(${stats.tierCopyServed} did), ${stats.deletesChecked} delete answers checked`,
    )
  }
}

describe('model-based: engines on one Redis', () => {
  let redis
  let n = 0

  beforeAll(async () => {
    redis = await startRedis()
  }, 60_000)
  afterAll(async () => {
    if (redis) await redis.stop()
  })

  test('three engines (localTtlMs 0, default, 25) agree with the model of Next 16', async () => {
    const setup = async (cacheLife) => {
      const keyPrefix = `model-${process.pid}-${n++}`
      const instances = LOCAL_TTLS.map((localTtlMs) => ({
        cache: new TagCache({
          redisUrl: redis.url,
          keyPrefix,
          cacheLife,
          timeoutMs: 5000,
          debug: false,
          ...(localTtlMs === undefined ? {} : { localTtlMs }),
        }),
        localTtlMs: localTtlMs ?? DEFAULT_LOCAL_TTL_MS,
      }))
      return {
        instances,
        close: () => Promise.all(instances.map((i) => i.cache.close())),
      }
    }
    await runModel('redis', setup, { instances: LOCAL_TTLS.length, refresh: true })
  })
})

describe('model-based: one engine in process', () => {
  test('new TagCache() agrees with the model of Next 16', async () => {
    const setup = async (cacheLife) => {
      const cache = new TagCache({ cacheLife, debug: false })
      return { instances: [{ cache, localTtlMs: undefined }], close: () => cache.close() }
    }
    await runModel('memory', setup, { instances: 1, refresh: false })
  })
})
