'use strict'
/**
 * `npm test`: installs what is missing, builds the addon, then runs every check:
 * rustfmt, clippy (-D warnings), cargo test, drift of the generated index.js / index.d.ts,
 * prettier and oxlint, and jest: the engine in process, on the disk tier and on Redis
 * (single node and a 3-master cluster, started by the tests), the adapters and the build
 * output reader, and end-to-end Next.js tests (one instance, ISR, two instances on one Redis
 * with an outage under load, and warm starts: build output, restarts, kill -9, two
 * processes on one disk directory, deploys on disk and on Redis, Next 15.5).
 */
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { root, run, ensureNodeModules, buildAddon, ensureRedis, isLinuxX64Gnu } = require('./setup')

ensureNodeModules()
ensureRedis()
run('cargo', ['fmt', '--all', '--', '--check'])
run('cargo', ['clippy', '--all-targets', '--', '-D', 'warnings'])
run('cargo', ['test'])
buildAddon()

// The generated loader and typings are committed and must match a fresh build.
const inGit = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { cwd: root }).status === 0
if (inGit) {
  const diff = spawnSync('git', ['diff', '--exit-code', '--', 'index.js', 'index.d.ts'], {
    cwd: root,
    stdio: 'inherit',
  })
  if (diff.status !== 0) {
    console.error(
      '\nindex.js / index.d.ts differ from a fresh `npm run build`: commit the regenerated files.',
    )
    process.exit(1)
  }
}

const bin = (name) => path.join(root, 'node_modules', '.bin', name)
run(bin('prettier'), ['--check', '.'])
run(bin('oxlint'), [
  '--deny-warnings',
  'next',
  '__test__',
  'scripts',
  'examples',
  'bin',
  'jest.config.js',
  'binding.js',
])

// The packaging test ships the binary just built (no second build).
if (isLinuxX64Gnu()) {
  run(process.execPath, [path.join(root, 'scripts/test-pack.js')], {
    env: { ...process.env, TAGCACHE_PACK_BINARY: path.join(root, 'tagcache.linux-x64-gnu.node') },
  })
} else {
  console.log('\ntest:pack runs on linux x64 (glibc) only; skipped here')
}
const results = path.join(root, 'target', 'jest-results.json')
fs.mkdirSync(path.dirname(results), { recursive: true })
const jestOk = run(bin('jest'), ['--runInBand', '--json', `--outputFile=${results}`], {
  allowFailure: true,
})
const summary = JSON.parse(fs.readFileSync(results, 'utf8'))
console.log(`\njest: ${summary.numPassedTests} passed, ${summary.numFailedTests} failed`)
process.exit(jestOk && summary.numTotalTests > 0 ? 0 : 1)
