//! One call to Redis: the connection (opened once, on first use), a timeout on every
//! command, and the outage back-off. Only I/O failures and timeouts count as an outage
//! (calls fail at once for `BACK_OFF_MS`); an error *answer* (`OOM`, `WRONGTYPE`,
//! `READONLY`, `LOADING`…) fails that one call with `ERR_STORE` naming it, logged once per
//! (code, call) and once more when the call is accepted again.

use std::sync::atomic::Ordering::Relaxed;

use redis::cluster_routing::{RoutingInfo, SingleNodeRoutingInfo};
use redis::{FromRedisValue, Pipeline, RedisResult};

use super::connect::{self, Client, Conn};
use super::{now_ms, store_error, RedisStore};
use crate::error::Result;
use crate::log;

/// How long calls fail fast after Redis stopped answering, before one probes again (ms).
pub const BACK_OFF_MS: u64 = 1000;

/// How a failed call failed.
enum Failure {
  /// Redis did not answer (I/O error, dropped connection, timeout): the back-off opens.
  Outage(String),
  /// Redis answered with an error (`code`, e.g. `OOM`): only this call fails.
  Command { code: String, message: String },
}

impl Failure {
  fn of(err: &redis::RedisError) -> Failure {
    use redis::ErrorKind;
    let unreachable = err.is_io_error()
      || err.is_connection_dropped()
      || err.is_connection_refusal()
      || err.is_timeout()
      || matches!(
        err.kind(),
        ErrorKind::ClusterConnectionNotFound
          | ErrorKind::AuthenticationFailed
          | ErrorKind::InvalidClientConfig
      );
    if unreachable {
      return Failure::Outage(err.to_string());
    }
    // The first error answer of a pipeline or transaction, as Redis wrote it.
    let answer = err.clone().into_server_errors().and_then(|errors| {
      let (_, first) = errors.first()?;
      let code = first.code().to_string();
      let message = match first.details() {
        Some(details) => format!("{code} {details}"),
        None => code.clone(),
      };
      Some((code, message))
    });
    let (code, message) = answer.unwrap_or_else(|| {
      let code = err.code().unwrap_or(match err.kind() {
        ErrorKind::Parse | ErrorKind::UnexpectedReturnType => "TYPE",
        _ => "ERR",
      });
      (code.to_string(), err.to_string())
    });
    Failure::Command { code, message }
  }
}

impl RedisStore {
  pub(super) async fn connect(&self) -> RedisResult<Conn> {
    if let Some(conn) = self.conn.lock().as_ref() {
      return Ok(conn.clone());
    }
    let _one = self.connecting.lock().await;
    if let Some(conn) = self.conn.lock().as_ref() {
      return Ok(conn.clone());
    }
    let conn = connect::open(&self.client, self.timeout).await?;
    *self.conn.lock() = Some(conn.clone());
    Ok(conn)
  }

  /// Behind Sentinel, the primary may have moved: the next call asks again.
  pub(super) fn primary_may_have_moved(&self) {
    if matches!(*self.client, Client::Sentinel(_)) {
      *self.conn.lock() = None;
    }
  }

  /// Runs one command or pipeline with the timeout and the outage back-off. `what` names
  /// the call in messages. Errors: `ERR_STORE`, naming Redis's error answer or the outage.
  pub(super) async fn run<T: FromRedisValue>(
    &self,
    what: &'static str,
    pipe: &Pipeline,
  ) -> Result<T> {
    let now = now_ms();
    if now < self.down_until_ms.load(Relaxed) {
      return Err(store_error(
        what,
        format!(
          "Redis at {} is unreachable ({}; retried within {BACK_OFF_MS} ms)",
          self.location,
          self.down_reason.lock()
        ),
      ));
    }
    let attempt = async {
      match self.connect().await? {
        Conn::Single(mut c) => pipe.query_async::<T>(&mut c).await,
        Conn::Cluster(mut c) => pipe.query_async::<T>(&mut c).await,
      }
    };
    let failure = match tokio::time::timeout(self.timeout, attempt).await {
      Ok(Ok(value)) => {
        self.answered(what);
        return Ok(value);
      }
      Ok(Err(err)) => Failure::of(&err),
      Err(_) => Failure::Outage(format!("timed out after {} ms", self.timeout.as_millis())),
    };
    match failure {
      Failure::Outage(reason) => {
        self.primary_may_have_moved();
        reason.clone_into(&mut self.down_reason.lock());
        self.down_until_ms.store(now_ms() + BACK_OFF_MS, Relaxed);
        if !self.down.swap(true, Relaxed) {
          log::warn(&format!(
            "Redis at {} failed ({reason}); serving cache misses until it answers again",
            self.location
          ));
        }
        Err(store_error(
          what,
          format!("Redis at {}: {reason}", self.location),
        ))
      }
      Failure::Command { code, message } => {
        if code == "READONLY" {
          self.primary_may_have_moved();
        }
        self.up();
        let first = {
          let mut seen = self.command_errors.lock();
          let first = !seen.iter().any(|(c, w)| *c == code && *w == what);
          if first {
            seen.push((code.clone(), what));
            self.any_command_errors.store(true, Relaxed);
          }
          first
        };
        if first {
          log::warn(&format!("Redis at {} answered {what} with an error ({message}); those calls fail (a read is a miss, a write is not stored) while other calls go on",
            self.location
          ));
        }
        Err(store_error(
          what,
          format!("Redis at {} answered: {message}", self.location),
        ))
      }
    }
  }

  /// Redis answered `what`: the outage (if any) is over, and error answers to `what` cleared.
  pub(super) fn answered(&self, what: &'static str) {
    self.up();
    if !self.any_command_errors.load(Relaxed) {
      return;
    }
    let mut seen = self.command_errors.lock();
    seen.retain(|(code, w)| {
      if *w != what {
        return true;
      }
      log::warn(&format!(
        "Redis at {} accepts {what} again ({code} cleared)",
        self.location
      ));
      false
    });
    self.any_command_errors.store(!seen.is_empty(), Relaxed);
  }

  pub(super) fn up(&self) {
    if self.down.swap(false, Relaxed) {
      log::warn(&format!(
        "Redis at {} answers again; caching resumed",
        self.location
      ));
    }
  }

  /// One command on one node (`None`: wherever the connection routes it; a cluster address:
  /// that primary), with the timeout. Errors count as for `run`.
  pub(super) async fn run_on<T: FromRedisValue>(
    &self,
    what: &str,
    node: Option<&(String, u16)>,
    cmd: redis::Cmd,
  ) -> Result<T> {
    let attempt = async {
      match (self.connect().await?, node) {
        (Conn::Cluster(mut c), Some((host, port))) => {
          let routing = RoutingInfo::SingleNode(SingleNodeRoutingInfo::ByAddress {
            host: host.clone(),
            port: *port,
          });
          let value = c.route_command(cmd, routing).await?;
          Ok(redis::from_redis_value(value)?)
        }
        (Conn::Cluster(mut c), None) => cmd.query_async::<T>(&mut c).await,
        (Conn::Single(mut c), _) => cmd.query_async::<T>(&mut c).await,
      }
    };
    match tokio::time::timeout(self.timeout, attempt).await {
      Ok(Ok(value)) => Ok(value),
      Ok(Err(err)) => Err(store_error(
        what,
        format!("Redis at {}: {err}", self.location),
      )),
      Err(_) => Err(store_error(
        what,
        format!(
          "Redis at {}: timed out after {} ms",
          self.location,
          self.timeout.as_millis()
        ),
      )),
    }
  }
}
