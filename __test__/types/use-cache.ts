/**
 * Type-check fixture (scripts/test-pack.js runs `tsc --noEmit` on it in a fresh app that
 * installed the packed tarballs): the 'use cache' handler is Next's own `CacheHandler`,
 * and the engine's API types as documented.
 */
import type { CacheHandler } from 'next/cache'
import { TagCache, type CacheEntry, type TagCacheStats } from 'tagcache'
import useCacheHandler, { createUseCacheHandler } from 'tagcache/next/use-cache'
import { sharedEngine } from 'tagcache/next/engine'

// What Next loads from `cacheHandlers.default`, and every way to build one.
export const fromModule: CacheHandler = useCacheHandler
export const fromDefault: CacheHandler = useCacheHandler.default
export const fromOptions: CacheHandler = createUseCacheHandler({ maxMemoryBytes: 1 << 20 })

const engine = new TagCache({
  cacheLife: { blog: { stale: 60, revalidate: 300, expire: 3600 } },
  maxMemoryBytes: 64 * 1024 * 1024,
})
export const fromEngine: CacheHandler = createUseCacheHandler(engine)
export const shared: TagCache = sharedEngine()

export async function useTheEngine(html: string): Promise<string | null> {
  await engine.set('post:1', Buffer.from(html), { tags: ['posts'], profile: 'hours' })
  await engine.set('post:2', new Uint8Array([1, 2]), { tags: ['posts'], revalidate: 60 })
  const entry: CacheEntry | null = await engine.get('post:1', ['_N_T_/posts'])
  await engine.revalidateTag('posts', 'max')
  await engine.revalidateTag(['posts', 'home'], { expire: 0 })
  await engine.updateTag('posts')
  const expired: string[] = await engine.revalidatePath('/posts', 'page')
  const latest: number = await engine.getExpiration(expired)
  const stats: TagCacheStats = engine.stats()
  const profile = engine.resolveProfile('blog')
  await engine.close()
  if (!entry || latest < 0 || stats.hits < 0 || profile.expire < 0) return null
  const status: 'fresh' | 'stale' = entry.status
  return `${status}:${entry.value.toString('utf8')}`
}

// The types are real, not `any`: each of these must be an error.
// @ts-expect-error an unknown option
export const typo = new TagCache({ maxMemory: 1 })
// @ts-expect-error values are bytes, not strings
export const notBytes = engine.set('k', 'a string')
// @ts-expect-error a handler's get takes the soft tags
export const handlerGet: CacheHandler['get'] = (_key: number) => Promise.resolve(undefined)
