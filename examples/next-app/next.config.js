// @ts-check
const { withTagCache } = require('tagcache/next/config')

module.exports = withTagCache(
  {
    cacheComponents: true,
    partialPrefetching: true,
    // A custom cacheLife profile, used by /profile and resolvable by revalidateTag(tag, 'blog').
    cacheLife: {
      blog: { stale: 5, revalidate: 3, expire: 600 },
    },
    // The addon is loaded by Node, not bundled.
    serverExternalPackages: ['tagcache'],
  },
  { maxMemoryBytes: Number(process.env.TAGCACHE_MAX_MEMORY_BYTES) || 64 * 1024 * 1024 },
)
