//! Operation latencies and the Prometheus text exposition of an engine's counters
//! (`TagCache#metrics()`, served by `tagcache/next/metrics`).
//!
//! A latency is two monotonic clock reads and three relaxed atomic adds. Gets answered in
//! process are not timed (a hit is ~1 µs: the clock reads would be a measurable part of it);
//! gets that reach the disk tier or Redis, sets, tag updates and refreshes are.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Duration;

use crate::cache::Stats;

/// What was timed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
  Get,
  Set,
  TagUpdate,
  Refresh,
}

/// Where it was answered or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
  Memory,
  Disk,
  Redis,
}

const OPS: [(Op, &str); 4] = [
  (Op::Get, "get"),
  (Op::Set, "set"),
  (Op::TagUpdate, "tag_update"),
  (Op::Refresh, "refresh"),
];
const TIERS: [(Tier, &str); 3] = [
  (Tier::Memory, "memory"),
  (Tier::Disk, "disk"),
  (Tier::Redis, "redis"),
];
impl Tier {
  /// `"memory"`, `"disk"` or `"redis"`, as in `storage` and the metrics' `tier` label.
  pub fn name(self) -> &'static str {
    TIERS[self as usize].1
  }
}

/// Bucket upper bounds, seconds: from a memory hit (µs) to a Redis timeout (1 s).
const BOUNDS: [f64; 12] = [
  0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.005, 0.01, 0.1,
  1.0,
];

/// One histogram: counts per bucket (not cumulative), total count, sum in ns.
#[derive(Default)]
struct Histogram {
  buckets: [AtomicU64; BOUNDS.len()],
  count: AtomicU64,
  sum_ns: AtomicU64,
}

impl Histogram {
  fn observe(&self, elapsed: Duration) {
    let seconds = elapsed.as_secs_f64();
    if let Some(i) = BOUNDS.iter().position(|b| seconds <= *b) {
      self.buckets[i].fetch_add(1, Relaxed);
    }
    self.count.fetch_add(1, Relaxed);
    self.sum_ns.fetch_add(
      u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
      Relaxed,
    );
  }
}

/// Latency histograms by operation and tier.
#[derive(Default)]
pub struct Latencies {
  cells: [[Histogram; 3]; 4],
}

impl Latencies {
  pub fn observe(&self, op: Op, tier: Tier, elapsed: Duration) {
    self.cells[op as usize][tier as usize].observe(elapsed);
  }
}

/// The Prometheus text format (version 0.0.4) of `stats` and `latencies`. Histogram series
/// are written only for the (op, tier) pairs that happened.
pub fn render(stats: &Stats, latencies: &Latencies) -> String {
  let mut out = String::with_capacity(4096);
  let counter = |out: &mut String, name: &str, help: &str, value: u64| {
    let _ = writeln!(
      out,
      "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
    );
  };
  let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
    let _ = writeln!(
      out,
      "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
    );
  };
  let _ = writeln!(
    out,
    "# HELP tagcache_gets_total Cache reads by result: a fresh hit, a stale hit (served once, regenerated in the background) or a miss.\n# TYPE tagcache_gets_total counter"
  );
  for (result, n) in [
    ("hit", stats.hits.saturating_sub(stats.stale_hits)),
    ("stale", stats.stale_hits),
    ("miss", stats.misses),
  ] {
    let _ = writeln!(out, "tagcache_gets_total{{result=\"{result}\"}} {n}");
  }
  counter(
    &mut out,
    "tagcache_sets_total",
    "Entries stored.",
    stats.sets,
  );
  counter(
    &mut out,
    "tagcache_evictions_total",
    "Entries evicted from the in-process store to stay within maxMemoryBytes.",
    stats.evictions,
  );
  counter(
    &mut out,
    "tagcache_tag_updates_total",
    "Tags revalidated (revalidateTag, updateTag, revalidatePath, updateTags).",
    stats.tag_updates,
  );
  counter(
    &mut out,
    "tagcache_store_errors_total",
    "Redis or disk-tier operations that failed (served as misses, rejected, or kept in memory only).",
    stats.store_errors,
  );
  gauge(
    &mut out,
    "tagcache_entries",
    "Entries in the in-process store.",
    stats.entries,
  );
  gauge(
    &mut out,
    "tagcache_bytes",
    "Bytes charged against maxMemoryBytes.",
    stats.bytes,
  );
  gauge(
    &mut out,
    "tagcache_disk_entries",
    "Entries in the disk tier, every process's (0 without one).",
    stats.disk_entries,
  );
  gauge(
    &mut out,
    "tagcache_disk_bytes",
    "Bytes of the disk tier's entries, charged against maxDiskBytes.",
    stats.disk_bytes,
  );
  let name = "tagcache_operation_duration_seconds";
  let _ = writeln!(
    out,
    "# HELP {name} Time of cache operations by tier (memory: in process; disk, redis: the store's part).\n# TYPE {name} histogram"
  );
  for (op, op_name) in OPS {
    for (tier, tier_name) in TIERS {
      let h = &latencies.cells[op as usize][tier as usize];
      let count = h.count.load(Relaxed);
      if count == 0 {
        continue;
      }
      let labels = format!("op=\"{op_name}\",tier=\"{tier_name}\"");
      let mut cumulative = 0;
      for (bound, bucket) in BOUNDS.iter().zip(&h.buckets) {
        cumulative += bucket.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {cumulative}");
      }
      let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
      let sum = h.sum_ns.load(Relaxed) as f64 / 1e9;
      let _ = writeln!(out, "{name}_sum{{{labels}}} {sum}");
      let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
  }
  out
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn renders_counters_and_cumulative_buckets() {
    let stats = Stats {
      hits: 5,
      stale_hits: 2,
      misses: 1,
      sets: 3,
      ..Stats::default()
    };
    let latencies = Latencies::default();
    latencies.observe(Op::Get, Tier::Memory, Duration::from_micros(2));
    latencies.observe(Op::Get, Tier::Memory, Duration::from_micros(40));
    latencies.observe(Op::Get, Tier::Memory, Duration::from_secs(3));
    let text = render(&stats, &latencies);
    assert!(text.contains("tagcache_gets_total{result=\"hit\"} 3\n"));
    assert!(text.contains("tagcache_gets_total{result=\"stale\"} 2\n"));
    assert!(text.contains("tagcache_gets_total{result=\"miss\"} 1\n"));
    assert!(text.contains("tagcache_sets_total 3\n"));
    let series = "tagcache_operation_duration_seconds_bucket{op=\"get\",tier=\"memory\"";
    assert!(text.contains(&format!("{series},le=\"0.000005\"}} 1\n")));
    assert!(text.contains(&format!("{series},le=\"0.00005\"}} 2\n")));
    assert!(text.contains(&format!("{series},le=\"1\"}} 2\n")));
    assert!(text.contains(&format!("{series},le=\"+Inf\"}} 3\n")));
    assert!(
      text.contains("tagcache_operation_duration_seconds_count{op=\"get\",tier=\"memory\"} 3\n")
    );
    // Pairs that never happened write no series.
    assert!(!text.contains("tier=\"redis\""));
  }
}
