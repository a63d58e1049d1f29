'use strict'
/** docs/benchmarks.svg: horizontal bars of tagcache ÷ contender on a log scale around 1. */
const { SIZES, sizeLabel } = require('../workload')
const { ratio, div } = require('./format')
const {
  C64,
  UC_REDIS_PEERS,
  ISR_REDIS_PEERS,
  UC_PEERS_READING_REDIS,
  ISR_PEERS_READING_REDIS,
  opsOf,
  bestOf,
} = require('./results')
const { e2ePages, e2eRatios, e2eMemoryMin, E2E_REDIS_MIN } = require('./e2e')
const { pipelinedRatios, PIPELINED_MIN } = require('./throughput')

function chartItems(results) {
  const items = []
  const push = (group, text, r, target) => {
    if (r != null && Number.isFinite(r)) items.push({ group, text, r, target })
  }
  for (const [op, name] of [
    ['get', 'get-hit'],
    ['set', 'set'],
  ]) {
    for (const size of SIZES) {
      for (const mode of ['seq', C64]) {
        push(
          `'use cache' ${name} vs Next built-in (ops/s)`,
          `${sizeLabel(size)} ${mode === 'seq' ? 'seq' : '×64'}`,
          div(
            opsOf(results, 'uc', 'tagcache', size, op, mode),
            opsOf(results, 'uc', 'builtin', size, op, mode),
          ),
          1,
        )
      }
    }
  }
  const m = results.memory
  for (const size of SIZES) {
    for (const mode of ['seq', C64]) {
      push(
        'ISR APP_PAGE get-hit vs Next built-in (ops/s)',
        `${sizeLabel(size)} ${mode === 'seq' ? 'seq' : '×64'}`,
        div(
          opsOf(results, 'isr', 'tagcache-isr', size, 'get', mode),
          opsOf(results, 'isr', 'builtin-isr', size, 'get', mode),
        ),
        null,
      )
    }
  }
  const memGroup = `memory, ${((m.tagcache?.entries || 0) / 1000).toFixed(0)}k × 1 KiB (built-in ÷ tagcache bytes)`
  push(memGroup, 'RSS after set', div(m.builtin?.rssBytes, m.tagcache?.rssBytes), 1.25)
  push(
    memGroup,
    'RSS after a read each',
    div(m.builtin?.afterRead.rssBytes, m.tagcache?.afterRead.rssBytes),
    1.25,
  )
  push(memGroup, 'heap+external', div(m.builtin?.jsBytes, m.tagcache?.jsBytes), null)
  for (const [scenario, id, peers, group, min] of [
    [
      'uc',
      'tagcache-redis-nolocal',
      UC_PEERS_READING_REDIS,
      "Redis 'use cache' get-hit, every get reading Redis, vs best such peer",
      5,
    ],
    [
      'uc',
      'tagcache-redis',
      UC_REDIS_PEERS,
      "Redis 'use cache' get-hit, defaults (in-process copies), vs best peer",
      5,
    ],
    [
      'isr',
      'tagcache-isr-redis-nolocal',
      ISR_PEERS_READING_REDIS,
      'Redis ISR APP_PAGE get-hit, every get reading Redis, vs best such peer',
      10,
    ],
    [
      'isr',
      'tagcache-isr-redis',
      ISR_REDIS_PEERS,
      'Redis ISR APP_PAGE get-hit, defaults (in-process copies), vs best peer',
      10,
    ],
  ]) {
    if (!results[scenario][id]) continue
    for (const size of SIZES) {
      const b = bestOf(results, scenario, peers, size, 'get', 'seq')
      push(
        group,
        `${sizeLabel(size)} seq`,
        div(opsOf(results, scenario, id, size, 'get', 'seq'), b?.ops),
        size > 1024 ? min : null,
      )
    }
  }
  for (const r of pipelinedRatios(results)) {
    push(
      "Redis 'use cache' get-hit, no in-process copy, 64 in flight vs redis-benchmark -c 1 -P 16 GET",
      `${sizeLabel(r.size)} ×64`,
      r.ratio,
      PIPELINED_MIN,
    )
  }
  for (const size of SIZES) {
    push(
      "With diskDir: 'use cache' get-hit vs Next built-in (ops/s)",
      `${sizeLabel(size)} seq`,
      div(
        opsOf(results, 'uc', 'tagcache-disk', size, 'get', 'seq'),
        opsOf(results, 'uc', 'builtin', size, 'get', 'seq'),
      ),
      1,
    )
  }
  for (const kind of Object.keys(results.disk || {})) {
    for (const size of SIZES) {
      const d = results.disk[kind]?.[size] || {}
      push(
        'Disk tier vs FileSystemCache: ISR set, until on disk (ops/s, seq)',
        `${kind} ${sizeLabel(size)}`,
        div(
          d['tagcache-disk']?.set?.seq?.durableOpsPerSec,
          d['builtin-fs']?.set?.seq?.durableOpsPerSec,
        ),
        1,
      )
    }
  }
  for (const kind of Object.keys(results.disk || {})) {
    for (const size of SIZES) {
      const d = results.disk[kind]?.[size] || {}
      push(
        'Disk tier vs FileSystemCache: ISR get, cold after a restart, page cache dropped (ops/s, seq)',
        `${kind} ${sizeLabel(size)}`,
        div(
          d['tagcache-disk']?.get?.dropped?.seq?.opsPerSec,
          d['builtin-fs']?.get?.dropped?.seq?.opsPerSec,
        ),
        1,
      )
    }
  }
  {
    const w = results.warm?.rows || {}
    for (const [phase, text] of [
      ['first', 'after next build'],
      ['restart', 'after a restart'],
    ]) {
      push(
        'Warm start: next start → first 200 of a prerendered page (built-in ÷ tagcache time)',
        text,
        div(w.builtin?.[phase]?.startToFirstMs, w.tagcache?.[phase]?.startToFirstMs),
        1,
      )
    }
  }
  for (const pagePath of Object.keys(e2ePages(results))) {
    const e = e2eRatios(results, pagePath)
    const group = `End to end: next start + autocannon, page ${pagePath} (requests/s)`
    push(group, 'vs built-in', e.memory, e2eMemoryMin(pagePath))
    push(group, 'Redis vs peer', e.redis, E2E_REDIS_MIN)
    push(group, 'Redis vs peer, copies off', e.nolocal, E2E_REDIS_MIN)
  }
  return items
}

function esc(s) {
  return String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

function svg(results) {
  const items = chartItems(results)
  const W = 760
  const left = 150
  const right = 70
  const barH = 16
  const gap = 5
  const groupGap = 30
  const top = 58
  const groups = [...new Set(items.map((i) => i.group))]
  const maxR = Math.max(4, ...items.map((i) => i.r), ...items.map((i) => i.target || 0))
  const FLOOR = 1 / 32
  const minR = Math.max(FLOOR, Math.min(0.25, ...items.map((i) => i.r)))
  const lo = Math.log2(minR)
  const hi = Math.log2(maxR)
  const x = (r) => left + ((Math.log2(r) - lo) / (hi - lo)) * (W - left - right)
  let y = top
  const body = []
  for (const g of groups) {
    body.push(`<text x="${left}" y="${y + 4}" class="g">${esc(g)}</text>`)
    y += 12
    for (const it of items.filter((i) => i.group === g)) {
      const x1 = x(1)
      const clipped = it.r < minR
      const x2 = x(Math.max(it.r, minR))
      const ok = it.target == null ? it.r >= 1 : it.r >= it.target
      const color = ok ? '#2e7d32' : '#c62828'
      body.push(`<text x="${left - 8}" y="${y + barH - 4}" class="l">${esc(it.text)}</text>`)
      body.push(
        `<rect x="${Math.min(x1, x2).toFixed(1)}" y="${y}" width="${Math.max(1, Math.abs(x2 - x1)).toFixed(1)}" height="${barH}" fill="${color}" opacity="0.85"/>`,
      )
      if (it.target != null && it.target !== 1) {
        body.push(
          `<line x1="${x(it.target).toFixed(1)}" x2="${x(it.target).toFixed(1)}" y1="${y - 2}" y2="${y + barH + 2}" stroke="#333" stroke-dasharray="3,2"/>`,
        )
      }
      const labelX = Math.max(x1, x2, it.target != null && it.target !== 1 ? x(it.target) : 0) + 4
      body.push(
        `<text x="${labelX.toFixed(1)}" y="${y + barH - 4}" class="v">${esc(ratio(it.r))}${clipped ? ' (bar clipped)' : ''}</text>`,
      )
      y += barH + gap
    }
    y += groupGap - gap
  }
  const H = Math.max(y + 30, 140)
  const ticks = []
  for (let e = Math.ceil(lo); e <= Math.floor(hi); e++) {
    const r = 2 ** e
    const tx = x(r)
    ticks.push(
      `<line x1="${tx.toFixed(1)}" x2="${tx.toFixed(1)}" y1="${top - 8}" y2="${H - 30}" stroke="${e === 0 ? '#000' : '#ddd'}" stroke-width="${e === 0 ? 1.2 : 1}"/>`,
    )
    ticks.push(
      `<text x="${tx.toFixed(1)}" y="${H - 16}" class="t">${r >= 1 ? r : `1/${1 / r}`}×</text>`,
    )
  }
  const m = results.meta
  const empty =
    items.length === 0
      ? `<text x="${W / 2}" y="${top + 30}" class="t">no ratios in this run</text>`
      : ''
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.h{font-size:15px;font-weight:600}.s{font-size:11px;fill:#555}.g{font-size:12px;font-weight:600;paint-order:stroke;stroke:#fff;stroke-width:4px}
.l{font-size:11px;text-anchor:end}.v{font-size:11px}.t{font-size:10px;text-anchor:middle;fill:#555}
</style>
<rect width="100%" height="100%" fill="#fff"/>
<text x="12" y="22" class="h">tagcache ÷ contender, same run (higher is better; log scale)</text>
<text x="12" y="40" class="s">${esc(`${m.date.slice(0, 10)} · ${m.mode} run · Node ${m.node} · Next ${m.next} · ${m.cpus}`)} · green: target met, red: missed, dashed: target</text>
${ticks.join('\n')}
${body.join('\n')}
${empty}
</svg>
`
}

module.exports = { svg }
