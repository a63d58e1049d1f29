'use strict'
/**
 * The disk tier (`diskDir`): the engine's semantics with two instances on one directory, and
 * what only a disk has to prove: a restart keeps entries and revalidations, another process
 * shares both, `kill -9` mid-write leaves nothing torn, the bound holds, and a directory that
 * cannot be written is a memory cache with one log line.
 */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const { TagCache, rejection, thrown, secondsAgo } = require('./helpers/engine')
const { describeSemantics } = require('./helpers/semantics')

jest.setTimeout(30_000)

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-disk-'))
let n = 0
const freshDir = () => path.join(root, `d${n++}`)
afterAll(() => fs.rmSync(root, { recursive: true, force: true }))

const addon = path.join(__dirname, '..')
/** Runs `script` in a child Node process with `TagCache` in scope; `{ child, lines }`. */
function child(script, args = []) {
  const proc = spawn(
    process.execPath,
    ['-e', `const { TagCache } = require(${JSON.stringify(addon)});\n${script}`, ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  const lines = []
  let err = ''
  proc.stdout.on('data', (d) => lines.push(...String(d).split('\n').filter(Boolean)))
  proc.stderr.on('data', (d) => (err += d))
  const exited = new Promise((resolve) =>
    proc.on('exit', (code, signal) => resolve({ code, signal, err })),
  )
  return { proc, lines, exited }
}

/** Waits until `predicate()` holds (polling), bounded by `ms`. */
async function until(predicate, ms = 10_000) {
  const deadline = Date.now() + ms
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('timed out')
    await new Promise((r) => setTimeout(r, 10))
  }
}

describeSemantics('disk', async (options) => {
  const diskDir = freshDir()
  const writer = new TagCache({ diskDir, ...options })
  const reader = new TagCache({ diskDir, ...options })
  return {
    writer,
    reader,
    sync: async () => {
      writer.flush()
      await reader.refreshTags()
    },
  }
})

describe('disk tier', () => {
  test('options: storage, and bad values are ERR_INVALID_OPTIONS', () => {
    expect(new TagCache({ diskDir: freshDir() }).storage).toBe('disk')
    expect(new TagCache({ diskDir: false }).storage).toBe('memory')
    expect(new TagCache().storage).toBe('memory')
    for (const bad of [
      { diskDir: 5 },
      { diskDir: freshDir(), maxDiskBytes: 1000 },
      { diskDir: freshDir(), redisUrl: 'redis://127.0.0.1:1' },
    ]) {
      expect(thrown(() => new TagCache(bad)).code).toBe('ERR_INVALID_OPTIONS')
    }
  })

  test('a restart keeps entries and the revalidations made before it', async () => {
    const diskDir = freshDir()
    const before = new TagCache({ diskDir })
    await before.set('kept', Buffer.from('v1'), { tags: ['t'], profile: 'max' })
    await before.set('expired', Buffer.from('v2'), { tags: ['gone'], profile: 'max' })
    await before.set('stale', Buffer.from('v3'), { tags: ['swr'], profile: 'max' })
    await before.updateTag('gone')
    await before.revalidateTag('swr', 'max')
    await before.close()

    const after = new TagCache({ diskDir })
    expect(after.peek('kept')).toBeUndefined() // not in memory: the disk answers
    expect((await after.get('kept')).value.toString()).toBe('v1')
    expect(after.stats().diskReads).toBe(1)
    expect(after.metrics()).toContain(
      'tagcache_operation_duration_seconds_count{op="get",tier="disk"} 1\n',
    )
    expect(after.peek('kept').value.toString()).toBe('v1') // now in the memory tier
    expect(await after.get('expired')).toBeNull()
    expect(await after.get('stale')).toMatchObject({ status: 'stale', revalidated: true })
    expect(await after.getExpiration(['gone'])).toBeGreaterThan(0)
  })

  test('a revalidation is durable once it resolves: kill -9 right after it', async () => {
    const diskDir = freshDir()
    const seed = new TagCache({ diskDir })
    await seed.set('page', Buffer.from('old'), { tags: ['posts'] })
    await seed.close()
    const run = child(
      `const c = new TagCache({ diskDir: process.argv[1] })
       c.updateTag('posts').then(() => console.log('revalidated'))
       setInterval(() => {}, 1000)`,
      [diskDir],
    )
    await until(() => run.lines.includes('revalidated'))
    run.proc.kill('SIGKILL')
    await run.exited
    expect(await new TagCache({ diskDir }).get('page')).toBeNull()
  })

  test('kill -9 during a write load: every entry on disk is whole, the tag state too', async () => {
    const diskDir = freshDir()
    // Values are their key repeated, so a torn or mixed-up entry shows; tags revalidated
    // (and reported) along the way must all be in force after the crash.
    const run = child(
      `const c = new TagCache({ diskDir: process.argv[1] })
       let i = 0
       const body = (k) => Buffer.from(k.repeat(1 + (k.length * 977) % 4000))
       ;(async () => {
         for (;;) {
           const writes = []
           for (let j = 0; j < 50; j++, i++) {
             const k = 'k' + (i % 400)
             writes.push(c.set(k, body(k), { tags: ['t' + (i % 20)] }))
           }
           await Promise.all(writes)
           if (i % 500 === 0) {
             const tag = 't' + ((i / 500) % 20)
             await c.updateTag(tag)
             console.log('revalidated ' + tag + ' ' + (performance.timeOrigin + performance.now()))
           }
           await new Promise((r) => setImmediate(r))
         }
       })()`,
      [diskDir],
    )
    await until(() => run.lines.filter((l) => l.startsWith('revalidated')).length >= 3)
    await new Promise((r) => setTimeout(r, 150))
    run.proc.kill('SIGKILL')
    const { signal } = await run.exited
    expect(signal).toBe('SIGKILL')

    const cache = new TagCache({ diskDir })
    expect(cache.stats().diskEntries).toBeGreaterThan(0)
    let read = 0
    for (let i = 0; i < 400; i++) {
      const k = 'k' + i
      const entry = await cache.get(k)
      if (!entry) continue // never written, or expired by a tag revalidated after it
      read++
      expect(entry.value.toString()).toBe(k.repeat(1 + ((k.length * 977) % 4000)))
    }
    expect(read).toBeGreaterThan(0)
    for (const line of run.lines.filter((l) => l.startsWith('revalidated'))) {
      const [, tag, at] = line.split(' ')
      // Resolved before it was reported: on disk, with its time.
      const expiration = await cache.getExpiration([tag])
      expect(expiration).toBeGreaterThan(0)
      expect(expiration).toBeLessThanOrEqual(Number(at))
    }
    expect(cache.stats().storeErrors).toBe(0)
  })

  test('another process sharing the directory sees entries and revalidations', async () => {
    const diskDir = freshDir()
    const here = new TagCache({ diskDir })
    await here.set('shared', Buffer.from('from here'), { tags: ['t'], profile: 'max' })
    here.flush()
    const run = child(
      `const c = new TagCache({ diskDir: process.argv[1] })
       ;(async () => {
         const e = await c.get('shared')
         console.log('read ' + (e && e.value.toString()))
         await c.set('theirs', Buffer.from('from there'), { tags: ['u'] })
         c.flush()
         await c.revalidateTag('t', 'max')
         console.log('done')
         await c.close()
       })()`,
      [diskDir],
    )
    const { code, err } = await run.exited
    expect({ code, err }).toEqual({ code: 0, err: '' })
    expect(run.lines).toEqual(['read from here', 'done'])
    // The fresh in-process copy would answer as fresh until the pull brings the revalidation.
    expect((await here.get('shared')).status).toBe('fresh')
    await here.refreshTags()
    expect(await here.get('shared')).toMatchObject({ status: 'stale', revalidated: true })
    expect((await here.get('theirs')).value.toString()).toBe('from there')
  })

  test('a newer version written by another process replaces a stale in-process copy', async () => {
    const diskDir = freshDir()
    const a = new TagCache({ diskDir })
    const b = new TagCache({ diskDir })
    await a.set('page', Buffer.from('v1'), { tags: ['p'] })
    a.flush()
    expect((await b.get('page')).value.toString()).toBe('v1') // b keeps a copy in memory
    await a.revalidateTag('p', 'max')
    await a.set('page', Buffer.from('v2'), { tags: ['p'] }) // the regeneration
    a.flush()
    await b.refreshTags()
    expect((await b.get('page')).value.toString()).toBe('v2')
  })

  test('ifAbsent never overwrites; deleteByPrefix keeps the exception', async () => {
    const diskDir = freshDir()
    const a = new TagCache({ diskDir })
    await a.set('k', Buffer.from('newer'))
    a.flush()
    const b = new TagCache({ diskDir })
    await b.set('k', Buffer.from('from the build'), { ifAbsent: true })
    b.flush()
    expect((await new TagCache({ diskDir }).get('k')).value.toString()).toBe('newer')
    expect((await rejection(a.set('x', Buffer.from('v'), { ifAbsent: 1 }))).code).toBe(
      'ERR_INVALID_OPTIONS',
    )

    for (const key of ['page:old:/a', 'page:old:/b', 'page:new:/a', 'fetch:x']) {
      await a.set(key, Buffer.from(key))
    }
    expect(await a.deleteByPrefix('page:', 'page:new:')).toBe(2)
    const fresh = new TagCache({ diskDir })
    expect(await fresh.get('page:old:/a')).toBeNull()
    expect(await a.get('page:old:/b')).toBeNull()
    expect((await fresh.get('page:new:/a')).value.toString()).toBe('page:new:/a')
    expect((await fresh.get('fetch:x')).value.toString()).toBe('fetch:x')
    expect((await rejection(a.deleteByPrefix(5))).code).toBe('ERR_INVALID_OPTIONS')
  })

  test('a delete is on disk when it resolves: no later read brings the entry back', async () => {
    const diskDir = freshDir()
    const cache = new TagCache({ diskDir })
    await cache.set('k', Buffer.from('v'))
    cache.flush()
    expect(await cache.delete('k')).toBe(true)
    expect(await cache.get('k')).toBeNull()
    expect(await new TagCache({ diskDir }).get('k')).toBeNull()
    // After a restart the entry is only on disk; delete still says it was there.
    await cache.set('d', Buffer.from('v'))
    await cache.close()
    expect(await new TagCache({ diskDir }).delete('d')).toBe(true)
  })

  test('a stale in-process copy still serves when the disk lost the entry', async () => {
    const diskDir = freshDir()
    const a = new TagCache({ diskDir })
    await a.set('k', Buffer.from('v'), { revalidate: 5, expire: 1000, timestamp: secondsAgo(10) })
    a.flush()
    // Another process purges it from disk; here the copy is stale, so the disk is asked.
    expect(await new TagCache({ diskDir }).deleteByPrefix('k')).toBe(1)
    expect(await a.get('k')).toMatchObject({ status: 'stale' })
  })

  test('ifAbsent stores over an expired copy; a rejected set never reaches the disk', async () => {
    const diskDir = freshDir()
    const a = new TagCache({ diskDir, maxMemoryBytes: 4096 })
    await a.set('k', Buffer.from('old'), { revalidate: 1, expire: 2, timestamp: secondsAgo(5) })
    await a.set('k', Buffer.from('seed'), { ifAbsent: true })
    expect((await a.get('k')).value.toString()).toBe('seed')
    const err = await rejection(a.set('big', Buffer.alloc(8192)))
    expect(err.code).toBe('ERR_VALUE_TOO_LARGE')
    await a.close()
    expect(await new TagCache({ diskDir }).get('big')).toBeNull()
  })

  test('maxDiskBytes bounds the disk; the newest entries stay', async () => {
    const diskDir = freshDir()
    const cache = new TagCache({ diskDir, maxDiskBytes: 1024 * 1024 })
    for (let i = 0; i < 40; i++) {
      // Random bytes: zstd cannot shrink them below the bound.
      await cache.set(`k${i}`, require('node:crypto').randomBytes(64 * 1024))
      cache.flush()
    }
    const { diskBytes, diskEntries } = cache.stats()
    expect(diskBytes).toBeLessThanOrEqual(1024 * 1024)
    expect(diskEntries).toBeGreaterThanOrEqual(13) // only as many as needed were evicted
    const reopened = new TagCache({ diskDir, maxDiskBytes: 1024 * 1024 })
    expect(await reopened.get('k39')).not.toBeNull()
    expect(await reopened.get('k0')).toBeNull()
  })

  test('a directory that cannot be written: memory only, one line on stderr, no throw', () => {
    const blocker = path.join(root, `file${n++}`)
    fs.writeFileSync(blocker, 'not a directory')
    const script = `const { TagCache } = require(${JSON.stringify(addon)})
      const c = new TagCache({ diskDir: ${JSON.stringify(path.join(blocker, 'cache'))} })
      c.set('k', Buffer.from('v')).then(() => c.get('k')).then((e) => console.log(c.storage, e.value.toString()))`
    const result = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' })
    expect(result.status).toBe(0)
    expect(result.stdout.trim()).toBe('memory v')
    const lines = result.stderr.trim().split('\n')
    expect(lines).toHaveLength(1)
    expect(lines[0]).toMatch(
      /^\[tagcache\] the disk cache at .* is unavailable .*caching in memory only$/,
    )
    // TAGCACHE_LOG=off silences tagcache's warnings, and nothing else changes.
    const quiet = spawnSync(process.execPath, ['-e', script], {
      encoding: 'utf8',
      env: { ...process.env, TAGCACHE_LOG: 'off' },
    })
    expect(quiet.status).toBe(0)
    expect(quiet.stdout.trim()).toBe('memory v')
    expect(quiet.stderr).toBe('')
  })
})
