'use strict'
/**
 * `npm run fuzz`: the fuzz and model-based targets of `src/fuzz/` (codec, input, tags,
 * model) with a million cases per property, in an optimized build, one target after the
 * other (a target's properties share the cores). `cargo test` runs a small sample of the
 * same properties; this is the long run. Node built-ins only.
 *
 *   npm run fuzz -- [--cases N] [--seconds S] [--only codec,model] [--ignored]
 *
 * --cases    cases per property (default 1000000)
 * --seconds  time budget per property (default 600): a property stops at the first
 *            chunk of cases past it and the summary says it fell short
 * --only     targets to run (default all)
 * --ignored  also run the ignored properties: the engine defects known to fail
 *
 * The build is `cargo test --profile fuzz`: the release profile's optimization without its
 * fat LTO and single codegen unit (minutes of linking for the addon, nothing for a test),
 * with overflow checks and debug assertions on, so arithmetic that wraps in release shows
 * up here; it lives in target/fuzz, apart from the addon's target/release. A failing seed
 * is kept in src/fuzz/<target>.regressions and replayed first by every later run.
 */
const { spawn, spawnSync } = require('node:child_process')
const path = require('node:path')

const root = path.join(__dirname, '..')
const TARGETS = ['codec', 'input', 'tags', 'model']

function parseArgs(argv) {
  const options = { cases: 1_000_000, seconds: 600, only: TARGETS, ignored: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]
    const value = () => {
      const v = argv[++i]
      if (v === undefined) fail(`${arg} needs a value`)
      return v
    }
    if (arg === '--cases') options.cases = positive(arg, value())
    else if (arg === '--seconds') options.seconds = positive(arg, value())
    else if (arg === '--only') options.only = value().split(',').filter(Boolean)
    else if (arg === '--ignored') options.ignored = true
    else fail(`unknown argument ${arg} (known: --cases, --seconds, --only, --ignored)`)
  }
  const unknown = options.only.filter((t) => !TARGETS.includes(t))
  if (unknown.length) fail(`unknown target ${unknown.join(', ')} (known: ${TARGETS.join(', ')})`)
  return options
}

function positive(name, raw) {
  const n = Number(raw)
  if (!Number.isFinite(n) || n <= 0) fail(`${name} must be a positive number, got ${raw}`)
  return n
}

function fail(message) {
  console.error(`fuzz: ${message}`)
  process.exit(2)
}

const PROFILE = [
  '--profile',
  'fuzz',
  '--config',
  'profile.fuzz.inherits="release"',
  '--config',
  'profile.fuzz.lto=false',
  '--config',
  'profile.fuzz.codegen-units=16',
  '--config',
  'profile.fuzz.strip=false',
  '--config',
  'profile.fuzz.debug-assertions=true',
  '--config',
  'profile.fuzz.overflow-checks=true',
]

/**
 * Builds the unit-test binary once and returns its path: every target then runs that same
 * build, even while src/ changes under it.
 */
function buildTests() {
  const args = ['test', ...PROFILE, '--lib', '--no-run', '--message-format=json-render-diagnostics']
  console.log(`$ cargo ${args.join(' ')}`)
  const build = spawnSync('cargo', args, {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  })
  if (build.status !== 0) process.exit(build.status || 1)
  const executable = build.stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line))
    .find((m) => m.reason === 'compiler-artifact' && m.profile?.test && m.executable)?.executable
  if (!executable) fail('cargo built no test executable')
  return executable
}

/** Runs one target; resolves with its properties' results, echoing its output. */
function runTarget(executable, target, options, env) {
  const args = [`fuzz::${target}::`, '--nocapture']
  if (options.ignored) args.push('--include-ignored')
  return new Promise((resolve) => {
    const child = spawn(executable, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] })
    const properties = new Map()
    const failed = []
    let buffered = ''
    const onData = (stream) => (chunk) => {
      stream.write(chunk)
      buffered += chunk
      let newline
      while ((newline = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, newline)
        buffered = buffered.slice(newline + 1)
        const done = /^fuzz (\S+): (\d+) cases in ([\d.]+) s/.exec(line)
        if (done) properties.set(done[1], { cases: Number(done[2]), seconds: Number(done[3]) })
        const short = /^fuzz (\S+): stopped by TAGCACHE_FUZZ_SECONDS/.exec(line)
        if (short) properties.set(short[1], { ...properties.get(short[1]), short: true })
        const failure = /^test (\S+) \.\.\. FAILED/.exec(line)
        if (failure) failed.push(failure[1])
      }
    }
    child.stdout.on('data', onData(process.stdout))
    child.stderr.on('data', onData(process.stderr))
    // A backstop for a case that never returns: every property's budget, twice over.
    const limit = setTimeout(
      () => {
        console.error(`\nfuzz: ${target} ran past its time budget; stopping it`)
        child.kill('SIGKILL')
      },
      (options.seconds * 2 * 8 + 600) * 1000,
    )
    child.on('close', (code) => {
      clearTimeout(limit)
      resolve({ target, code, properties, failed })
    })
  })
}

async function main() {
  const options = parseArgs(process.argv.slice(2))
  const env = {
    ...process.env,
    TAGCACHE_FUZZ_CASES: String(options.cases),
    TAGCACHE_FUZZ_SECONDS: String(options.seconds),
  }
  const executable = buildTests()

  const started = Date.now()
  const results = []
  for (const target of options.only) {
    console.log(`\n== ${target}: ${options.cases} cases per property, ${options.seconds} s budget`)
    results.push(await runTarget(executable, target, options, env))
  }

  console.log('\nfuzz summary (cases per property; a target is the sum)')
  let ok = true
  for (const { target, code, properties, failed } of results) {
    let total = 0
    for (const [name, { cases = 0, seconds = 0, short }] of properties) {
      total += cases
      const note = short ? `  short of ${options.cases}: budget` : ''
      console.log(
        `  ${name.padEnd(58)} ${String(cases).padStart(10)}  ${seconds.toFixed(1)} s${note}`,
      )
    }
    const status = code === 0 ? 'ok' : `FAILED (${failed.join(', ') || `exit ${code}`})`
    console.log(
      `  ${`${target}: ${properties.size} properties`.padEnd(58)} ${String(total).padStart(10)}  ${status}`,
    )
    if (code !== 0) ok = false
  }
  console.log(`  total ${((Date.now() - started) / 1000).toFixed(0)} s`)
  process.exit(ok ? 0 : 1)
}

main()
