'use strict'
/**
 * tagcache's entry point: the native addon through the loader `napi build` generates
 * (index.js). When no binary fits this machine, the error says which platform was looked for
 * and what to do, instead of only the loader's generic message (kept as `cause`).
 */
try {
  module.exports = require('./index.js')
} catch (cause) {
  const libc =
    process.platform === 'linux'
      ? process.report && process.report.getReport().header.glibcVersionRuntime
        ? '-gnu'
        : '-musl'
      : ''
  const platform = `${process.platform}-${process.arch}${libc}`
  const err = new Error(
    `tagcache could not load its native binary for ${platform}. ` +
      'Prebuilt binaries exist for linux-x64-gnu, linux-arm64-gnu, linux-x64-musl, ' +
      'linux-arm64-musl, darwin-x64, darwin-arm64 and win32-x64-msvc, as the optional ' +
      `dependency tagcache-${platform}. Reinstall without --omit=optional (and without ` +
      'copying node_modules between platforms), or add that package yourself; on another ' +
      'platform, build from a checkout (npm run build) and point NAPI_RS_NATIVE_LIBRARY_PATH ' +
      `at the .node file. Cause: ${cause && cause.message}`,
  )
  err.code = 'ERR_TAGCACHE_NO_BINARY'
  err.cause = cause
  throw err
}
