import http from 'node:http'

/**
 * Tells the upstream that `name` was rendered (GET /render/<name>). It goes through
 * `node:http`, outside Next's fetch cache, so every render shows in the upstream's counter,
 * whether the page's cached fetch is warm or not, and it does not make the page dynamic.
 */
export function countRender(name) {
  const upstream = process.env.UPSTREAM_URL
  if (!upstream) return Promise.resolve()
  return new Promise((resolve, reject) => {
    http
      .get(`${upstream}/render/${encodeURIComponent(name)}`, (res) => {
        res.resume()
        res.on('end', resolve)
      })
      .on('error', reject)
  })
}

/** The upstream's value for `name` (GET /data/<name>), a cached fetch with `tags`. */
export async function readTagged(name, tags) {
  const upstream = process.env.UPSTREAM_URL
  if (!upstream) return 'set UPSTREAM_URL to a server that answers GET /data/<name>'
  const res = await fetch(`${upstream}/data/${encodeURIComponent(name)}`, {
    cache: 'force-cache',
    next: { tags },
  })
  return (await res.json()).value
}

/** What the page was built with: `NEXT_PUBLIC_BUILD_LABEL` is inlined by `next build`. */
export const buildLabel = process.env.NEXT_PUBLIC_BUILD_LABEL || 'unlabelled'

export const renderStamp = () =>
  `${new Date().toISOString()}|${Math.random().toString(36).slice(2, 10)}`
