'use strict'
/** Numbers as the tables show them, and Markdown tables (and their plain-text console form). */

function num(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  if (Math.abs(n) >= 100) return Math.round(n).toLocaleString('en-US')
  if (Math.abs(n) >= 10) return n.toFixed(1)
  return n.toFixed(2)
}
function us(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1)
}
function ms(n) {
  if (n == null || !Number.isFinite(n)) return '—'
  if (n >= 100) return Math.round(n).toLocaleString('en-US')
  if (n >= 1) return n.toFixed(2)
  return n.toFixed(3)
}
function ratio(r) {
  if (r == null || !Number.isFinite(r)) return '—'
  if (r < 0.1) return `${r.toPrecision(2)}×`
  return r >= 100 ? `${Math.round(r)}×` : r >= 10 ? `${r.toFixed(1)}×` : `${r.toFixed(2)}×`
}
function mib(b) {
  return b == null || !Number.isFinite(b) ? '—' : (b / 1048576).toFixed(1)
}
function div(a, b) {
  return a != null && b != null && Number.isFinite(a) && Number.isFinite(b) && b !== 0
    ? a / b
    : null
}

function table(head, rows) {
  const out = [
    `| ${head.join(' | ')} |`,
    `| ${head.map((h, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ]
  for (const r of rows) out.push(`| ${r.join(' | ')} |`)
  return out.join('\n')
}

/** A Markdown table as aligned plain text for the console. */
function plain(md) {
  const rows = md
    .split('\n')
    .filter((l) => l.startsWith('|') && !/^\|\s*-/.test(l))
    .map((l) =>
      l
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim().replace(/\*\*/g, '')),
    )
  if (rows.length === 0) return md.replace(/_/g, '')
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] || '').length)))
  return rows
    .map((r, k) => {
      const line = r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
        .join('  ')
      return k === 0 ? `${line}\n${'-'.repeat(line.length)}` : line
    })
    .join('\n')
}

function kb(b) {
  if (b == null || !Number.isFinite(b)) return '—'
  return b >= 1048576 ? `${(b / 1048576).toFixed(1)} MiB` : `${Math.round(b / 1024)} KiB`
}

module.exports = { num, us, ms, ratio, mib, kb, div, table, plain }
