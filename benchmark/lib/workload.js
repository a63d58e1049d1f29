'use strict'
/**
 * What the contenders are fed: keys, entries and values shaped like the ones Next.js hands a
 * cache handler, and the calls made exactly as Next makes them.
 */
const crypto = require('node:crypto')

const KiB = 1024
const SIZES = [1 * KiB, 16 * KiB, 256 * KiB]
/** Stream chunk size of the 'use cache' entries given to `set`. */
const CHUNK = 4 * KiB
/** Next's `INFINITE_CACHE`. */
const INFINITE_CACHE = 4294967294
/** `revalidateTag(tag, 'max')` as Next 16 passes it to handlers. */
const MAX_DURATIONS = { expire: 31536000 }

function sizeLabel(size) {
  return size >= KiB ? `${size / KiB} KiB` : `${size} B`
}

/**
 * Distinct keys cycled through by the load: 1000, fewer for large values so that every
 * contender holds the whole set (Next's built-in is bounded at 50 MiB): 128 at 256 KiB.
 */
function keyCount(size) {
  return Math.min(1000, Math.floor((32 * 1024 * 1024) / size))
}

const FN_ID = crypto.createHash('sha1').update('bench').digest('hex')
/** A 'use cache' key shaped like Next's (an encoded [id, args] reply). */
function useCacheKey(i) {
  return `["bench-build","${FN_ID}",[{"page":${i}}],[]]`
}
const ROUTE_HASH = crypto.createHash('sha256').update('/bench/[id]').digest('hex')
/** An ISR key as Next 16.4 scopes them. */
function isrKey(i) {
  return `/route-cache/APP_PAGE/${ROUTE_HASH}/$/bench/${i}`
}

/** The implicit tags Next passes as soft tags for a page /bench/[id]. */
const SOFT_TAGS = ['_N_T_/layout', '_N_T_/bench/layout', '_N_T_/bench/[id]/layout', '_N_T_/bench/1']

function entryTags(i) {
  return ['bench', `t${i % 1000}`]
}

function now() {
  return performance.timeOrigin + performance.now()
}

/**
 * A 'use cache' pending entry as Next passes it to `set`: a Promise of the entry, whose
 * value is a fresh ReadableStream over `src` in CHUNK-sized pieces.
 */
function pendingEntry(src, tags, timestamp = now()) {
  let offset = 0
  const value = new ReadableStream({
    pull(controller) {
      if (offset >= src.length) {
        controller.close()
        return
      }
      // Up to 16 chunks per pull keeps the stream cheap without queuing it all up front.
      for (let k = 0; k < 16 && offset < src.length; k++) {
        controller.enqueue(src.subarray(offset, offset + CHUNK))
        offset += CHUNK
      }
    },
  })
  return Promise.resolve({ value, tags, stale: 300, timestamp, expire: 86400, revalidate: 900 })
}

/** Reads a 'use cache' entry's stream to its end; the byte count. */
async function readToEnd(stream) {
  const reader = stream.getReader()
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) return total
    total += value.byteLength
  }
}

/**
 * An ISR APP_PAGE value of about `size` bytes: html (half), rscData (a quarter) and two
 * segments (an eighth each), tags in the header as Next writes them.
 */
function appPageValue(size, i) {
  const html = Buffer.alloc(size >> 1, `<div>page ${i}</div>`).toString('latin1')
  const rsc = crypto.randomBytes(size >> 2)
  const seg = size >> 3
  return {
    kind: 'APP_PAGE',
    html,
    rscData: rsc,
    headers: {
      'x-next-cache-tags': [
        '_N_T_/layout',
        '_N_T_/bench/layout',
        '_N_T_/bench/[id]/page',
        ...entryTags(i),
      ].join(','),
    },
    postponed: undefined,
    status: 200,
    segmentData: new Map([
      ['/_tree', crypto.randomBytes(seg)],
      ['/_full', crypto.randomBytes(seg)],
    ]),
  }
}

const ISR_SET_CTX = {
  fetchCache: false,
  cacheControl: { revalidate: 900, expire: 86400 },
  isRoutePPREnabled: false,
  isFallback: false,
}
const ISR_GET_CTX = { kind: 'APP_PAGE', isRoutePPREnabled: false, isFallback: false }

module.exports = {
  KiB,
  SIZES,
  CHUNK,
  INFINITE_CACHE,
  MAX_DURATIONS,
  SOFT_TAGS,
  ISR_SET_CTX,
  ISR_GET_CTX,
  sizeLabel,
  keyCount,
  useCacheKey,
  isrKey,
  entryTags,
  pendingEntry,
  readToEnd,
  appPageValue,
}
