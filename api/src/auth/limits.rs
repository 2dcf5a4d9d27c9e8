//! Abuse limits whose counters live in the `rate_limits` KV bucket, so every API
//! replica sees the same counts (fixed windows; a key per subject and window:
//! `<scope>.<sha256(subject)>.<window index>`; entries expire with the bucket's
//! `max_age` of one hour).

use std::net::IpAddr;
use std::time::Duration;

use async_nats::jetstream::kv;
use sha2::{Digest, Sha256};

/// How many compare-and-swap rounds an increment tries before giving up.
const CAS_ROUNDS: usize = 8;
/// The same for [`Limiter::update`]: every sign-in updates its address's record, and as
/// many as the password-hashing queue admits (five per core) may do so at once.
const RECORD_CAS_ROUNDS: usize = 32;
const CALL_TIMEOUT: Duration = Duration::from_secs(5);

/// A limit's counter for one subject in the current window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Count {
    pub value: u64,
    /// Seconds until the window ends.
    pub resets_in: u64,
}

/// The counter store could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("rate-limit store unavailable: {0}")]
pub struct LimitsUnavailable(pub String);

/// Fixed-window counters in KV.
#[derive(Clone)]
pub struct Limiter {
    bucket: kv::Store,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Limiter")
    }
}

fn window(window: Duration) -> (u64, u64) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let len = window.as_secs().max(1);
    (now / len, len - now % len)
}

fn key(scope: &str, subject: &str, index: u64) -> String {
    format!(
        "{scope}.{}.{index}",
        hex::encode(Sha256::digest(subject.as_bytes()))
    )
}

async fn bounded<T, E: std::fmt::Display>(
    call: impl std::future::IntoFuture<Output = Result<T, E>>,
) -> Result<T, LimitsUnavailable> {
    tokio::time::timeout(CALL_TIMEOUT, call.into_future())
        .await
        .map_err(|_| LimitsUnavailable("timed out".into()))?
        .map_err(|e| LimitsUnavailable(e.to_string()))
}

impl Limiter {
    pub fn new(bucket: kv::Store) -> Self {
        Self { bucket }
    }

    /// The key prefix of every window of `subject` under `scope`.
    pub fn subject_prefix(&self, scope: &str, subject: &str) -> String {
        format!(
            "{scope}.{}",
            hex::encode(Sha256::digest(subject.as_bytes()))
        )
    }

    /// Removes every counter whose key starts with `prefix` (see [`Self::subject_prefix`]).
    pub async fn purge_prefix(&self, prefix: &str) -> Result<(), LimitsUnavailable> {
        let subject = format!("{}{prefix}.>", self.bucket.prefix);
        bounded(self.bucket.stream.clone().purge().filter(subject)).await?;
        Ok(())
    }

    /// The current count of `subject` under `scope`, without changing it.
    pub async fn peek(
        &self,
        scope: &str,
        subject: &str,
        len: Duration,
    ) -> Result<Count, LimitsUnavailable> {
        let (index, resets_in) = window(len);
        let entry = bounded(self.bucket.entry(key(scope, subject, index))).await?;
        Ok(Count {
            value: entry.as_ref().map(|e| parse(&e.value)).unwrap_or(0),
            resets_in,
        })
    }

    /// Adds one to the count of `subject` under `scope` and returns the new count.
    pub async fn hit(
        &self,
        scope: &str,
        subject: &str,
        len: Duration,
    ) -> Result<Count, LimitsUnavailable> {
        let (index, resets_in) = window(len);
        let key = key(scope, subject, index);
        for _ in 0..CAS_ROUNDS {
            let entry = bounded(self.bucket.entry(&key)).await?;
            let written = match entry {
                Some(e) if e.operation == kv::Operation::Put => {
                    let next = parse(&e.value) + 1;
                    bounded(
                        self.bucket
                            .update(&key, next.to_string().into(), e.revision),
                    )
                    .await
                    .map(|_| next)
                }
                _ => bounded(self.bucket.create(&key, "1".into()))
                    .await
                    .map(|_| 1),
            };
            if let Ok(value) = written {
                return Ok(Count { value, resets_in });
            }
            // Lost a race with another replica: read again.
        }
        Err(LimitsUnavailable("too much contention on a counter".into()))
    }
}

impl Limiter {
    /// The bucket key of a record of `subject` under `scope` (`detail` tells records of
    /// one subject apart); removed with the subject's [`Self::subject_prefix`].
    pub fn record_key(&self, scope: &str, subject: &str, detail: &str) -> String {
        format!(
            "{}.{}",
            self.subject_prefix(scope, subject),
            hex::encode(Sha256::digest(detail.as_bytes()))
        )
    }

    /// Reads the JSON record under `key` (the default when there is none), lets
    /// `change` edit it, and writes it back by compare-and-swap when `change` says so,
    /// reading again after a lost race. Returns what `change` returned last.
    pub async fn update<T, R>(
        &self,
        key: &str,
        mut change: impl FnMut(&mut T) -> (bool, R),
    ) -> Result<R, LimitsUnavailable>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Default,
    {
        for _ in 0..RECORD_CAS_ROUNDS {
            let entry = bounded(self.bucket.entry(key)).await?;
            let (mut record, revision) = match entry {
                Some(e) if e.operation == kv::Operation::Put => (
                    serde_json::from_slice(&e.value).unwrap_or_default(),
                    Some(e.revision),
                ),
                _ => (T::default(), None),
            };
            let (write, answer) = change(&mut record);
            if !write {
                return Ok(answer);
            }
            let body = serde_json::to_vec(&record).map_err(|e| LimitsUnavailable(e.to_string()))?;
            let written = match revision {
                Some(revision) => bounded(self.bucket.update(key, body.into(), revision))
                    .await
                    .map(|_| ()),
                None => bounded(self.bucket.create(key, body.into()))
                    .await
                    .map(|_| ()),
            };
            if written.is_ok() {
                return Ok(answer);
            }
            // Lost a race with another request or replica: read again.
        }
        Err(LimitsUnavailable("too much contention on a counter".into()))
    }

    /// Takes back one [`Self::hit`] of this window (a reserved attempt that succeeded).
    pub async fn release(
        &self,
        scope: &str,
        subject: &str,
        len: Duration,
    ) -> Result<(), LimitsUnavailable> {
        let (index, _) = window(len);
        let key = key(scope, subject, index);
        for _ in 0..CAS_ROUNDS {
            let Some(entry) = bounded(self.bucket.entry(&key)).await? else {
                return Ok(());
            };
            let current = parse(&entry.value);
            if entry.operation != kv::Operation::Put || current == 0 {
                return Ok(());
            }
            let next = (current - 1).to_string();
            if bounded(self.bucket.update(&key, next.into(), entry.revision))
                .await
                .is_ok()
            {
                return Ok(());
            }
        }
        Err(LimitsUnavailable("too much contention on a counter".into()))
    }
}

/// The client's address for abuse limits: the socket peer, or, with
/// `TRUST_FORWARDED_FOR` and a peer among `TRUSTED_PROXIES`, the right-most
/// `X-Forwarded-For` entry that is not a trusted proxy (proxies append the address
/// they saw, so entries to its left are the client's to choose). Entries that are not
/// IP addresses are skipped. IPv6 clients are grouped by their /64 (one subscriber's
/// network), so a client cannot dodge a limit by changing addresses within it.
pub fn client_address(
    settings: &hast_common::config::Settings,
    client: crate::request_context::ClientAddr,
    headers: &warp::http::HeaderMap,
) -> String {
    let Some(peer) = client.0.map(|a| a.ip().to_canonical()) else {
        return "unknown".into();
    };
    let trusted = |ip: &IpAddr| settings.api.trusted_proxies.iter().any(|n| n.contains(ip));
    let mut address = peer;
    if settings.api.trust_forwarded_for && trusted(&peer) {
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(parse_hop)
            .collect();
        for hop in hops.into_iter().rev() {
            address = hop;
            if !trusted(&hop) {
                break;
            }
        }
    }
    group(address)
}

/// One `X-Forwarded-For` entry as an address: `1.2.3.4`, `1.2.3.4:80`, `2001:db8::1`
/// or `[2001:db8::1]:80`.
fn parse_hop(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    entry
        .parse::<IpAddr>()
        .or_else(|_| entry.parse::<std::net::SocketAddr>().map(|s| s.ip()))
        .ok()
        .map(|ip| ip.to_canonical())
}

/// The key a limit counts `ip` under: IPv4 as is, IPv6 as its /64.
fn group(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => ipnet::Ipv6Net::new(v6, 64)
            .map(|n| n.trunc().to_string())
            .unwrap_or_else(|_| v6.to_string()),
    }
}

fn parse(bytes: &[u8]) -> u64 {
    std::str::from_utf8(bytes)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request_context::ClientAddr;
    use warp::http::HeaderMap;

    fn address(trust: bool, peer: &str, forwarded: &[&str]) -> String {
        let mut settings = hast_common::config::Settings::from_lookup(|k| {
            (k == "TRUSTED_PROXIES").then(|| "127.0.0.1/32,10.0.0.0/8".to_owned())
        })
        .unwrap();
        settings.api.trust_forwarded_for = trust;
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        let peer = ClientAddr(Some(std::net::SocketAddr::new(peer.parse().unwrap(), 1234)));
        client_address(&settings, peer, &headers)
    }

    #[test]
    fn the_client_is_the_right_most_untrusted_hop() {
        let chain = ["198.51.100.1, 203.0.113.5", "10.1.2.3"];
        assert_eq!(address(true, "127.0.0.1", &chain), "203.0.113.5");
        assert_eq!(address(true, "10.9.9.9", &chain), "203.0.113.5");
        // Garbage is skipped; ports are dropped.
        assert_eq!(
            address(true, "127.0.0.1", &["bogus, 203.0.113.5:4711, unknown"]),
            "203.0.113.5"
        );
        // Only trusted proxies are believed, and only when the setting is on.
        assert_eq!(address(true, "192.0.2.9", &chain), "192.0.2.9");
        assert_eq!(address(false, "127.0.0.1", &chain), "127.0.0.1");
        // Nothing usable: the peer.
        assert_eq!(address(true, "127.0.0.1", &["nonsense"]), "127.0.0.1");
        // Every hop a proxy: the left-most.
        assert_eq!(
            address(true, "127.0.0.1", &["10.0.0.1, 10.0.0.2"]),
            "10.0.0.1"
        );
    }

    #[test]
    fn ipv6_clients_are_grouped_by_their_64() {
        let a = address(true, "127.0.0.1", &["2001:db8:1:2::1"]);
        assert_eq!(a, "2001:db8:1:2::/64");
        assert_eq!(
            address(true, "127.0.0.1", &["[2001:db8:1:2:ffff::9]:80"]),
            a
        );
        assert_ne!(address(true, "127.0.0.1", &["2001:db8:1:3::1"]), a);
        assert_eq!(address(false, "::ffff:192.0.2.1", &[]), "192.0.2.1");
    }
}
