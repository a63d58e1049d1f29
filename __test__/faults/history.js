'use strict'
/**
 * The history of a run: every operation as a `begin` and an `end` event (times on Next's
 * clock, `performance.timeOrigin + performance.now()`, the clock the engines stamp entries
 * and tag times with, so they compare exactly), every fault as `fault` events, and marks
 * (`mark`: state lost, instance restarted, faults healed, converged).
 *
 * Events go, in the order they happen, to the listeners (the checker, online: nothing is
 * kept per operation, so memory stays flat however long the run) and, when `file` is given,
 * to a JSON-lines file that `node __test__/faults/checker.js <file>` checks again offline.
 *
 * Operation events:
 *   { e: 'begin', id, t, inst, gen, op, key?, tags?, profile?, durations?, seq? }
 *   { e: 'end', id, t, ok, code?, message?, hit?, status?, revalidated?, ts?, tags?,
 *     value?, state? }   (`value`: what the returned bytes say they are, or why they are bad;
 *                         `state`: the instance's `tagStates(tags)` right after the read)
 */
const fs = require('node:fs')

const clock = () => performance.timeOrigin + performance.now()

class History {
  /** @param {{ file?: string }} [options] */
  constructor({ file } = {}) {
    this.listeners = []
    this.nextId = 1
    this.counts = {}
    this.events = 0
    this.file = file
    this.fd = file ? fs.openSync(file, 'w') : null
    this.buffer = []
    this.bufferBytes = 0
  }

  /** Calls `fn(event)` for every event from now on. */
  listen(fn) {
    this.listeners.push(fn)
  }

  emit(event) {
    this.events++
    for (const fn of this.listeners) fn(event)
    if (this.fd !== null) {
      const line = JSON.stringify(event) + '\n'
      this.buffer.push(line)
      this.bufferBytes += line.length
      if (this.bufferBytes > 256 * 1024) this.flush()
    }
  }

  /** Starts an operation; returns its id. */
  begin(op, fields) {
    const id = this.nextId++
    this.counts[op] = (this.counts[op] || 0) + 1
    this.emit({ e: 'begin', id, t: clock(), op, ...fields })
    return id
  }

  end(id, fields) {
    this.emit({ e: 'end', id, t: clock(), ...fields })
  }

  fault(kind, phase, details = {}) {
    this.emit({ e: 'fault', t: clock(), kind, phase, ...details })
  }

  mark(what, details = {}) {
    this.emit({ e: 'mark', t: clock(), what, ...details })
  }

  flush() {
    if (this.fd === null || !this.buffer.length) return
    fs.writeSync(this.fd, this.buffer.join(''))
    this.buffer = []
    this.bufferBytes = 0
  }

  close() {
    this.flush()
    if (this.fd !== null) fs.closeSync(this.fd)
    this.fd = null
  }
}

/** Reads a history file back as events, in order. */
function* readHistory(file) {
  const text = fs.readFileSync(file, 'utf8')
  for (const line of text.split('\n')) if (line) yield JSON.parse(line)
}

module.exports = { History, readHistory, clock }
