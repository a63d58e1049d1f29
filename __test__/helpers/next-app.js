'use strict'
/**
 * Builds and starts the example Next.js app for end-to-end tests: `next build`, then
 * `next start` on a free loopback port. The server runs in its own process group and is
 * stopped by pid, whatever happens (also on process exit).
 */
const { spawn, spawnSync } = require('node:child_process')
const { freePort } = require('./ports')
const path = require('node:path')

const examples = path.join(__dirname, '..', '..', 'examples')
/** The example app with cacheComponents ('use cache'); `isrApp`: ISR, fetch, routes, pages. */
const appDir = path.join(examples, 'next-app')
const isrAppDir = path.join(examples, 'isr-app')
/** The same features on Next 15.5, with its own node_modules (`installApp`). */
const next15AppDir = path.join(examples, 'next15-app')

/** `npm install` in an example app that has its own Next.js version, when missing. */
function installApp(dir) {
  const fs = require('node:fs')
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

/** `next build` of an example app; throws with the build output when it fails. */
function buildApp(env = {}, dir = appDir) {
  const result = spawnSync(process.execPath, [nextBinFor(dir), 'build'], {
    cwd: dir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    encoding: 'utf8',
    timeout: 180_000,
  })
  if (result.status !== 0) {
    throw new Error(`next build failed (${result.status}):\n${result.stdout}\n${result.stderr}`)
  }
  return result.stdout
}

/** Starts `next start`; resolves to `{ url, stop, log }` once it answers. */
async function startApp(env = {}, dir = appDir) {
  const port = await freePort()
  const child = spawn(
    process.execPath,
    [nextBinFor(dir), 'start', '-p', String(port), '-H', '127.0.0.1'],
    {
      cwd: dir,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const kill = () => {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  process.once('exit', kill)
  const stop = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      kill()
    })
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited early:\n${log}`)
    try {
      const res = await fetch(`${url}/api/tagcache-stats`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`next start did not answer within 30 s:\n${log}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, stop, log: () => log, pid: child.pid }
}

/**
 * Builds and starts an example app whose fetch page reads a local upstream
 * (`UPSTREAM_URL`); `{ app, upstream, stop }`.
 */
async function serveWithUpstream(dir, env = {}) {
  const { startUpstream } = require('./upstream')
  const upstream = await startUpstream()
  try {
    const full = { UPSTREAM_URL: upstream.url, ...env }
    buildApp(full, dir)
    const app = await startApp(full, dir)
    return { app, upstream, stop: async () => Promise.all([app.stop(), upstream.stop()]) }
  } catch (err) {
    await upstream.stop()
    throw err
  }
}

module.exports = {
  appDir,
  isrAppDir,
  next15AppDir,
  installApp,
  buildApp,
  startApp,
  serveWithUpstream,
}
