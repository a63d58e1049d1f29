'use strict'
/**
 * HTTP helpers for the end-to-end tests: read pages (served, or as `next build` wrote them)
 * and the store's counters of an app.
 */
const fs = require('node:fs')
const { join } = require('node:path')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** The cached value a page shows in `<code data-stamp="name">`; `where` names it in errors. */
function stampOf(html, name, where = 'the page') {
  const match = html.match(new RegExp(`data-stamp="${name}">([^<]+)<`))
  if (!match) throw new Error(`no stamp ${name} in ${where}:\n${html.slice(0, 2000)}`)
  return match[1]
}

/** The stamp `next build` wrote into a prerendered file (`<app>/.next/server/<file>`). */
const builtStamp = (app, file, name) =>
  stampOf(fs.readFileSync(join(app, '.next', 'server', file), 'utf8'), name, file)

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
 * Polls the store's counters, never a page (on the fetch cache every stale read starts a
 * refetch of its own), until `stats().sets` reaches `sets`; throws after `ms`.
 */
async function untilStored(stats, sets, ms = 20_000) {
  const deadline = Date.now() + ms
  for (;;) {
    const now = await stats()
    if (now.sets >= sets) return now
    if (Date.now() > deadline) {
      throw new Error(
        `the regeneration was not stored within ${ms} ms: ${now.sets} of ${sets} sets`,
      )
    }
    await sleep(50)
  }
}

/**
 * Stale-while-revalidate after `revalidateTag(tag, profile)`: the first `read()` may still be
 * `old`, served stale while the regeneration it started runs in the background. Until that
 * regeneration is stored Next serves the stale entry to every read (next/dist/server/use-cache/
 * use-cache-wrapper.js: "We want to return this stream, even if it's stale"; the fetch cache,
 * server/lib/patch-fetch.js, even refetches once per stale read), so instead of reading again
 * at once this waits for the store to count the regeneration's `writes` (past `before.sets`,
 * the `stats()` taken before the first read), then reads once more. Returns both reads,
 * `{ first, fresh }`; `fresh` is `first` when that was not `old`.
 */
async function staleAtMostOnce({ read, stats, old, before, writes = 1 }) {
  const first = await read()
  if (first !== old) return { first, fresh: first }
  await untilStored(stats, before.sets + writes)
  return { first, fresh: await read() }
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
  const stamp = async (path, name) => stampOf(await get(path), name, path)

  /** The app's tagcache counters (its /api/tagcache-stats route). */
  const stats = async () => JSON.parse(await get('/api/tagcache-stats'))

  /** After a stale response Next regenerates in the background: wait for the new value. */
  const untilChanged = (path, name, old) => waitForChange(() => stamp(path, name), old)

  return { get, stamp, stats, untilChanged }
}

module.exports = {
  client,
  sleep,
  waitForChange,
  settled,
  stampOf,
  builtStamp,
  staleAtMostOnce,
}
