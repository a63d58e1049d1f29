'use strict'
/** A tiny upstream API on a free loopback port: GET /data answers a new value every call. */
const http = require('node:http')

function startUpstream() {
  let calls = 0
  const server = http.createServer((req, res) => {
    calls += 1
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ value: `${calls}|${Math.random().toString(36).slice(2, 10)}` }))
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({
        url: `http://127.0.0.1:${port}`,
        calls: () => calls,
        stop: () => new Promise((r) => server.close(() => r())),
      })
    })
  })
}

module.exports = { startUpstream }
