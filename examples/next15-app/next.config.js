// @ts-check
const { withTagCache } = require('tagcache/next/config')

// Next 15: 'use cache' and cacheLife live under `experimental`; withTagCache writes
// `experimental.cacheHandlers` for this version.
module.exports = withTagCache({
  experimental: {
    useCache: true,
    cacheLife: { blog: { stale: 5, revalidate: 3, expire: 600 } },
  },
  serverExternalPackages: ['tagcache'],
})
