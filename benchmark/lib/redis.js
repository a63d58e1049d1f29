'use strict'
/**
 * The benchmark's own Redis: started on a free loopback port with persistence off, stopped
 * by pid when the run ends (normally, on an error or on Ctrl-C). Plus a minimal RESP client
 * (INFO, FLUSHALL, CONFIG), so that measuring Redis never goes through a contender's client,
 * and the `redis-benchmark` floor.
 */
const net = require('node:net')
const { freePort } = require('../../__test__/helpers/ports')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' })
  return r.status === 0 ? r.stdout.trim() : null
}

/** redis-server and redis-benchmark, installing Debian's redis-server if missing. */
function ensureRedisInstalled(log) {
  if (which('redis-server') && which('redis-benchmark')) return true
  log('redis-server not found: installing it with apt-get (Debian package redis-server)')
  const asRoot = process.getuid && process.getuid() === 0 ? [] : ['sudo', '-n']
  const apt = (args) =>
    spawnSync(
      asRoot[0] || 'apt-get',
      [...asRoot.slice(1), ...(asRoot.length ? ['apt-get'] : []), ...args],
      {
        stdio: 'inherit',
        env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      },
    ).status === 0
  if (!apt(['install', '-y', '-qq', 'redis-server'])) {
    apt(['update', '-qq'])
    apt(['install', '-y', '-qq', 'redis-server'])
  }
  return Boolean(which('redis-server') && which('redis-benchmark'))
}

/** Encodes one command as a RESP array of bulk strings. */
function encode(args) {
  let out = `*${args.length}\r\n`
  for (const a of args) {
    const s = String(a)
    out += `$${Buffer.byteLength(s)}\r\n${s}\r\n`
  }
  return out
}

/** Parses one RESP reply from `buf` at `pos`; returns [value, nextPos] or null if incomplete. */
function parse(buf, pos) {
  if (pos >= buf.length) return null
  const eol = buf.indexOf('\r\n', pos)
  if (eol < 0) return null
  const type = String.fromCharCode(buf[pos])
  const line = buf.toString('utf8', pos + 1, eol)
  const next = eol + 2
  if (type === '+') return [line, next]
  if (type === '-') return [new Error(line), next]
  if (type === ':') return [Number(line), next]
  if (type === '$') {
    const len = Number(line)
    if (len < 0) return [null, next]
    if (buf.length < next + len + 2) return null
    return [buf.toString('utf8', next, next + len), next + len + 2]
  }
  if (type === '*') {
    const n = Number(line)
    if (n < 0) return [null, next]
    const arr = []
    let p = next
    for (let k = 0; k < n; k++) {
      const r = parse(buf, p)
      if (!r) return null
      arr.push(r[0])
      p = r[1]
    }
    return [arr, p]
  }
  throw new Error(`unexpected RESP type ${type}`)
}

/** A tiny sequential RESP client: `await c.command('INFO', 'commandstats')`. */
async function connect(port, host = '127.0.0.1') {
  const socket = net.connect(port, host)
  socket.setNoDelay(true)
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  let buf = Buffer.alloc(0)
  const waiting = []
  socket.on('data', (d) => {
    buf = buf.length ? Buffer.concat([buf, d]) : d
    for (;;) {
      const r = parse(buf, 0)
      if (!r) break
      buf = buf.subarray(r[1])
      const w = waiting.shift()
      if (!w) continue
      if (r[0] instanceof Error) w.reject(r[0])
      else w.resolve(r[0])
    }
  })
  socket.on('error', (err) => {
    for (const w of waiting.splice(0)) w.reject(err)
  })
  return {
    command(...args) {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject })
        socket.write(encode(args))
      })
    },
    close() {
      socket.destroy()
    },
  }
}

/** `INFO commandstats` as { command: calls }. */
async function commandStats(client) {
  const text = await client.command('INFO', 'commandstats')
  const calls = {}
  for (const line of text.split('\r\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (m) calls[m[1]] = Number(m[2])
  }
  return calls
}

/**
 * Commands sent between two `commandStats` snapshots, leaving out the measurement's own
 * INFO calls and the clients' keep-alive PINGs.
 */
function commandDelta(before, after) {
  const out = {}
  let total = 0
  for (const [cmd, n] of Object.entries(after)) {
    if (cmd === 'info' || cmd === 'ping') continue
    const d = n - (before[cmd] || 0)
    if (d > 0) {
      out[cmd] = d
      total += d
    }
  }
  return { total, byCommand: out }
}

/**
 * Starts redis-server on a free loopback port, without persistence. Keyspace events
 * `Exe` are on because trieb's handler requires them (it refuses to start otherwise).
 */
async function startRedis(log) {
  const port = await freePort()
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tagcache-bench-redis-'))
  const args = [
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
    '--notify-keyspace-events',
    'Exe',
    '--maxmemory',
    '4gb',
    '--loglevel',
    'warning',
  ]
  const child = spawn('redis-server', args, { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(child.pid, 'SIGTERM')
      } catch {}
    }
    try {
      fs.rmSync(dir, { recursive: true, force: true })
    } catch {}
  }
  const deadline = Date.now() + 10000
  for (;;) {
    try {
      const c = await connect(port)
      const pong = await c.command('PING')
      const version = (await c.command('INFO', 'server')).match(/redis_version:(\S+)/)?.[1]
      c.close()
      if (pong === 'PONG') {
        log(`redis-server ${version} started on 127.0.0.1:${port} (pid ${child.pid})`)
        return { port, pid: child.pid, version, stop }
      }
    } catch {}
    if (child.exitCode !== null || Date.now() > deadline) {
      stop()
      throw new Error(`redis-server did not start: ${stderr.trim() || 'timeout'}`)
    }
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * `redis-benchmark -c <clients> -P <pipeline> -t set,get -d <size>` on the benchmark's Redis:
 * the floor for one Redis round trip of that size (`pipeline` 1), or for a client that keeps
 * `pipeline` requests in flight on one connection. Its SET runs first and writes the key its GET
 * reads. Returns { get: {opsPerSec,p50,p99}, set: … } (µs).
 */
function redisBenchmark(
  port,
  { size, clients = 1, pipeline = 1, requests = 20000, timeoutMs = 60000 },
) {
  const r = spawnSync(
    'redis-benchmark',
    [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-c',
      String(clients),
      '-n',
      String(requests),
      '-d',
      String(size),
      '-t',
      'set,get',
      '-P',
      String(pipeline),
      '--csv',
    ],
    { encoding: 'utf8', timeout: timeoutMs },
  )
  if (r.status !== 0) throw new Error(`redis-benchmark failed: ${r.stderr || r.error}`)
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => l.split(',').map((c) => c.replace(/"/g, '')))
  const header = lines.shift()
  const col = (name) => header.indexOf(name)
  const out = {}
  for (const row of lines) {
    const test = row[0].toLowerCase()
    out[test] = {
      opsPerSec: Number(row[col('rps')]),
      p50: Number(row[col('p50_latency_ms')]) * 1000,
      p99: Number(row[col('p99_latency_ms')]) * 1000,
    }
  }
  return out
}

module.exports = {
  ensureRedisInstalled,
  startRedis,
  connect,
  commandStats,
  commandDelta,
  redisBenchmark,
}
