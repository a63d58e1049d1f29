'use strict'
/**
 * Turns a run's results into tables (console and docs/benchmarks.md), the targets of issues
 * #6 and #10 with their status, and the SVG chart of ratios (docs/benchmarks.svg).
 *
 * meta.js       results.meta: machine, versions, the build measured
 * format.js     numbers, Markdown tables and their plain-text form
 * results.js    reading the results: figures, peers, reference contenders, what did not run
 * throughput.js, commands.js, revalidate.js, memory.js, disk.js, warm.js, e2e.js
 *               one scenario's tables each
 * targets.js    the issues' targets and their status
 * markdown.js, console.js, svg.js
 *               the outputs
 *
 * The soak's section and chart are benchmark/lib/soak.js's.
 */
const { collectMeta } = require('./meta')
const { markdown } = require('./markdown')
const { consoleTables } = require('./console')
const { svg } = require('./svg')
const { targets } = require('./targets')

module.exports = { collectMeta, markdown, consoleTables, svg, targets }
