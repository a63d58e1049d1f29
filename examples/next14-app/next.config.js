// @ts-check
const { withTagCache } = require('tagcache/next/config')

// Next 14: no 'use cache' (ISR, the fetch cache and route handlers only). withTagCache writes
// the keys Next 14 knows: `cacheHandler`, `cacheMaxMemorySize` and
// `experimental.serverComponentsExternalPackages` (so app/api/webhook, which imports
// tagcache, is loaded by Node instead of bundled).
module.exports = withTagCache({})
