'use strict'
/**
 * Step 4 of `npm run test:pack`: `tsc --noEmit` in the app on __test__/types (our handlers
 * assigned to Next's own types, and the engine's API), and on the shipped .d.ts files.
 */
const fs = require('node:fs')
const path = require('node:path')
const { root, rootPkg, seconds, check, step, exec, tail } = require('./common')

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

module.exports = { typeCheck }
