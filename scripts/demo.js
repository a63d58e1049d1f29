'use strict'
/**
 * `npm run demo`: installs what is missing, builds the addon (release) and the example app,
 * and starts it on http://localhost:3000 (PORT to change) with the default store: in process,
 * with the disk tier under examples/next-app/.next/cache/tagcache.
 */
const path = require('node:path')
const { spawn } = require('node:child_process')
const { root, run, ensureNodeModules, buildAddon } = require('./setup')

ensureNodeModules()
buildAddon()

const appDir = path.join(root, 'examples', 'next-app')
const nextBin = path.join(root, 'node_modules', 'next', 'dist', 'bin', 'next')
const env = { ...process.env, NEXT_TELEMETRY_DISABLED: '1' }
run(process.execPath, [nextBin, 'build'], { cwd: appDir, env })

const port = process.env.PORT || '3000'
const url = `http://localhost:${port}`
const server = spawn(process.execPath, [nextBin, 'start', '-p', port, '-H', '127.0.0.1'], {
  cwd: appDir,
  env,
  stdio: 'inherit',
})
setTimeout(() => {
  console.log(`
tagcache demo: ${url}

  1. Open ${url} and reload: the cached time stays the same.
  2. Open ${url}/api/revalidate?tag=time&profile=max, then reload ${url} twice:
     the first reload shows the old time once (stale-while-revalidate), the second a new one.
  3. ${url}/api/revalidate?tag=time&expire=0 makes the next reload new at once.
  4. ${url}/profile (a custom cacheLife profile), ${url}/update-tag (updateTag in a
     Server Action), ${url}/path-demo (revalidatePath).
  5. ${url}/api/tagcache-stats shows the store's counters.

Ctrl-C stops the server.
`)
}, 1500)
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.kill(signal))
server.on('exit', (code) => process.exit(code ?? 0))
