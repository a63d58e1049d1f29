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
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { ensureNodeModules } = require('./setup')
const { root, started, seconds, check, tally } = require('./pack/common')
const { binaryStep } = require('./pack/binary')
const { packStep } = require('./pack/tarballs')
const { envWithoutRust, createApp, installApp } = require('./pack/app')
const { serveApp } = require('./pack/serve')
const { typeCheck } = require('./pack/types')

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

  // The app and its third-party packages install while the binary builds; the tagcache
  // tarballs are added once they exist.
  const installed = createApp(ctx)
  let deps
  let packed
  try {
    const binary = binaryStep(ctx)
    packed = Boolean(binary) && packStep(ctx, binary)
  } finally {
    deps = await installed()
  }
  if (!packed) return
  if (!installApp(ctx, deps)) return
  await serveApp(ctx)
  typeCheck(ctx)
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
  const { passed, failed } = tally()
  console.log(`\ntest:pack: ${passed} passed, ${failed} failed (${seconds(Date.now() - started)})`)
  return failed === 0 && passed > 0 ? 0 : 1
}

run().then((code) => process.exit(code))
