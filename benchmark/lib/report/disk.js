'use strict'
/** Disk tier against Next's FileSystemCache (issue #10): ISR set, and a cold get after a restart. */
const { SIZES, sizeLabel } = require('../workload')
const { num, us, ms, ratio, kb, div, table } = require('./format')

const DISK_LABELS = {
  'tagcache-disk': 'tagcache (memory + disk)',
  'builtin-fs': 'Next built-in (FileSystemCache, flushToDisk)',
}
const DISK_REF = 'tagcache-disk'

/** ISR set into each disk store, one table per kind. */
function diskSetTable(results, kind) {
  const head = [
    'contender',
    'size',
    'entries',
    'set resolved, seq ops/s',
    'p50 µs',
    'on disk, seq ops/s',
    'wait until a 2nd engine sees it, ms',
    '64 in flight: set resolved ops/s',
    'on disk (incl. close) ops/s',
    'close() ms',
    'bytes on disk',
    'files',
    'tagcache ÷ this (on disk, seq)',
    '(set resolved, seq)',
    '(on disk, 64)',
  ]
  const rows = []
  for (const size of SIZES) {
    const by = results.disk?.[kind]?.[size] || {}
    const ref = by[DISK_REF]?.set
    for (const [id, r] of Object.entries(by)) {
      const x = r.set
      if (!x) continue
      const isRef = id === DISK_REF
      rows.push([
        isRef ? `**${DISK_LABELS[id] || id}**` : DISK_LABELS[id] || id,
        sizeLabel(size),
        `${x.written?.s ?? '—'} + ${x.written?.c ?? '—'}`,
        num(x.seq?.opsPerSec),
        us(x.seq?.p50),
        num(x.seq?.durableOpsPerSec),
        isRef ? ms(x.seq?.visibleMs) : '0 (on disk when set resolves)',
        num(x.c64?.opsPerSec),
        num(x.c64?.durableOpsPerSec),
        ms(x.closeMs),
        kb(x.bytesOnDisk),
        num(x.fileCount),
        isRef ? '1' : ratio(div(ref?.seq?.durableOpsPerSec, x.seq?.durableOpsPerSec)),
        isRef ? '1' : ratio(div(ref?.seq?.opsPerSec, x.seq?.opsPerSec)),
        isRef ? '1' : ratio(div(ref?.c64?.durableOpsPerSec, x.c64?.durableOpsPerSec)),
      ])
    }
  }
  return rows.length ? table(head, rows) : '_Not measured in this run._'
}

/** The cold get after a restart, one table per kind. */
function diskGetTable(results, kind) {
  const head = [
    'contender',
    'size',
    'page cache',
    'first get ms',
    'cold get, seq ops/s',
    'p50 µs',
    'p99 µs',
    'cold get, 64 in flight ops/s',
    'then from memory, seq ops/s',
    'resident after the drop',
    'misses',
    'tagcache ÷ this (seq)',
    '(64)',
  ]
  const rows = []
  for (const size of SIZES) {
    const by = results.disk?.[kind]?.[size] || {}
    for (const variant of ['dropped', 'pagecache']) {
      const ref = by[DISK_REF]?.get?.[variant]
      for (const [id, r] of Object.entries(by)) {
        const g = r.get?.[variant]
        if (!g) continue
        const isRef = id === DISK_REF
        const misses = (g.seq?.failed || 0) + (g.c64?.failed || 0)
        rows.push([
          isRef ? `**${DISK_LABELS[id] || id}**` : DISK_LABELS[id] || id,
          sizeLabel(size),
          variant === 'dropped' ? 'dropped' : 'kept (written just before)',
          ms(g.firstGetMs),
          num(g.seq?.opsPerSec),
          us(g.seq?.p50),
          us(g.seq?.p99),
          num(g.c64?.opsPerSec),
          num(g.again?.opsPerSec),
          variant === 'dropped'
            ? g.pageCache?.error
              ? g.pageCache.error
              : `${kb(g.pageCache?.residentBytes)} of ${kb(g.pageCache?.totalBytes)}`
            : '—',
          misses ? `**${misses}**` : '0',
          isRef ? '1' : ratio(div(ref?.seq?.opsPerSec, g.seq?.opsPerSec)),
          isRef ? '1' : ratio(div(ref?.c64?.opsPerSec, g.c64?.opsPerSec)),
        ])
      }
    }
  }
  return rows.length ? table(head, rows) : '_Not measured in this run._'
}

module.exports = { diskSetTable, diskGetTable }
