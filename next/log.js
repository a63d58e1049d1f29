'use strict'
/**
 * Failure logging for the Next.js adapters: a failure is a miss, and it is logged once per
 * operation and error code, so a store outage does not flood the server log. Lines go to
 * `console.warn` (where Next's and the app's loggers can route them) with the prefix the
 * engine's own warnings use (`src/log.rs`), and `TAGCACHE_LOG=off` silences both.
 */

/** `TAGCACHE_LOG` is `off`, `0`, `false` or `silent` (read when a handler is made). */
function silenced() {
  const value = (process.env.TAGCACHE_LOG || '').trim().toLowerCase()
  return ['off', '0', 'false', 'silent'].includes(value)
}

/** @param {string} handler e.g. `use-cache` */
function createFailureLog(handler) {
  const seen = new Set()
  const quiet = silenced()
  return function logFailure(operation, err) {
    const code = (err && err.code) || 'ERR_UNKNOWN'
    const key = `${operation}:${code}`
    if (quiet || seen.has(key)) return
    seen.add(key)
    const message = err && err.message ? err.message : String(err)
    console.warn(
      `[tagcache] ${handler} ${operation} failed (${code}): ${message}. ` +
        'Served as a cache miss; further failures of this kind are not logged.',
    )
  }
}

module.exports = { createFailureLog }
