'use strict'
const { spawnSync } = require('node:child_process')
const path = require('node:path')

test('without a binary for the platform, the error says what to do', () => {
  const result = spawnSync(
    process.execPath,
    ['-e', `require(${JSON.stringify(path.join(__dirname, '..'))})`],
    {
      env: { ...process.env, NAPI_RS_NATIVE_LIBRARY_PATH: path.join(__dirname, 'no-such.node') },
      encoding: 'utf8',
    },
  )
  expect(result.status).not.toBe(0)
  expect(result.stderr).toMatch(/tagcache could not load its native binary for \w+-\w+/)
  expect(result.stderr).toMatch(/NAPI_RS_NATIVE_LIBRARY_PATH/)
  expect(result.stderr).toMatch(/ERR_TAGCACHE_NO_BINARY/)
})
