// @ts-check
/**
 * Type-check fixture in plain JavaScript (checkJs), the way a next.config.js or a server
 * file uses the package: `require(...)` typed against Next's own types.
 */
const { TagCache } = require('tagcache')
const { withTagCache } = require('tagcache/next/config')
const { createUseCacheHandler } = require('tagcache/next/use-cache')

/** @type {import('next/cache').CacheHandler} */
const handler = require('tagcache/next/use-cache')

/** @type {import('next/cache').CacheHandler} */
const ownHandler = createUseCacheHandler(new TagCache({ maxMemoryBytes: 1 << 20 }))

/** @type {import('next').NextConfig} */
const nextConfig = withTagCache(
  {
    cacheComponents: true,
    cacheLife: { blog: { stale: 60, revalidate: 300, expire: 3600 } },
    serverExternalPackages: ['tagcache'],
  },
  { maxMemoryBytes: 256 * 1024 * 1024 },
)

/** @type {import('next').NextConfig} */
const withoutWrapper = {
  cacheComponents: true,
  cacheHandlers: { default: require.resolve('tagcache/next/use-cache') },
  cacheMaxMemorySize: 0,
}

module.exports = { handler, ownHandler, nextConfig, withoutWrapper }
