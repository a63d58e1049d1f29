'use strict'
/**
 * `npm run test:pack`: what a user gets from `npm install tagcache`, without a Rust toolchain.
 *
 * 1. Builds the linux-x64-gnu binary with napi's cross toolchain (glibc 2.17 sysroot), so it
 *    loads on old distributions, and checks its glibc floor with `objdump -T`.
 * 2. Generates the platform package with `napi create-npm-dirs`, and `npm pack`s it and the
 *    main package; lists both tarballs with sizes and checks what they contain.
 * 3. Installs both tarballs into a fresh Next.js app in a temp folder with `cargo` off PATH,
 *    runs `next build` and `next start` (on 127.0.0.1, a free port) and shows over HTTP that
 *    a 'use cache' value is cached by tagcache and that `revalidateTag(tag, { expire: 0 })`
 *    makes it fresh.
 * 4. Type-checks `__test__/types/*` in that app with `tsc --noEmit`: our handlers assigned
 *    to Next's own types, and the engine's API.
 *
 * Everything it creates is removed at the end (the cargo cache in target/pack stays, as
 * target/ does). Needs a Linux x64 glibc host; elsewhere it reports itself skipped.
 *
 *   TAGCACHE_PACK_NATIVE=1  build with the host toolchain instead of the cross toolchain
 *   TAGCACHE_PACK_KEEP=1    keep the temp folder (printed) for debugging
 *   TAGCACHE_PACK_BINARY=f  test this linux-x64-gnu binary (e.g. a release artifact) instead
 *                           of building one
 */
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const { freePort } = require('../__test__/helpers/ports')
const os = require('node:os')
const path = require('node:path')
const { ensureCrossToolchain } = require('./napi-cross-toolchain')
const { ensureNodeModules } = require('./setup')

const root = path.join(__dirname, '..')
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const TRIPLE = 'x86_64-unknown-linux-gnu'
const PLATFORM = 'linux-x64-gnu'
const BINARY = `${rootPkg.napi.binaryName}.${PLATFORM}.node`
const PLATFORM_PKG = `${rootPkg.name}-${PLATFORM}`
/** The napi cross toolchain's sysroot is glibc 2.17 (CentOS 7). */
const GLIBC_FLOOR = '2.17'
/** The app's versions: the same Next and React as the repository's devDependencies. */
const APP_DEPS = {
  next: rootPkg.devDependencies.next,
  react: rootPkg.devDependencies.react,
  'react-dom': rootPkg.devDependencies['react-dom'],
}
/** What the type check installs, as a TypeScript Next.js app would have it. */
const TYPE_DEPS = { typescript: '6.0.3', '@types/node': '20.19.43', '@types/react': '19.3.0' }
const npmCmd = process.platform === 'win32' ? 'npm.cmd' : 'npm'

let passed = 0
let failed = 0
function check(name, ok, detail) {
  if (ok) passed++
  else failed++
  console.log(
    `${ok ? '  ✓' : '  ✗'} ${name}${detail ? `\n      ${String(detail).replace(/\n/g, '\n      ')}` : ''}`,
  )
  return ok
}

const started = Date.now()
const seconds = (ms) => `${(ms / 1000).toFixed(1)} s`
function step(title) {
  console.log(`\n[test:pack ${seconds(Date.now() - started)}] ${title}`)
}

/** Runs a command to completion and returns its result; never throws. */
function exec(command, args, options = {}) {
  const t0 = Date.now()
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 300_000,
    ...options,
  })
  result.ok = !result.error && result.status === 0
  result.output = `${result.stdout || ''}${result.stderr || ''}${result.error ? `\n${result.error.message}` : ''}`
  result.ms = Date.now() - t0
  return result
}

const tail = (text, lines = 40) => text.trim().split('\n').slice(-lines).join('\n')

/** Removes every PATH entry that holds cargo, rustc or rustup: "a machine without Rust". */
function envWithoutRust() {
  const exe = process.platform === 'win32' ? '.exe' : ''
  const dirs = (process.env.PATH || '').split(path.delimiter).filter((dir) => {
    if (!dir) return false
    return !['cargo', 'rustc', 'rustup'].some((tool) => fs.existsSync(path.join(dir, tool + exe)))
  })
  const env = { ...process.env, PATH: dirs.join(path.delimiter), NEXT_TELEMETRY_DISABLED: '1' }
  for (const name of ['CARGO', 'CARGO_HOME', 'RUSTUP_HOME', 'RUSTUP_TOOLCHAIN', 'RUSTC']) {
    delete env[name]
  }
  return env
}

/** The highest GLIBC_x.y symbol version a shared object needs, from `objdump -T`. */
function glibcFloor(file) {
  const dump = exec('objdump', ['-T', file])
  if (!dump.ok) return { error: tail(dump.output, 5) }
  const versions = [...new Set(dump.stdout.match(/GLIBC_[0-9.]+/g) || [])].map((v) => v.slice(6))
  versions.sort(compareVersions)
  return { max: versions[versions.length - 1], all: versions }
}

function compareVersions(a, b) {
  const pa = a.split('.').map(Number)
  const pb = b.split('.').map(Number)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0)
  }
  return 0
}

/** `npm pack --json` of `dir` into `dest`; returns { file, files: [{path, size}], size }. */
function npmPack(dir, dest) {
  const result = exec(npmCmd, ['pack', '--json', '--pack-destination', dest], { cwd: dir })
  if (!result.ok) throw new Error(`npm pack in ${dir} failed:\n${tail(result.output)}`)
  const [info] = JSON.parse(result.stdout.slice(result.stdout.indexOf('[')))
  return {
    file: path.join(dest, info.filename),
    files: info.files,
    size: info.size,
    unpacked: info.unpackedSize,
  }
}

function printTarball(label, pack) {
  console.log(
    `  ${label}: ${path.basename(pack.file)} (${pack.size} B packed, ${pack.unpacked} B unpacked)`,
  )
  for (const f of [...pack.files].sort((a, b) => a.path.localeCompare(b.path))) {
    console.log(`    ${String(f.size).padStart(9)}  ${f.path}`)
  }
}

// ---------------------------------------------------------------------------------------
// The Next.js app the tarballs are installed into.

const APP_FILES = {
  'next.config.js': `const { withTagCache } = require('tagcache/next/config')

module.exports = withTagCache({
  cacheComponents: true,
  serverExternalPackages: ['tagcache'],
})
`,
  'app/layout.js': `export default function RootLayout({ children }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  )
}
`,
  'app/lib/cached.js': `import { cacheLife, cacheTag } from 'next/cache'

export async function cachedValue(tag) {
  'use cache'
  cacheTag(tag)
  cacheLife('hours')
  return { at: new Date().toISOString(), id: Math.random().toString(36).slice(2, 10) }
}
`,
  'app/lib/stamp.js': `import { connection } from 'next/server'
import { cachedValue } from './cached'

export async function Stamp({ tag }) {
  await connection()
  const value = await cachedValue(tag)
  return <code data-stamp={tag}>{value.at + '|' + value.id}</code>
}
`,
  'app/page.js': `import { Suspense } from 'react'
import { Stamp } from './lib/stamp'

export default function Home() {
  return (
    <main>
      <Suspense fallback={<p>loading</p>}>
        <Stamp tag="time" />
      </Suspense>
    </main>
  )
}
`,
  'app/api/revalidate/route.js': `import { revalidateTag } from 'next/cache'

export async function GET(request) {
  const tag = request.nextUrl.searchParams.get('tag')
  revalidateTag(tag, { expire: 0 })
  return Response.json({ revalidated: tag })
}
`,
  'app/api/stats/route.js': `import { connection } from 'next/server'

export async function GET() {
  await connection()
  const engine = globalThis[Symbol.for('tagcache.engine')]
  return Response.json(engine ? engine.stats() : { error: 'tagcache has not been used yet' })
}
`,
  // Which native files this server process mapped: proof of where the addon came from.
  'app/api/binding/route.js': `import { readFileSync } from 'node:fs'
import { connection } from 'next/server'

export async function GET() {
  await connection()
  const maps = readFileSync('/proc/self/maps', 'utf8').split('\\n')
  const files = [...new Set(maps.map((l) => l.split(/\\s+/)[5]).filter((f) => f && f.endsWith('.node')))]
  return Response.json({ pid: process.pid, files })
}
`,
}

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

// ---------------------------------------------------------------------------------------

async function main(tmp, track) {
  const ctx = {
    tmp,
    track,
    outDir: path.join(tmp, 'build'),
    tarballs: path.join(tmp, 'tarballs'),
    appDir: path.join(tmp, 'app'),
    env: envWithoutRust(),
    napi: path.join(root, 'node_modules', '@napi-rs', 'cli', 'dist', 'cli.js'),
  }
  fs.mkdirSync(ctx.outDir)
  fs.mkdirSync(ctx.tarballs)

  // The app and its third-party packages install while the binary builds (a process of its
  // own, output to a file, cargo off PATH); the tagcache tarballs are added once they exist.
  fs.mkdirSync(ctx.appDir)
  for (const [file, text] of Object.entries(APP_FILES)) {
    fs.mkdirSync(path.dirname(path.join(ctx.appDir, file)), { recursive: true })
    fs.writeFileSync(path.join(ctx.appDir, file), text)
  }
  const appPkg = {
    name: 'tagcache-pack-test-app',
    private: true,
    dependencies: APP_DEPS,
    devDependencies: TYPE_DEPS,
  }
  fs.writeFileSync(path.join(ctx.appDir, 'package.json'), `${JSON.stringify(appPkg, null, 2)}\n`)
  const installLog = path.join(tmp, 'npm-install.log')
  const fd = fs.openSync(installLog, 'w')
  const t0 = Date.now()
  const installer = spawn(npmCmd, ['install', '--prefer-offline', '--no-audit', '--no-fund'], {
    cwd: ctx.appDir,
    env: ctx.env,
    stdio: ['ignore', fd, fd],
    detached: true,
  })
  track(installer)
  fs.closeSync(fd)
  const installing = new Promise((resolve) => {
    installer.once('error', (err) => resolve({ ok: false, error: err }))
    installer.once('close', (status) => resolve({ ok: status === 0 }))
  })
  let deps
  let packed
  try {
    packed = buildAndPack(ctx)
  } finally {
    deps = await installing
    // The build blocks this event loop, so the log's last write tells when npm was done.
    deps.ms = fs.statSync(installLog).mtimeMs - t0
    deps.output = `${fs.readFileSync(installLog, 'utf8')}${deps.error ? deps.error.message : ''}`
  }
  if (!packed) return
  if (!installApp(ctx, deps)) return
  await serveApp(ctx)
  typeCheck(ctx)
}

/**
 * `napi build --use-napi-cross` of the linux-x64-gnu binary into the temp folder (with the
 * loader and typings it generates, compared with the committed ones). Returns its path, or
 * null when the build failed.
 */
function buildBinary(ctx) {
  const { outDir, napi } = ctx
  step(`build ${BINARY} (napi build --use-napi-cross --target ${TRIPLE})`)
  const buildArgs = [napi, 'build', '--platform', '--release', '--no-const-enum']
  // Its own target dir: the cross environment must not invalidate the host build's cache.
  buildArgs.push('--target', TRIPLE, '--target-dir', path.join(root, 'target', 'pack'))
  buildArgs.push('--output-dir', outDir)
  const native = process.env.TAGCACHE_PACK_NATIVE === '1'
  let cross = !native
  if (cross) {
    try {
      const toolchain = ensureCrossToolchain(TRIPLE)
      console.log(`  cross toolchain: ${toolchain.dir} (${toolchain.source})`)
    } catch (err) {
      console.log(`  cross toolchain unavailable: ${err.message}`)
      cross = false
    }
  }
  let build = cross ? exec(process.execPath, [...buildArgs, '--use-napi-cross']) : null
  if (build && !build.ok) {
    console.log(`  cross build failed, falling back to the host toolchain:`)
    console.log(tail(build.output, 15))
    cross = false
  }
  if (!cross) build = exec(process.execPath, buildArgs)
  const binary = path.join(outDir, BINARY)
  const built = build.ok && fs.existsSync(binary)
  if (!check(`${BINARY} built (${seconds(build.ms)})`, built, built ? '' : tail(build.output))) {
    return null
  }
  if (!native) check('built with the napi cross toolchain (glibc 2.17 sysroot)', cross)
  for (const generated of ['index.js', 'index.d.ts']) {
    const fresh = fs.readFileSync(path.join(outDir, generated), 'utf8')
    const same = fresh === fs.readFileSync(path.join(root, generated), 'utf8')
    const hint = same ? '' : 'run `npm run build` and commit the result'
    check(`the shipped ${generated} is what napi build generates`, same, hint)
  }
  return binary
}

/** Steps 1 and 2: the binary, the platform package, both tarballs. False when it cannot go on. */
function buildAndPack(ctx) {
  const given = process.env.TAGCACHE_PACK_BINARY
  const binary = given ? path.resolve(given) : buildBinary(ctx)
  if (!binary) return false
  if (given) {
    step(`the given binary (TAGCACHE_PACK_BINARY): ${binary}`)
    if (!check(`${binary} exists`, fs.existsSync(binary))) return false
  }
  const floor = glibcFloor(binary)
  console.log(
    `  objdump -T: GLIBC_ versions needed: ${floor.all ? floor.all.join(', ') : floor.error}`,
  )
  if (process.env.TAGCACHE_PACK_NATIVE === '1') {
    console.log(`  (host toolchain on purpose: glibc floor GLIBC_${floor.max}, not checked)`)
  } else {
    const low = Boolean(floor.max) && compareVersions(floor.max, GLIBC_FLOOR) <= 0
    check(`glibc floor ≤ ${GLIBC_FLOOR} (max needed: GLIBC_${floor.max})`, low)
  }
  const loaded =
    "console.log(Object.keys(require.cache).filter((f) => f.endsWith('.node')).join(','))"
  const override = exec(
    process.execPath,
    [
      '-e',
      `const m = require(${JSON.stringify(path.join(root, 'index.js'))}); new m.TagCache().stats(); ${loaded}`,
    ],
    { cwd: ctx.tmp, env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: binary } },
  )
  check(
    'NAPI_RS_NATIVE_LIBRARY_PATH loads the given binary',
    override.ok && override.stdout.trim() === binary,
    override.output.trim(),
  )

  step('napi create-npm-dirs, npm pack')
  const npmDir = path.join(root, 'target', 'pack', 'npm')
  fs.rmSync(npmDir, { recursive: true, force: true })
  // The CLI keeps --npm-dir inside the project, so it goes under target/ (removed below).
  const dirs = exec(process.execPath, [
    ctx.napi,
    'create-npm-dirs',
    '--npm-dir',
    path.relative(root, npmDir),
  ])
  const platformDir = path.join(npmDir, PLATFORM)
  const created = dirs.ok && fs.existsSync(path.join(platformDir, 'package.json'))
  if (!check('napi create-npm-dirs', created, created ? '' : tail(dirs.output))) return false
  fs.copyFileSync(binary, path.join(platformDir, BINARY))
  const platformPkg = JSON.parse(fs.readFileSync(path.join(platformDir, 'package.json'), 'utf8'))
  check(
    `${PLATFORM_PKG}/package.json: name, version, os, cpu, libc, main`,
    platformPkg.name === PLATFORM_PKG &&
      platformPkg.version === rootPkg.version &&
      String(platformPkg.os) === 'linux' &&
      String(platformPkg.cpu) === 'x64' &&
      String(platformPkg.libc) === 'glibc' &&
      platformPkg.main === BINARY,
    JSON.stringify(platformPkg),
  )
  let mainPack
  let platformPack
  try {
    mainPack = npmPack(root, ctx.tarballs)
    platformPack = npmPack(platformDir, ctx.tarballs)
  } finally {
    fs.rmSync(npmDir, { recursive: true, force: true })
  }
  printTarball('main', mainPack)
  printTarball('platform', platformPack)
  ctx.mainPack = mainPack
  ctx.platformPack = platformPack

  const shipped = mainPack.files.map((f) => f.path).sort()
  ctx.shipped = shipped
  const nextFiles = fs.readdirSync(path.join(root, 'next')).filter((f) => /\.(js|d\.ts)$/.test(f))
  const binFiles = fs.readdirSync(path.join(root, 'bin')).filter((f) => f.endsWith('.js'))
  const expected = [
    'package.json',
    'README.md',
    'binding.js',
    'index.js',
    'index.d.ts',
    ...nextFiles.map((f) => `next/${f}`),
    ...binFiles.map((f) => `bin/${f}`),
  ]
  if (fs.existsSync(path.join(root, 'LICENSE'))) expected.push('LICENSE')
  expected.sort()
  check(
    'the main tarball holds exactly package.json, README.md, binding.js, index.js/.d.ts, next/*.js/.d.ts, bin/*.js (and LICENSE if there is one), no .node',
    JSON.stringify(shipped) === JSON.stringify(expected),
    `expected ${expected.join(' ')}\n got      ${shipped.join(' ')}`,
  )
  const targets = []
  ;(function walk(value) {
    if (typeof value === 'string') targets.push(value.replace(/^\.\//, ''))
    else if (value && typeof value === 'object') Object.values(value).forEach(walk)
  })(rootPkg.exports)
  const missing = [...targets, rootPkg.main, rootPkg.types].filter((t) => !shipped.includes(t))
  check(
    'every main/types/exports target is in the tarball',
    missing.length === 0,
    missing.join(' '),
  )
  const platformFiles = platformPack.files.map((f) => f.path).sort()
  check(
    `the ${PLATFORM} tarball holds exactly package.json, README.md, ${BINARY}`,
    JSON.stringify(platformFiles) === JSON.stringify(['README.md', BINARY, 'package.json'].sort()),
    platformFiles.join(' '),
  )
  return true
}

/** Step 3a: both tarballs in a fresh app, no Rust. False when it cannot go on. */
function installApp(ctx, deps) {
  const { appDir, env } = ctx
  step(`npm install into a Next.js ${APP_DEPS.next} app, without cargo`)
  const cargoProbe = spawnSync('cargo', ['--version'], { env, encoding: 'utf8' })
  check(
    'cargo is not on the PATH used to install, build and start the app',
    cargoProbe.error && cargoProbe.error.code === 'ENOENT',
    cargoProbe.stdout,
  )
  if (
    !check(
      `npm install next, react, typescript (${seconds(deps.ms)}, started before the build)`,
      deps.ok,
      deps.ok ? '' : tail(deps.output),
    )
  ) {
    return false
  }
  const tarballs = [ctx.mainPack.file, ctx.platformPack.file].map((f) => path.relative(appDir, f))
  const install = exec(
    npmCmd,
    ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs],
    { cwd: appDir, env },
  )
  if (
    !check(
      `npm install ${tarballs.map((f) => path.basename(f)).join(' ')} (${seconds(install.ms)})`,
      install.ok,
      install.ok ? '' : tail(install.output),
    )
  ) {
    return false
  }
  const installed = path.join(appDir, 'node_modules', PLATFORM_PKG, BINARY)
  ctx.installed = installed
  const load = exec(
    process.execPath,
    [
      '-e',
      "const { TagCache } = require('tagcache'); new TagCache().stats(); console.log(Object.keys(require.cache).filter((f) => f.endsWith('.node')).join(','))",
    ],
    { cwd: appDir, env },
  )
  check(
    `require('tagcache') in the app loads ${PLATFORM_PKG}`,
    load.ok && load.stdout.trim() === installed,
    load.output.trim(),
  )
  // The `tagcache` command an install links (npx tagcache …).
  const cli = exec(path.join(appDir, 'node_modules', '.bin', 'tagcache'), ['--help'], {
    cwd: appDir,
    env,
  })
  check(
    'node_modules/.bin/tagcache --help answers',
    cli.ok && /revalidate/.test(cli.stdout),
    cli.output.trim().split('\n').slice(0, 3).join('\n'),
  )

  // Without the platform package: the loader's error, as a user would see it.
  const bare = path.join(ctx.tmp, 'no-binary', 'node_modules')
  fs.mkdirSync(bare, { recursive: true })
  fs.cpSync(path.join(appDir, 'node_modules', rootPkg.name), path.join(bare, rootPkg.name), {
    recursive: true,
  })
  const noBinary = exec(
    process.execPath,
    [
      '-e',
      "try { require('tagcache'); console.log('loaded') } catch (e) { console.log(e.message) }",
    ],
    {
      cwd: path.dirname(bare),
      env,
    },
  )
  check(
    'without a binary for the platform, require throws an Error (not a crash)',
    noBinary.ok && /native binding/i.test(noBinary.stdout),
    noBinary.output.trim(),
  )

  step('next build')
  const nextBin = path.join(appDir, 'node_modules', 'next', 'dist', 'bin', 'next')
  const nextBuild = exec(process.execPath, [nextBin, 'build'], { cwd: appDir, env })
  return check(
    `next build (${seconds(nextBuild.ms)})`,
    nextBuild.ok,
    nextBuild.ok ? '' : tail(nextBuild.output, 60),
  )
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

/** Step 4: tsc --noEmit on the fixtures, in the app, against what it installed. */
function typeCheck(ctx) {
  const { appDir, env } = ctx
  step('tsc --noEmit on __test__/types against the installed packages')
  const typesDir = path.join(appDir, 'types-check')
  fs.cpSync(path.join(root, '__test__', 'types'), typesDir, { recursive: true })
  if (!ctx.shipped.includes('next/incremental.d.ts')) {
    for (const f of fs.readdirSync(typesDir).filter((name) => name.startsWith('incremental'))) {
      fs.rmSync(path.join(typesDir, f))
    }
    console.log('  (next/incremental.d.ts is not shipped: the incremental fixtures are skipped)')
  }
  const tsc = path.join(appDir, 'node_modules', 'typescript', 'bin', 'tsc')
  const files = fs
    .readdirSync(typesDir)
    .filter((f) => !f.startsWith('tsconfig'))
    .join(', ')
  for (const config of ['tsconfig.json', 'tsconfig.node.json']) {
    const result = exec(process.execPath, [tsc, '-p', path.join(typesDir, config)], {
      cwd: appDir,
      env,
    })
    check(
      `tsc --noEmit -p ${config} (${files}; ${seconds(result.ms)})`,
      result.ok,
      result.ok ? '' : tail(result.output, 60),
    )
  }
  // The package's own .d.ts files, checked themselves (skipLibCheck off; they need only Node's types).
  const ownTypes = ctx.shipped
    .filter((f) => f.endsWith('.d.ts'))
    .map((f) => path.join('node_modules', rootPkg.name, f))
  const own = exec(
    process.execPath,
    [
      tsc,
      '--noEmit',
      '--strict',
      '--skipLibCheck',
      'false',
      '--target',
      'es2022',
      '--lib',
      'es2023',
      '--module',
      'nodenext',
      '--types',
      'node',
      ...ownTypes,
    ],
    { cwd: appDir, env },
  )
  check(
    `tsc --noEmit --strict on the shipped .d.ts files (${ownTypes.length}; ${seconds(own.ms)})`,
    own.ok,
    own.ok ? '' : tail(own.output, 60),
  )
}

const children = new Set()
function killChildren() {
  for (const child of children) {
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }
  children.clear()
}

async function run() {
  const glibc = process.report && process.report.getReport().header.glibcVersionRuntime
  if (process.platform !== 'linux' || process.arch !== 'x64' || !glibc) {
    console.log(
      `test:pack: 0 passed, 0 failed (skipped: needs a Linux x64 glibc host, this is ${process.platform}-${process.arch})`,
    )
    return 0
  }
  ensureNodeModules()
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-pack-'))
  const cleanup = () => {
    killChildren()
    if (process.env.TAGCACHE_PACK_KEEP === '1') console.log(`kept ${tmp}`)
    else fs.rmSync(tmp, { recursive: true, force: true })
    fs.rmSync(path.join(root, 'target', 'pack', 'npm'), { recursive: true, force: true })
  }
  process.once('exit', killChildren)
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      cleanup()
      process.exit(1)
    })
  }
  try {
    await main(tmp, (child) => children.add(child))
  } catch (err) {
    check('test:pack ran to the end', false, err.stack)
  } finally {
    cleanup()
  }
  console.log(`\ntest:pack: ${passed} passed, ${failed} failed (${seconds(Date.now() - started)})`)
  return failed === 0 && passed > 0 ? 0 : 1
}

run().then((code) => process.exit(code))
