'use strict'
/**
 * Checks a history (see history.js) as it happens, in constant memory per operation:
 *
 * - **fresh-after-revalidate** (the invariant): once a tag write on `t` (`revalidateTag`
 *   with or without a profile, `updateTags` with or without durations) has resolved on any
 *   instance, and a `refreshTags()` that *began after that* has resolved on instance X, no
 *   `get` that *began after that* on X returns a `'fresh'` entry tagged `t` whose
 *   `timestamp` is before the write began. (Next's semantics: a write without a profile
 *   expires such entries, one with a profile makes them stale; any later write of `t` only
 *   sets `stale` or `expired` to its own, later, time, so none can make them fresh again.)
 *   Times: the write's `begin` time is read before the call, on the clock the engine stamps
 *   tag times with, so `timestamp < begin` means "written before the revalidation".
 *   "On X" means the same engine (`gen`): a restarted instance counts its own refreshes.
 * - **bad-value**: a hit whose bytes, tags or timestamp are not what some `set` of that key
 *   wrote (the value carries its key, tags, timestamp and a pattern).
 * - **uncoded-rejection**: a rejection without an `ERR_` code; **unexpected-rejection**: a
 *   `get` that rejects (a failed read is a miss) or a code other than `ERR_STORE` /
 *   `ERR_CLOSED`.
 * - **slow-op**: an operation that took longer than `slowMs` (every command has a timeout).
 * - **read-failed-at-maxmemory**: a `refreshTags` (a read) that failed while Redis answered
 *   but was at `maxmemory` (noeviction: only writes may fail), away from any other fault.
 * - from the driver: **no-convergence**, **rss**, **unhandled-rejection**, **crash**.
 *
 * Every violation carries a `diagnosis`: what in the history explains it (`lost`: the tag
 * state vanished from Redis after the write; `backwards`: an earlier write of the tag may
 * have landed after it; `rejected-kept-locally`; or `unexplained`).
 *
 * `node __test__/faults/checker.js <history.jsonl>` checks a saved history again.
 */

const TAG_WRITES = new Set(['revalidateTag', 'updateTags'])
const DETAIL_PER_KIND = 5

class Checker {
  /**
   * @param {{ slowMs?: number, settleMs?: number }} [options] `settleMs`: how long after
   *   another fault healed a failure still counts as that fault's (back-off, reconnect).
   */
  constructor({ slowMs = 3000, settleMs = 2500 } = {}) {
    this.slowMs = slowMs
    this.settleMs = settleMs
    this.open = new Map()
    /** tag → the resolved write with the latest begin. */
    this.latest = new Map()
    /**
     * `inst:gen` → (tag → { write, by }): what completed refreshes guarantee the engine
     * knows (`by`: the first few refreshes that guaranteed it).
     */
    this.known = new Map()
    /** `inst:gen` → recent failed refreshes. */
    this.failedRefreshes = new Map()
    /** `inst:gen:key` → that engine's recent sets of key: `{ ts, ok }`. */
    this.sets = new Map()
    /** tag → recent writes (resolved or not), for diagnoses. */
    this.recent = new Map()
    /** `inst:gen` → recent rejected tag writes. */
    this.rejected = new Map()
    this.losses = []
    this.violations = { counts: {}, details: {}, byDiagnosis: {} }
    this.ops = {}
    this.latency = {}
    this.errors = {}
    this.faults = {}
    this.faultTime = {}
    this.active = new Map()
    this.lastHeal = -Infinity
    this.reads = { quiet: { hit: 0, miss: 0 }, fault: {} }
    this.integrity = { checked: 0 }
    this.freshChecked = 0
    /** Every violation of the invariant (bounded), for `refine`. */
    this.fresh = []
  }

  violation(kind, diagnosis, detail) {
    const v = this.violations
    v.counts[kind] = (v.counts[kind] || 0) + 1
    const d = `${kind}/${diagnosis}`
    v.byDiagnosis[d] = (v.byDiagnosis[d] || 0) + 1
    const record = { kind, diagnosis, ...detail }
    const list = (v.details[kind] = v.details[kind] || [])
    if (list.length < DETAIL_PER_KIND) list.push(record)
    if (kind === 'fresh-after-revalidate' && this.fresh.length < 10_000) this.fresh.push(record)
    return record
  }

  /**
   * Diagnoses again the invariant's violations with what was learnt after the fact
   * (`classify(record)` → a diagnosis, or undefined to keep it), e.g. the tag log as
   * Redis held it.
   */
  refine(classify) {
    const v = this.violations
    for (const record of this.fresh) {
      const diagnosis = classify(record)
      if (!diagnosis || diagnosis === record.diagnosis) continue
      const before = `${record.kind}/${record.diagnosis}`
      if (!--v.byDiagnosis[before]) delete v.byDiagnosis[before]
      record.diagnosis = diagnosis
      const after = `${record.kind}/${diagnosis}`
      v.byDiagnosis[after] = (v.byDiagnosis[after] || 0) + 1
    }
  }

  get total() {
    return Object.values(this.violations.counts).reduce((a, b) => a + b, 0)
  }

  /** Feeds one event. */
  on(event) {
    switch (event.e) {
      case 'begin':
        return this.begin(event)
      case 'end':
        return this.end(event)
      case 'fault':
        return this.fault(event)
      case 'mark':
        return this.mark(event)
    }
  }

  begin(ev) {
    const rec = { ...ev }
    const who = `${ev.inst}:${ev.gen}`
    if (ev.op === 'refreshTags') rec.snapshot = new Map(this.latest)
    if (ev.op === 'get') rec.knew = new Map(this.known.get(who) || [])
    if (TAG_WRITES.has(ev.op)) {
      for (const tag of ev.tags) {
        const list = this.recent.get(tag) || []
        list.push(rec)
        if (list.length > 64) list.shift()
        this.recent.set(tag, list)
      }
    }
    rec.faultsAtBegin = [...this.active.keys()]
    this.open.set(ev.id, rec)
  }

  end(ev) {
    const rec = this.open.get(ev.id)
    if (!rec) return
    this.open.delete(ev.id)
    rec.end = ev.t
    rec.ok = ev.ok
    if (!ev.ok) {
      rec.message = ev.message
      rec.code = ev.code
    }
    const op = rec.op
    const who = `${rec.inst}:${rec.gen}`
    const outcome = ev.ok ? (op === 'get' ? (ev.hit ? ev.status : 'miss') : 'ok') : ev.code || '?'
    const counts = (this.ops[op] = this.ops[op] || {})
    counts[outcome] = (counts[outcome] || 0) + 1
    const ms = ev.t - rec.t
    const lat = (this.latency[op] = this.latency[op] || { max: 0, over: 0 })
    lat.max = Math.max(lat.max, ms)
    if (ms > this.slowMs) {
      lat.over++
      this.violation('slow-op', this.active.size ? 'during-fault' : 'unexplained', {
        op: this.describe(rec),
        ms: Math.round(ms),
        faults: rec.faultsAtBegin,
      })
    }

    if (!ev.ok) {
      if (op === 'set') this.noteSet(who, rec, false)
      const kind = `${op} ${ev.code || 'no code'}: ${normalize(ev.message)}`
      this.errors[kind] = (this.errors[kind] || 0) + 1
      if (!ev.code || !String(ev.code).startsWith('ERR_')) {
        this.violation('uncoded-rejection', 'unexplained', {
          op: this.describe(rec),
          message: ev.message,
        })
      } else if (ev.code === 'ERR_CLOSED' && rec.closing) {
        // The instance was being restarted under it.
      } else if (op === 'get' || (ev.code !== 'ERR_STORE' && ev.code !== 'ERR_CLOSED')) {
        this.violation('unexpected-rejection', 'unexplained', {
          op: this.describe(rec),
          code: ev.code,
          message: ev.message,
        })
      }
      if (TAG_WRITES.has(op)) {
        const list = this.rejected.get(who) || []
        list.push(rec)
        if (list.length > 256) list.shift()
        this.rejected.set(who, list)
      }
      if (op === 'refreshTags') {
        this.checkMaxmemory(rec, ev)
        const list = this.failedRefreshes.get(who) || []
        list.push({ t: rec.t, end: rec.end })
        if (list.length > 64) list.shift()
        this.failedRefreshes.set(who, list)
        rec.snapshot = null
      }
      return
    }

    if (op === 'set') this.noteSet(who, rec, true)
    if (TAG_WRITES.has(op)) {
      for (const tag of rec.tags) {
        const prev = this.latest.get(tag)
        if (!prev || prev.t < rec.t) this.latest.set(tag, rec)
      }
    } else if (op === 'refreshTags') {
      const known = this.known.get(who) || new Map()
      for (const [tag, write] of rec.snapshot) {
        const prev = known.get(tag)
        if (!prev || prev.write.t < write.t) known.set(tag, { write, by: [rec] })
        else if (prev.write === write && prev.by.length < 4) prev.by.push(rec)
      }
      this.known.set(who, known)
      rec.snapshot = null
    } else if (op === 'get') {
      this.countRead(ev)
      if (ev.hit) this.checkHit(rec, ev)
    }
  }

  countRead(ev) {
    const bucket = this.active.size
      ? (this.reads.fault[[...this.active.keys()].join('+')] ||= { hit: 0, miss: 0 })
      : this.reads.quiet
    if (ev.hit) bucket.hit++
    else bucket.miss++
  }

  checkHit(rec, ev) {
    this.integrity.checked++
    if (ev.value !== 'ok') {
      this.violation('bad-value', 'unexplained', { op: this.describe(rec), why: ev.value })
      return
    }
    if (ev.status !== 'fresh') return
    this.freshChecked++
    for (const tag of ev.tags) {
      const known = rec.knew.get(tag)
      const write = known && known.write
      if (!write || !(write.t > ev.ts)) continue
      const state = ev.state && ev.state.find((s) => s.tag === tag)
      this.violation('fresh-after-revalidate', this.diagnose(rec, known, tag, state, ev), {
        tag,
        get: this.describe(rec),
        ended: ev.t,
        entry: { timestamp: ev.ts, tags: ev.tags, writtenBy: ev.writer, tier: ev.tier },
        revalidation: this.describe(write),
        refreshes: known.by.map((r) => this.describe(r)),
        writtenBeforeItBy: Math.round((write.t - ev.ts) * 1000) / 1000,
        stateAtRead: state || null,
      })
      return
    }
  }

  /** What explains a fresh read of an entry that `known.write` should have made not fresh. */
  diagnose(rec, known, tag, state, ev) {
    const write = known.write
    // Each refresh that vouched for the write resolved while another refresh of the same
    // engine failed: it may have been "completed" by that failed pull, without pulling.
    const failed = this.failedRefreshes.get(`${rec.inst}:${rec.gen}`) || []
    const unpulled = known.by.every((f) => failed.some((b) => b.end > f.t && b.end <= f.end))
    if (unpulled) return 'refresh-resolved-without-pull'
    const lost = this.losses.some((t) => t > write.end && t < rec.end)
    const held = state && (state.stale !== undefined || state.expired !== undefined)
    const tier = ev.tier === 'memory' ? '-in-tier' : ''
    if (!held) return lost ? `lost${tier}` : 'unexplained'
    const notFresh =
      (state.stale !== undefined && state.stale > ev.ts) ||
      (state.expired !== undefined && state.expired <= ev.t && state.expired > ev.ts)
    if (notFresh) return 'state-changed-during-read'
    // An earlier write of the same tag that was still in flight when this one began, or
    // that failed in a way that may still have reached Redis (a timeout, a broken
    // connection: not a fail-fast or an answer from Redis), can have been applied after it.
    const overlapping = (this.recent.get(tag) || []).some(
      (w) =>
        w !== write &&
        w.t < write.t &&
        (w.end === undefined || w.end > write.t || (!w.ok && mayHaveLanded(w))),
    )
    if (overlapping) return 'backwards'
    return lost ? `lost${tier}` : 'unexplained'
  }

  checkMaxmemory(rec, ev) {
    const oom = this.active.get('maxmemory')
    if (!oom || this.active.size > 1) return
    if (rec.t < oom.t || rec.t - this.lastHeal < this.settleMs) return
    this.violation('read-failed-at-maxmemory', 'unexplained', {
      op: this.describe(rec),
      message: ev.message,
      msIntoFault: Math.round(rec.t - oom.t),
    })
  }

  fault(ev) {
    if (ev.phase === 'start') {
      this.active.set(ev.kind, ev)
      const name = ev.variant ? `${ev.kind}(${ev.variant})` : ev.kind
      this.faults[name] = (this.faults[name] || 0) + 1
    } else {
      const start = this.active.get(ev.kind)
      this.active.delete(ev.kind)
      if (start) this.faultTime[ev.kind] = (this.faultTime[ev.kind] || 0) + (ev.t - start.t)
      if (ev.kind !== 'maxmemory') this.lastHeal = ev.t
      else this.lastHeal = Math.max(this.lastHeal, ev.t)
    }
  }

  mark(ev) {
    if (ev.what === 'lost') this.losses.push(ev.t)
    if (ev.what === 'closing') {
      for (const rec of this.open.values()) {
        if (rec.inst === ev.inst && rec.gen === ev.gen) rec.closing = true
      }
    }
  }

  /**
   * Why instance `inst` (engine `gen`) holds `value` for `tag`'s `field` when the others do
   * not: one of its own tag writes that Redis rejected, a loss of the tag state, or nothing.
   */
  explainTagValue(inst, gen, tag, value) {
    if (value === undefined) return this.losses.length ? 'lost' : 'unexplained'
    const own = this.rejected.get(`${inst}:${gen}`) || []
    const rejected = own.some((w) => w.tags.includes(tag) && w.t <= value && value <= w.end + 1)
    if (rejected) return 'rejected-kept-locally'
    return this.losses.length ? 'lost' : 'unexplained'
  }

  noteSet(who, rec, ok) {
    const k = `${who}:${rec.key}`
    const list = this.sets.get(k) || []
    list.push({ ts: rec.ts, ok })
    if (list.length > 16) list.shift()
    this.sets.set(k, list)
  }

  /**
   * Whether engine `inst:gen` itself set `key` with timestamp `ts`: `'rejected'` (Redis
   * never got it), `'accepted'` (an older version overtook it in Redis), or undefined.
   */
  ownSet(inst, gen, key, ts) {
    const found = (this.sets.get(`${inst}:${gen}:${key}`) || []).find((s) => s.ts === ts)
    return found && (found.ok ? 'accepted' : 'rejected')
  }

  describe(rec) {
    const out = { id: rec.id, op: rec.op, inst: rec.inst, gen: rec.gen }
    for (const k of ['key', 'tags', 'profile', 'durations'])
      if (rec[k] !== undefined) out[k] = rec[k]
    out.begin = rec.t
    if (rec.end !== undefined) out.ms = Math.round((rec.end - rec.t) * 10) / 10
    if (rec.ok !== undefined) out.ok = rec.ok
    return out
  }

  summary() {
    return {
      ops: this.ops,
      latencyMaxMs: Object.fromEntries(
        Object.entries(this.latency).map(([k, v]) => [k, Math.round(v.max)]),
      ),
      errors: this.errors,
      faults: this.faults,
      faultSeconds: Object.fromEntries(
        Object.entries(this.faultTime).map(([k, v]) => [k, Math.round(v / 100) / 10]),
      ),
      reads: this.reads,
      hitsChecked: this.integrity.checked,
      freshHitsChecked: this.freshChecked,
      violations: this.violations,
      examples: this.examples(),
    }
  }

  /** The first few violations of each kind and diagnosis. */
  examples(per = 3) {
    const out = {}
    const add = (r) => {
      const list = (out[`${r.kind}/${r.diagnosis}`] ||= [])
      if (list.length < per) list.push(r)
    }
    for (const r of this.fresh) add(r)
    for (const [kind, list] of Object.entries(this.violations.details)) {
      if (kind !== 'fresh-after-revalidate') list.forEach(add)
    }
    return out
  }
}

/**
 * Whether a failed write may still have been executed by Redis (sent, answer lost): not a
 * fail-fast during the back-off, not an error answer from Redis, not a closed engine.
 */
function mayHaveLanded(rec) {
  if (rec.code === 'ERR_CLOSED') return false
  return !/ is unreachable|answered:/.test(String(rec.message || ''))
}

/** An error message without its variable parts, to count kinds of errors. */
function normalize(message = '') {
  return String(message)
    .replace(/127\.0\.0\.1:\d+/g, 'HOST')
    .replace(/\d+ ms/g, 'N ms')
    .replace(/"[^"]*"/g, '"…"')
    .slice(0, 140)
}

module.exports = { Checker, TAG_WRITES }

if (require.main === module) {
  const { readHistory } = require('./history')
  const file = process.argv[2]
  if (!file) {
    console.error('usage: node __test__/faults/checker.js <history.jsonl>')
    process.exit(2)
  }
  const checker = new Checker()
  for (const event of readHistory(file)) checker.on(event)
  console.log(JSON.stringify(checker.summary(), null, 2))
  process.exit(checker.total ? 1 : 0)
}
