#!/usr/bin/env node
'use strict'
/**
 * Builds the example apps against Next's newest canary and reports what broke (not CI).
 *
 *   node scripts/canary.js [--tag canary] [--keep]
 *
 * Resolves the newest `next` for the dist-tag (`--tag`, default `canary`; when the registry
 * has no such tag, the highest 16.x version whose prerelease starts with it), then for
 * examples/next-app ('use cache') and examples/isr-app (ISR, fetch, routes, Pages Router):
 * copies the app to `target/canary/<app>` (without .next and node_modules), pins `next` to
 * that version with the React it asks for and `tagcache` to this repository (`file:`),
 * runs `npm install`, `next build` and `next start` on a free loopback port, and drives a
 * few HTTP checks (a cached stamp stays on reload, `revalidateTag` changes it, the store's
 * counters answer). Prints one report per app with the tagcache / config warnings of the
 * build, and exits 0 when everything passed, 1 otherwise. `--keep` leaves the copies there
 * for debugging. Every command, the server and each check are bounded in time.
 */
const { spawn, execFileSync } = require('node:child_process')
const fs = require('node:fs')
const http = require('node:http')
const path = require('node:path')

const root = path.join(__dirname, '..')
const workDir = path.join(root, 'target', 'canary')
const INSTALL_MS = 600_000
const BUILD_MS = 300_000
const START_MS = 60_000
const CHECK_MS = 30_000
const REQUEST_MS = 10_000

// The end-to-end tests' helpers (plain Node, no jest): one free-port and one polling rule.
const { freePort } = require('../__test__/helpers/ports')
const { sleep, settled, waitForChange } = require('../__test__/helpers/http')

function parseArgs(argv) {
  const opts = { tag: 'canary', keep: false }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--keep') opts.keep = true
    else if (argv[i] === '--tag' && argv[i + 1]) opts.tag = argv[++i]
    else if (argv[i].startsWith('--tag=')) opts.tag = argv[i].slice(6)
    else {
      console.error(
        `unknown argument ${argv[i]}\nusage: node scripts/canary.js [--tag canary] [--keep]`,
      )
      process.exit(2)
    }
  }
  return opts
}

/** `npm view …` as JSON (bounded); undefined when npm fails (e.g. no such dist-tag). */
function npmView(args) {
  try {
    const out = execFileSync('npm', ['view', ...args, '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return out.trim() ? JSON.parse(out) : undefined
  } catch {
    return undefined
  }
}

/** Orders `16.5.0-canary.38` style versions (numeric parts, then prerelease, release last). */
function compareVersions(a, b) {
  const split = (v) => {
    const [core, pre] = v.split('-', 2)
    return { core: core.split('.').map(Number), pre: pre ? pre.split('.') : [] }
  }
  const x = split(a)
  const y = split(b)
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i]
  if (!x.pre.length || !y.pre.length) return y.pre.length - x.pre.length
  for (let i = 0; i < Math.max(x.pre.length, y.pre.length); i++) {
    const p = x.pre[i]
    const q = y.pre[i]
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1
    if (p === q) continue
    const np = /^\d+$/.test(p)
    const nq = /^\d+$/.test(q)
    if (np && nq) return Number(p) - Number(q)
    if (np !== nq) return np ? -1 : 1
    return p < q ? -1 : 1
  }
  return 0
}

/** The version the dist-tag points to, or the newest 16.x `-<tag>.N` when the tag is missing. */
function resolveVersion(tag) {
  const tagged = npmView([`next@${tag}`, 'version'])
  if (typeof tagged === 'string') return { version: tagged, how: `dist-tag ${tag}` }
  const versions = npmView(['next', 'versions']) || []
  const matching = versions.filter((v) => v.startsWith('16.') && v.includes(`-${tag}.`))
  if (!matching.length) return undefined
  matching.sort(compareVersions)
  return {
    version: matching[matching.length - 1],
    how: `no dist-tag ${tag} on the registry; newest 16.x *-${tag}.N version`,
  }
}

/**
 * The react version for a peer range: the last alternative that is a range (`^19.0.0`),
 * or the exact rc / canary build when that is all Next accepts.
 */
function reactFor(range) {
  if (!range) return 'latest'
  const alternatives = range.split('||').map((s) => s.trim())
  const ranges = alternatives.filter((a) => !/^\d+\.\d+\.\d+-/.test(a))
  return ranges.length ? ranges[ranges.length - 1] : alternatives[alternatives.length - 1]
}

/** Every child still running, killed (by process group) on exit or on a signal. */
const children = new Set()
const killGroup = (child) => {
  try {
    process.kill(-child.pid, 'SIGKILL')
  } catch {
    // already gone
  }
}
process.on('exit', () => children.forEach(killGroup))
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => {
    children.forEach(killGroup)
    process.exit(130)
  })
}

/** Runs a command in its own process group; resolves to `{ code, out }`, killed after `ms`. */
function run(cmd, args, { cwd, env, ms }) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    children.add(child)
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (out += d))
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      killGroup(child)
    }, ms)
    child.once('error', (err) => (out += `\n${err.message}`))
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      children.delete(child)
      if (timedOut) out += `\n(timed out after ${ms / 1000} s)`
      resolve({ code: timedOut ? 'timeout' : (code ?? signal), out })
    })
  })
}

/** The first 30 lines of a failure, from its first error line when there is one. */
function failureExcerpt(out) {
  const lines = out.split('\n')
  const first = lines.findIndex((l) => /error|failed|cannot|not found/i.test(l))
  return lines.slice(Math.max(0, first), Math.max(0, first) + 30).join('\n')
}

/** Build output lines about tagcache or config keys (with the lines that explain them). */
function notableWarnings(out) {
  // eslint-disable-next-line no-control-regex
  const lines = out.replace(/\x1b\[[0-9;]*m/g, '').split('\n')
  const picked = []
  const add = (l) => l.trim() && !picked.includes(l) && picked.push(l)
  lines.forEach((line, i) => {
    // The route table lists /api/tagcache-stats: not a warning.
    if (/^\s*[├└┌│]/.test(line)) return
    // Code frames under a warning (`> 300 | require(...)`) repeat it.
    if (/^\s*>?\s*\d*\s*\|/.test(line)) return
    const after = lines.slice(i + 1, i + 20)
    if (/Module not found/.test(line)) {
      const traceAt = after.findIndex((l) => l.startsWith('Import trace'))
      const trace =
        traceAt < 0
          ? []
          : after
              .slice(traceAt + 1, traceAt + 8)
              .map((l) => l.trim())
              .filter((l) => !l.endsWith(':'))
      const files = trace.slice(0, trace.indexOf('') < 0 ? trace.length : trace.indexOf(''))
      if (!/tagcache/.test(line) && !files.some((f) => /next\/|binding\.js|index\.js/.test(f)))
        return
      add(`${line.trim()}${files.length ? ` (import trace: ${files.join(' < ')})` : ''}`)
    } else if (/Unrecognized key|Invalid next\.config/i.test(line)) {
      add(line)
      after.slice(0, 4).forEach(add)
    } else if (/tagcache/i.test(line)) add(line)
  })
  return picked.slice(0, 40)
}

/** A tiny upstream for isr-app's fetch page: every GET answers a new value. */
function startUpstream() {
  let calls = 0
  const server = http.createServer((req, res) => {
    calls++
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ value: `${calls}|${Math.random().toString(36).slice(2, 10)}` }))
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({
        url: `http://127.0.0.1:${server.address().port}`,
        stop: () => {
          server.closeAllConnections()
          server.close()
        },
      })
    })
  })
}

/** `next start`; resolves to `{ url, stop, log }` once /api/tagcache-stats answers. */
async function startServer(dir, env) {
  const port = await freePort()
  const nextBin = path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next')
  const child = spawn(process.execPath, [nextBin, 'start', '-p', String(port), '-H', '127.0.0.1'], {
    cwd: dir,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1', ...env },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(child)
  let log = ''
  child.stdout.on('data', (d) => (log += d))
  child.stderr.on('data', (d) => (log += d))
  const exited = new Promise((r) => child.once('exit', r))
  const stop = async () => {
    killGroup(child)
    await Promise.race([exited, sleep(5000)])
    children.delete(child)
  }
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + START_MS
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await stop()
      throw new Error(`next start exited early:\n${log}`)
    }
    try {
      const res = await fetch(`${url}/api/tagcache-stats`, { signal: AbortSignal.timeout(2000) })
      if (res.ok) break
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stop()
      throw new Error(`next start did not answer within ${START_MS / 1000} s:\n${log}`)
    }
    await sleep(200)
  }
  return { url, stop, log: () => log }
}

/** Bounded HTTP reads of a started app. */
function client(url) {
  async function get(p) {
    const res = await fetch(`${url}${p}`, { signal: AbortSignal.timeout(REQUEST_MS) })
    const body = await res.text()
    if (res.status !== 200) throw new Error(`GET ${p}: ${res.status} ${body.slice(0, 300)}`)
    return body
  }
  async function stamp(p, name) {
    const html = await get(p)
    const match = html.match(new RegExp(`data-stamp="${name}">([^<]+)<`))
    if (!match) throw new Error(`no data-stamp="${name}" in ${p}: ${html.slice(0, 300)}`)
    return match[1]
  }
  const stats = async () => {
    const body = await get('/api/tagcache-stats')
    const json = JSON.parse(body)
    if (typeof json.hits !== 'number') throw new Error(`no numeric hits in ${body.slice(0, 200)}`)
    return json
  }
  return { get, stamp, stats, untilChanged: waitForChange, settled }
}

const expectThat = (ok, message) => {
  if (!ok) throw new Error(message)
}

/** A stamp is stable over three reads and tagcache counted the hits. */
const stableAndServed = (c, read) => async () => {
  const before = await c.stats()
  const first = await c.settled(read)
  const again = [await read(), await read()]
  expectThat(
    again.every((v) => v === first),
    `changed on reload: ${first} -> ${again}`,
  )
  const after = await c.stats()
  expectThat(after.hits - before.hits >= 2, `tagcache hits +${after.hits - before.hits}, want >= 2`)
}

/** `revalidateTag(tag, 'max')`: the old value at most while regenerating, then a new one. */
const revalidateMax = (c, read, tag) => async () => {
  const old = await c.settled(read)
  await c.get(`/api/revalidate?tag=${tag}&profile=max`)
  const fresh = await c.untilChanged(read, old)
  expectThat((await read()) === fresh, 'the new value did not stay')
}

/** `revalidateTag(tag, { expire: 0 })`: a new value on the next read. */
const revalidateExpire = (c, read, tag) => async () => {
  const old = await c.settled(read)
  await c.get(`/api/revalidate?tag=${tag}&expire=0`)
  const fresh = await read()
  expectThat(fresh !== old, `still ${old} after expire=0`)
}

const statsCheck = (c) => async () => {
  await c.stats()
}

const apps = [
  {
    name: 'next-app',
    upstream: false,
    checks: (c) => {
      const home = () => c.stamp('/', 'time')
      return [
        ['/api/tagcache-stats answers JSON with hits', statsCheck(c)],
        ["'use cache' stamp on / stays on reload, served by tagcache", stableAndServed(c, home)],
        ["revalidateTag('time', 'max') changes it", revalidateMax(c, home, 'time')],
        [
          "revalidateTag('time', { expire: 0 }) changes it at once",
          revalidateExpire(c, home, 'time'),
        ],
      ]
    },
  },
  {
    name: 'isr-app',
    upstream: true,
    checks: (c) => {
      const fetched = () => c.stamp('/fetch', 'upstream')
      const isr = () => c.stamp('/isr', 'isr')
      const legacy = () => c.stamp('/legacy', 'legacy')
      const cached = async () => JSON.parse(await c.get('/api/cached')).value
      const regenerates = (read) => async () => {
        const first = await c.settled(read)
        await sleep(2200)
        await c.untilChanged(read, first)
      }
      return [
        ['/api/tagcache-stats answers JSON with hits', statsCheck(c)],
        ['fetch cache: /fetch stays on reload, served by tagcache', stableAndServed(c, fetched)],
        [
          "fetch cache: revalidateTag('upstream', 'max') changes it",
          revalidateMax(c, fetched, 'upstream'),
        ],
        [
          "fetch cache: revalidateTag('upstream', { expire: 0 }) changes it at once",
          revalidateExpire(c, fetched, 'upstream'),
        ],
        ['ISR page /isr: regenerated after revalidate = 2', regenerates(isr)],
        [
          'route handler /api/cached stays on reload, served by tagcache',
          stableAndServed(c, cached),
        ],
        ['Pages Router /legacy: regenerated after revalidate: 2', regenerates(legacy)],
      ]
    },
  },
]

/** Copy, install, build, start and check one example app; returns its report. */
async function runApp(app, version, react) {
  const report = { name: app.name, steps: [], warnings: [], checks: [], ok: false }
  const dir = path.join(workDir, app.name)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(workDir, { recursive: true })
  fs.cpSync(path.join(root, 'examples', app.name), dir, {
    recursive: true,
    filter: (from) => !['node_modules', '.next', 'package-lock.json'].includes(path.basename(from)),
  })
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8'))
  pkg.dependencies = { next: version, react, 'react-dom': react, tagcache: `file:${root}` }
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`)

  const step = async (name, cmd, args, opts) => {
    const t = Date.now()
    const result = await run(cmd, args, { cwd: dir, ...opts })
    const ok = result.code === 0
    report.steps.push({
      name,
      ok,
      secs: (Date.now() - t) / 1000,
      detail: ok ? '' : `exit ${result.code}\n${failureExcerpt(result.out)}`,
    })
    return { ok, out: result.out }
  }

  const install = await step('install', 'npm', ['install', '--no-audit', '--no-fund'], {
    ms: INSTALL_MS,
  })
  if (!install.ok) return report
  const installed = JSON.parse(
    fs.readFileSync(path.join(dir, 'node_modules', 'next', 'package.json'), 'utf8'),
  )
  report.installed = installed.version

  const upstream = app.upstream ? await startUpstream() : undefined
  const env = upstream ? { UPSTREAM_URL: upstream.url } : {}
  let server
  try {
    const nextBin = path.join(dir, 'node_modules', 'next', 'dist', 'bin', 'next')
    const build = await step('build', process.execPath, [nextBin, 'build'], { env, ms: BUILD_MS })
    report.warnings.push(...notableWarnings(build.out))
    if (!build.ok) return report

    const t = Date.now()
    try {
      server = await startServer(dir, env)
      report.steps.push({ name: 'start', ok: true, secs: (Date.now() - t) / 1000, detail: '' })
    } catch (err) {
      report.steps.push({
        name: 'start',
        ok: false,
        secs: (Date.now() - t) / 1000,
        detail: failureExcerpt(err.message),
      })
      return report
    }
    const c = client(server.url)
    for (const [name, check] of app.checks(c)) {
      let timer
      try {
        await Promise.race([
          check(),
          new Promise((_, reject) => {
            timer = setTimeout(
              () => reject(new Error(`timed out after ${CHECK_MS / 1000} s`)),
              CHECK_MS,
            )
          }),
        ])
        report.checks.push({ name, ok: true })
      } catch (err) {
        report.checks.push({
          name,
          ok: false,
          detail: String(err.message).split('\n').slice(0, 5).join('\n'),
        })
      } finally {
        clearTimeout(timer)
      }
    }
    const serverLines = server
      .log()
      .split('\n')
      .filter((l) => /tagcache|Error|⨯/i.test(l))
    report.serverLog = [...new Set(serverLines)].slice(0, 20)
    report.ok = report.checks.every((ch) => ch.ok)
    return report
  } finally {
    if (server) await server.stop()
    if (upstream) upstream.stop()
  }
}

function printReport(report, version) {
  const mark = (ok) => (ok ? 'ok  ' : 'FAIL')
  console.log(`\n== ${report.name} (next ${report.installed || version}) ==`)
  for (const s of report.steps) {
    console.log(`  ${mark(s.ok)} ${s.name} (${s.secs.toFixed(1)} s)`)
    if (!s.ok) console.log(s.detail.replace(/^/gm, '       | '))
  }
  if (report.warnings.length) {
    console.log('  build warnings about tagcache / config:')
    for (const w of report.warnings) console.log(`       | ${w}`)
  }
  for (const ch of report.checks) {
    console.log(`  ${mark(ch.ok)} ${ch.name}`)
    if (!ch.ok) console.log(ch.detail.replace(/^/gm, '       | '))
  }
  if (!report.ok && report.serverLog && report.serverLog.length) {
    console.log('  server log (tagcache / errors):')
    for (const l of report.serverLog) console.log(`       | ${l}`)
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2))
  const started = Date.now()
  const resolved = resolveVersion(opts.tag)
  if (!resolved) {
    console.error(`no next version for tag ${opts.tag}`)
    process.exit(1)
  }
  const { version } = resolved
  const peers = npmView([`next@${version}`, 'peerDependencies']) || {}
  const react = reactFor(peers.react)
  console.log(`next@${version} (${resolved.how}), react ${react}`)
  if (!version.startsWith('16.')) console.log(`note: ${version} is not a 16.x version`)

  const reports = []
  for (const app of apps) {
    console.log(`-- ${app.name}: install, build, start, checks…`)
    let report
    try {
      report = await runApp(app, version, react)
    } catch (err) {
      report = {
        name: app.name,
        steps: [{ name: 'run', ok: false, secs: 0, detail: String(err.stack) }],
        warnings: [],
        checks: [],
        ok: false,
      }
    }
    reports.push(report)
    if (!opts.keep) fs.rmSync(path.join(workDir, app.name), { recursive: true, force: true })
  }
  for (const r of reports) printReport(r, version)
  const ok = reports.every((r) => r.ok)
  console.log(
    `\n${ok ? 'all passed' : 'something broke'} on next@${version} in ${((Date.now() - started) / 1000).toFixed(0)} s` +
      (opts.keep ? ` (apps kept in ${path.relative(process.cwd(), workDir) || '.'})` : ''),
  )
  process.exit(ok ? 0 : 1)
}

main()
