'use strict'
/**
 * Makes `napi build --use-napi-cross` work when the registry lacks the toolchain version the
 * CLI pins.
 *
 * `@napi-rs/cli` 3.10.12 depends on `@napi-rs/cross-toolchain` 1.0.5. For a target it looks
 * in `~/.napi-rs/cross-toolchain/<that version>/<triple>/`; when that folder has no
 * `package.json` it runs `npm pack @napi-rs/cross-toolchain-<host>-target-<arch>@1.0.5` and
 * unpacks it there (with the `@napi-rs/lzma` addon, which npm's optional-dependency bug can
 * leave out of node_modules). Registries that only serve older toolchain packages (1.0.0 for
 * x86_64, 1.0.3 for aarch64) make that fail with `ETARGET`.
 *
 * This script puts a toolchain where the CLI looks for it, so the CLI skips its own download:
 * the pinned version when the registry has it, else the newest older one (the gcc and
 * glibc 2.17 sysroot inside have not changed between them). It uses `npm pack` and the
 * system `tar` (with xz), never touches node_modules, and unpacks into a staging folder that
 * is renamed into place only when complete. Node built-ins only.
 *
 *   node scripts/napi-cross-toolchain.js [triple]   # default x86_64-unknown-linux-gnu
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const root = path.join(__dirname, '..')

/** The same names as `@napi-rs/cross-toolchain`'s index.js. */
const PACKAGES = {
  'x86_64-unknown-linux-gnu': 'x86_64',
  'aarch64-unknown-linux-gnu': 'aarch64',
  'armv7-unknown-linux-gnueabihf': 'armv7',
  's390x-unknown-linux-gnu': 's390x',
  'powerpc64le-unknown-linux-gnu': 'ppc64le',
}
const ARCHIVE_ALIAS = { 's390x-unknown-linux-gnu': 's390x-ibm-linux-gnu' }

/** The `@napi-rs/cross-toolchain` version the installed CLI resolves (and so looks for). */
function pinnedVersion() {
  const cliDir = path.dirname(require.resolve('@napi-rs/cli/package.json', { paths: [root] }))
  const manifest = require.resolve('@napi-rs/cross-toolchain/package.json', { paths: [cliDir] })
  return JSON.parse(fs.readFileSync(manifest, 'utf8')).version
}

function compareVersions(a, b) {
  const pa = a.split(/[.-]/).map((x) => Number(x) || 0)
  const pb = b.split(/[.-]/).map((x) => Number(x) || 0)
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0)
  }
  return 0
}

function npm(args, options = {}) {
  const command = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  const result = spawnSync(command, args, { encoding: 'utf8', ...options })
  if (result.error || result.status !== 0) {
    throw new Error(
      `npm ${args.join(' ')} failed: ${result.error ? result.error.message : result.stderr}`,
    )
  }
  return result.stdout
}

function run(command, args, options = {}) {
  const result = spawnSync(command, args, { encoding: 'utf8', ...options })
  if (result.error || result.status !== 0) {
    throw new Error(
      `${command} ${args.join(' ')} failed: ${result.error ? result.error.message : result.stderr}`,
    )
  }
  return result.stdout
}

/**
 * Ensures the toolchain for `triple` is where `napi build --use-napi-cross` looks for it.
 * @returns {{ dir: string, version: string, source: string }} the folder, the CLI's pinned
 *   version, and the package@version it came from ('cached' when it was already there)
 */
function ensureCrossToolchain(triple = 'x86_64-unknown-linux-gnu', log = console.log) {
  if (process.platform !== 'linux' || (process.arch !== 'x64' && process.arch !== 'arm64')) {
    throw new Error(
      `--use-napi-cross needs a Linux x64 or arm64 host, not ${process.platform}-${process.arch}`,
    )
  }
  const short = PACKAGES[triple]
  if (!short) throw new Error(`--use-napi-cross does not support ${triple}`)
  const version = pinnedVersion()
  const dir = path.join(os.homedir(), '.napi-rs', 'cross-toolchain', version, triple)
  if (fs.existsSync(path.join(dir, 'package.json'))) return { dir, version, source: 'cached' }

  const pkg = `@napi-rs/cross-toolchain-${process.arch}-target-${short}`
  const published = JSON.parse(npm(['view', pkg, 'versions', '--json']))
  const versions = (Array.isArray(published) ? published : [published]).filter(
    (v) => !v.includes('-'),
  )
  const chosen = versions.includes(version)
    ? version
    : versions
        .filter((v) => compareVersions(v, version) <= 0)
        .sort(compareVersions)
        .pop()
  if (!chosen) throw new Error(`the registry has no ${pkg} at or below ${version}`)
  if (chosen !== version)
    log(`cross toolchain: ${pkg}@${version} is not on the registry; using ${chosen}`)

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-cross-'))
  const staging = `${dir}.partial-${process.pid}`
  try {
    log(`cross toolchain: npm pack ${pkg}@${chosen} → ${dir}`)
    const packed = JSON.parse(
      npm(['pack', `${pkg}@${chosen}`, '--json', '--pack-destination', work], { cwd: work }),
    )
    const tgz = path.join(work, packed[0].filename)
    const archive = `package/${ARCHIVE_ALIAS[triple] || triple}.tar.xz`
    run('tar', ['-xzf', tgz, '-C', work, archive])
    fs.rmSync(tgz)
    fs.rmSync(staging, { recursive: true, force: true })
    fs.mkdirSync(staging, { recursive: true })
    run('tar', ['-xJf', path.join(work, archive), '-C', staging])
    const gcc = path.join(staging, 'bin', `${ARCHIVE_ALIAS[triple] || triple}-gcc`)
    if (!fs.existsSync(path.join(staging, 'package.json')) || !fs.existsSync(gcc)) {
      throw new Error(`${pkg}@${chosen} did not contain a toolchain (no package.json or ${gcc})`)
    }
    // The CLI may have left an empty or half-written folder behind after a failed download.
    fs.rmSync(dir, { recursive: true, force: true })
    fs.renameSync(staging, dir)
    return { dir, version, source: `${pkg}@${chosen}` }
  } finally {
    fs.rmSync(work, { recursive: true, force: true })
    fs.rmSync(staging, { recursive: true, force: true })
  }
}

module.exports = { ensureCrossToolchain, pinnedVersion }

if (require.main === module) {
  try {
    const { dir, version, source } = ensureCrossToolchain(process.argv[2])
    console.log(`cross toolchain for @napi-rs/cross-toolchain ${version}: ${dir} (${source})`)
  } catch (err) {
    console.error(err.message)
    process.exit(1)
  }
}
