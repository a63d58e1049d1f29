/**
 * Type-check fixture: the ISR / fetch handler class (`cacheHandler`) is assignable to the
 * class type Next constructs (`new CacheHandler(ctx)` in `next/dist/server/lib/incremental-cache`).
 */
import type {
  CacheHandler as NextIncrementalHandler,
  CacheHandlerContext,
} from 'next/dist/server/lib/incremental-cache'
import IncrementalHandler, { createIncrementalCacheHandler } from 'tagcache/next/incremental'

type NextHandlerClass = new (ctx: CacheHandlerContext) => NextIncrementalHandler

export const fromModule: NextHandlerClass = IncrementalHandler
export const fromDefault: NextHandlerClass = IncrementalHandler.default
export const fromOptions: NextHandlerClass = createIncrementalCacheHandler({
  maxMemoryBytes: 1 << 20,
})
