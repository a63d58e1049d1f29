'use strict'
/**
 * tagcache's counters and gauges as OpenTelemetry metrics, for apps that export with
 * `@opentelemetry/api` (Next's `instrumentation.ts` + an SDK). The Next handlers register
 * the process's engine by themselves when the app has `@opentelemetry/api`; without an SDK
 * the API's meter does nothing and nothing is read. Values are read from `stats()` only when
 * the SDK collects, so a cache call costs nothing more.
 *
 * Instruments (meter `tagcache`), the same figures as `TagCache#metrics()`:
 * - counters `tagcache.gets` (attribute `result`: `hit` | `stale` | `miss`),
 *   `tagcache.sets`, `tagcache.evictions`, `tagcache.tag_updates`, `tagcache.store_errors`
 * - gauges `tagcache.entries`, `tagcache.bytes` (attribute `tier`: `memory` | `disk`)
 */

const REGISTERED = Symbol.for('tagcache.otel')

/**
 * Registers `engine`'s metrics on `meter` (default: `@opentelemetry/api`'s global meter
 * provider, meter `tagcache`). Returns a function that unregisters them, or `undefined`
 * when no meter is given and the app has no `@opentelemetry/api`. Registering the same
 * engine twice registers it once.
 * @param {import('../index').TagCache} engine
 * @param {{ meter?: import('@opentelemetry/api').Meter }} [options]
 * @returns {(() => void) | undefined}
 */
function registerOpenTelemetry(engine, { meter } = {}) {
  if (engine[REGISTERED]) return engine[REGISTERED]
  if (!meter) {
    let api
    try {
      api = module.require('@opentelemetry/api')
    } catch {
      return undefined
    }
    meter = api.metrics.getMeter('tagcache', require('../package.json').version)
  }
  const counter = (name, description) =>
    meter.createObservableCounter(name, { description, unit: '{call}' })
  const gets = counter('tagcache.gets', 'get calls, by result')
  const sets = counter('tagcache.sets', 'set calls')
  const evictions = counter('tagcache.evictions', 'entries evicted by the byte bound')
  const tagUpdates = counter('tagcache.tag_updates', 'tags updated (revalidateTag and kin)')
  const storeErrors = counter('tagcache.store_errors', 'failed store operations')
  const entries = meter.createObservableGauge('tagcache.entries', {
    description: 'entries stored',
    unit: '{entry}',
  })
  const bytes = meter.createObservableGauge('tagcache.bytes', {
    description: 'bytes stored',
    unit: 'By',
  })
  const observe = (result) => {
    let s
    try {
      s = engine.stats()
    } catch {
      return // closed: nothing to report
    }
    result.observe(gets, s.hits - s.staleHits, { result: 'hit' })
    result.observe(gets, s.staleHits, { result: 'stale' })
    result.observe(gets, s.misses, { result: 'miss' })
    result.observe(sets, s.sets)
    result.observe(evictions, s.evictions)
    result.observe(tagUpdates, s.tagUpdates)
    result.observe(storeErrors, s.storeErrors)
    result.observe(entries, s.entries, { tier: 'memory' })
    result.observe(bytes, s.bytes, { tier: 'memory' })
    if (engine.storage === 'disk') {
      result.observe(entries, s.diskEntries, { tier: 'disk' })
      result.observe(bytes, s.diskBytes, { tier: 'disk' })
    }
  }
  const instruments = [gets, sets, evictions, tagUpdates, storeErrors, entries, bytes]
  meter.addBatchObservableCallback(observe, instruments)
  const unregister = () => {
    meter.removeBatchObservableCallback(observe, instruments)
    delete engine[REGISTERED]
  }
  engine[REGISTERED] = unregister
  return unregister
}

module.exports = { registerOpenTelemetry }
