'use strict'
/**
 * Redis servers for tests: `redis-server` from Debian's package (scripts/setup.js installs
 * it when missing), on free loopback ports, without persistence, stopped by pid whatever
 * happens. Also a 3-master cluster (`redis-cli --cluster create`).
 */
const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const { freePort } = require('./ports')
const os = require('node:os')
const path = require('node:path')

function redisCli(port, password, ...args) {
  const auth = password ? ['-a', password, '--no-auth-warning'] : []
  const result = spawnSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...auth, ...args], {
    encoding: 'utf8',
    timeout: 10_000,
  })
  if (result.status !== 0) throw new Error(`redis-cli ${args.join(' ')}: ${result.stderr}`)
  return result.stdout.trim()
}

async function waitForPing(port, password, child) {
  const deadline = Date.now() + 10_000
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited (${child.exitCode})`)
    try {
      if (redisCli(port, password, 'PING') === 'PONG') return
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error('redis-server did not answer PING')
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * Starts one `redis-server`; `{ url, port, stop, pause, resume, restart, cli, commandStats }`.
 * `password` sets `requirepass` (the helpers' own commands authenticate).
 */
async function startRedis(extraArgs = [], { password } = {}) {
  const port = await freePort()
  if (password) extraArgs = [...extraArgs, '--requirepass', password]
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-redis-'))
  let child
  const launch = async () => {
    child = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        dir,
        ...extraArgs,
      ],
      { stdio: 'ignore' },
    )
    const kill = () => {
      try {
        child.kill('SIGKILL')
      } catch {
        // gone
      }
    }
    process.once('exit', kill)
    await waitForPing(port, password, child)
  }
  await launch()
  const stopChild = () =>
    new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      try {
        process.kill(child.pid, 'SIGCONT')
      } catch {
        // gone
      }
      child.kill('SIGKILL')
    })
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child.pid
    },
    cli: (...args) => redisCli(port, password, ...args),
    /** `{ get: calls, set: calls, … }` from INFO commandstats. */
    commandStats() {
      const out = {}
      for (const line of redisCli(port, password, 'INFO', 'commandstats').split('\n')) {
        const m = line.match(/^cmdstat_([a-z|]+):calls=(\d+)/)
        if (m) out[m[1]] = Number(m[2])
      }
      return out
    },
    pause: () => process.kill(child.pid, 'SIGSTOP'),
    resume: () => process.kill(child.pid, 'SIGCONT'),
    /** Kills it (like a crash) and starts a fresh one on the same port. */
    async restart() {
      await stopChild()
      await launch()
    },
    kill: stopChild,
    async stop() {
      await stopChild()
      fs.rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Three masters in cluster mode; `{ urls, stop }`. */
async function startCluster() {
  const nodes = []
  try {
    for (let i = 0; i < 3; i++) {
      nodes.push(
        await startRedis(['--cluster-enabled', 'yes', '--cluster-config-file', `nodes-${i}.conf`]),
      )
    }
    const create = spawnSync(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...nodes.map((n) => `127.0.0.1:${n.port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      { encoding: 'utf8', timeout: 30_000 },
    )
    if (create.status !== 0)
      throw new Error(`cluster create failed: ${create.stdout}${create.stderr}`)
    const deadline = Date.now() + 15_000
    while (!nodes.every((n) => n.cli('CLUSTER', 'INFO').includes('cluster_state:ok'))) {
      if (Date.now() > deadline) throw new Error('cluster did not become ok')
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop()))
    throw err
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url),
    stop: () => Promise.all(nodes.map((n) => n.stop())),
  }
}

/**
 * A primary, one replica and one sentinel (quorum 1) watching it as `mymaster`:
 * `{ primary, replica, sentinel: { port, url, cli }, primaryPort(), stop }`. `primaryPort()`
 * asks the sentinel where the primary is now.
 */
async function startSentinelGroup(name = 'mymaster') {
  const started = []
  let child
  let dir
  try {
    const primary = await startRedis()
    started.push(primary)
    const replica = await startRedis(['--replicaof', '127.0.0.1', String(primary.port)])
    started.push(replica)
    const port = await freePort()
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-sentinel-'))
    const conf = path.join(dir, 'sentinel.conf')
    fs.writeFileSync(
      conf,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `dir ${dir}`,
        `sentinel monitor ${name} 127.0.0.1 ${primary.port} 1`,
        `sentinel down-after-milliseconds ${name} 1000`,
        `sentinel failover-timeout ${name} 5000`,
        '',
      ].join('\n'),
    )
    child = spawn('redis-server', [conf, '--sentinel'], { stdio: 'ignore' })
    process.once('exit', () => child.kill('SIGKILL'))
    await waitForPing(port, undefined, child)
    const cli = (...args) => redisCli(port, undefined, ...args)
    const primaryPort = () =>
      Number(cli('SENTINEL', 'get-master-addr-by-name', name).split('\n')[1])
    // Ready once the replica is in sync and the sentinel knows it (a failover needs both).
    const deadline = Date.now() + 20_000
    while (
      !replica.cli('INFO', 'replication').includes('master_link_status:up') ||
      !cli('SENTINEL', 'replicas', name).includes(String(replica.port))
    ) {
      if (Date.now() > deadline) throw new Error('the sentinel group did not become ready')
      await new Promise((r) => setTimeout(r, 100))
    }
    return {
      primary,
      replica,
      sentinel: { port, url: `redis://127.0.0.1:${port}`, cli },
      primaryPort,
      async stop() {
        child.kill('SIGKILL')
        await Promise.all(started.map((r) => r.stop()))
        fs.rmSync(dir, { recursive: true, force: true })
      },
    }
  } catch (err) {
    if (child) child.kill('SIGKILL')
    await Promise.all(started.map((r) => r.stop()))
    if (dir) fs.rmSync(dir, { recursive: true, force: true })
    throw err
  }
}

/**
 * Left out of `delta`: commands the tests themselves send to look, the keepalive PINGs of the
 * subscriber and of the tracking connection, and what a (background) connection sends once
 * when it opens (RESP3's HELLO, the library's name, turning client-side caching on).
 */
const OBSERVER_COMMANDS = new Set([
  'info',
  'pttl',
  'ping',
  'hello',
  'client|setinfo',
  'client|tracking',
])

/** `commandStats()` deltas, `after - before` per command, without the tests' own looks. */
function delta(before, after) {
  const out = {}
  for (const [k, v] of Object.entries(after)) {
    const d = v - (before[k] || 0)
    if (d && !OBSERVER_COMMANDS.has(k)) out[k] = d
  }
  return out
}

module.exports = { startRedis, startCluster, startSentinelGroup, delta }
