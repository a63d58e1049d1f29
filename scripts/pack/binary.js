'use strict'
/**
 * Step 1 of `npm run test:pack`: the linux-x64-gnu binary, built with napi's cross toolchain
 * (or given with TAGCACHE_PACK_BINARY), its glibc floor, and NAPI_RS_NATIVE_LIBRARY_PATH.
 */
const fs = require('node:fs')
const path = require('node:path')
const { ensureCrossToolchain } = require('../napi-cross-toolchain')
const { root, TRIPLE, BINARY, GLIBC_FLOOR, seconds, check, step, exec, tail } = require('./common')

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

/** The binary to pack (built, or TAGCACHE_PACK_BINARY) and its checks; null when it cannot go on. */
function binaryStep(ctx) {
  const given = process.env.TAGCACHE_PACK_BINARY
  const binary = given ? path.resolve(given) : buildBinary(ctx)
  if (!binary) return null
  if (given) {
    step(`the given binary (TAGCACHE_PACK_BINARY): ${binary}`)
    if (!check(`${binary} exists`, fs.existsSync(binary))) return null
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
  return binary
}

module.exports = { binaryStep }
