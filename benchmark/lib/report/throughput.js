'use strict'
/** Throughput tables ('use cache' get/set, ISR get): ops/s and latencies, and the Redis floor. */
const { SIZES, sizeLabel } = require('../workload')
const { num, us, ratio, div, table } = require('./format')
const { C64, REF_IDS, refFor, label, tp, opsOf } = require('./results')

function throughputTable(results, scenario, list, ids, op, { floor } = {}) {
  const head = [
    'contender',
    'size',
    'sequential ops/s',
    'p50 µs',
    'p99 µs',
    '64 in flight ops/s',
    'p50 µs',
    'p99 µs',
    'tagcache ÷ this (seq)',
    '(64)',
  ]
  const rows = []
  for (const size of SIZES) {
    for (const id of ids) {
      const s = tp(results, scenario, id, size, op, 'seq')
      const c = tp(results, scenario, id, size, op, C64)
      if (!s && !c) continue
      const ref = refFor(list, id)
      const misses = (s?.failed || 0) + (c?.failed || 0)
      const missNote = misses ? ` (${misses} misses)` : ''
      rows.push([
        `${REF_IDS.has(id) ? `**${label(list, id)}**` : label(list, id)}${missNote}`,
        sizeLabel(size),
        num(s?.opsPerSec),
        us(s?.p50),
        us(s?.p99),
        num(c?.opsPerSec),
        us(c?.p50),
        us(c?.p99),
        id === ref ? '1' : ratio(div(opsOf(results, scenario, ref, size, op, 'seq'), s?.opsPerSec)),
        id === ref ? '1' : ratio(div(opsOf(results, scenario, ref, size, op, C64), c?.opsPerSec)),
      ])
    }
    if (floor) {
      const f1 = results.floor[size]?.c1?.[op]
      const f64 = results.floor[size]?.c64?.[op]
      if (f1 || f64) {
        const ref = refFor(
          list,
          ids.find((id) => list.find((c) => c.id === id)?.store === 'redis'),
        )
        rows.push([
          `redis-benchmark ${op.toUpperCase()} (floor)`,
          sizeLabel(size),
          num(f1?.opsPerSec),
          us(f1?.p50),
          us(f1?.p99),
          num(f64?.opsPerSec),
          us(f64?.p50),
          us(f64?.p99),
          ratio(div(opsOf(results, scenario, ref, size, op, 'seq'), f1?.opsPerSec)),
          ratio(div(opsOf(results, scenario, ref, size, op, C64), f64?.opsPerSec)),
        ])
      }
    }
  }
  return rows.length ? table(head, rows) : '_No results._'
}

/** Peers on Redis against the redis-benchmark floor: how much of a round trip they cost. */
function floorTable(results, scenario, list, ids) {
  const head = [
    'contender',
    ...SIZES.map((s) => `${sizeLabel(s)} ÷ redis-benchmark -c 1 GET`),
    'Redis commands per get',
    'per set',
  ]
  const rows = []
  for (const id of ids) {
    if (!results[scenario][id]) continue
    const bySize = results[scenario][id]
    const cmds = bySize[SIZES[0]]?.redisCommands
    rows.push([
      label(list, id),
      ...SIZES.map((s) =>
        ratio(
          div(opsOf(results, scenario, id, s, 'get', 'seq'), results.floor[s]?.c1?.get?.opsPerSec),
        ),
      ),
      cmds?.get ? num(cmds.get.perOp) : '—',
      cmds?.set ? num(cmds.set.perOp) : '—',
    ])
  }
  return rows.length ? table(head, rows) : '_No results._'
}

/** issue #13: tagcache's 64 gets in flight (no in-process copy) ÷ redis-benchmark -c 1 -P 16 GET. */
const PIPELINED_MIN = 0.8

/** tagcache (Redis, no in-process copy), 64 'use cache' gets in flight ÷ redis-benchmark -P 16. */
function pipelinedRatios(results, id = 'tagcache-redis-nolocal') {
  return SIZES.map((size) => {
    const t = tp(results, 'uc', id, size, 'get', C64)
    const p16 = results.floor[size]?.p16?.get
    const c64 = results.floor[size]?.c64?.get
    return {
      size,
      t,
      p16,
      c64,
      ratio: div(t?.opsPerSec, p16?.opsPerSec),
      vsC64: div(t?.opsPerSec, c64?.opsPerSec),
    }
  })
}

/** The 64-in-flight rows against redis-benchmark with 1 client pipelining 16 (and 64 clients). */
function pipelinedTable(results, list) {
  const rows = pipelinedRatios(results)
    .filter((r) => r.t || r.p16)
    .map((r) => [
      sizeLabel(r.size),
      num(r.t?.opsPerSec),
      us(r.t?.p50),
      num(r.p16?.opsPerSec),
      ratio(r.ratio),
      num(r.c64?.opsPerSec),
      ratio(r.vsC64),
    ])
  if (rows.length === 0) return '_Not measured in this run._'
  return table(
    [
      'size',
      `${label(list, 'tagcache-redis-nolocal')}, 64 gets in flight: ops/s`,
      'p50 µs',
      'redis-benchmark -c 1 -P 16 GET ops/s',
      `tagcache ÷ -P 16 (target ≥ ${PIPELINED_MIN}×)`,
      'redis-benchmark -c 64 GET ops/s',
      'tagcache ÷ -c 64',
    ],
    rows,
  )
}

module.exports = { throughputTable, floorTable, pipelinedTable, pipelinedRatios, PIPELINED_MIN }
