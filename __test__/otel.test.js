'use strict'
/**
 * OpenTelemetry: the engine's counters and gauges reach an SDK's meter, with the figures of
 * `stats()` / `metrics()`, read when the SDK collects; the shared engine registers itself.
 */
const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics')
const { TagCache } = require('./helpers/engine')
const { registerOpenTelemetry } = require('../next/otel')

/** A reader the test collects by hand. */
class TestReader extends MetricReader {
  async onForceFlush() {}
  async onShutdown() {}
}

async function collect(reader) {
  const { resourceMetrics } = await reader.collect()
  const points = {}
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) {
      for (const point of metric.dataPoints) {
        const labels = Object.values(point.attributes).join(',')
        points[`${metric.descriptor.name}${labels ? `{${labels}}` : ''}`] = point.value
      }
    }
  }
  return points
}

test('counters and gauges carry the engine stats, by result and tier', async () => {
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  const cache = new TagCache()
  const unregister = registerOpenTelemetry(cache, { meter: provider.getMeter('tagcache') })
  await cache.set('a', Buffer.from('x'), { tags: ['t'] })
  await cache.set('b', Buffer.from('y'), {
    tags: ['u'],
    revalidate: 1,
    expire: 60,
    timestamp: Date.now() - 5000,
  })
  await cache.get('a')
  await cache.get('b')
  await cache.get('missing')
  await cache.revalidateTag('t')
  const points = await collect(reader)
  const stats = cache.stats()
  expect(points).toMatchObject({
    'tagcache.gets{hit}': 1,
    'tagcache.gets{stale}': 1,
    'tagcache.gets{miss}': 1,
    'tagcache.sets': 2,
    'tagcache.tag_updates': 1,
    'tagcache.store_errors': 0,
    'tagcache.entries{memory}': stats.entries,
    'tagcache.bytes{memory}': stats.bytes,
  })
  // Registering again is a no-op; after unregistering the engine is no longer read (the
  // SDK keeps reporting the last cumulative values).
  expect(registerOpenTelemetry(cache, { meter: provider.getMeter('tagcache') })).toBe(unregister)
  unregister()
  await cache.set('c', Buffer.from('z'))
  expect((await collect(reader))['tagcache.sets']).not.toBe(3)
  await provider.shutdown()
})

test("without a meter it uses @opentelemetry/api's global provider", async () => {
  const api = require('@opentelemetry/api')
  const reader = new TestReader()
  const provider = new MeterProvider({ readers: [reader] })
  api.metrics.setGlobalMeterProvider(provider)
  try {
    const cache = new TagCache()
    const unregister = registerOpenTelemetry(cache)
    expect(typeof unregister).toBe('function')
    await cache.set('k', Buffer.from('v'))
    expect((await collect(reader))['tagcache.sets']).toBe(1)
    unregister()
  } finally {
    api.metrics.disable()
    await provider.shutdown()
  }
})
