'use strict'
/**
 * Redis answering errors and losing state: an error answer (OOM, WRONGTYPE) fails only the
 * call it answers, never the others; tag state lost with its keys (evicted, flushed) or
 * replaced by an older copy (a restore) never lets an entry written before pass as fresh;
 * an `allkeys-*` eviction policy is warned about once.
 */
const { spawn } = require('node:child_process')
const { randomBytes } = require('node:crypto')
const path = require('node:path')
const { TagCache, rejection, secondsAgo } = require('./helpers/engine')
const { startRedis } = require('./helpers/redis')

jest.setTimeout(30_000)

let redis
let n = 0
const prefix = () => `e${process.pid}-${Date.now()}-${n++}`

beforeAll(async () => {
  redis = await startRedis()
})
afterAll(async () => {
  if (redis) await redis.stop()
})

/** Runs `script` in a child node process; resolves to `{ stdout, stderr, code }`. */
function runChild(script, env = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', script], {
      cwd: path.join(__dirname, '..'),
      env: { ...process.env, ...env },
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
    child.on('error', reject)
    child.on('exit', (code) => {
      clearTimeout(timer)
      resolve({ stdout, stderr, code })
    })
  })
}

describe('an error answer fails that call only', () => {
  test('at maxmemory (noeviction) writes fail with OOM while every read of a stored entry hits', async () => {
    const keyPrefix = prefix()
    const cache = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    await cache.set('kept', Buffer.alloc(1024, 1), { tags: ['t'] })
    const used = Number(redis.cli('INFO', 'memory').match(/used_memory:(\d+)/)[1])
    redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
    redis.cli('CONFIG', 'SET', 'maxmemory', String(used + 64 * 1024))
    try {
      let hits = 0
      let oom = 0
      for (let i = 0; i < 200; i++) {
        const err = await rejection(cache.set(`big${i}`, randomBytes(64 * 1024), {}))
        expect(err.code).toBe('ERR_STORE')
        if (/OOM/.test(err.message)) oom++
        const entry = await cache.get('kept')
        if (entry && entry.status === 'fresh') hits++
      }
      // Random bytes do not compress: once full, every write is refused; every read answers.
      expect(oom).toBeGreaterThanOrEqual(199)
      expect(hits).toBe(200)
      // So does a pull of the tag state (not a transaction: Redis refuses those at maxmemory).
      const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
      expect((await b.get('kept')).status).toBe('fresh')
      await b.refreshTags()
      b.close()
      // Tag writes need memory too: they fail with the error named, and change nothing there.
      const err = await rejection(cache.revalidateTag('t'))
      expect(err.code).toBe('ERR_STORE')
      expect(err.message).toMatch(/OOM/)
      expect(err.message).not.toMatch(/unreachable/)
    } finally {
      redis.cli('CONFIG', 'SET', 'maxmemory', '0')
    }
    // Memory back: writes go through again.
    await cache.set('after', Buffer.from('v'), {})
    expect((await cache.get('after')).value.toString()).toBe('v')
    cache.close()
  })

  test('a WRONGTYPE at the tag key fails tag writes, named as such; reads go on', async () => {
    const keyPrefix = prefix()
    const cache = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    await cache.set('k', Buffer.from('v'), { tags: ['t'] })
    expect((await cache.get('k')).status).toBe('fresh')
    redis.cli('DEL', `{${keyPrefix}}:tags`)
    redis.cli('SET', `{${keyPrefix}}:tags`, 'not a hash')
    const err = await rejection(cache.revalidateTag('t'))
    expect(err.code).toBe('ERR_STORE')
    expect(err.message).toMatch(/WRONGTYPE/)
    expect(err.message).not.toMatch(/unreachable/)
    // The revalidation holds here (read-your-own-writes), and the next call is not refused.
    expect(await cache.get('k')).toBeNull()
    await cache.set('k2', Buffer.from('w'), {})
    expect((await cache.get('k2')).value.toString()).toBe('w')
    cache.close()
  })

  test('one log line per error kind and call, and one when it clears', async () => {
    const keyPrefix = prefix()
    const script = `
      const { TagCache } = require('.')
      const { execFileSync } = require('node:child_process')
      const cli = (...a) => execFileSync('redis-cli', ['-p', '${redis.port}', ...a]).toString()
      ;(async () => {
        const cache = new TagCache({ redisUrl: '${redis.url}', keyPrefix: '${keyPrefix}', localTtlMs: 0 })
        await cache.set('k', Buffer.from('v'), {})
        const used = Number(cli('INFO', 'memory').match(/used_memory:(\\d+)/)[1])
        cli('CONFIG', 'SET', 'maxmemory', String(used + 64 * 1024))
        let failed = 0
        for (let i = 0; i < 20; i++) {
          await cache.set('big' + i, require('node:crypto').randomBytes(64 * 1024), {}).catch(() => failed++)
          await cache.get('k')
        }
        cli('CONFIG', 'SET', 'maxmemory', '0')
        await cache.set('again', Buffer.from('v'), {})
        console.log(JSON.stringify({ failed }))
        cache.close()
      })()`
    const { stdout, stderr, code } = await runChild(script)
    expect(code).toBe(0)
    expect(JSON.parse(stdout).failed).toBeGreaterThanOrEqual(19)
    const lines = stderr.split('\n').filter((l) => l.startsWith('[tagcache]'))
    expect(lines.filter((l) => /answered set with an error \(OOM/.test(l))).toHaveLength(1)
    expect(lines.filter((l) => /accepts set again \(OOM cleared\)/.test(l))).toHaveLength(1)
    expect(lines.filter((l) => /unreachable|serving cache misses/.test(l))).toHaveLength(0)
  })
})

describe('lost or replaced tag state', () => {
  async function revalidatedEntry() {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    await a.set('old', Buffer.from('old'), { tags: ['t'], timestamp: secondsAgo(5) })
    await a.revalidateTag('t')
    expect(await a.get('old')).toBeNull()
    return { keyPrefix, a }
  }

  test('the tag hash evicted: a new instance never serves an entry written before as fresh', async () => {
    const { keyPrefix, a } = await revalidatedEntry()
    redis.cli('DEL', `{${keyPrefix}}:tags`)
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    expect(await b.get('old')).toBeNull()
    // What is written under the new state is served everywhere, once A has pulled.
    await b.set('new', Buffer.from('new'), { tags: ['t'] })
    expect((await b.get('new')).status).toBe('fresh')
    await a.refreshTags()
    expect((await a.get('new')).status).toBe('fresh')
    expect(await a.get('old')).toBeNull()
    a.close()
    b.close()
  })

  test('both tag keys gone (FLUSHDB of the tag state only): entries written before are misses', async () => {
    const { keyPrefix, a } = await revalidatedEntry()
    redis.cli('DEL', `{${keyPrefix}}:tags`, `{${keyPrefix}}:tags:log`)
    await a.refreshTags()
    expect(await a.get('old')).toBeNull()
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    expect(await b.get('old')).toBeNull()
    a.close()
    b.close()
  })

  test('the log ends before where an instance read it (a restore): a new epoch, old entries are misses', async () => {
    const keyPrefix = prefix()
    const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    await a.set('before', Buffer.from('x'), { tags: ['u'], timestamp: secondsAgo(5) })
    await a.revalidateTag('other')
    await a.refreshTags()
    // An older snapshot comes back: the log holds only an earlier entry.
    redis.cli('DEL', `{${keyPrefix}}:tags:log`)
    redis.cli('XADD', `{${keyPrefix}}:tags:log`, '1-1', 'x:other', '1')
    redis.cli('PUBLISH', `{${keyPrefix}}:tags:changed`, '1')
    await new Promise((r) => setTimeout(r, 50))
    await a.refreshTags()
    expect(await a.get('before')).toBeNull()
    const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
    expect(await b.get('before')).toBeNull()
    await b.set('later', Buffer.from('y'), { tags: ['u'] })
    await a.refreshTags()
    expect((await a.get('later')).status).toBe('fresh')
    a.close()
    b.close()
  })

  test('an allkeys-* eviction policy is warned about once per Redis, at the first pull', async () => {
    const own = await startRedis(['--maxmemory-policy', 'allkeys-lru'])
    try {
      const script = `
        const { TagCache } = require('.')
        ;(async () => {
          for (let i = 0; i < 2; i++) {
            const cache = new TagCache({ redisUrl: '${own.url}', keyPrefix: 'w' + i })
            await cache.get('k')
            cache.close()
          }
        })()`
      const { stderr, code } = await runChild(script)
      expect(code).toBe(0)
      const warnings = stderr.split('\n').filter((l) => /maxmemory-policy allkeys-lru/.test(l))
      expect(warnings).toHaveLength(1)
      expect(warnings[0]).toMatch(/noeviction or a volatile-\* policy/)
    } finally {
      await own.stop()
    }
    // Nothing is said under the default policy.
    const quiet = await runChild(`
      const { TagCache } = require('.')
      const cache = new TagCache({ redisUrl: '${redis.url}', keyPrefix: 'q' })
      cache.get('k').then(() => cache.close())`)
    expect(quiet.stderr).not.toMatch(/maxmemory-policy/)
  })
})
