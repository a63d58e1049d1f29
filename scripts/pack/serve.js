'use strict'
/**
 * Step 3b of `npm run test:pack`: `next start` of the built app (on 127.0.0.1, a free port),
 * and over HTTP: a 'use cache' value cached by tagcache, `revalidateTag(tag, { expire: 0 })`
 * making it fresh, and the addon the server mapped.
 */
const { spawn } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const { freePort } = require('../../__test__/helpers/ports')
const { PLATFORM_PKG, check, step, tail } = require('./common')

async function startServer(appDir, env, track) {
  const port = await freePort()
  const nextBin = path.join(appDir, 'node_modules', 'next', 'dist', 'bin', 'next')
  const child = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: appDir,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  track(child)
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 30_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited early:\n${log}`)
    try {
      const res = await fetch(`${url}/api/stats`)
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`next start did not answer within 30 s:\n${log}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  return { url, log: () => log }
}

/** Step 3b: next start, and caching and revalidateTag over HTTP. */
async function serveApp(ctx) {
  step('next start, HTTP')
  let server
  try {
    server = await startServer(ctx.appDir, ctx.env, ctx.track)
  } catch (err) {
    check('next start answers', false, err.message)
    return
  }
  const get = async (urlPath) => {
    const res = await fetch(server.url + urlPath)
    const body = await res.text()
    if (res.status !== 200) throw new Error(`${urlPath}: ${res.status}\n${body.slice(0, 2000)}`)
    return body
  }
  const stamp = async () => {
    const html = await get('/')
    const match = html.match(/data-stamp="time">([^<]+)</)
    if (!match) throw new Error(`no stamp in /:\n${html.slice(0, 2000)}`)
    return match[1]
  }
  const stats = async () => JSON.parse(await get('/api/stats'))
  try {
    const first = await stamp()
    const before = await stats()
    const second = await stamp()
    const after = await stats()
    check(
      `a 'use cache' value is cached: ${first} twice`,
      second === first,
      `first ${first}, then ${second}`,
    )
    check(
      `tagcache served it: stats.hits ${before.hits} → ${after.hits}, sets ${after.sets}`,
      after.hits > before.hits && after.sets > 0,
      JSON.stringify(after),
    )
    await get('/api/revalidate?tag=time')
    const fresh = await stamp()
    const again = await stamp()
    const last = await stats()
    check(
      `revalidateTag('time', { expire: 0 }) makes it fresh: ${fresh}`,
      fresh !== first && again === fresh,
      `old ${first}, after revalidateTag ${fresh}, then ${again}`,
    )
    check(
      `tagcache saw the revalidation: stats.tagUpdates ${after.tagUpdates} → ${last.tagUpdates}`,
      last.tagUpdates > after.tagUpdates,
      JSON.stringify(last),
    )
    const binding = JSON.parse(await get('/api/binding'))
    check(
      `the server (pid ${binding.pid}) mapped the addon from ${PLATFORM_PKG}`,
      binding.files.length === 1 && binding.files[0] === fs.realpathSync(ctx.installed),
      binding.files.join('\n'),
    )
  } catch (err) {
    check('HTTP checks', false, `${err.message}\n${tail(server.log())}`)
  }
}

module.exports = { serveApp }
