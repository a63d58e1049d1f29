'use strict'
/**
 * The engine on Redis: the same semantics as in process across two instances (single node
 * and a 3-master cluster), one round trip per operation, TTLs, the in-process tier's bound,
 * a webhook worker in another process, undecodable entries, and outages.
 */
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { TagCache, rejection, thrown, secondsAgo } = require('./helpers/engine')
const { describeSemantics } = require('./helpers/semantics')
const { startRedis, startCluster, delta } = require('./helpers/redis')

jest.setTimeout(30_000)

let redis
let cluster
let n = 0
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
/** Polls `test` (sync or async) every 2 ms until true or `ms` pass; whether it became true. */
async function until(test, ms) {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (await test()) return true
    await sleep(2)
  }
  return Boolean(await test())
}
const prefix = () => `t${process.pid}-${Date.now()}-${n++}`

beforeAll(async () => {
  redis = await startRedis()
  cluster = await startCluster()
}, 60_000)
afterAll(async () => {
  if (redis) await redis.stop()
  if (cluster) await cluster.stop()
})

function pair(options, connection) {
  const keyPrefix = prefix()
  const writer = new TagCache({ ...connection(), keyPrefix, ...options })
  const reader = new TagCache({ ...connection(), keyPrefix, ...options })
  return { writer, reader, sync: () => reader.refreshTags() }
}

describeSemantics('redis', async (options) => pair(options, () => ({ redisUrl: redis.url })))
describeSemantics('redis cluster', async (options) =>
  pair(options, () => ({ redisCluster: cluster.urls })),
)

describe('cost per operation (INFO commandstats)', () => {
  test('get is one GET; set one SET with a TTL from expire; revalidateTag O(tags), no scan', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    await a.set('warm', Buffer.from('x'))
    await b.get('warm')

    let before = redis.commandStats()
    await a.set('k', Buffer.alloc(16 * 1024, 1), {
      tags: ['t1', 't2'],
      revalidate: 60,
      expire: 120,
    })
    expect(delta(before, redis.commandStats())).toEqual({ set: 1 })
    const ttl = Number(redis.cli('PTTL', `${keyPrefix}:e:k`))
    expect(ttl).toBeGreaterThan(115_000)
    expect(ttl).toBeLessThanOrEqual(120_000)

    before = redis.commandStats()
    expect((await b.get('k')).value.length).toBe(16 * 1024)
    expect(delta(before, redis.commandStats())).toEqual({ get: 1 })

    for (let i = 0; i < 200; i++) await a.set(`bulk${i}`, Buffer.from('v'), { tags: ['t1'] })
    before = redis.commandStats()
    await a.revalidateTag(['t1', 't2'], 'max')
    // One script (per field — 2 tags × stale and expired — HGET, HSET when newer; then
    // XADD, PUBLISH), whatever the number of entries.
    expect(delta(before, redis.commandStats())).toEqual({
      eval: 1,
      hget: 4,
      hset: 4,
      xadd: 1,
      publish: 1,
    })

    before = redis.commandStats()
    await b.refreshTags()
    await b.refreshTags()
    const refresh = delta(before, redis.commandStats())
    // a's write was announced: b pulls once (the second call finds nothing announced), in
    // one pipeline: the new log entries, the log's ends and length, and the epoch.
    expect(refresh).toEqual({ xrange: 2, xrevrange: 1, xlen: 1, hget: 1 })
  })
})

describe('the in-process tier in front of Redis', () => {
  test('answers within localTtlMs without Redis; a newer version shows after it', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 300 })
    await a.set('k', Buffer.from('v1'))
    expect((await b.get('k')).value.toString()).toBe('v1')
    const reads = b.stats().sharedReads
    expect((await b.get('k')).value.toString()).toBe('v1')
    expect(b.stats().sharedReads).toBe(reads)
    await a.set('k', Buffer.from('v2'))
    // Within the bound the tier may still answer v1; after it, Redis is asked again.
    await new Promise((r) => setTimeout(r, 350))
    expect((await b.get('k')).value.toString()).toBe('v2')
  })

  test('with localTtlMs: 0 a read keeps no in-process copy (it could never answer)', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    await a.set('k', Buffer.from('v'), { tags: ['t'] })
    for (let i = 0; i < 3; i++) expect((await b.get('k')).value.toString()).toBe('v')
    expect(b.stats()).toMatchObject({ entries: 0, bytes: 0, sharedReads: 3, hits: 3 })
  })

  test('with localTtlMs: 0 even a read right after its own set asks Redis', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    for (let i = 0; i < 20; i++) {
      await a.set('k', Buffer.from(`a${i}`))
      await b.set('k', Buffer.from(`b${i}`))
      // Same millisecond or not, the copy a kept of its own write never answers.
      expect(a.peek('k')).toBeUndefined()
      expect((await a.get('k')).value.toString()).toBe(`b${i}`)
    }
  })

  /** Until `b` tracks (client-side caching is live): a copy it reads outlives localTtlMs. */
  async function untilTracked(b, key, localTtlMs) {
    for (let i = 0; i < 50; i++) {
      await b.get(key)
      await sleep(localTtlMs + 20)
      const reads = b.stats().sharedReads
      await b.get(key)
      if (b.stats().sharedReads === reads) return
    }
    throw new Error(`${key}: no copy outlived localTtlMs (tracking never went live)`)
  }

  test('client-side caching: a copy Redis tracks answers past localTtlMs, until another engine writes', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 30 })
    await a.set('k', Buffer.from('v1'))
    await untilTracked(b, 'k', 30)
    // Long past localTtlMs, still answered in process: Redis would have announced a change.
    await sleep(200)
    const reads = b.stats().sharedReads
    expect((await b.get('k')).value.toString()).toBe('v1')
    expect(b.peek('k').value.toString()).toBe('v1')
    expect(b.stats().sharedReads).toBe(reads)
    // Another engine's write is announced: b's copy goes, and its next read asks Redis.
    await a.set('k', Buffer.from('v2'))
    const seen = await until(() => b.peek('k') === undefined, 2000)
    expect(seen).toBe(true)
    expect((await b.get('k')).value.toString()).toBe('v2')
    expect(b.stats().sharedReads).toBe(reads + 1)
    a.close()
    b.close()
  })

  test("client-side caching: another engine's write reaches a copy that localTtlMs would keep for an hour", async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 3_600_000 })
    // Tracking goes live in the background: a key per try, until a write reaches b's copy
    // (one read before tracking was live stays for the hour, as without tracking).
    let key
    let seen = false
    for (let i = 0; i < 50 && !seen; i++) {
      key = `k${i}`
      await a.set(key, Buffer.from('old'))
      expect((await b.get(key)).value.toString()).toBe('old')
      await a.set(key, Buffer.from('new'))
      seen = await until(async () => (await b.get(key)).value.toString() === 'new', 300)
    }
    expect(seen).toBe(true)
    // And a delete too.
    await a.delete(key)
    expect(await until(async () => (await b.get(key)) === null, 2000)).toBe(true)
    a.close()
    b.close()
  })

  test('client-side caching: a lost tracking connection drops every copy, then tracking resumes', async () => {
    const own = await startRedis()
    try {
      const keyPrefix = prefix()
      const a = new TagCache({ redisUrl: own.url, keyPrefix, localTtlMs: 0 })
      const b = new TagCache({ redisUrl: own.url, keyPrefix, localTtlMs: 30 })
      await a.set('k', Buffer.from('v1'))
      await a.get('k')
      await untilTracked(b, 'k', 30)
      expect(b.stats().entries).toBe(1)
      // The tracking connection is the one client with the tracking flag (`t`): b's; a keeps
      // no copies (localTtlMs: 0), so it tracks nothing.
      const tracking = own
        .cli('CLIENT', 'LIST')
        .split('\n')
        .filter((line) => / flags=\S*t/.test(line))
        .map((line) => line.match(/^id=(\d+)/)[1])
      expect(tracking).toHaveLength(1)
      own.cli('CLIENT', 'KILL', 'ID', tracking[0])
      // Whatever was written while it was down was never announced: nothing may survive.
      expect(await until(() => b.stats().entries === 0, 2000)).toBe(true)
      expect((await b.get('k')).value.toString()).toBe('v1')
      await untilTracked(b, 'k', 30)
      a.close()
      b.close()
    } finally {
      await own.stop()
    }
  })

  test('peek answers from the tier, and says undefined when only Redis knows', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix })
    await a.set('k', Buffer.from('v'))
    expect(a.peek('k').value.toString()).toBe('v')
    expect(b.peek('k')).toBeUndefined()
    expect((await b.get('k')).value.toString()).toBe('v')
    expect(b.peek('k').value.toString()).toBe('v')
  })

  test('tag revalidations reach entries in the tier at once (after refreshTags)', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix })
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 60_000 })
    await a.set('k', Buffer.from('v'), { tags: ['t'], timestamp: secondsAgo(1) })
    expect(await b.get('k')).not.toBeNull()
    await a.revalidateTag('t')
    await b.refreshTags()
    expect(await b.get('k')).toBeNull()
  })

  test('a new engine knows earlier revalidations before any refreshTags (next build calls none)', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix })
    await a.set('gone', Buffer.from('v'), { tags: ['t'] })
    await a.set('stale', Buffer.from('v'), { tags: ['u'] })
    await a.revalidateTag('t', { expire: 0 })
    await a.revalidateTag('u', 'max')
    const b = new TagCache({ redisUrl: redis.url, keyPrefix })
    expect(await b.get('gone')).toBeNull()
    expect(await b.get('stale')).toMatchObject({ status: 'stale', revalidated: true })
  })

  test('tier entries evicted off the JS thread release their JS objects', () => {
    // In a child with --expose-gc: a tier of ~8 entries, so reading 64 entries from Redis
    // evicts on tokio threads after each hit made the entry's JS object; those objects must
    // then be collectable (their references are swept on the next call).
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '-e',
        `const { TagCache } = require(${JSON.stringify(path.join(__dirname, '..'))})
         const [url, keyPrefix] = process.argv.slice(1)
         const a = new TagCache({ redisUrl: url, keyPrefix, localTtlMs: 0 })
         const b = new TagCache({ redisUrl: url, keyPrefix, maxMemoryBytes: 8 * 2200 })
         let collected = 0
         const registry = new FinalizationRegistry(() => collected++)
         ;(async () => {
           for (let i = 0; i < 64; i++) await a.set('k' + i, Buffer.alloc(2048, i))
           for (let i = 0; i < 64; i++) {
             await b.get('k' + i) // the entry's first hit; from the second on one object answers
             const entry = b.peek('k' + i)
             if (entry.value[0] !== i || b.peek('k' + i) !== entry) throw new Error('wrong hit ' + i)
             registry.register(entry, i)
           }
           b.peek('k0')
           for (let i = 0; i < 10 && collected < 50; i++) {
             globalThis.gc()
             await new Promise((r) => setTimeout(r, 10))
           }
           console.log(JSON.stringify({ collected, ...b.stats() }))
           process.exit(0)
         })().catch((e) => { console.error(e); process.exit(1) })`,
        redis.url,
        prefix(),
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    expect(child.stderr).toBe('')
    const result = JSON.parse(child.stdout)
    expect(result.evictions).toBeGreaterThanOrEqual(56)
    expect(result.entries).toBeLessThanOrEqual(8)
    expect(result.collected).toBeGreaterThanOrEqual(50)
  })
})

test('a webhook worker in another process revalidates every instance', async () => {
  const keyPrefix = prefix()
  const a = new TagCache({ redisUrl: redis.url, keyPrefix })
  const b = new TagCache({ redisUrl: redis.url, keyPrefix })
  await a.set('post', Buffer.from('v'), { tags: ['posts'], timestamp: secondsAgo(1) })
  await b.get('post')
  const worker = spawnSync(
    process.execPath,
    [
      '-e',
      `const { TagCache } = require(${JSON.stringify(path.join(__dirname, '..'))})
       new TagCache({ redisUrl: process.argv[1], keyPrefix: process.argv[2] })
         .revalidateTag('posts', 'max').then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })`,
      redis.url,
      keyPrefix,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  )
  expect(worker.stderr).toBe('')
  expect(worker.status).toBe(0)
  for (const cache of [a, b]) {
    await cache.refreshTags()
    expect(await cache.get('post')).toMatchObject({ status: 'stale', revalidated: true })
  }
})

/** Runs `revalidateTag(tag)` in a new process (so only Redis can tell this one about it). */
function revalidateElsewhere(connection, keyPrefix, tag) {
  const worker = spawnSync(
    process.execPath,
    [
      '-e',
      `const { TagCache } = require(${JSON.stringify(path.join(__dirname, '..'))})
       new TagCache({ ...JSON.parse(process.argv[1]), keyPrefix: process.argv[2] })
         .revalidateTag(process.argv[3]).then(() => process.exit(0), (e) => { console.error(e); process.exit(1) })`,
      JSON.stringify(connection),
      keyPrefix,
      tag,
    ],
    { encoding: 'utf8', timeout: 20_000 },
  )
  expect(worker.stderr).toBe('')
  expect(worker.status).toBe(0)
}

/** Polls `attempt` every 10 ms until it answers truthy or `ms` pass; its last answer. */
async function within(ms, attempt) {
  const deadline = Date.now() + ms
  let answer = await attempt()
  while (!answer && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 10))
    answer = await attempt()
  }
  return answer
}

/** `commandStats()` summed over nodes. */
const statsOf = (nodes) => () => {
  const out = {}
  for (const node of nodes) {
    for (const [k, v] of Object.entries(node.commandStats())) out[k] = (out[k] || 0) + v
  }
  return out
}

/** Refreshes until the subscription is up: two refreshes in a row without an XRANGE. */
async function untilQuiet(cache, stats) {
  const quiet = await within(10_000, async () => {
    const before = stats()
    await cache.refreshTags().catch(() => {})
    await cache.refreshTags().catch(() => {})
    return !delta(before, stats()).xrange
  })
  expect(quiet).toBe(true)
}

describe.each([
  ['redis', () => ({ redisUrl: redis.url })],
  ['redis cluster', () => ({ redisCluster: cluster.urls })],
])('%s: deleteByPrefix', (_, connection) => {
  test("removes old builds' keys on every node, keeps the exception and other prefixes", async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ ...connection(), keyPrefix })
    // Enough keys to land on every master of the cluster, and a glob character in a key.
    const old = Array.from({ length: 60 }, (_, i) => `page:old:/p${i}`)
    for (const key of [...old, 'page:new:/a', 'page:new:/b', 'fetch:x', 'page:o*d:/z']) {
      await a.set(key, Buffer.from(key))
    }
    // A glob character in the prefix is matched literally (escaped for SCAN MATCH).
    expect(await a.deleteByPrefix('page:o*')).toBe(1)
    expect(await a.deleteByPrefix('page:old:', undefined)).toBe(60)
    expect(await a.deleteByPrefix('page:', 'page:new:')).toBe(0)
    const b = new TagCache({ ...connection(), keyPrefix })
    for (const key of old) expect(await b.get(key)).toBeNull()
    expect(await b.get('page:o*d:/z')).toBeNull()
    expect((await b.get('page:new:/a')).value.toString()).toBe('page:new:/a')
    expect((await b.get('fetch:x')).value.toString()).toBe('fetch:x')
    // Another prefix's keys (another app on the same Redis) are never touched.
    const other = new TagCache({ ...connection(), keyPrefix: `${keyPrefix}x` })
    await other.set('page:old:/q', Buffer.from('kept'))
    expect(await a.deleteByPrefix('page:', 'page:new:')).toBe(0)
    expect(
      (
        await new TagCache({ ...connection(), keyPrefix: `${keyPrefix}x` }).get('page:old:/q')
      ).value.toString(),
    ).toBe('kept')
  })
})

describe.each([
  ['redis', () => ({ redisUrl: redis.url }), () => [redis]],
  ['redis cluster', () => ({ redisCluster: cluster.urls }), () => cluster.nodes],
])('%s: refreshTags pulls only when a change was announced', (_, connection, nodes) => {
  test('refreshTags without any change costs no XRANGE once subscribed', async () => {
    const stats = statsOf(nodes())
    const b = new TagCache({ ...connection(), keyPrefix: prefix() })
    await untilQuiet(b, stats)
    const before = stats()
    for (let i = 0; i < 50; i++) await b.refreshTags()
    // At most one safety-net pull (one pipeline of 2 XRANGE) if a second passed meanwhile.
    expect(delta(before, stats()).xrange || 0).toBeLessThanOrEqual(2)
  })

  test('a message on the channel makes the next refreshTags pull', async () => {
    const stats = statsOf(nodes())
    const keyPrefix = prefix()
    const b = new TagCache({ ...connection(), keyPrefix })
    await untilQuiet(b, stats)
    const receivers = nodes().map((n) =>
      Number(n.cli('PUBLISH', `{${keyPrefix}}:tags:changed`, '1')),
    )
    expect(receivers.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(1)
    const before = stats()
    const t = Date.now()
    const pulled = await within(3000, async () => {
      await b.refreshTags()
      return delta(before, stats()).xrange > 0
    })
    expect(pulled).toBe(true)
    // Well before the once-a-second safety-net pull: the message did it.
    expect(Date.now() - t).toBeLessThan(500)
  })

  test('a revalidation in another process reaches B after refreshTags', async () => {
    const keyPrefix = prefix()
    const b = new TagCache({ ...connection(), keyPrefix, localTtlMs: 60_000 })
    await b.set('post', Buffer.from('v'), { tags: ['posts'], timestamp: secondsAgo(1) })
    await untilQuiet(b, statsOf(nodes()))
    expect(await b.get('post')).not.toBeNull()
    revalidateElsewhere(connection(), keyPrefix, 'posts')
    const t = Date.now()
    const seen = await within(3000, async () => {
      await b.refreshTags()
      return (await b.get('post')) === null
    })
    expect(seen).toBe(true)
    // The message was delivered while the worker ran: no wait for the safety-net pull.
    expect(Date.now() - t).toBeLessThan(500)
  })
})

test('after a Redis restart, B subscribes again and still sees revalidations made elsewhere', async () => {
  const own = await startRedis()
  try {
    const keyPrefix = prefix()
    const b = new TagCache({ redisUrl: own.url, keyPrefix, localTtlMs: 60_000, timeoutMs: 300 })
    await b.set('post', Buffer.from('v'), { tags: ['posts'], timestamp: secondsAgo(1) })
    await untilQuiet(b, own.commandStats)
    await own.restart()
    revalidateElsewhere({ redisUrl: own.url }, keyPrefix, 'posts')
    const seen = await within(10_000, async () => {
      await b.refreshTags().catch(() => {})
      return (await b.get('post')) === null
    })
    expect(seen).toBe(true)
    await untilQuiet(b, own.commandStats)
    expect(own.cli('PUBSUB', 'NUMSUB', `{${keyPrefix}}:tags:changed`)).toMatch(/\n1$/)
  } finally {
    await own.stop()
  }
})

test('large values are stored zstd-compressed when it pays, and read back exactly', async () => {
  const keyPrefix = prefix()
  const a = new TagCache({ redisUrl: redis.url, keyPrefix })
  const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
  const html = Buffer.from('<article><h1>Post</h1><p>Hello, world.</p></article>'.repeat(5000))
  await a.set('page', html)
  const stored = Number(redis.cli('STRLEN', `${keyPrefix}:e:page`))
  expect(stored).toBeLessThan(html.length / 4)
  expect((await b.get('page')).value.equals(html)).toBe(true)
})

test('an entry that does not decode is a miss, counted as a store error', async () => {
  const keyPrefix = prefix()
  const cache = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
  redis.cli('SET', `${keyPrefix}:e:bad`, 'not an envelope')
  expect(await cache.get('bad')).toBeNull()
  expect(cache.stats().storeErrors).toBe(1)
})

test('credentials never appear in errors', async () => {
  const cache = new TagCache({ redisUrl: 'redis://user:hunter2@127.0.0.1:1', timeoutMs: 200 })
  const err = await rejection(cache.set('k', Buffer.from('v')))
  expect(err.code).toBe('ERR_STORE')
  expect(err.message).not.toContain('hunter2')
})

/** Polls `attempt` every 200 ms for up to 10 s; its last answer. */
async function eventually(attempt) {
  const deadline = Date.now() + 10_000
  let answer = await attempt()
  while (!answer && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200))
    answer = await attempt()
  }
  return answer
}

describe('outages', () => {
  /** A cache on `own` that gives up after 300 ms and always asks Redis (no in-process copy). */
  const outageCache = (own) =>
    new TagCache({ redisUrl: own.url, keyPrefix: prefix(), timeoutMs: 300, localTtlMs: 0 })
  let warn
  beforeEach(() => {
    warn = jest.spyOn(process.stderr, 'write')
  })
  afterEach(() => warn.mockRestore())

  test('a frozen Redis (SIGSTOP): misses within the timeout, then fast; back after SIGCONT', async () => {
    const own = await startRedis()
    try {
      const cache = outageCache(own)
      await cache.set('k', Buffer.from('v'))
      expect(await cache.get('k')).not.toBeNull()
      own.pause()
      let t = Date.now()
      expect(await cache.get('k')).toBeNull()
      expect(Date.now() - t).toBeLessThan(1500)
      t = Date.now()
      for (let i = 0; i < 20; i++) expect(await cache.get('k')).toBeNull()
      // Fail-fast while down: no call waits out the timeout again.
      expect(Date.now() - t).toBeLessThan(300)
      expect((await rejection(cache.set('k2', Buffer.from('v')))).code).toBe('ERR_STORE')
      expect((await rejection(cache.revalidateTag('t'))).code).toBe('ERR_STORE')
      own.resume()
      expect(await eventually(() => cache.get('k'))).not.toBeNull()
      expect(cache.stats().storeErrors).toBeGreaterThan(0)
    } finally {
      await own.stop()
    }
  })

  test('a crashed and restarted Redis: misses, then caching resumes by itself', async () => {
    const own = await startRedis()
    try {
      const cache = outageCache(own)
      await cache.set('k', Buffer.from('v'))
      await own.kill()
      expect(await cache.get('k')).toBeNull()
      await own.restart()
      const stored = await eventually(() =>
        cache.set('k', Buffer.from('again')).then(
          () => true,
          () => false,
        ),
      )
      expect(stored).toBe(true)
      expect((await cache.get('k')).value.toString()).toBe('again')
    } finally {
      await own.stop()
    }
  })
})

describe('TLS and AUTH', () => {
  const { execFileSync } = require('node:child_process')
  const fs = require('node:fs')
  const os = require('node:os')
  let dir
  let secure
  let mutual

  beforeAll(async () => {
    // A throwaway CA and a server certificate for 127.0.0.1, made with openssl.
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-tls-'))
    const ssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
    ssl(
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.crt',
      '-days',
      '2',
      '-subj',
      '/CN=tagcache test CA',
    )
    /** `<name>.key` and `<name>.crt`, signed by the CA, with the given X.509 extensions. */
    const issue = (name, subject, extensions) => {
      fs.writeFileSync(path.join(dir, `${name}.cnf`), `${extensions}\n`)
      ssl(
        'req',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        subject,
      )
      ssl(
        'x509',
        '-req',
        '-in',
        `${name}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-out',
        `${name}.crt`,
        '-days',
        '2',
        '-extfile',
        `${name}.cnf`,
      )
    }
    issue('server', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost')
    // A client certificate from the same CA, for mutual TLS.
    issue('client', '/CN=tagcache client', 'extendedKeyUsage=clientAuth')
    /** A redis-server with a TLS port (certificate from the CA above); `{ redis, port }`. */
    const tlsServer = async (authClients, options) => {
      const port = await require('./helpers/ports').freePort()
      const redis = await startRedis(
        [
          '--tls-port',
          String(port),
          '--tls-cert-file',
          path.join(dir, 'server.crt'),
          '--tls-key-file',
          path.join(dir, 'server.key'),
          '--tls-ca-cert-file',
          path.join(dir, 'ca.crt'),
          '--tls-auth-clients',
          authClients,
        ],
        options,
      )
      return { redis, port }
    }
    const requiring = await tlsServer('yes')
    mutual = requiring.redis
    mutual.tlsUrl = `rediss://127.0.0.1:${requiring.port}`
    const plain = await tlsServer('no', { password: 's3cret' })
    secure = plain.redis
    secure.tlsUrl = (password) => `rediss://:${password}@127.0.0.1:${plain.port}`
  }, 30_000)
  afterAll(async () => {
    if (secure) await secure.stop()
    if (mutual) await mutual.stop()
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
  })

  test('rediss:// with a password stores and reads; a wrong password is ERR_STORE, never shown', () => {
    // rustls trusts the system roots; SSL_CERT_FILE points them at the test CA (a child
    // process, since the roots are read once per process).
    const script = `
      const { TagCache } = require(${JSON.stringify(path.join(__dirname, '..'))})
      ;(async () => {
        const good = new TagCache({ redisUrl: process.argv[1], localTtlMs: 0, timeoutMs: 3000 })
        await good.set('k', Buffer.from('over tls'))
        const read = (await good.get('k')).value.toString()
        const bad = new TagCache({ redisUrl: process.argv[2], timeoutMs: 3000 })
        const err = await bad.set('k', Buffer.from('x')).then(() => null, (e) => e)
        console.log(JSON.stringify({ read, code: err && err.code, message: err && err.message }))
        process.exit(0)
      })()`
    const out = execFileSync(
      process.execPath,
      ['-e', script, secure.tlsUrl('s3cret'), secure.tlsUrl('hunter2')],
      {
        env: { ...process.env, SSL_CERT_FILE: path.join(dir, 'ca.crt') },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
        timeout: 20_000,
      },
    )
    const result = JSON.parse(out.trim().split('\n').pop())
    expect(result.read).toBe('over tls')
    expect(result.code).toBe('ERR_STORE')
    expect(result.message).toMatch(/authentication failed/i)
    expect(result.message).not.toContain('hunter2')
    expect(result.message).not.toContain('s3cret')
  })

  test('tls.ca trusts a private CA without touching the system roots (PEM path)', async () => {
    const cache = new TagCache({
      redisUrl: secure.tlsUrl('s3cret'),
      tls: { ca: path.join(dir, 'ca.crt') },
      localTtlMs: 0,
      timeoutMs: 3000,
    })
    await cache.set('k', Buffer.from('private ca'))
    expect((await cache.get('k')).value.toString()).toBe('private ca')
    cache.close()
  })

  test('tls.cert and tls.key (PEM text or path) for a server that requires client certificates', async () => {
    const read = (name) => fs.readFileSync(path.join(dir, name), 'utf8')
    const withCert = new TagCache({
      redisUrl: mutual.tlsUrl,
      tls: { ca: read('ca.crt'), cert: read('client.crt'), key: path.join(dir, 'client.key') },
      localTtlMs: 0,
      timeoutMs: 3000,
    })
    await withCert.set('k', Buffer.from('mutual'))
    expect((await withCert.get('k')).value.toString()).toBe('mutual')
    withCert.close()
    const without = new TagCache({
      redisUrl: mutual.tlsUrl,
      tls: { ca: read('ca.crt') },
      localTtlMs: 0,
      timeoutMs: 3000,
    })
    expect((await rejection(without.set('k', Buffer.from('x')))).code).toBe('ERR_STORE')
    without.close()
  })

  test('bad tls options are ERR_INVALID_OPTIONS, at construction', () => {
    const url = secure.tlsUrl('s3cret')
    const cases = [
      [
        { redisUrl: url, tls: { ca: '/nowhere/ca.pem' } },
        /tls\.ca: cannot read \/nowhere\/ca\.pem/,
      ],
      [{ redisUrl: url, tls: { ca: path.join(dir, 'server.cnf') } }, /not a PEM file/],
      [{ redisUrl: url, tls: { cert: path.join(dir, 'client.crt') } }, /go together/],
      [{ redisUrl: url, tls: { servername: 'x' } }, /unknown tls field "servername"/],
      [{ redisUrl: 'redis://127.0.0.1:1', tls: { ca: path.join(dir, 'ca.crt') } }, /rediss:\/\//],
    ]
    for (const [options, message] of cases) {
      const err = thrown(() => new TagCache(options))
      expect(err.code).toBe('ERR_INVALID_OPTIONS')
      expect(err.message).toMatch(message)
    }
  })
})
