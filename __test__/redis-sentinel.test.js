'use strict'
/**
 * Redis behind Sentinel: the engine asks the sentinels for the primary, and follows a
 * failover (a forced `SENTINEL FAILOVER`: the old primary becomes a replica and answers
 * writes with READONLY) without a restart; tag state made before the failover holds after.
 */
const { TagCache } = require('./helpers/engine')
const { startSentinelGroup } = require('./helpers/redis')

jest.setTimeout(60_000)

let group
beforeAll(async () => {
  group = await startSentinelGroup()
}, 60_000)
afterAll(async () => {
  if (group) await group.stop()
})

const engine = (keyPrefix, options = {}) =>
  new TagCache({
    redisSentinel: { name: 'mymaster', sentinels: [group.sentinel.url] },
    keyPrefix,
    localTtlMs: 0,
    timeoutMs: 500,
    ...options,
  })

/** Retries `fn` until it resolves (a failover takes a moment), up to `ms`. */
async function eventually(fn, ms = 15_000) {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await fn()
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((r) => setTimeout(r, 100))
    }
  }
}

test('entries and tags go to the primary the sentinels name', async () => {
  const a = engine('s1')
  await a.set('k', Buffer.from('v'), { tags: ['t'] })
  expect(group.primary.cli('EXISTS', 's1:e:k')).toBe('1')
  expect((await a.get('k')).status).toBe('fresh')
  await a.revalidateTag('t')
  expect(await a.get('k')).toBeNull()
  expect(a.storage).toBe('redis')
  a.close()
})

test('a failover is followed: writes reach the new primary, revalidations made before still hold', async () => {
  const a = engine('s2')
  const b = engine('s2')
  await a.set('old', Buffer.from('old'), { tags: ['before'], timestamp: Date.now() - 5000 })
  await a.revalidateTag('before')
  await a.set('kept', Buffer.from('kept'), { tags: ['other'] })
  // Replicated before the switch (WAIT: one replica acknowledged).
  group.primary.cli('WAIT', '1', '2000')
  const first = group.primaryPort()
  group.sentinel.cli('SENTINEL', 'FAILOVER', 'mymaster')
  await eventually(async () => {
    if (group.primaryPort() === first) throw new Error('not failed over yet')
  })
  expect(group.primaryPort()).toBe(group.replica.port)
  // Until the old primary is told to follow, it still takes writes (Redis loses those in a
  // failover, whoever the client): wait for it to be a replica.
  await eventually(async () => {
    if (!group.primary.cli('ROLE').startsWith('slave')) throw new Error('still a primary')
  })
  // A's connection still points at the old primary (now a replica: READONLY); it asks the
  // sentinels again and its next writes land on the new one.
  await eventually(() => a.set('after', Buffer.from('after'), { tags: ['other'] }))
  expect(group.replica.cli('EXISTS', 's2:e:after')).toBe('1')
  await eventually(() => a.revalidateTag('other'))
  // B, on the same sentinels: the revalidation made before the failover and the one after.
  await b.refreshTags()
  expect(await b.get('old')).toBeNull()
  expect(await b.get('kept')).toBeNull()
  await eventually(() => b.set('new', Buffer.from('new'), { tags: ['other'] }))
  expect((await a.get('new')).value.toString()).toBe('new')
  a.close()
  b.close()
})

test('bad redisSentinel options are ERR_INVALID_OPTIONS naming the field', () => {
  const cases = [
    [{ redisSentinel: { sentinels: ['redis://h:1'] } }, /redisSentinel\.name/],
    [{ redisSentinel: { name: 'm', sentinels: [] } }, /redisSentinel\.sentinels/],
    [{ redisSentinel: { name: 'm', sentinels: ['http://h'] } }, /not a valid Redis URL/],
    [{ redisSentinel: { name: 'm', sentinels: ['redis://h:1'], master: 'x' } }, /unknown/],
    [{ redisSentinel: { name: 'm', sentinels: ['redis://h:1'] }, redisUrl: 'redis://h' }, /one of/],
  ]
  for (const [options, message] of cases) {
    let err
    try {
      new TagCache(options)
    } catch (e) {
      err = e
    }
    expect(err && err.code).toBe('ERR_INVALID_OPTIONS')
    expect(err.message).toMatch(message)
  }
})
