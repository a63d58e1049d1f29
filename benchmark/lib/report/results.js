'use strict'
/**
 * Reading a run's results: one throughput figure, the fastest peer, the tagcache contender a
 * row is compared with, labels, and what did not run.
 */
const contenders = require('../contenders')
const { table } = require('./format')

const C64 = 'c64'

/** The tagcache contender to compare a row with: same interface, same store. */
function refFor(list, id) {
  const store = list.find((c) => c.id === id)?.store
  const isIsr = list === contenders.isr
  if (store === 'redis') return isIsr ? 'tagcache-isr-redis' : 'tagcache-redis'
  return isIsr ? 'tagcache-isr' : 'tagcache'
}
const REF_IDS = new Set(['tagcache', 'tagcache-redis', 'tagcache-isr', 'tagcache-isr-redis'])

function label(list, id) {
  return list.find((c) => c.id === id)?.label || id
}

function tp(results, scenario, id, size, op, mode) {
  return results[scenario]?.[id]?.[size]?.[op]?.[mode] || null
}
function opsOf(results, scenario, id, size, op, mode) {
  return tp(results, scenario, id, size, op, mode)?.opsPerSec ?? null
}

/** The fastest peer (by ops/s) among `ids` at one size/op/mode. */
function bestOf(results, scenario, ids, size, op, mode) {
  let best = null
  for (const id of ids) {
    const v = opsOf(results, scenario, id, size, op, mode)
    if (v != null && (!best || v > best.ops)) best = { id, ops: v }
  }
  return best
}

const UC_REDIS_PEERS = ['trieb', 'trieb-nodedup', 'mrjasonroy-redis']
const ISR_REDIS_PEERS = ['forte', 'trieb-isr', 'trieb-isr-nodedup']
/** Peers configured so that every get reads Redis (no in-process copy). */
const UC_PEERS_READING_REDIS = ['trieb-nodedup', 'mrjasonroy-redis']
const ISR_PEERS_READING_REDIS = ['forte', 'trieb-isr-nodedup']

function unavailableReason(results, id) {
  return results.unavailable.find((u) => u.id === id)?.reason
}

function unavailableTable(results) {
  const seen = new Set()
  const rows = []
  for (const u of results.unavailable) {
    const k = `${u.scenario}:${u.id}`
    if (seen.has(k)) continue
    seen.add(k)
    rows.push([u.label, u.scenario, u.reason])
  }
  for (const e of results.errors)
    rows.push([e.label, `${e.scenario}${e.extra ? ` ${e.extra}` : ''}`, `failed: ${e.error}`])
  return rows.length ? table(['contender', 'scenario', 'why'], rows) : 'Every contender ran.'
}

const memIds = () =>
  contenders.useCache.filter((c) => c.store === 'memory' || c.store === 'disk').map((c) => c.id)
const redisIds = () => contenders.useCache.filter((c) => c.store === 'redis').map((c) => c.id)
const isrIds = () => contenders.isr.map((c) => c.id)

module.exports = {
  C64,
  REF_IDS,
  UC_REDIS_PEERS,
  ISR_REDIS_PEERS,
  UC_PEERS_READING_REDIS,
  ISR_PEERS_READING_REDIS,
  refFor,
  label,
  tp,
  opsOf,
  bestOf,
  unavailableReason,
  unavailableTable,
  memIds,
  redisIds,
  isrIds,
}
