// @ts-check
/**
 * Type-check fixture in plain JavaScript: `require('tagcache/next/incremental')` is the class
 * Next constructs for `cacheHandler`.
 */

/**
 * @typedef {import('next/dist/server/lib/incremental-cache').CacheHandlerContext} Context
 * @typedef {import('next/dist/server/lib/incremental-cache').CacheHandler} NextHandler
 */

/** @type {new (ctx: Context) => NextHandler} */
const IncrementalHandler = require('tagcache/next/incremental')
const { createIncrementalCacheHandler } = require('tagcache/next/incremental')

/** @type {new (ctx: Context) => NextHandler} */
const fromOptions = createIncrementalCacheHandler({ maxMemoryBytes: 1 << 20 })

/** @type {import('next').NextConfig} */
const nextConfig = {
  cacheHandler: require.resolve('tagcache/next/incremental'),
  cacheMaxMemorySize: 0,
}

module.exports = { IncrementalHandler, fromOptions, nextConfig }
