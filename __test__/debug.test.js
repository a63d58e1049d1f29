'use strict'
/**
 * The debug trace: `TAGCACHE_DEBUG=1` or Next's `NEXT_PRIVATE_DEBUG_CACHE=1` prints one line
 * per call (key, verdict and why, tier, µs) to stderr; unset, nothing is printed.
 */
const path = require('node:path')
const { spawnSync } = require('node:child_process')

const addon = path.join(__dirname, '..')
const script = `const { TagCache } = require(${JSON.stringify(addon)})
;(async () => {
  const c = new TagCache()
  await c.set('post:1', Buffer.from('x'), { tags: ['posts'], profile: 'hours' })
  await c.get('post:1')
  await c.revalidateTag('posts', 'max')
  await c.get('post:1')
  await c.get('missing')
  await c.updateTag('posts')
  await c.get('post:1', ['_N_T_/blog'])
})()`

function run(env) {
  const clean = { ...process.env }
  delete clean.TAGCACHE_DEBUG
  delete clean.NEXT_PRIVATE_DEBUG_CACHE
  const result = spawnSync(process.execPath, ['-e', script], {
    env: { ...clean, ...env },
    encoding: 'utf8',
  })
  expect(result.status).toBe(0)
  return result.stderr.split('\n').filter(Boolean)
}

test('TAGCACHE_DEBUG=1: one line per call with the verdict, why, tier and µs', () => {
  const lines = run({ TAGCACHE_DEBUG: '1' })
  const expected = [
    /^tagcache set +"post:1" 1 tag, revalidate 3600 s, expire 86400 s \[memory\] \d+ µs$/,
    /^tagcache get +"post:1" fresh \[memory\] \d+ µs$/,
    /^tagcache tags +\["posts"\] stale now, expired in 31536000 s \[memory\] \d+ µs$/,
    /^tagcache get +"post:1" stale: tag "posts" revalidated after it was written \[memory\]/,
    /^tagcache get +"missing" absent \[memory\]/,
    /^tagcache tags +\["posts"\] expired now \[memory\]/,
    /^tagcache get +"post:1" expired: tag "posts" expired after it was written \[memory\]/,
  ]
  expect(lines).toHaveLength(expected.length)
  lines.forEach((line, i) => expect(line).toMatch(expected[i]))
})

test("Next's NEXT_PRIVATE_DEBUG_CACHE=1 turns it on too; unset or 0, nothing is printed", () => {
  expect(run({ NEXT_PRIVATE_DEBUG_CACHE: '1' })).toHaveLength(7)
  expect(run({})).toEqual([])
  expect(run({ TAGCACHE_DEBUG: '0' })).toEqual([])
})
