'use strict'
/**
 * A tiny upstream API on a free loopback port: every GET answers a new value. `calls()`
 * counts every request, `calls(prefix)` the requests whose path starts with `prefix`
 * (e.g. `/render/` for the example pages' render counter, `/data/warm-a` for one fetch).
 */
const http = require('node:http')

function startUpstream() {
  const paths = []
  const server = http.createServer((req, res) => {
    paths.push(req.url)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify({ value: `${paths.length}|${Math.random().toString(36).slice(2, 10)}` }))
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address()
      resolve({
        url: `http://127.0.0.1:${port}`,
        calls: (prefix) =>
          prefix === undefined ? paths.length : paths.filter((p) => p.startsWith(prefix)).length,
        /** Every path requested so far, in order. */
        paths: () => [...paths],
        stop: () =>
          new Promise((r) => {
            server.closeAllConnections()
            server.close(() => r())
          }),
      })
    })
  })
}

module.exports = { startUpstream }
