//! The subscription to `{P}:tags:changed`: a tag write publishes there, and while the
//! subscription is known to be live and nothing arrived, `tags_changed` lets the engine skip
//! a pull (at most for `PULL_EVERY_MS`). The pull stays the correctness path; the message
//! only says when it is worth a round trip.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed, Ordering::SeqCst};
use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use parking_lot::Mutex;

use super::call::BACK_OFF_MS;
use super::connect::{self, Client};
use super::{now_ms, RedisStore};

/// Longest time `tags_changed` says "no" without a pull (ms): the bound on how late a change
/// is seen if its message is lost while the subscription still looks live.
pub const PULL_EVERY_MS: u64 = 1000;
/// How often the subscriber pings its connection, so a dead one is noticed and replaced.
const WATCH_PING_MS: u64 = 5000;

/// What the subscription to `{P}:tags:changed` knows; shared with its task.
pub(super) struct Watch {
  prefix: String,
  /// A change was announced (or the subscription (re)started) since the last pull began.
  dirty: AtomicBool,
  /// Subscribed on a connection that has not failed since: no message can have been missed.
  live: AtomicBool,
  /// When the last pull began (ms).
  pulled_at: AtomicU64,
  /// The subscriber task was started.
  started: AtomicBool,
  /// Set by `close` (or drop): the task ends.
  closed: AtomicBool,
  stop: tokio::sync::Notify,
}

/// Every store's `Watch` in this process, so a tag write marks the other engines over the same
/// prefix at once, without waiting for its message (read-your-writes across engines).
pub(super) static WATCHES: Mutex<Vec<Weak<Watch>>> = Mutex::new(Vec::new());

impl Watch {
  pub(super) fn new(prefix: &str) -> Arc<Watch> {
    let watch = Arc::new(Watch {
      prefix: prefix.to_string(),
      dirty: AtomicBool::new(true),
      live: AtomicBool::new(false),
      pulled_at: AtomicU64::new(0),
      started: AtomicBool::new(false),
      closed: AtomicBool::new(false),
      stop: tokio::sync::Notify::new(),
    });
    let mut watches = WATCHES.lock();
    watches.retain(|w| w.strong_count() > 0);
    watches.push(Arc::downgrade(&watch));
    drop(watches);
    watch
  }

  /// Marks the other engines over `prefix` in this process dirty at once, without waiting
  /// for the message (read-your-writes across engines).
  pub(super) fn written(me: &Arc<Watch>) {
    for watch in WATCHES.lock().iter().filter_map(Weak::upgrade) {
      if watch.prefix == me.prefix && !Arc::ptr_eq(&watch, me) {
        watch.dirty.store(true, SeqCst);
      }
    }
  }

  /// Stops the subscriber (the connection closes when its task ends).
  pub(super) fn close(&self) {
    self.closed.store(true, SeqCst);
    self.live.store(false, SeqCst);
    self.stop.notify_one();
  }
}

impl RedisStore {
  /// Whether a tag pull is worth its round trip now; when it is, the caller pulls at once
  /// (the change flag is cleared here, before the pull, so a message arriving during it
  /// counts for the next one). True unless the subscription is live, nothing was announced
  /// since the last pull began, and that pull is younger than `PULL_EVERY_MS`. Starts the
  /// subscriber on first use (on the current tokio runtime; without one, always true).
  pub fn tags_changed(&self) -> bool {
    self.start_watch();
    let watch = &self.watch;
    let now = now_ms();
    // `live` before `dirty`: a (re)subscription sets `dirty` first, so a live subscription
    // seen here never hides the pull owed for the messages missed before it.
    let live = watch.live.load(SeqCst);
    let dirty = watch.dirty.swap(false, SeqCst);
    let due = now >= watch.pulled_at.load(Relaxed) + PULL_EVERY_MS;
    let pull = dirty || !live || due;
    if pull {
      watch.pulled_at.store(now, Relaxed);
    }
    pull
  }

  /// `tags_changed` without its effects: whether it would say yes now.
  pub fn tags_may_have_changed(&self) -> bool {
    let watch = &self.watch;
    !watch.live.load(SeqCst)
      || watch.dirty.load(SeqCst)
      || now_ms() >= watch.pulled_at.load(Relaxed) + PULL_EVERY_MS
  }

  /// A pull that `tags_changed` asked for failed: the next call must ask again.
  pub fn tags_pull_failed(&self) {
    self.watch.dirty.store(true, SeqCst);
  }

  fn start_watch(&self) {
    if self.watch.started.load(Relaxed) || self.watch.closed.load(Relaxed) {
      return;
    }
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
      return;
    };
    if self.watch.started.swap(true, SeqCst) {
      return;
    }
    runtime.spawn(watch_tags(
      self.client.clone(),
      self.watch_clients.clone(),
      self.watch.clone(),
      self.changed_channel.clone(),
      self.timeout,
    ));
  }
}

/// The subscriber: keeps one connection subscribed to `channel`, marks `watch` dirty on each
/// message, and says whether it is live. A failed connection (or ping) makes it not live
/// until a new subscription is confirmed, which marks it dirty again (messages may have been
/// missed meanwhile). On a cluster it tries each seed node in turn.
async fn watch_tags(
  target: Arc<Client>,
  clients: Vec<redis::Client>,
  watch: Arc<Watch>,
  channel: String,
  timeout: Duration,
) {
  let mut next = 0;
  let mut delay = 100;
  while !watch.closed.load(SeqCst) {
    let attempt = next;
    next += 1;
    let subscribed = tokio::time::timeout(timeout, async {
      let client = connect::subscriber(&target, &clients, attempt).await?;
      let mut pubsub = client.get_async_pubsub().await?;
      pubsub.subscribe(&channel).await?;
      Ok::<_, redis::RedisError>(pubsub)
    })
    .await;
    if let Ok(Ok(pubsub)) = subscribed {
      let (mut sink, mut messages) = pubsub.split();
      delay = 100;
      watch.dirty.store(true, SeqCst);
      watch.live.store(true, SeqCst);
      loop {
        tokio::select! {
          message = messages.next() => match message {
            Some(_) => watch.dirty.store(true, SeqCst),
            None => break,
          },
          _ = tokio::time::sleep(Duration::from_millis(WATCH_PING_MS)) => {
            let pong = tokio::time::timeout(timeout, sink.ping::<redis::Value>()).await;
            if !matches!(pong, Ok(Ok(_))) {
              break;
            }
          }
          _ = watch.stop.notified() => break,
        }
      }
      watch.live.store(false, SeqCst);
      // Whatever was published while the connection was failing is owed a pull.
      watch.dirty.store(true, SeqCst);
    }
    if watch.closed.load(SeqCst) {
      break;
    }
    tokio::select! {
      _ = tokio::time::sleep(Duration::from_millis(delay)) => {}
      _ = watch.stop.notified() => break,
    }
    delay = (delay * 2).min(BACK_OFF_MS);
  }
}

#[cfg(test)]
mod tests {
  use super::*;
  use crate::store::redis::RedisConfig;

  fn store(prefix: &str) -> RedisStore {
    RedisStore::new(RedisConfig {
      url: Some("redis://127.0.0.1:1".into()),
      cluster: vec![],
      sentinel: None,
      tls: None,
      prefix: prefix.into(),
      timeout: Duration::from_millis(100),
    })
    .unwrap()
  }

  #[test]
  fn a_pull_is_skipped_only_while_subscribed_clean_and_recent() {
    let s = store("watch-test");
    // Not subscribed (no runtime here, so never): always pull.
    assert!(s.tags_changed());
    assert!(s.tags_changed());
    // Subscribed, as the subscriber leaves it: the pull owed for the time before it, then none.
    s.watch.dirty.store(true, SeqCst);
    s.watch.live.store(true, SeqCst);
    assert!(s.tags_may_have_changed());
    assert!(s.tags_changed());
    assert!(!s.tags_may_have_changed());
    assert!(!s.tags_changed());
    // A message: one pull.
    s.watch.dirty.store(true, SeqCst);
    assert!(s.tags_may_have_changed());
    assert!(s.tags_changed());
    assert!(!s.tags_changed());
    // A failed pull is owed again.
    s.tags_pull_failed();
    assert!(s.tags_changed());
    // The safety net: a pull older than PULL_EVERY_MS.
    s.watch.pulled_at.store(now_ms() - PULL_EVERY_MS, Relaxed);
    assert!(s.tags_changed());
    assert!(!s.tags_changed());
    // Connection lost: pull every time until subscribed again.
    s.watch.live.store(false, SeqCst);
    assert!(s.tags_changed());
    assert!(s.tags_changed());
    s.close();
    assert!(s.tags_changed());
  }
}
