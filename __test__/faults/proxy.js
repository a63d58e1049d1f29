'use strict'
/**
 * A loopback TCP proxy in front of one Redis, run by the test itself, so a fault can hit one
 * engine's connections and not the others': added latency, dropped connections (FIN, and new
 * ones refused), reset connections (RST), and a half-open link (bytes are held, nothing is
 * closed; healed by delivering them late or by killing the connections without a word).
 *
 * Bytes keep their order in each direction whatever the latency does (a queue per direction,
 * released no earlier than the chunk before it). Held bytes are bounded per connection
 * (`maxHeldBytes`): past it the pair is destroyed, as a real kernel would give up.
 */
const net = require('node:net')

const now = () => performance.now()

class Pipe {
  /** Forwards `from` → `to` through a queue released at `chunk.at`. */
  constructor(proxy, pair, from, to) {
    this.proxy = proxy
    this.pair = pair
    this.to = to
    this.queue = []
    this.bytes = 0
    this.last = 0
    this.timer = null
    from.on('data', (chunk) => this.push(chunk))
  }

  push(chunk) {
    if (this.pair.closed) return
    const at = Math.max(now() + this.proxy.delay(), this.last)
    this.last = at
    this.queue.push({ at, chunk })
    this.bytes += chunk.length
    if (this.bytes > this.proxy.maxHeldBytes) {
      this.proxy.counters.overflows++
      this.pair.destroy()
      return
    }
    this.pump()
  }

  pump() {
    if (this.timer || this.pair.closed) return
    if (this.pair.held) return
    while (this.queue.length) {
      const head = this.queue[0]
      const wait = head.at - now()
      if (wait > 0.5) {
        this.timer = setTimeout(() => {
          this.timer = null
          this.pump()
        }, wait)
        return
      }
      this.queue.shift()
      this.bytes -= head.chunk.length
      this.proxy.counters.bytes += head.chunk.length
      if (!this.to.destroyed) this.to.write(head.chunk)
    }
  }

  clear() {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    this.queue = []
    this.bytes = 0
  }
}

class Pair {
  constructor(proxy, client) {
    this.proxy = proxy
    this.client = client
    this.closed = false
    /** Half-open: nothing is forwarded either way, nothing is closed. */
    this.held = proxy.halfOpen
    client.setNoDelay(true)
    this.upstream = net.connect({ host: proxy.targetHost, port: proxy.targetPort })
    this.upstream.setNoDelay(true)
    const gone = () => this.destroy()
    for (const socket of [client, this.upstream]) {
      socket.on('error', gone)
      socket.on('close', gone)
    }
    this.up = new Pipe(proxy, this, client, this.upstream)
    this.down = new Pipe(proxy, this, this.upstream, client)
  }

  release() {
    this.held = false
    this.up.pump()
    this.down.pump()
  }

  /** Closes both sides: `reset` sends RST instead of FIN. */
  destroy(reset = false) {
    if (this.closed) return
    this.closed = true
    this.up.clear()
    this.down.clear()
    for (const socket of [this.client, this.upstream]) {
      try {
        if (reset && typeof socket.resetAndDestroy === 'function' && !socket.destroyed) {
          socket.resetAndDestroy()
        } else {
          socket.destroy()
        }
      } catch {
        // already gone
      }
    }
    this.proxy.pairs.delete(this)
  }
}

class FaultProxy {
  /**
   * @param {{ targetPort: number, targetHost?: string, name?: string, random?: () => number,
   *   maxHeldBytes?: number }} options
   */
  constructor({ targetPort, targetHost = '127.0.0.1', name = 'proxy', random = Math.random }) {
    this.targetPort = targetPort
    this.targetHost = targetHost
    this.name = name
    this.random = random
    this.maxHeldBytes = 16 * 1024 * 1024
    this.latencyMs = 0
    this.jitterMs = 0
    this.refusing = false
    this.halfOpen = false
    this.pairs = new Set()
    this.counters = {
      accepted: 0,
      refused: 0,
      dropped: 0,
      reset: 0,
      killed: 0,
      overflows: 0,
      bytes: 0,
    }
    this.server = net.createServer((client) => this.accept(client))
    this.server.on('error', () => {})
  }

  /** Listens on a free loopback port; resolves to it. */
  start() {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(0, '127.0.0.1', () => {
        this.port = this.server.address().port
        resolve(this.port)
      })
    })
  }

  get url() {
    return `redis://127.0.0.1:${this.port}`
  }

  accept(client) {
    client.on('error', () => {})
    if (this.refusing) {
      this.counters.refused++
      client.destroy()
      return
    }
    this.counters.accepted++
    this.pairs.add(new Pair(this, client))
  }

  delay() {
    return this.latencyMs + (this.jitterMs ? this.random() * this.jitterMs : 0)
  }

  /** Adds `ms` (+ up to `jitterMs`) to every chunk, each direction; 0 heals. */
  setLatency(ms, jitterMs = 0) {
    this.latencyMs = ms
    this.jitterMs = jitterMs
  }

  /** Closes every open connection (FIN); with `refuse`, new ones are closed at once too. */
  drop(refuse = true) {
    this.refusing = refuse
    for (const pair of this.pairs) {
      this.counters.dropped++
      pair.destroy(false)
    }
  }

  /** Resets every open connection (RST); new ones are accepted. */
  reset() {
    for (const pair of this.pairs) {
      this.counters.reset++
      pair.destroy(true)
    }
  }

  /** Stops forwarding on every connection, open and new, without closing any. */
  holdAll() {
    this.halfOpen = true
    for (const pair of this.pairs) pair.held = true
  }

  /**
   * Ends the half-open state: `'flush'` delivers what was held (late), `'kill'` destroys the
   * held connections without a FIN reaching the client first (it sees them die at once).
   */
  releaseAll(how = 'flush') {
    this.halfOpen = false
    for (const pair of this.pairs) {
      if (how === 'kill') {
        this.counters.killed++
        pair.destroy(true)
      } else {
        pair.release()
      }
    }
  }

  /** Back to a plain pipe: no latency, accepting, forwarding. */
  heal() {
    this.setLatency(0)
    this.refusing = false
    if (this.halfOpen) this.releaseAll('flush')
  }

  close() {
    for (const pair of this.pairs) pair.destroy()
    return new Promise((resolve) => this.server.close(() => resolve()))
  }
}

module.exports = { FaultProxy }
