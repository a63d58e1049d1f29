'use strict'
/**
 * A route handler that serves the process's tagcache metrics to Prometheus:
 *
 *   // app/metrics/route.js
 *   export { GET } from 'tagcache/next/metrics'
 *   export const dynamic = 'force-dynamic' // Next 14 would prerender a GET route otherwise
 *
 * The body is `TagCache#metrics()` of the engine the Next handlers share (the text
 * exposition format, version 0.0.4). A failure answers 500 with the coded message, never a
 * stack.
 */
const ENGINE = Symbol.for('tagcache.engine')
const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * The engine the Next handlers share (`engine.js` keeps it on `globalThis`; Next's
 * `resetRequestCache` has created it before a route runs). Read from `globalThis` first, and
 * `engine.js` loaded through `module.require`, which bundlers do not follow: a route bundled
 * with this module (an app inside a workspace, where `tagcache` is not external) then never
 * pulls in the native addon.
 */
function engine() {
  return globalThis[ENGINE] || module.require('./engine.js').sharedEngine()
}

/** `GET` → `Response` with the metrics text. */
function GET() {
  try {
    return new Response(engine().metrics(), { headers: { 'content-type': CONTENT_TYPE } })
  } catch (err) {
    const code = (err && err.code) || 'ERR_STORE'
    return new Response(`tagcache metrics failed (${code}): ${err && err.message}\n`, {
      status: 500,
      headers: { 'content-type': 'text/plain; charset=utf-8' },
    })
  }
}

module.exports = { GET }
