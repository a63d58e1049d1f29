import type { TagCache } from '../index'

/**
 * Registers `engine`'s counters and gauges (the figures of `TagCache#metrics()`) on an
 * OpenTelemetry meter: counters `tagcache.gets` (`result`: hit | stale | miss),
 * `tagcache.sets`, `tagcache.evictions`, `tagcache.tag_updates`, `tagcache.store_errors`;
 * gauges `tagcache.entries`, `tagcache.bytes` (`tier`: memory | disk). Read when the SDK
 * collects. The Next handlers register their engine by themselves when the app has
 * `@opentelemetry/api`.
 *
 * @param options.meter default: `@opentelemetry/api`'s global meter `tagcache`
 * @returns a function that unregisters them, or `undefined` when no meter is given and
 * `@opentelemetry/api` is not installed
 */
export declare function registerOpenTelemetry(
  engine: TagCache,
  options?: { meter?: unknown },
): (() => void) | undefined
