// @ts-check
const { withTagCache } = require('tagcache/next/config')

// No cacheComponents here: `export const revalidate`, fetch caching and getStaticProps are
// the ISR features this app shows, all stored by tagcache/next/incremental.
module.exports = withTagCache({ serverExternalPackages: ['tagcache'] })
