//! How the Redis store reaches Redis: a single node (`redisUrl`), a cluster (`redisCluster`)
//! or the primary that Sentinel names (`redisSentinel`), with the `tls` certificates for
//! `rediss://`. Behind Sentinel the primary is looked up again after every outage or
//! `READONLY` answer, so a failover is followed within one back-off.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::sentinel::{SentinelClient, SentinelClientBuilder, SentinelServerType};
use redis::{ClientTlsConfig, ConnectionAddr, IntoConnectionInfo, RedisResult, TlsCertificates};

use crate::error::{Error, ErrorCode, Result};
use crate::options::{Sentinel, Tls};

/// Where and how to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisConfig {
  /// `redis://` / `rediss://` URL of a single node.
  pub url: Option<String>,
  /// Cluster seed nodes; when non-empty the cluster client is used.
  pub cluster: Vec<String>,
  /// The primary named by Sentinel; used when given.
  pub sentinel: Option<Sentinel>,
  /// Certificates for `rediss://` (else the system's roots).
  pub tls: Option<Tls>,
  /// Key prefix.
  pub prefix: String,
  /// Timeout of one command.
  pub timeout: Duration,
}

/// One connection (multiplexed; cloning it shares it).
#[derive(Clone)]
pub enum Conn {
  Single(ConnectionManager),
  Cluster(ClusterConnection),
}

// One per engine: the size difference does not matter.
#[allow(clippy::large_enum_variant)]
pub enum Client {
  Single(redis::Client),
  Cluster(redis::cluster::ClusterClient),
  /// Asks the sentinels for the primary's address on each (re)connect.
  Sentinel(tokio::sync::Mutex<SentinelClient>),
}

/// `redis://user:secret@host:6379/0` → `redis://host:6379/0`: credentials never reach a log.
pub fn redact(url: &str) -> String {
  match url.split_once("://") {
    Some((scheme, rest)) => {
      let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
      format!("{scheme}://{host}")
    }
    None => "(unparsable URL)".into(),
  }
}

/// `TCP_NODELAY`, as every Redis client sets it: the redis crate leaves Nagle on, which can
/// hold a small command back until the previous segment is acknowledged.
pub fn tcp_settings() -> TcpSettings {
  TcpSettings::default().set_nodelay(true)
}

fn certificates(tls: &Tls) -> TlsCertificates {
  TlsCertificates {
    client_tls: tls
      .cert_and_key
      .as_ref()
      .map(|(cert, key)| ClientTlsConfig {
        client_cert: cert.clone(),
        client_key: key.clone(),
      }),
    root_cert: tls.ca.clone(),
  }
}

fn invalid(what: &str, url: &str, err: &dyn std::fmt::Display) -> Error {
  Error::new(
    ErrorCode::InvalidOptions,
    format!("{what} {} is not a valid Redis URL: {err}", redact(url)),
  )
}

/// A client for one node's URL, with the `tls` certificates when it is `rediss://`; `resp3`
/// speaks RESP3 (for pushes: client-side caching's announcements).
fn node_client(what: &str, url: &str, tls: Option<&Tls>, resp3: bool) -> Result<redis::Client> {
  let mut info = url
    .into_connection_info()
    .map_err(|e| invalid(what, url, &e))?
    .set_tcp_settings(tcp_settings());
  if resp3 {
    let settings = info.redis_settings().clone();
    info = info.set_redis_settings(settings.set_protocol(redis::ProtocolVersion::RESP3));
  }
  let secure = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
  match tls {
    Some(tls) if secure => redis::Client::build_with_tls(info, certificates(tls)),
    _ => redis::Client::open(info),
  }
  .map_err(|e| invalid(what, url, &e))
}

/// How a store reaches Redis (`build`).
pub struct Clients {
  pub client: Client,
  /// Where the tag subscriber connects: the node, or each cluster seed in turn (behind
  /// Sentinel: none, it asks the sentinels).
  pub watch: Vec<redis::Client>,
  /// The node again, over RESP3, for client-side caching (single nodes only).
  pub tracking: Option<redis::Client>,
  /// Where Redis is, without credentials, for messages.
  pub location: String,
}

/// The clients for `config`.
/// Errors: `ERR_INVALID_OPTIONS` for a URL that does not parse (credentials redacted).
pub fn build(config: &RedisConfig) -> Result<Clients> {
  let tls = config.tls.as_ref();
  if let Some(sentinel) = &config.sentinel {
    let client = sentinel_client(sentinel, tls)?;
    let nodes: Vec<String> = sentinel.sentinels.iter().map(|u| redact(u)).collect();
    let location = format!("{} via sentinels {}", sentinel.name, nodes.join(", "));
    return Ok(Clients {
      client: Client::Sentinel(tokio::sync::Mutex::new(client)),
      watch: Vec::new(),
      tracking: None,
      location,
    });
  }
  if config.cluster.is_empty() {
    let url = config.url.clone().unwrap_or_default();
    let client = node_client("redisUrl", &url, tls, false)?;
    return Ok(Clients {
      client: Client::Single(client.clone()),
      watch: vec![client],
      tracking: Some(node_client("redisUrl", &url, tls, true)?),
      location: redact(&url),
    });
  }
  let mut watch = Vec::new();
  for url in &config.cluster {
    watch.push(node_client("redisCluster", url, tls, false)?);
  }
  let mut builder = redis::cluster::ClusterClientBuilder::new(config.cluster.clone())
    .connection_timeout(config.timeout)
    .response_timeout(config.timeout)
    .tcp_settings(tcp_settings());
  if let Some(tls) = tls {
    builder = builder.certs(certificates(tls));
  }
  let client = builder
    .build()
    .map_err(|e| invalid("redisCluster", &config.cluster[0], &e))?;
  let nodes: Vec<String> = config.cluster.iter().map(|u| redact(u)).collect();
  Ok(Clients {
    client: Client::Cluster(client),
    watch,
    tracking: None,
    location: format!("cluster {}", nodes.join(", ")),
  })
}

/// The primary behind `sentinel`: TLS to it when the sentinel URLs are `rediss://`.
fn sentinel_client(sentinel: &Sentinel, tls: Option<&Tls>) -> Result<SentinelClient> {
  let mut addrs = Vec::new();
  let mut secure = false;
  let mut sentinel_auth = None;
  for url in &sentinel.sentinels {
    let info = url
      .as_str()
      .into_connection_info()
      .map_err(|e| invalid("redisSentinel.sentinels", url, &e))?;
    secure |= matches!(info.addr(), ConnectionAddr::TcpTls { .. });
    let settings = info.redis_settings();
    if sentinel_auth.is_none() {
      if let Some(password) = settings.password() {
        sentinel_auth = Some((
          settings.username().map(str::to_string),
          password.to_string(),
        ));
      }
    }
    addrs.push(info.addr().clone());
  }
  let first = &sentinel.sentinels[0];
  let failed = |e: redis::RedisError| invalid("redisSentinel.sentinels", first, &e);
  let mut builder = SentinelClientBuilder::new(addrs, &sentinel.name, SentinelServerType::Master)
    .map_err(failed)?
    .set_client_to_redis_db(sentinel.db)
    .set_client_to_redis_tcp_settings(tcp_settings())
    .set_client_to_sentinel_tcp_settings(tcp_settings());
  if let Some(username) = &sentinel.username {
    builder = builder.set_client_to_redis_username(username);
  }
  if let Some(password) = &sentinel.password {
    builder = builder.set_client_to_redis_password(password);
  }
  match (&sentinel.sentinel_password, sentinel_auth) {
    (Some(password), _) => builder = builder.set_client_to_sentinel_password(password),
    (None, Some((username, password))) => {
      builder = builder.set_client_to_sentinel_password(password);
      if let Some(username) = username {
        builder = builder.set_client_to_sentinel_username(username);
      }
    }
    (None, None) => {}
  }
  if secure {
    builder = builder
      .set_client_to_redis_tls_mode(redis::TlsMode::Secure)
      .set_client_to_sentinel_tls_mode(redis::TlsMode::Secure);
    if let Some(tls) = tls {
      builder = builder
        .set_client_to_redis_certificates(certificates(tls))
        .set_client_to_sentinel_certificates(certificates(tls));
    }
  }
  builder.build().map_err(failed)
}

/// Opens the connection: lazily for a node (the manager reconnects by itself), at once for
/// a cluster, and behind Sentinel after asking for the primary (one sentinel round trip).
pub async fn open(client: &Client, timeout: Duration) -> RedisResult<Conn> {
  let manager = |client: redis::Client| {
    let config = ConnectionManagerConfig::new()
      .set_connection_timeout(Some(timeout))
      .set_response_timeout(Some(timeout))
      .set_number_of_retries(2)
      .set_max_delay(Duration::from_millis(super::call::BACK_OFF_MS));
    ConnectionManager::new_lazy_with_config(client, config).map(Conn::Single)
  };
  match client {
    Client::Single(client) => manager(client.clone()),
    Client::Cluster(client) => client.get_async_connection().await.map(Conn::Cluster),
    Client::Sentinel(sentinel) => {
      let primary = sentinel.lock().await.async_get_client().await?;
      manager(primary)
    }
  }
}

/// Where the subscriber connects for its attempt number `n`: the fixed nodes in turn, or
/// the primary Sentinel names now.
pub async fn subscriber(
  client: &Client,
  fixed: &[redis::Client],
  n: usize,
) -> RedisResult<redis::Client> {
  match client {
    Client::Sentinel(sentinel) => sentinel.lock().await.async_get_client().await,
    _ => Ok(fixed[n % fixed.len()].clone()),
  }
}
