'use strict'
/** What a run records about itself (results.meta): the machine, the versions, the build measured. */
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

function pkgVersion(dir) {
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version
  } catch {
    return 'not installed'
  }
}

/** Which tagcache was measured: the commit, whether src/ had changes, when the addon was built. */
function buildInfo(root) {
  const git = (args) => {
    const r = require('node:child_process').spawnSync('git', args, { cwd: root, encoding: 'utf8' })
    return r.status === 0 ? r.stdout.trim() : null
  }
  const addon = fs.readdirSync(root).find((f) => /^tagcache\..*\.node$/.test(f))
  const changed = git(['status', '--porcelain', '--', 'src', 'next', 'index.js'])
  return {
    commit: git(['rev-parse', '--short', 'HEAD']),
    uncommittedChanges: changed == null ? null : changed.split('\n').filter(Boolean).length,
    addonBuilt: addon ? fs.statSync(path.join(root, addon)).mtime.toISOString() : null,
  }
}

function collectMeta({ root, benchDir, quick, settings, redisServer }) {
  const nm = path.join(benchDir, 'node_modules')
  return {
    date: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    settings,
    node: process.version,
    cpus: `${os.cpus().length} × ${os.cpus()[0]?.model?.trim() || 'unknown CPU'}`,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    loadStart: os.loadavg().map((x) => Number(x.toFixed(2))),
    next: pkgVersion(path.join(root, 'node_modules', 'next')),
    tagcache: pkgVersion(root),
    redis: redisServer ? redisServer.version : 'not started',
    build: buildInfo(root),
    peers: {
      '@trieb.work/nextjs-turbo-redis-cache': pkgVersion(
        path.join(nm, '@trieb.work/nextjs-turbo-redis-cache'),
      ),
      '@fortedigital/nextjs-cache-handler': pkgVersion(
        path.join(nm, '@fortedigital/nextjs-cache-handler'),
      ),
      '@mrjasonroy/cache-components-cache-handler': pkgVersion(
        path.join(nm, '@mrjasonroy/cache-components-cache-handler'),
      ),
      redis: pkgVersion(path.join(nm, 'redis')),
      '@redis/client': pkgVersion(path.join(nm, '@redis/client')),
      ioredis: pkgVersion(path.join(nm, 'ioredis')),
    },
  }
}

module.exports = { collectMeta, buildInfo }
