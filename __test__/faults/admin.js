'use strict'
/**
 * The harness's own line to Redis, straight to its port (never through a proxy): one
 * connection per command, RESP2, with a timeout. Asynchronous, so unlike `redis-cli` it
 * never blocks the event loop the engines and the workload share (and never hangs the
 * process on a frozen server: it fails after `timeoutMs`).
 */
const net = require('node:net')

function encode(args) {
  const parts = [`*${args.length}\r\n`]
  for (const arg of args) {
    const s = Buffer.from(String(arg))
    parts.push(`$${s.length}\r\n`, s, '\r\n')
  }
  return Buffer.concat(parts.map((p) => (Buffer.isBuffer(p) ? p : Buffer.from(p))))
}

/** Parses one reply at `offset`; `{ value, end }` or null if incomplete. */
function parse(buf, offset = 0) {
  const line = buf.indexOf('\r\n', offset)
  if (line < 0) return null
  const type = String.fromCharCode(buf[offset])
  const head = buf.toString('utf8', offset + 1, line)
  const next = line + 2
  switch (type) {
    case '+':
      return { value: head, end: next }
    case '-': {
      const err = new Error(head)
      err.redis = true
      return { value: err, end: next }
    }
    case ':':
      return { value: Number(head), end: next }
    case '$': {
      const n = Number(head)
      if (n < 0) return { value: null, end: next }
      if (buf.length < next + n + 2) return null
      return { value: buf.toString('utf8', next, next + n), end: next + n + 2 }
    }
    case '*': {
      const n = Number(head)
      if (n < 0) return { value: null, end: next }
      const out = []
      let at = next
      for (let i = 0; i < n; i++) {
        const item = parse(buf, at)
        if (!item) return null
        out.push(item.value)
        at = item.end
      }
      return { value: out, end: at }
    }
    default:
      throw new Error(`unexpected RESP type ${JSON.stringify(type)}`)
  }
}

/** Sends one command to `127.0.0.1:port`; resolves to the reply (a Redis error rejects). */
function command(port, args, { timeoutMs = 2000 } = {}) {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0)
    let done = false
    const socket = net.connect({ host: '127.0.0.1', port })
    const finish = (err, value) => {
      if (done) return
      done = true
      clearTimeout(timer)
      socket.destroy()
      if (err) reject(err)
      else resolve(value)
    }
    const timer = setTimeout(
      () => finish(new Error(`admin ${args[0]}: no answer in ${timeoutMs} ms`)),
      timeoutMs,
    )
    socket.on('error', (err) => finish(err))
    socket.on('close', () => finish(new Error(`admin ${args[0]}: connection closed`)))
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      let reply
      try {
        reply = parse(buf)
      } catch (err) {
        return finish(err)
      }
      if (!reply) return
      if (reply.value instanceof Error) finish(reply.value)
      else finish(null, reply.value)
    })
    socket.write(encode(args))
  })
}

/** `INFO <section>` as `{ field: value }`. */
async function info(port, section, options) {
  const text = await command(port, ['INFO', section], options)
  const out = {}
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':')
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1)
  }
  return out
}

module.exports = { command, info, parse, encode }
