'use strict'
/**
 * Failure logging for the Next.js adapters: a failure is a miss, and it is logged once per
 * operation and error code, so a store outage does not flood the server log.
 */

/** @param {string} handler e.g. `use-cache` */
function createFailureLog(handler) {
  const seen = new Set()
  return function logFailure(operation, err) {
    const code = (err && err.code) || 'ERR_UNKNOWN'
    const key = `${operation}:${code}`
    if (seen.has(key)) return
    seen.add(key)
    const message = err && err.message ? err.message : String(err)
    console.warn(
      `[tagcache] ${handler} ${operation} failed (${code}): ${message}. ` +
        'Served as a cache miss; further failures of this kind are not logged.',
    )
  }
}

module.exports = { createFailureLog }
