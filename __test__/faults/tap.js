'use strict'
/**
 * A tap on the engines' tag log in Redis (`{P}:tags:log`, one stream entry per tag write,
 * fields `s:<tag>` / `x:<tag>` = ms): polled straight from Redis (admin.js), so the checker
 * can tell what order the writes reached Redis in. An entry's *apply time* is its smallest
 * value (a write sets `stale` to its engine's now, or `expired` to now, or `expired` to a
 * later time beside `stale = now`). An entry whose apply time is below that of an earlier
 * entry for the same tag is a write that reached Redis after a write that began later: with
 * last-wins application (HSET, and engines applying the log in order) the tag goes back.
 */
const admin = require('./admin')

class LogTap {
  constructor(port, key) {
    this.port = port
    this.key = key
    this.last = '0-0'
    this.entries = []
    this.running = false
    this.errors = 0
    /** Entries kept (the newest): enough to explain what a run's reads saw. */
    this.keep = 50_000
  }

  /** Reads what was appended since the last poll. */
  async poll() {
    for (;;) {
      const batch = await admin.command(
        this.port,
        ['XRANGE', this.key, `(${this.last}`, '+', 'COUNT', '2000'],
        { timeoutMs: 1000 },
      )
      for (const [id, flat] of batch) {
        const fields = {}
        for (let i = 0; i < flat.length; i += 2) fields[flat[i]] = Number(flat[i + 1])
        const values = Object.values(fields)
        this.entries.push({ id, fields, at: Math.min(...values) })
        if (this.entries.length > this.keep) this.entries.splice(0, this.entries.length - this.keep)
        this.last = id
      }
      if (batch.length < 2000) return
    }
  }

  /** Polls every `ms` until `stop`, skipping while `paused()` (a frozen or dead server). */
  start(ms, paused) {
    this.running = true
    this.loop = (async () => {
      while (this.running) {
        if (!paused()) await this.poll().catch(() => this.errors++)
        await new Promise((r) => setTimeout(r, ms))
      }
    })()
  }

  async stop() {
    this.running = false
    await this.loop
    await this.poll().catch(() => this.errors++)
  }

  /** `{ entries, late, maxLateMs }`: entries that reached Redis after a later write of a tag. */
  inversions() {
    const newest = new Map()
    let late = 0
    let maxLateMs = 0
    for (const entry of this.entries) {
      let behind = 0
      for (const tag of tagsOf(entry)) {
        const n = newest.get(tag)
        if (n !== undefined && entry.at < n) behind = Math.max(behind, n - entry.at)
        newest.set(tag, Math.max(n ?? -Infinity, entry.at))
      }
      if (behind > 0) {
        late++
        maxLateMs = Math.max(maxLateMs, behind)
      }
    }
    return { entries: this.entries.length, late, maxLateMs: Math.round(maxLateMs) }
  }

  /**
   * Whether the log shows why an instance held `state` (`{ stale?, expired? }`) for `tag`
   * after a write that began at `began`: the entry that set those values came after one
   * for `tag` applied at or after `began`. The two entries, or undefined.
   */
  lateWrite(tag, state, began) {
    if (!state) return undefined
    for (let j = this.entries.length - 1; j >= 0; j--) {
      const e = this.entries[j]
      const matches =
        (state.stale !== undefined && e.fields[`s:${tag}`] === state.stale) ||
        (state.expired !== undefined && e.fields[`x:${tag}`] === state.expired)
      if (!matches) continue
      for (let i = j - 1; i >= 0; i--) {
        const earlier = this.entries[i]
        if (tagsOf(earlier).includes(tag) && earlier.at >= began) {
          return { newer: earlier, late: e }
        }
      }
      return undefined
    }
    return undefined
  }
}

function tagsOf(entry) {
  return [...new Set(Object.keys(entry.fields).map((f) => f.slice(2)))]
}

module.exports = { LogTap }
