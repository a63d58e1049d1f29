'use strict'
/**
 * Step 3a of `npm run test:pack`: a fresh Next.js app (scripts/fixtures/pack-app and a
 * package.json) with cargo off PATH, its third-party packages installed while the binary
 * builds, then both tarballs, the load and CLI checks, and `next build`.
 */
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const {
  rootPkg,
  BINARY,
  PLATFORM_PKG,
  npmCmd,
  seconds,
  check,
  step,
  exec,
  tail,
} = require('./common')

/** The app's files (its package.json is written here). */
const FIXTURE = path.join(__dirname, '..', 'fixtures', 'pack-app')
/** The app's versions: the same Next and React as the repository's devDependencies. */
const APP_DEPS = {
  next: rootPkg.devDependencies.next,
  react: rootPkg.devDependencies.react,
  'react-dom': rootPkg.devDependencies['react-dom'],
}
/** What the type check installs, as a TypeScript Next.js app would have it. */
const TYPE_DEPS = { typescript: '6.0.3', '@types/node': '20.19.43', '@types/react': '19.3.0' }

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

/**
 * Copies the app into ctx.appDir with its package.json, and starts `npm install` of its
 * third-party packages (a process of its own, output to a file, cargo off PATH). Returns a
 * function that waits for it: { ok, ms, output }.
 */
function createApp(ctx) {
  const { tmp, track } = ctx
  fs.cpSync(FIXTURE, ctx.appDir, { recursive: true })
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
  return async () => {
    const deps = await installing
    // The build blocks this event loop, so the log's last write tells when npm was done.
    deps.ms = fs.statSync(installLog).mtimeMs - t0
    deps.output = `${fs.readFileSync(installLog, 'utf8')}${deps.error ? deps.error.message : ''}`
    return deps
  }
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

module.exports = { envWithoutRust, createApp, installApp }
