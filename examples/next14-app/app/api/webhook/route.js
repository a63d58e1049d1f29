import { TagCache } from 'tagcache'
import { optionsFromEnv } from 'tagcache/next/engine'

export const dynamic = 'force-dynamic'

/**
 * A webhook with an engine of its own (as a CMS webhook or a worker would have) on the store
 * the handlers use: the disk tier, or Redis with TAGCACHE_REDIS_URL. It imports the native
 * addon, so Next 14 must leave tagcache to Node (`serverComponentsExternalPackages`).
 */
let engine
const own = () => (engine ??= new TagCache(optionsFromEnv()))

/** GET /api/webhook?tag=… expires the tag in the store; the pages see it on their next request. */
export async function GET(request) {
  const tag = request.nextUrl.searchParams.get('tag')
  if (!tag) return Response.json({ error: 'tag is required' }, { status: 400 })
  const cache = own()
  await cache.updateTags([tag])
  return Response.json({ revalidated: tag, storage: cache.storage })
}
