'use strict'
/**
 * What the steps of `npm run test:pack` share: the package's names, the tally of checks and
 * its console lines, and running a command.
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..', '..')
const rootPkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'))
const TRIPLE = 'x86_64-unknown-linux-gnu'
const PLATFORM = 'linux-x64-gnu'
const BINARY = `${rootPkg.napi.binaryName}.${PLATFORM}.node`
const PLATFORM_PKG = `${rootPkg.name}-${PLATFORM}`
/** The napi cross toolchain's sysroot is glibc 2.17 (CentOS 7). */
const GLIBC_FLOOR = '2.17'
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

/** The checks so far: { passed, failed }. */
function tally() {
  return { passed, failed }
}

module.exports = {
  root,
  rootPkg,
  TRIPLE,
  PLATFORM,
  BINARY,
  PLATFORM_PKG,
  GLIBC_FLOOR,
  npmCmd,
  started,
  seconds,
  check,
  step,
  exec,
  tail,
  tally,
}
