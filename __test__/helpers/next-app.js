'use strict'
/**
 * Builds and starts the example Next.js app for end-to-end tests: `next build`, then
 * `next start` on a free loopback port. The server runs in its own process group and is
 * stopped by pid, whatever happens (also on process exit).
 */
const { spawn, spawnSync } = require('node:child_process')
const { freePort } = require('./ports')
const fs = require('node:fs')
const path = require('node:path')

const examples = path.join(__dirname, '..', '..', 'examples')
/** The example app with cacheComponents ('use cache'); `isrApp`: ISR, fetch, routes, pages. */
const appDir = path.join(examples, 'next-app')
const isrAppDir = path.join(examples, 'isr-app')
/** The same features on Next 15.5, with its own node_modules (`installApp`). */
const next15AppDir = path.join(examples, 'next15-app')
/** ISR, fetch, routes and the Pages Router on Next 14.2, with its own node_modules. */
const next14AppDir = path.join(examples, 'next14-app')

/** `npm install` in an example app that has its own Next.js version, when missing. */
function installApp(dir) {
  const marker = path.join(dir, 'node_modules', '.package-lock.json')
  if (fs.existsSync(marker)) return
  const result = spawnSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline'], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 300_000,
  })
  if (result.status !== 0)
    throw new Error(`npm install in ${dir} failed:\n${result.stdout}\n${result.stderr}`)
}
/** The `next` an app resolves (its own node_modules first, then the repository's). */
const nextBinFor = (dir) => require.resolve('next/dist/bin/next', { paths: [dir] })

/**
 * The disk tier of the Next handlers (`<distDir>/cache/tagcache`): Next keeps `.next/cache`
 * across builds, so without clearing it one test file (or run) would start warm from another's.
 */
const tagcacheDirOf = (dir) => path.join(dir, '.next', 'cache', 'tagcache')

/** The environment of a `next` command: the test's, no telemetry, then `env`. */
const nextEnv = (env) => ({ ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env })

/** Every build starts cold unless `keepCache`: the app's tagcache disk tier is removed. */
function clearCacheUnlessKept(dir, keepCache) {
  if (!keepCache) fs.rmSync(tagcacheDirOf(dir), { recursive: true, force: true })
}

/**
 * `next <args>` in `dir`, in its own process group, its output collected; `kill()` is a
 * SIGKILL of the group, also sent when this process exits. `{ child, kill, output }`.
 */
function spawnNext(dir, args, env) {
  const child = spawn(process.execPath, [nextBinFor(dir), ...args], {
    cwd: dir,
    env: nextEnv(env),
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (out += d))
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  process.once('exit', kill)
  child.once('exit', () => process.removeListener('exit', kill))
  return { child, kill, output: () => out }
}

/**
 * `next build` of an example app; throws with the build output when it fails. The app's
 * tagcache disk tier is removed first, so every build starts cold, unless `keepCache`
 * (a deploy over the previous build's cache). It blocks this process: an upstream served
 * from this process cannot answer the build (use `buildAppAsync` then).
 */
function buildApp(env = {}, dir = appDir, { keepCache = false } = {}) {
  clearCacheUnlessKept(dir, keepCache)
  const result = spawnSync(process.execPath, [nextBinFor(dir), 'build'], {
    cwd: dir,
    env: nextEnv(env),
    encoding: 'utf8',
    timeout: 180_000,
  })
  if (result.status !== 0) {
    throw new Error(`next build failed (${result.status}):\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/**
 * `buildApp` without blocking this process: pages that the build prerenders can call an
 * upstream served by the test itself. Resolves to the build's output.
 */
function buildAppAsync(env = {}, dir = appDir, { keepCache = false } = {}) {
  clearCacheUnlessKept(dir, keepCache)
  return new Promise((resolve, reject) => {
    const { child, kill, output } = spawnNext(dir, ['build'], env)
    const timer = setTimeout(kill, 180_000)
    child.once('exit', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve(output())
      else reject(new Error(`next build failed (${code ?? signal}):\n${output()}`))
    })
  })
}

/** Starts `next start`; resolves to `{ url, stop, log }` once it answers. */
async function startApp(env = {}, dir = appDir) {
  const port = await freePort()
  const {
    child,
    kill,
    output: log,
  } = spawnNext(dir, ['start', '-p', String(port), '-H', '127.0.0.1'], env)
  const exited = () => child.exitCode !== null || child.signalCode !== null
  /** `kill -9` of the server's process group (a crash: nothing is flushed). */
  const stop = () =>
    new Promise((resolve) => {
      if (exited()) return resolve()
      child.once('exit', () => resolve())
      kill()
    })
  /** SIGTERM (a graceful restart, as PM2 or a container runtime stops it), SIGKILL after 10 s. */
  const terminate = () =>
    new Promise((resolve) => {
      if (exited()) return resolve()
      const timer = setTimeout(kill, 10_000)
      child.once('exit', () => {
        clearTimeout(timer)
        resolve()
      })
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited early:\n${log()}`)
    try {
      const res = await fetch(`${url}/api/tagcache-stats`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`next start did not answer within 30 s:\n${log()}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, stop, terminate, log, pid: child.pid }
}

/**
 * Builds and starts an example app whose fetch page reads a local upstream
 * (`UPSTREAM_URL`); `{ app, upstream, stop }`.
 */
async function serveWithUpstream(dir, env = {}, { keepCache = false } = {}) {
  const { startUpstream } = require('./upstream')
  const upstream = await startUpstream()
  try {
    const full = { UPSTREAM_URL: upstream.url, ...env }
    await buildAppAsync(full, dir, { keepCache })
    const app = await startApp(full, dir)
    return { app, upstream, stop: async () => Promise.all([app.stop(), upstream.stop()]) }
  } catch (err) {
    await upstream.stop()
    throw err
  }
}

/** Copies of the example apps for tests that rebuild or share them (gitignored `target/`). */
const copiesDir = path.join(__dirname, '..', '..', 'target', 'e2e-apps')

/**
 * A fresh copy of an example app under `target/e2e-apps/<name>` (without its `.next` and
 * `node_modules`), so a test can build it twice or crash it without touching the example
 * the other tests build in place. Inside the repository, `next` and `tagcache` resolve
 * through its node_modules; an app with node_modules of its own (Next 15) gets a link to them.
 */
function copyApp(src, name) {
  const dest = path.join(copiesDir, name)
  fs.rmSync(dest, { recursive: true, force: true })
  fs.mkdirSync(copiesDir, { recursive: true })
  fs.cpSync(src, dest, {
    recursive: true,
    filter: (from) => !['node_modules', '.next'].includes(path.basename(from)),
  })
  const own = path.join(src, 'node_modules')
  if (fs.existsSync(own)) fs.symlinkSync(own, path.join(dest, 'node_modules'), 'dir')
  return dest
}

module.exports = {
  appDir,
  copyApp,
  tagcacheDirOf,
  isrAppDir,
  next15AppDir,
  next14AppDir,
  installApp,
  buildApp,
  buildAppAsync,
  startApp,
  serveWithUpstream,
}
