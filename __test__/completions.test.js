'use strict'
/**
 * Promises of calls that leave the JS thread (a Redis read or write) settle through one
 * completion queue per cache (`src/binding/completions.rs`): every one settles with its own
 * answer, a call in flight keeps Node alive and an idle cache does not, a cache collected
 * with calls in flight still answers them, and a worker thread torn down mid-call takes
 * nothing with it.
 */
const { spawnSync } = require('node:child_process')
const path = require('node:path')
const { TagCache } = require('./helpers/engine')
const { startRedis } = require('./helpers/redis')

jest.setTimeout(30_000)

let redis
let n = 0
const prefix = () => `c${process.pid}-${Date.now()}-${n++}`
const addon = path.join(__dirname, '..')

beforeAll(async () => {
  redis = await startRedis()
}, 60_000)
afterAll(async () => {
  if (redis) await redis.stop()
})

/** Runs `source` in a child Node (argv[1] the addon, argv[2] the Redis URL, argv[3] a key prefix). */
function child(source, args = []) {
  return spawnSync(process.execPath, [...args, '-e', source, addon, redis.url, prefix()], {
    encoding: 'utf8',
    timeout: 20_000,
  })
}

test('many calls in flight on two caches each settle with their own answer', async () => {
  const keyPrefix = prefix()
  const a = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
  const b = new TagCache({ redisUrl: redis.url, keyPrefix, localTtlMs: 0 })
  const writes = []
  for (let i = 0; i < 300; i++) {
    const cache = i % 2 ? a : b
    writes.push(cache.set(`k${i}`, Buffer.from(`v${i}`), { tags: [`t${i % 7}`] }))
  }
  expect(await Promise.all(writes)).toEqual(writes.map(() => undefined))
  const reads = []
  for (let i = 0; i < 300; i++) reads.push((i % 3 ? a : b).get(`k${i}`))
  reads.push(a.get('absent'), b.getExpiration(['t1']))
  const answers = await Promise.all(reads)
  for (let i = 0; i < 300; i++) expect(answers[i].value.toString()).toBe(`v${i}`)
  expect(answers[300]).toBeNull()
  expect(answers[301]).toBe(0)
  // A rejection settles through the same queue, with its code: Redis refuses writes at
  // maxmemory (noeviction), and the reads in flight beside them still hit.
  redis.cli('CONFIG', 'SET', 'maxmemory-policy', 'noeviction')
  redis.cli('CONFIG', 'SET', 'maxmemory', '1')
  try {
    const mixed = await Promise.allSettled([
      a.set('big', Buffer.alloc(1024)),
      a.get('k1'),
      b.get('k2'),
    ])
    expect(mixed[0]).toMatchObject({ status: 'rejected', reason: { code: 'ERR_STORE' } })
    expect(mixed[0].reason.message).toMatch(/OOM/)
    expect(mixed[1].value.value.toString()).toBe('v1')
    expect(mixed[2].value.value.toString()).toBe('v2')
  } finally {
    redis.cli('CONFIG', 'SET', 'maxmemory', '0')
  }
  await a.close()
  await b.close()
})

test('a Redis call in flight keeps Node alive until it settles, and an idle cache does not', () => {
  // No timer, no close(): only the pending get holds the loop. If nothing held it, Node
  // would exit before printing; if the queue held it after, Node would never exit.
  const run = child(`
    const { TagCache } = require(process.argv[1])
    const cache = new TagCache({ redisUrl: process.argv[2], keyPrefix: process.argv[3], localTtlMs: 0 })
    cache.set('k', Buffer.from('v')).then(() => cache.get('k')).then((entry) => {
      console.log('answered ' + entry.value.toString())
      cache.get('k').then((again) => console.log('again ' + again.value.toString()))
    })`)
  expect(run.error).toBeUndefined()
  expect(run.stderr).toBe('')
  expect(run.stdout).toBe('answered v\nagain v\n')
  expect(run.status).toBe(0)
})

test('a cache collected while its calls are in flight still answers them', () => {
  const run = child(
    `
    const { TagCache } = require(process.argv[1])
    let cache = new TagCache({ redisUrl: process.argv[2], keyPrefix: process.argv[3], localTtlMs: 0 })
    cache.set('k', Buffer.from('v')).then(async () => {
      const reads = Array.from({ length: 64 }, () => cache.get('k'))
      cache = null
      globalThis.gc()
      const answers = await Promise.all(reads)
      globalThis.gc()
      console.log(answers.filter((e) => e && e.value.toString() === 'v').length)
    })`,
    ['--expose-gc'],
  )
  expect(run.stderr).toBe('')
  expect(run.stdout).toBe('64\n')
  expect(run.status).toBe(0)
})

test('a worker thread terminated with Redis calls in flight leaves the process sound', () => {
  const run = child(`
    const { Worker } = require('node:worker_threads')
    const [addon, url, keyPrefix] = process.argv.slice(1)
    const source = \`
      const { parentPort, workerData } = require('node:worker_threads')
      const { TagCache } = require(workerData.addon)
      const cache = new TagCache({ redisUrl: workerData.url, keyPrefix: workerData.keyPrefix, localTtlMs: 0 })
      cache.set('k', Buffer.alloc(64 * 1024, 1)).then(() => {
        for (let i = 0; i < 200; i++) cache.get('k')
        parentPort.postMessage('started')
      })\`
    // The main thread holds the addon too, as a Next server does: with no env left, napi-rs
    // shuts its runtime down, and the connections of a dying worker with it.
    const { TagCache } = require(addon)
    const cache = new TagCache({ redisUrl: url, keyPrefix, localTtlMs: 0 })
    ;(async () => {
      for (let round = 0; round < 5; round++) {
        const worker = new Worker(source, { eval: true, workerData: { addon, url, keyPrefix } })
        await new Promise((resolve) => worker.once('message', resolve))
        await worker.terminate()
      }
      const entry = await cache.get('k')
      console.log('ok ' + entry.value.length)
      await cache.close()
    })()`)
  expect(run.stderr).toBe('')
  expect(run.signal).toBeNull()
  expect(run.stdout).toBe('ok 65536\n')
  expect(run.status).toBe(0)
})
