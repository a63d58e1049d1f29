'use strict'
/**
 * What `npm test` and `npm run demo` need before they run, on a fresh clone with only node,
 * npm and cargo: the npm packages and the native addon (release build). Node built-ins only:
 * this runs before `npm install`.
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** Runs a command in the repository, echoing it; exits the process if it fails. */
function run(command, args, options = {}) {
  console.log(`\n$ ${[command, ...args].join(' ')}`)
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit', ...options })
  if (result.error) {
    console.error(`could not run ${command}: ${result.error.message}`)
    process.exit(1)
  }
  if (result.status !== 0 && !options.allowFailure) process.exit(result.status || 1)
  return result.status === 0
}

function mtime(file) {
  try {
    return fs.statSync(path.join(root, file)).mtimeMs
  } catch {
    return 0
  }
}

/**
 * `npm ci` when node_modules is missing or older than the lockfile. No fallback to `npm
 * install`: a lockfile that only `npm install` accepts is a defect, and CI must see it.
 */
function ensureNodeModules() {
  const marker = 'node_modules/.package-lock.json'
  if (mtime(marker) < mtime('package-lock.json') || !mtime('node_modules/.bin/napi')) {
    const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
    if (!run(npm, ['ci', '--no-audit', '--no-fund'], { allowFailure: true })) {
      console.error(
        '\nnpm ci failed. If it says package.json and package-lock.json are not in sync ("Missing: … from lock file"), run `npm install` once and commit package-lock.json.',
      )
      process.exit(1)
    }
  }
  linkPackage()
}

/** What `node_modules/tagcache` links to: the package's own entry points (`files`). */
const PACKAGE_ENTRIES = ['binding.js', 'index.js', 'index.d.ts', 'next', 'bin']

/**
 * `node_modules/tagcache`, so the example apps and the type fixtures `require('tagcache')`
 * as an app does: a directory of links to the package's entry points, never a link to the
 * repository itself (a `file:.` dependency), which would make every tool that walks
 * `node_modules` walk into a loop. Node loads the linked files from their real paths, so
 * the addon and every module are the repository's own, one copy.
 */
function linkPackage() {
  const dir = path.join(root, 'node_modules', 'tagcache')
  const stat = fs.lstatSync(dir, { throwIfNoEntry: false })
  if (stat && !stat.isDirectory()) fs.rmSync(dir, { force: true })
  fs.mkdirSync(dir, { recursive: true })
  for (const entry of PACKAGE_ENTRIES) {
    const link = path.join(dir, entry)
    const target = path.join('..', '..', entry)
    const current = fs.lstatSync(link, { throwIfNoEntry: false })
    if (current && current.isSymbolicLink() && fs.readlinkSync(link) === target) continue
    fs.rmSync(link, { recursive: true, force: true })
    fs.symlinkSync(target, link, entry.includes('.') ? 'file' : 'junction')
  }
  // A copy, not a link: Turbopack does not read a package.json through a symlink.
  const manifest = fs.readFileSync(path.join(root, 'package.json'))
  const copy = path.join(dir, 'package.json')
  const current = fs.lstatSync(copy, { throwIfNoEntry: false })
  if (current && current.isSymbolicLink()) fs.rmSync(copy)
  if (!current || current.isSymbolicLink() || !fs.readFileSync(copy).equals(manifest)) {
    fs.writeFileSync(copy, manifest)
  }
}

function requireCargo() {
  const probe = spawnSync('cargo', ['--version'], { encoding: 'utf8' })
  if (probe.status !== 0) {
    console.error(
      'cargo was not found: building tagcache from a checkout needs a Rust toolchain (https://rustup.rs).',
    )
    process.exit(1)
  }
}

/** True on the platform whose binary the packaging test ships: linux x64 with glibc. */
function isLinuxX64Gnu() {
  return (
    process.platform === 'linux' &&
    process.arch === 'x64' &&
    Boolean(process.report && process.report.getReport().header.glibcVersionRuntime)
  )
}

/**
 * The release build of the addon (`napi build`), which also regenerates index.js /
 * index.d.ts. On linux x64 it uses napi's cross toolchain (a glibc 2.17 sysroot), so the
 * binary the tests load is the one that ships and loads on older distributions; if that
 * toolchain cannot be had, the host toolchain builds it.
 */
function buildAddon() {
  requireCargo()
  const napi = path.join(root, 'node_modules/.bin/napi')
  const args = [napi, 'build', '--platform', '--release', '--no-const-enum']
  if (isLinuxX64Gnu()) {
    try {
      require('./napi-cross-toolchain').ensureCrossToolchain('x86_64-unknown-linux-gnu')
      const cross = [...args, '--target', 'x86_64-unknown-linux-gnu', '--use-napi-cross']
      if (run(process.execPath, cross, { allowFailure: true })) return
      console.warn('the cross build failed; building with the host toolchain')
    } catch (err) {
      console.warn(`no cross toolchain (${err.message}); building with the host toolchain`)
    }
  }
  run(process.execPath, args)
}

function onPath(command) {
  return spawnSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' }).status === 0
}

/**
 * `redis-server` and `redis-cli` for the Redis tests: Debian's package, installed with
 * apt-get when missing (as root, as on CI); otherwise says how to install it.
 */
function ensureRedis() {
  if (onPath('redis-server') && onPath('redis-cli')) return
  const root = typeof process.getuid === 'function' && process.getuid() === 0
  if (root && onPath('apt-get')) {
    run('apt-get', ['update', '-qq'])
    run('apt-get', ['install', '-y', '-qq', 'redis-server'], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    })
    return
  }
  console.error(
    'The Redis tests need redis-server and redis-cli: install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis).',
  )
  process.exit(1)
}

module.exports = { root, run, ensureNodeModules, buildAddon, ensureRedis, isLinuxX64Gnu }
