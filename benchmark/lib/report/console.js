'use strict'
/** The tables as plain text, for the console at the end of a run. */
const contenders = require('../contenders')
const soak = require('../soak')
const { plain } = require('./format')
const { unavailableTable, memIds, redisIds, isrIds } = require('./results')
const { targets } = require('./targets')
const { throughputTable, pipelinedTable } = require('./throughput')
const { revalidateTable } = require('./revalidate')
const { stalenessTable } = require('./staleness')
const { memoryTable } = require('./memory')
const { diskSetTable, diskGetTable } = require('./disk')
const { warmTable } = require('./warm')
const { commandsDetail } = require('./commands')
const { e2ePages, e2ePageTable } = require('./e2e')

function consoleTables(results) {
  const parts = []
  const t = targets(results)
  parts.push(
    'TARGETS (issues #6, #10 and #13)\n' +
      t.map((r) => `- [${r.status.replace(/\*/g, '')}] ${r.target}\n    ${r.measured}`).join('\n'),
  )
  parts.push(
    "'use cache' GET-HIT, in process\n" +
      plain(throughputTable(results, 'uc', contenders.useCache, memIds(), 'get')),
  )
  parts.push(
    "'use cache' SET, in process\n" +
      plain(throughputTable(results, 'uc', contenders.useCache, memIds(), 'set')),
  )
  parts.push(
    "'use cache' GET-HIT, Redis\n" +
      plain(
        throughputTable(results, 'uc', contenders.useCache, redisIds(), 'get', { floor: true }),
      ),
  )
  parts.push(
    "'use cache' SET, Redis\n" +
      plain(
        throughputTable(results, 'uc', contenders.useCache, redisIds(), 'set', { floor: true }),
      ),
  )
  parts.push(
    "'use cache' GET-HIT, Redis, no in-process copy, 64 in flight vs redis-benchmark -c 1 -P 16\n" +
      plain(pipelinedTable(results, contenders.useCache)),
  )
  {
    const [tbl, ...rest] = stalenessTable(results).split('\n\n')
    parts.push(
      "STALENESS WINDOW: A's write → B's tracked copy gives way (two processes, Redis)\n" +
        plain(tbl) +
        (rest.length ? '\n' + rest.join('\n') : ''),
    )
  }
  parts.push(
    'ISR APP_PAGE GET-HIT\n' +
      plain(throughputTable(results, 'isr', contenders.isr, isrIds(), 'get', { floor: true })),
  )
  parts.push('REVALIDATE ONE TAG\n' + plain(revalidateTable(results)))
  parts.push('MEMORY, 1 KiB entries\n' + plain(memoryTable(results)))
  for (const kind of Object.keys(results.disk || {})) {
    parts.push(`DISK TIER: ISR SET, ${kind}\n` + plain(diskSetTable(results, kind)))
    parts.push(
      `DISK TIER: ISR GET, COLD AFTER A RESTART, ${kind}\n` + plain(diskGetTable(results, kind)),
    )
  }
  if (results.warm?.rows)
    parts.push('WARM START: next start → first 200 of /isr\n' + plain(warmTable(results)))
  parts.push('REDIS COMMANDS PER OPERATION\n' + plain(commandsDetail(results)))
  for (const [pagePath, p] of Object.entries(e2ePages(results))) {
    if (Object.keys(p.rows).length === 0) continue
    const [tbl, ...rest] = e2ePageTable(results, pagePath).split('\n\n')
    parts.push(
      `END TO END: next start + autocannon, page ${p.label}\n` +
        plain(tbl) +
        '\n' +
        rest.join('\n').replace(/\*\*/g, ''),
    )
  }
  const soakLines = soak.consoleTable(results)
  if (soakLines) parts.push(soakLines)
  parts.push(
    'NOT AVAILABLE / FAILED\n' +
      (results.unavailable.length || results.errors.length
        ? plain(unavailableTable(results))
        : 'none'),
  )
  return parts.join('\n\n')
}

module.exports = { consoleTables }
