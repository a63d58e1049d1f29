import { unstable_cacheLife as cacheLife, unstable_cacheTag as cacheTag } from 'next/cache'

/** A 'use cache' value under `tag` and `profile` (Next 15 names: unstable_cacheTag/Life). */
export async function cachedTime(tag, profile) {
  'use cache'
  cacheTag(tag)
  cacheLife(profile)
  return `${new Date().toISOString()}|${Math.random().toString(36).slice(2, 10)}`
}
