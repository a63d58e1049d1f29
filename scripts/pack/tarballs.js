'use strict'
/**
 * Step 2 of `npm run test:pack`: the platform package (`napi create-npm-dirs`), `npm pack` of
 * it and of the main package, and what both tarballs hold.
 */
const fs = require('node:fs')
const path = require('node:path')
const {
  root,
  rootPkg,
  PLATFORM,
  BINARY,
  PLATFORM_PKG,
  npmCmd,
  check,
  step,
  exec,
  tail,
} = require('./common')

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

/**
 * The platform package of `binary` and both tarballs, into ctx.tarballs (ctx.mainPack,
 * ctx.platformPack, ctx.shipped), and their checks. False when it cannot go on.
 */
function packStep(ctx, binary) {
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

module.exports = { packStep }
