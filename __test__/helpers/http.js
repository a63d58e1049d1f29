'use strict'
/** HTTP helpers for the end-to-end tests: read pages and the store's counters of an app. */

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** Reads until the value differs from `old` (Next regenerates stale entries in the background). */
async function waitForChange(read, old) {
  for (let i = 0; i < 60; i++) {
    const now = await read()
    if (now !== old) return now
    await sleep(100)
  }
  throw new Error(`kept serving ${old}`)
}

/**
 * The value once two reads 500 ms apart agree. The first read of a prerendered page is the
 * build's, which is stale when the build is older than the page's revalidate time: served
 * once, regenerated in the background (as Next's own handler does).
 */
async function settled(read) {
  let previous = await read()
  for (let i = 0; i < 20; i++) {
    // Longer than a background regeneration takes, shorter than a 2 s revalidate window.
    await sleep(500)
    const now = await read()
    if (now === previous) return now
    previous = now
  }
  throw new Error(`never settled, last ${previous}`)
}

/**
 * @param {() => { url: string, log: () => string }} app the started app (a getter, since
 *   apps start in `beforeAll`)
 */
function client(app) {
  async function get(path, init) {
    const res = await fetch(`${app().url}${path}`, init)
    const body = await res.text()
    if (res.status !== 200) throw new Error(`${path}: ${res.status}\n${body}\n${app().log()}`)
    return body
  }

  /** The cached value a page shows in `<code data-stamp="name">`. */
  async function stamp(path, name) {
    const html = await get(path)
    const match = html.match(new RegExp(`data-stamp="${name}">([^<]+)<`))
    if (!match) throw new Error(`no stamp ${name} in ${path}:\n${html.slice(0, 2000)}`)
    return match[1]
  }

  /** The app's tagcache counters (its /api/tagcache-stats route). */
  const stats = async () => JSON.parse(await get('/api/tagcache-stats'))

  /** After a stale response Next regenerates in the background: wait for the new value. */
  const untilChanged = (path, name, old) => waitForChange(() => stamp(path, name), old)

  return { get, stamp, stats, untilChanged }
}

module.exports = { client, sleep, waitForChange, settled }
