import { cacheLife, cacheTag } from 'next/cache'

/**
 * A value cached with 'use cache' under `tag` and a cacheLife `profile`. It changes only
 * when tagcache says the entry is gone or stale, so the time shows which render made it.
 */
export async function cachedTime(tag, profile) {
  'use cache'
  cacheTag(tag)
  cacheLife(profile)
  return { at: new Date().toISOString(), id: Math.random().toString(36).slice(2, 10) }
}
