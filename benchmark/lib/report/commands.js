'use strict'
/** Redis commands per operation (get, set, revalidateTag), by command. */
const contenders = require('../contenders')
const { SIZES } = require('../workload')
const { num, table } = require('./format')
const { label } = require('./results')

function commandsDetail(results) {
  const lines = []
  for (const [scenario, list] of [
    ['uc', contenders.useCache],
    ['isr', contenders.isr],
  ]) {
    for (const [id, bySize] of Object.entries(results[scenario])) {
      const cmds = bySize[SIZES[0]]?.redisCommands
      if (!cmds) continue
      for (const op of ['get', 'set']) {
        const c = cmds[op]
        if (!c) continue
        const by = Object.entries(c.byCommand)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k.toUpperCase()} ${num(v / results.meta.settings.probeOps)}`)
          .join(', ')
        lines.push([
          `${label(list, id)}${scenario === 'isr' ? ' (ISR)' : ''}`,
          op,
          num(c.perOp),
          by || 'none',
        ])
      }
    }
  }
  for (const [api, list] of [
    ['uc', contenders.useCache],
    ['isr', contenders.isr],
  ]) {
    for (const [id, byN] of Object.entries(results.revalidate[api])) {
      const big = byN[100000] || byN[10000]
      const c = big?.redisCommands
      if (!c) continue
      const by = Object.entries(c.byCommand)
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k.toUpperCase()} ${num(v / 3)}`)
        .join(', ')
      lines.push([
        `${label(list, id)}${api === 'isr' ? ' (ISR)' : ''}`,
        `revalidateTag (${byN[100000] ? '100k' : '10k'} entries)`,
        num(c.perOp),
        by || 'none',
      ])
    }
  }
  return lines.length
    ? table(['contender', 'operation', 'commands per op', 'by command'], lines)
    : '_No Redis contenders ran._'
}

module.exports = { commandsDetail }
