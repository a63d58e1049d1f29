#!/usr/bin/env node
'use strict'
/**
 * A tight loop over one contender's 'use cache' get-hit or set, for profiling:
 *
 *   node --cpu-prof --cpu-prof-dir=/tmp/prof benchmark/profile.js tagcache get 1024
 *   node benchmark/profile.js builtin set 262144 200000
 *
 * Arguments: contender id (tagcache, builtin, map-floor, …; Redis ones need REDIS_URL), get | set | engine-get,
 * value size in bytes, operations per round (3 rounds). Prints µs per operation; with
 * `--cpu-prof`, `node benchmark/profile.js --top DIR` prints the hottest functions of the
 * profile in DIR (self and inclusive time). `engine-get` times TagCache#get alone.
 */
const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const contenders = require('./lib/contenders')
const w = require('./lib/workload')

function top(dir) {
  const file = fs.readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))[0]
  const p = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'))
  const byId = new Map(p.nodes.map((n) => [n.id, n]))
  const parent = new Map()
  for (const n of p.nodes) for (const c of n.children || []) parent.set(c, n.id)
  const dt = new Map()
  p.samples.forEach((id, i) => dt.set(id, (dt.get(id) || 0) + (p.timeDeltas[i] || 0)))
  const name = (n) =>
    `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.replace(/^.*\//, '')}:${n.callFrame.lineNumber + 1}`
  const self = new Map()
  const incl = new Map()
  let total = 0
  for (const n of p.nodes) {
    const t = dt.get(n.id) || 0
    if (!t) continue
    total += t
    self.set(name(n), (self.get(name(n)) || 0) + t)
    const seen = new Set()
    for (let id = n.id; id != null; id = parent.get(id)) {
      const k = name(byId.get(id))
      if (seen.has(k)) continue
      seen.add(k)
      incl.set(k, (incl.get(k) || 0) + t)
    }
  }
  const show = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 20)
      .map(([k, v]) => `${((100 * v) / total).toFixed(1).padStart(6)}%  ${k}`)
      .join('\n')
  console.log(`self time (time in a native method shows on its JS caller):\n${show(self)}`)
  console.log(`\ninclusive time:\n${show(incl)}`)
}

async function main() {
  if (process.argv[2] === '--top') return top(process.argv[3])
  const [id = 'tagcache', op = 'get', sizeArg = '1024', nArg = '100000'] = process.argv.slice(2)
  const size = Number(sizeArg)
  const N = Number(nArg)
  const c = contenders.byId(contenders.useCache, id)
  if (c.store === 'redis' && !process.env.REDIS_URL) throw new Error(`${id} needs REDIS_URL`)
  const { handler: h } = await c.create({ redisUrl: process.env.REDIS_URL }, {})
  const n = w.keyCount(size)
  const keys = Array.from({ length: n }, (_, i) => w.useCacheKey(i))
  const src = crypto.randomBytes(size)
  for (let i = 0; i < n; i++) await h.set(keys[i], w.pendingEntry(src, w.entryTags(i)))
  let fn
  if (op === 'get') {
    fn = async (i) => w.readToEnd((await h.get(keys[i % n], w.SOFT_TAGS)).value)
  } else if (op === 'set') {
    fn = (i) => h.set(keys[i % n], w.pendingEntry(src, w.entryTags(i % n)))
  } else if (op === 'engine-get') {
    const { TagCache } = require(path.join(contenders.root, 'index.js'))
    const engine = new TagCache()
    for (let i = 0; i < n; i++) {
      await engine.set(keys[i], Buffer.from(src), { tags: w.entryTags(i), revalidate: 900 })
    }
    fn = (i) => engine.get(keys[i % n], w.SOFT_TAGS)
  } else {
    throw new Error(`unknown op ${op}: get, set or engine-get`)
  }
  for (let r = 0; r < 3; r++) {
    const t = performance.now()
    for (let i = 0; i < N; i++) await fn(i)
    const dt = performance.now() - t
    console.log(`${id} ${op} ${w.sizeLabel(size)}: ${((dt * 1000) / N).toFixed(2)} µs/op`)
  }
  process.exit(0)
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
