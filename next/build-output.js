'use strict'
/**
 * The build's own prerendered files, read as Next's FileSystemCache reads them
 * (`next/dist/server/lib/incremental-cache/file-system-cache.js`, `get`), so that a cache
 * miss for a route `next build` prerendered is answered without a render.
 *
 * `<distDir>/prerender-manifest.json` is read once per `serverDistDir`; a key whose route is
 * not in it costs a map lookup and no filesystem access. For a prerendered route the files
 * under `<serverDistDir>/app` (App Router) or `<serverDistDir>/pages` (Pages Router) are:
 *
 * | kind        | files                                                    | value                                                        |
 * | ----------- | -------------------------------------------------------- | ------------------------------------------------------------ |
 * | `APP_PAGE`  | `.html`, `.rsc`, `.meta`, `.segments/<path>.segment.rsc` | `{ kind, html, rscData, postponed, headers, status, segmentData }` |
 * | `APP_ROUTE` | `.body`, `.meta`                                         | `{ kind, body, headers, status }`                            |
 * | `PAGES`     | `.html`, `.json`, `.meta`                                | `{ kind, html, pageData, headers, status }`                  |
 *
 * The entry is `{ lastModified, value, cacheControl }`: `lastModified` is the primary file's
 * mtime in ms (the build's time) unless the `.meta` says otherwise (`routeCacheLastModified`),
 * as Next does; `cacheControl` (seconds) is the `.meta`'s, else what Next's IncrementalCache
 * derives for the route from the manifest (`SharedCacheControls#get`):
 * `{ revalidate: initialRevalidateSeconds, expire: initialExpireSeconds }` (or the dynamic
 * route's `fallbackRevalidate` / `fallbackExpire` for a fallback shell).
 *
 * Keys: Next 16.4+ scopes response keys by their owner route,
 * `/route-cache/<KIND>/<sha256 of the source route>/$<page path>`, and finds the build's
 * file under `<page path>` only when the `.meta`'s `routeCache` names exactly that key (and
 * the same `isFallback`); Next 14 / 15 keys are the page path itself (`/index` for `/`).
 *
 * Next 14 (its `get` context has `kindHint`, never `kind`) gets what its own FileSystemCache
 * returns, kinds and shapes of 14, never a 15+ value:
 *
 * | route      | value                                                                              |
 * | ---------- | ---------------------------------------------------------------------------------- |
 * | app page   | `{ kind: 'PAGE', html, pageData: <.rsc text>, postponed, headers, status }` (`.meta` optional; `.prefetch.rsc` with `experimental.ppr`) |
 * | app route  | `{ kind: 'ROUTE', body, headers, status }`                                         |
 * | pages page | `{ kind: 'PAGE', html, pageData: <.json parsed>, headers, status }` (`.meta` optional) |
 *
 * and `lastModified` is the primary file's mtime (14 has no `routeCacheLastModified`).
 */
const fsp = require('node:fs/promises')
const path = require('node:path')

const ROUTE_CACHE_PREFIX = '/route-cache/'
const SEGMENTS_DIR_SUFFIX = '.segments'
const SEGMENT_SUFFIX = '.segment.rsc'

/** Next 14's get context: `kindHint` ('app' | 'pages' | 'fetch'), no `kind`. */
const isNext14Context = (ctx) => !ctx.kind && typeof ctx.kindHint === 'string'

/** The kind of a prerendered route, from its data route, as Next's `isRouteCacheOwner`. */
function kindOfRoute(prerender) {
  const dataRoute = prerender.dataRoute
  if (dataRoute === null) return 'APP_ROUTE'
  if (typeof dataRoute !== 'string') return undefined
  if (dataRoute.endsWith('.json')) return 'PAGES'
  if (dataRoute.endsWith('.rsc')) return 'APP_PAGE'
  return undefined
}

/** Next's `denormalizePagePath`: `/index` → `/`, `/index/x` → `/x` (not for dynamic routes). */
function denormalizePagePath(page) {
  if (page.startsWith('/index/') && !/\[.+?\]/.test(page)) return page.slice(6)
  return page === '/index' ? '/' : page
}

/**
 * The file key (the page path under `app/` or `pages/`) of a cache key, or undefined for a
 * key that is not a response key Next could have prerendered.
 */
function fileKeyOf(cacheKey) {
  if (typeof cacheKey !== 'string' || !cacheKey.startsWith('/')) return undefined
  if (!cacheKey.startsWith(ROUTE_CACHE_PREFIX)) return cacheKey
  const marker = cacheKey.indexOf('/$/')
  return marker === -1 ? undefined : cacheKey.slice(marker + 2)
}

/** `ctx.kind` (Next 15+) or `ctx.kindHint` (Next 14) against the route's kind. */
function kindMatches(routeKind, ctx) {
  if (ctx.kind) return ctx.kind === routeKind
  if (ctx.kindHint === 'pages') return routeKind === 'PAGES'
  if (ctx.kindHint === 'app') return routeKind !== 'PAGES'
  return !ctx.kindHint && !ctx.fetchCache
}

/**
 * A reader of one build output.
 * @param {string} serverDistDir `<distDir>/server`, as Next passes it to the cache handler
 * @param {{ ppr?: boolean }} [experimental] the handler context's `experimental` (Next 14:
 *   with `ppr`, an app page's data is its `.prefetch.rsc`, as its FileSystemCache reads it)
 */
function createBuildOutput(serverDistDir, experimental = {}) {
  /** @type {Promise<{ routes: object, dynamicRoutes: object } | null> | undefined} */
  let manifest

  function loadManifest() {
    if (!manifest) {
      const file = path.join(serverDistDir, '..', 'prerender-manifest.json')
      manifest = fsp.readFile(file, 'utf8').then(
        (text) => {
          const parsed = JSON.parse(text)
          return { routes: parsed.routes || {}, dynamicRoutes: parsed.dynamicRoutes || {} }
        },
        (err) => {
          // No manifest (dev, a handler test): nothing was prerendered.
          if (err && err.code === 'ENOENT') return null
          throw err
        },
      )
    }
    return manifest
  }

  /**
   * What the build prerendered under `cacheKey`: `{ fileKey, kind, cacheControl }`, or null.
   * Reads only the (cached) manifest.
   */
  async function lookup(cacheKey, ctx = {}) {
    const fileKey = fileKeyOf(cacheKey)
    if (fileKey === undefined) return null
    const routes = await loadManifest()
    if (!routes) return null
    const pathname = denormalizePagePath(fileKey)
    let prerender = Object.hasOwn(routes.routes, pathname) ? routes.routes[pathname] : undefined
    let cacheControl
    if (prerender && !ctx.isFallback) {
      if (prerender.initialRevalidateSeconds !== undefined) {
        cacheControl = {
          revalidate: prerender.initialRevalidateSeconds,
          expire: prerender.initialExpireSeconds,
        }
      }
    } else {
      prerender = Object.hasOwn(routes.dynamicRoutes, pathname)
        ? routes.dynamicRoutes[pathname]
        : undefined
      // A dynamic route's build file is its fallback shell (`fallback: '/x/[id].html'`).
      if (!prerender || typeof prerender.fallback !== 'string') return null
      if (prerender.fallbackRevalidate !== undefined) {
        cacheControl = {
          revalidate: prerender.fallbackRevalidate,
          expire: prerender.fallbackExpire,
        }
      }
    }
    const kind = kindOfRoute(prerender)
    if (!kind || !kindMatches(kind, ctx)) return null
    return { fileKey, kind, cacheControl }
  }

  function filePath(kind, key) {
    const root = path.join(serverDistDir, kind === 'PAGES' ? 'pages' : 'app')
    const file = path.join(root, key)
    if (!file.startsWith(root + path.sep)) throw new Error(`Invalid file path: ${file}`)
    return file
  }

  const readJson = async (file) => JSON.parse(await fsp.readFile(file, 'utf8'))
  /** A `.meta` Next 14 may not have written (pages, app pages without headers): `{}`. */
  const readOptionalJson = (file) =>
    readJson(file).catch((err) => {
      if (err && err.code === 'ENOENT') return {}
      throw err
    })

  /** Next 14's entry for a prerendered route (see the table above). */
  async function readNext14(fileKey, kind) {
    const primary = filePath(kind, `${fileKey}${kind === 'APP_ROUTE' ? '.body' : '.html'}`)
    const metaFile = primary.replace(/\.(body|html)$/, '.meta')
    const [data, stat, meta] = await Promise.all([
      kind === 'APP_ROUTE' ? fsp.readFile(primary) : fsp.readFile(primary, 'utf8'),
      fsp.stat(primary),
      kind === 'APP_ROUTE' ? readJson(metaFile) : readOptionalJson(metaFile),
    ])
    let value
    if (kind === 'APP_ROUTE') {
      value = { kind: 'ROUTE', body: data, headers: meta.headers, status: meta.status }
    } else {
      const pageData =
        kind === 'APP_PAGE'
          ? await fsp.readFile(
              filePath(kind, `${fileKey}${experimental.ppr ? '.prefetch.rsc' : '.rsc'}`),
              'utf8',
            )
          : await readJson(filePath(kind, `${fileKey}.json`))
      value = {
        kind: 'PAGE',
        html: data,
        pageData,
        postponed: meta.postponed,
        headers: meta.headers,
        status: meta.status,
      }
    }
    return { lastModified: stat.mtime.getTime(), value }
  }

  /**
   * The build's entry for `cacheKey`, as Next's FileSystemCache returns it, with the
   * `cacheControl` Next's IncrementalCache would use; null when the build did not prerender
   * it (or its files do not belong to this key). Rejects on unreadable files.
   * @param {string} cacheKey the key Next passes to the cache handler's `get`
   * @param {{ kind?: string, kindHint?: string, isFallback?: boolean, isRoutePPREnabled?: boolean }} [ctx]
   * @returns {Promise<{ lastModified: number, value: object, cacheControl?: object } | null>}
   */
  async function read(cacheKey, ctx = {}) {
    const route = await lookup(cacheKey, ctx)
    if (!route) return null
    const { fileKey, kind } = route
    if (isNext14Context(ctx)) {
      const entry = await readNext14(fileKey, kind)
      if (route.cacheControl) entry.cacheControl = route.cacheControl
      return entry
    }
    const primary = filePath(kind, `${fileKey}${kind === 'APP_ROUTE' ? '.body' : '.html'}`)
    const metaFile = primary.replace(/\.(body|html)$/, '.meta')
    const [data, stat, meta] = await Promise.all([
      kind === 'APP_ROUTE' ? fsp.readFile(primary) : fsp.readFile(primary, 'utf8'),
      fsp.stat(primary),
      readJson(metaFile),
    ])
    // Next 16.4+: the build's file serves only the scoped key its metadata names.
    if (cacheKey.startsWith(ROUTE_CACHE_PREFIX)) {
      const owned = meta.routeCache
      const fallbackMatches =
        owned &&
        (owned.isFallback === Boolean(ctx.isFallback) ||
          (kind === 'APP_PAGE' && ctx.isRoutePPREnabled && meta.postponed != null))
      if (!owned || owned.key !== cacheKey || !fallbackMatches) return null
    }
    const lastModified = meta.routeCacheLastModified ?? stat.mtime.getTime()
    let value
    if (kind === 'APP_ROUTE') {
      value = { kind, body: data, headers: meta.headers, status: meta.status }
    } else if (kind === 'APP_PAGE') {
      let segmentData
      if (meta.segmentPaths) {
        const segmentsDir = fileKey + SEGMENTS_DIR_SUFFIX
        const segments = await Promise.all(
          meta.segmentPaths.map((segmentPath) =>
            // A segment that cannot be read is left out, as Next does (no prefetch for it).
            fsp
              .readFile(filePath(kind, segmentsDir + segmentPath + SEGMENT_SUFFIX))
              .catch(() => undefined),
          ),
        )
        segmentData = new Map()
        meta.segmentPaths.forEach((p, i) => segments[i] && segmentData.set(p, segments[i]))
      }
      let rscData
      if (!ctx.isFallback && (!ctx.isRoutePPREnabled || meta.postponed == null)) {
        rscData = await fsp.readFile(filePath(kind, `${fileKey}.rsc`))
      }
      value = {
        kind,
        html: data,
        rscData,
        postponed: meta.postponed,
        headers: meta.headers,
        status: meta.status,
        segmentData,
      }
    } else {
      const pageData = ctx.isFallback ? {} : await readJson(filePath(kind, `${fileKey}.json`))
      value = { kind, html: data, pageData, headers: meta.headers, status: meta.status }
    }
    const cacheControl = meta.cacheControl || route.cacheControl
    const entry = { lastModified, value }
    if (cacheControl) entry.cacheControl = cacheControl
    return entry
  }

  return { lookup, read }
}

module.exports = { createBuildOutput, fileKeyOf }
