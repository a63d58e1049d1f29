#!/usr/bin/env node
'use strict'
/**
 * `tagcache`: revalidate and inspect a tagcache store from a shell or a deploy script.
 *
 *   tagcache revalidate <tag…> [--profile NAME | --expire S]
 *   tagcache update <tag…>
 *   tagcache revalidate-path <path> [--type page|layout]
 *   tagcache tags <tag…>
 *   tagcache inspect <key>
 *   tagcache purge --old-builds [--dist-dir .next] [--build-id ID]
 *   tagcache stats
 *
 * Store: `--redis-url URL`, `--key-prefix P`, `--disk-dir DIR`, `--max-memory-bytes N`, else
 * the `TAGCACHE_*` variables (`next/engine.js` `optionsFromEnv`); flags win. `--config
 * next.config.js` only supplies the app's `cacheLife` profiles (and `distDir` for `purge`):
 * the `TAGCACHE_OPTIONS` that `withTagCache` sets while the config loads is discarded, so a
 * config never switches the store the flags and the environment chose (a note on stderr says
 * when the config's store differs). `--json`: one JSON document on stdout.
 *
 * Errors: `tagcache: <message> (<code>)` on stderr; exit 1, or 2 for a usage error.
 */
const fs = require('node:fs')
const path = require('node:path')
const { parseArgs } = require('node:util')
const { pathToFileURL } = require('node:url')

const USAGE = `Usage: tagcache <command> [options]

Commands:
  revalidate <tag…> [--profile NAME | --expire S]
                        revalidateTag: with a profile the tags are stale now and expire
                        after the profile's expire (SWR); --expire 0 or neither: expired now
  update <tag…>         updateTag each tag: expired now
  revalidate-path <path> [--type page|layout]
                        revalidatePath: expires the implicit tags Next derives for the path
  tags <tag…>           each tag's state: stale since / expires / expired
  inspect <key>         one entry: tags, stale/revalidate/expire, timestamp, status, size.
                        Keys of the Next handlers: fetch:<key> (fetch cache),
                        page:<buildId>:<key> (pages, routes), Next's cache key ('use cache')
  purge --old-builds [--dist-dir .next] [--build-id ID]
                        drops other builds' page:<buildId>: entries (build id: --build-id,
                        else TAGCACHE_BUILD_ID, else <dist-dir>/BUILD_ID)
  stats                 the engine's counters and sizes

Store (flags win over the environment):
  --redis-url URL       Redis (TAGCACHE_REDIS_URL)
  --key-prefix P        Redis key namespace (TAGCACHE_KEY_PREFIX, default 'tagcache')
  --disk-dir DIR        the disk tier's directory, e.g. .next/cache/tagcache (TAGCACHE_DISK_DIR)
  --max-memory-bytes N  bound of the in-process store (TAGCACHE_MAX_MEMORY_BYTES)
  --config FILE         next.config.js / .mjs: its cacheLife profiles resolve --profile names;
                        the store it configures is not used (pass the flags above)

Output:
  --json                one JSON document on stdout
  -h, --help            this text

Examples:
  npx tagcache revalidate posts --profile max --redis-url redis://:secret@redis:6379
  npx tagcache revalidate posts --profile editorial --config next.config.js --disk-dir .next/cache/tagcache
  npx tagcache tags posts comments --redis-url redis://redis:6379 --json
  npx tagcache purge --old-builds --disk-dir .next/cache/tagcache
`

/** Seconds meaning "never" (Next's `INFINITE_CACHE`). */
const NEVER = 4294967294

/** Flags each command accepts besides the store and output ones. */
const COMMAND_FLAGS = {
  revalidate: ['profile', 'expire'],
  update: [],
  'revalidate-path': ['type'],
  tags: [],
  inspect: [],
  purge: ['old-builds', 'dist-dir', 'build-id'],
  stats: [],
}

const OPTIONS = {
  'redis-url': { type: 'string' },
  'key-prefix': { type: 'string' },
  'disk-dir': { type: 'string' },
  'max-memory-bytes': { type: 'string' },
  config: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  profile: { type: 'string' },
  expire: { type: 'string' },
  type: { type: 'string' },
  'old-builds': { type: 'boolean' },
  'dist-dir': { type: 'string' },
  'build-id': { type: 'string' },
}

class CliError extends Error {
  constructor(message, code, exitCode = 1) {
    super(message)
    this.code = code
    this.exitCode = exitCode
  }
}

const usageError = (message) => new CliError(message, 'ERR_USAGE', 2)

async function main(argv) {
  let parsed
  try {
    parsed = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true })
  } catch (err) {
    throw usageError(err.message)
  }
  const { values: flags, positionals } = parsed
  if (flags.help) {
    process.stdout.write(USAGE)
    return 0
  }
  const [command, ...args] = positionals
  if (!command) {
    process.stderr.write(USAGE)
    return 2
  }
  if (!Object.hasOwn(COMMAND_FLAGS, command)) throw usageError(`unknown command "${command}"`)
  for (const name of ['profile', 'expire', 'type', 'old-builds', 'dist-dir', 'build-id']) {
    if (flags[name] !== undefined && !COMMAND_FLAGS[command].includes(name)) {
      throw usageError(`--${name} does not apply to ${command}`)
    }
  }
  const run = checkArgs(command, args, flags)

  // The environment as the operator set it, before a config's `withTagCache` writes to it.
  const env = { ...process.env }
  const config = flags.config ? await loadConfig(flags.config) : undefined
  const options = storeOptions(flags, env, config)

  const { TagCache } = require('../binding.js')
  const cache = new TagCache(options)
  try {
    if (options.diskDir && cache.storage !== 'disk') {
      throw new CliError(`the disk tier at ${options.diskDir} could not be opened`, 'ERR_STORE')
    }
    const result = await run(cache, { env, config })
    if (flags.json) process.stdout.write(JSON.stringify(result.json, null, 2) + '\n')
    else process.stdout.write(result.text.join('\n') + '\n')
    return 0
  } finally {
    await cache.close()
  }
}

/** Checks a command's arguments and flags; returns what runs it against an open cache. */
function checkArgs(command, args, flags) {
  const needTags = () => {
    if (args.length === 0) throw usageError(`${command} needs at least one tag`)
  }
  const needOne = (what) => {
    if (args.length !== 1) throw usageError(`${command} takes exactly one ${what}`)
  }
  switch (command) {
    case 'revalidate': {
      needTags()
      if (flags.profile !== undefined && flags.expire !== undefined) {
        throw usageError('give --profile or --expire, not both')
      }
      let profile = flags.profile
      if (flags.expire !== undefined) {
        const expire = Number(flags.expire)
        if (flags.expire.trim() === '' || !Number.isFinite(expire) || expire < 0) {
          throw usageError(`--expire takes seconds (a number ≥ 0), got "${flags.expire}"`)
        }
        profile = { expire }
      }
      return (cache) => revalidate(cache, args, profile)
    }
    case 'update':
      needTags()
      return (cache) => update(cache, args)
    case 'revalidate-path':
      needOne('path')
      if (flags.type !== undefined && flags.type !== 'page' && flags.type !== 'layout') {
        throw usageError(`--type is page or layout, got "${flags.type}"`)
      }
      return (cache) => revalidatePath(cache, args[0], flags.type)
    case 'tags':
      needTags()
      return (cache) => tags(cache, args)
    case 'inspect':
      needOne('key')
      return (cache) => inspect(cache, args[0])
    case 'purge':
      if (args.length) throw usageError('purge takes no arguments')
      if (!flags['old-builds']) throw usageError('purge needs --old-builds (the only kind yet)')
      return (cache, ctx) => purge(cache, flags, ctx)
    default:
      if (args.length) throw usageError(`${command} takes no arguments`)
      return (cache) => stats(cache)
  }
}

/**
 * Engine options: `optionsFromEnv` over the operator's environment, then the flags; the
 * config's `cacheLife` on top. A store must be named: a CLI in memory would change nothing.
 */
function storeOptions(flags, env, config) {
  const { optionsFromEnv } = require('../next/engine.js')
  const options = optionsFromEnv(env)
  if (flags['redis-url'] !== undefined && flags['disk-dir'] !== undefined) {
    throw usageError('give --redis-url or --disk-dir, not both')
  }
  if (flags['redis-url'] !== undefined) {
    options.redisUrl = flags['redis-url']
    delete options.redisCluster
    delete options.redisSentinel
    delete options.diskDir
    delete options.maxDiskBytes
  }
  if (flags['disk-dir'] !== undefined) {
    options.diskDir = path.resolve(flags['disk-dir'])
    delete options.redisUrl
    delete options.redisCluster
    delete options.redisSentinel
  }
  if (flags['key-prefix'] !== undefined) options.keyPrefix = flags['key-prefix']
  if (flags['max-memory-bytes'] !== undefined) {
    const bytes = Number(flags['max-memory-bytes'])
    if (flags['max-memory-bytes'].trim() === '' || !Number.isFinite(bytes) || bytes < 0) {
      throw usageError(`--max-memory-bytes takes a number, got "${flags['max-memory-bytes']}"`)
    }
    options.maxMemoryBytes = bytes
  }
  if (config && config.cacheLife) {
    options.cacheLife = { ...options.cacheLife, ...config.cacheLife }
  }
  if (!options.redisUrl && !options.redisCluster && !options.redisSentinel && !options.diskDir) {
    throw usageError(
      'no store: pass --redis-url or --disk-dir (or set TAGCACHE_REDIS_URL / TAGCACHE_DISK_DIR)',
    )
  }
  if (options.diskDir && !isDirectory(options.diskDir)) {
    throw new CliError(`the disk dir ${options.diskDir} does not exist`, 'ERR_INVALID_OPTIONS')
  }
  if (config && config.store) noteConfigStore(config.store, options)
  return options
}

/** One stderr line when the config's `withTagCache` names another store than the one used. */
function noteConfigStore(store, options) {
  const describe = (o) => {
    if (o.redisSentinel) {
      const { name, sentinels = [] } = o.redisSentinel
      return `Redis ${name} via sentinels ${sentinels.map(redactUrl).join(',')}`
    }
    const redis = o.redisCluster ? o.redisCluster.join(',') : o.redisUrl
    if (redis) return `Redis ${redactUrl(redis)} (keyPrefix "${o.keyPrefix || 'tagcache'}")`
    if (o.diskDir) return `the disk dir ${path.resolve(o.diskDir)}`
    return 'memory only'
  }
  const theirs = describe(store)
  const ours = describe(options)
  if (theirs !== ours) {
    process.stderr.write(
      `tagcache: note: the config's withTagCache names ${theirs}; using ${ours} ` +
        '(the store comes from the flags and the environment only)\n',
    )
  }
}

/** A Redis URL without its credentials, for messages. */
function redactUrl(url) {
  return url.replace(/\/\/[^/@]*@/g, '//***@')
}

function isDirectory(dir) {
  try {
    return fs.statSync(dir).isDirectory()
  } catch {
    return false
  }
}

/**
 * Loads a Next.js config: `{ cacheLife, distDir, dir, store }`. A function config is called
 * as Next calls it for `next start`; `.mjs` (or ESM `.js`) through `import()`. Whatever
 * `withTagCache` writes to `TAGCACHE_OPTIONS` while it loads is taken back out (it is
 * reported as `store`, never used).
 */
async function loadConfig(file) {
  const resolved = path.resolve(file)
  const before = process.env.TAGCACHE_OPTIONS
  let config
  try {
    let mod
    if (resolved.endsWith('.mjs')) mod = await import(pathToFileURL(resolved).href)
    else {
      try {
        mod = require(resolved)
      } catch (err) {
        if (err.code !== 'ERR_REQUIRE_ESM' && err.code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err
        mod = await import(pathToFileURL(resolved).href)
      }
    }
    config = mod && mod.__esModule !== undefined && 'default' in mod ? mod.default : mod
    if (config && typeof config === 'object' && 'default' in config && !config.cacheLife) {
      config = config.default
    }
    if (typeof config === 'function') {
      config = await config('phase-production-server', { defaultConfig: {} })
    }
  } catch (err) {
    throw new CliError(
      `cannot load the config ${file}: ${err.message}`,
      typeof err.code === 'string' && err.code.startsWith('ERR_') ? err.code : 'ERR_INVALID_CONFIG',
    )
  }
  const written = process.env.TAGCACHE_OPTIONS
  if (before === undefined) delete process.env.TAGCACHE_OPTIONS
  else process.env.TAGCACHE_OPTIONS = before
  if (!config || typeof config !== 'object') {
    throw new CliError(`the config ${file} is not an object`, 'ERR_INVALID_CONFIG')
  }
  let store
  if (written !== undefined && written !== before) {
    try {
      store = JSON.parse(written)
    } catch {
      // not ours to judge
    }
  }
  return {
    cacheLife: config.cacheLife || (config.experimental && config.experimental.cacheLife),
    distDir: config.distDir,
    dir: path.dirname(resolved),
    store,
  }
}

// ---- commands: each resolves to `{ json, text: [lines] }` ----

async function revalidate(cache, tagList, profile) {
  // Resolved first so an unknown name rejects before anything changes (the engine checks too).
  const resolved = typeof profile === 'string' ? cache.resolveProfile(profile) : undefined
  await cache.revalidateTag(tagList, profile)
  const states = cache.tagStates(tagList)
  let effect
  if (resolved) effect = `stale now, ${expiresIn(resolved.expire)} (profile ${profile})`
  else if (profile && profile.expire > 0) effect = `stale now, ${expiresIn(profile.expire)}`
  else effect = 'expired now'
  return {
    json: {
      command: 'revalidate',
      tags: tagList,
      profile: profile === undefined ? null : profile,
      ...(resolved ? { resolved } : {}),
      states: states.map(stateJson),
    },
    text: [`revalidated ${tagList.join(', ')}: ${effect}`],
  }
}

async function update(cache, tagList) {
  for (const tag of tagList) await cache.updateTag(tag)
  return {
    json: { command: 'update', tags: tagList, states: cache.tagStates(tagList).map(stateJson) },
    text: [`updated ${tagList.join(', ')}: expired now`],
  }
}

async function revalidatePath(cache, pathname, type) {
  const expired = await cache.revalidatePath(pathname, type)
  return {
    json: { command: 'revalidate-path', path: pathname, type: type || null, tags: expired },
    text: [`revalidated ${pathname}${type ? ` (${type})` : ''}: expired ${expired.join(', ')}`],
  }
}

async function tags(cache, tagList) {
  await cache.refreshTags()
  const states = cache.tagStates(tagList)
  const byTag = new Map(states.map((s) => [s.tag, s]))
  const now = Date.now()
  const text = tagList.map((tag) => {
    const state = byTag.get(tag)
    if (!state) return `${tag}: not a valid tag`
    const parts = []
    if (state.stale !== undefined) parts.push(`stale since ${iso(state.stale)}`)
    if (state.expired !== undefined) {
      parts.push(`${state.expired > now ? 'expires' : 'expired'} ${iso(state.expired)}`)
    }
    return `${tag}: ${parts.length ? parts.join(', ') : 'never revalidated'}`
  })
  return { json: { command: 'tags', tags: states.map(stateJson) }, text }
}

async function inspect(cache, key) {
  await cache.refreshTags()
  const entry = await cache.get(key)
  if (!entry) {
    return { json: { command: 'inspect', key, found: false }, text: [`${key}: absent`] }
  }
  const seconds = (s) => (s >= NEVER ? 'never' : `${s} s`)
  const at = (s) => (s >= NEVER ? '' : ` (${iso(entry.timestamp + s * 1000)})`)
  return {
    json: {
      command: 'inspect',
      key,
      found: true,
      status: entry.status,
      revalidated: entry.revalidated,
      tags: entry.tags,
      stale: entry.stale,
      revalidate: entry.revalidate,
      expire: entry.expire,
      timestamp: entry.timestamp,
      timestampIso: iso(entry.timestamp),
      size: entry.value.length,
    },
    text: [
      `${key}: ${entry.status}${entry.revalidated ? ' (a tag was revalidated)' : ''}`,
      `  tags        ${entry.tags.length ? entry.tags.join(', ') : '(none)'}`,
      `  written     ${iso(entry.timestamp)}`,
      `  stale       ${seconds(entry.stale)}`,
      `  revalidate  ${seconds(entry.revalidate)}${at(entry.revalidate)}`,
      `  expire      ${seconds(entry.expire)}${at(entry.expire)}`,
      `  size        ${entry.value.length} bytes`,
    ],
  }
}

async function purge(cache, flags, { env, config }) {
  let buildId = flags['build-id'] || env.TAGCACHE_BUILD_ID
  // `withTagCache` publishes a deployment id as the build id while the config loads.
  if (!buildId && config && process.env.TAGCACHE_BUILD_ID) buildId = process.env.TAGCACHE_BUILD_ID
  let source = buildId ? 'given' : ''
  if (!buildId) {
    const distDir =
      flags['dist-dir'] ??
      (config && config.distDir ? path.resolve(config.dir, config.distDir) : '.next')
    const file = path.resolve(distDir, 'BUILD_ID')
    try {
      buildId = fs.readFileSync(file, 'utf8').trim()
    } catch (err) {
      throw new CliError(`cannot read the build id from ${file}: ${err.message}`, 'ERR_NO_BUILD_ID')
    }
    if (!buildId) throw new CliError(`${file} is empty`, 'ERR_NO_BUILD_ID')
    source = file
  }
  const removed = await cache.deleteByPrefix('page:', `page:${buildId}:`)
  const text = [
    `kept build ${buildId}; removed ${removed} page entr${removed === 1 ? 'y' : 'ies'} of other builds (${cache.storage})`,
  ]
  return {
    json: {
      command: 'purge',
      buildId,
      buildIdFrom: source,
      removed,
      storage: cache.storage,
    },
    text,
  }
}

async function stats(cache) {
  await cache.refreshTags()
  const s = cache.stats()
  return {
    json: { command: 'stats', storage: cache.storage, ...s },
    text: [`storage: ${cache.storage}`, ...Object.entries(s).map(([k, v]) => `${k}: ${v}`)],
  }
}

// ---- formatting ----

function iso(ms) {
  return new Date(ms).toISOString()
}

function expiresIn(seconds) {
  return seconds >= NEVER ? 'never expires' : `expires in ${seconds} s`
}

function stateJson(state) {
  const out = { tag: state.tag }
  if (state.stale !== undefined) {
    out.stale = state.stale
    out.staleIso = iso(state.stale)
  }
  if (state.expired !== undefined) {
    out.expired = state.expired
    out.expiredIso = iso(state.expired)
    out.expiredNow = state.expired <= Date.now()
  }
  return out
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code
  },
  (err) => {
    const code = (err && err.code) || 'ERR_INTERNAL'
    process.stderr.write(`tagcache: ${(err && err.message) || err} (${code})\n`)
    process.exitCode = err instanceof CliError ? err.exitCode : 1
  },
)
