//! NATS: connecting with retry ([`connect`]) and creating the JetStream topology
//! ([`bootstrap`]). Names live in [`names`].

pub mod bootstrap;
pub mod kv_read;
pub mod names;
pub mod objects;
pub mod storage;

use std::time::Duration;

use async_nats::{Client, ConnectOptions, Event};

use crate::config::Settings;

/// Why a NATS connection could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cannot read NATS_CREDS {path}: {source}")]
    Credentials {
        path: String,
        source: std::io::Error,
    },
    #[error("NATS_URL: invalid server {url:?}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("cannot connect to NATS at {url} after {attempts} attempts: {last_error}")]
    GaveUp {
        url: String,
        attempts: u32,
        last_error: String,
    },
}

/// The servers of a comma-separated `NATS_URL` (a cluster is given as several seeds).
pub fn server_addrs(urls: &str) -> Result<Vec<async_nats::ServerAddr>, ConnectError> {
    urls.split(',')
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| {
            u.parse::<async_nats::ServerAddr>()
                .map_err(|e| ConnectError::InvalidUrl {
                    url: crate::config::redact_url_password(u),
                    reason: e.to_string(),
                })
        })
        .collect()
}

/// The first `user:password` given in `NATS_URL`'s servers.
fn url_credentials(servers: &[async_nats::ServerAddr]) -> Option<(String, String)> {
    servers
        .iter()
        .find_map(|s| Some((s.username()?.to_owned(), s.password()?.to_owned())))
}

/// Delay between reconnection attempts after a connection was lost: grows to 2 s, so a
/// restarted server is found again within seconds.
fn reconnect_delay(attempts: usize) -> Duration {
    Duration::from_millis((100 * attempts as u64).clamp(100, 2_000))
}

/// Connects to `NATS_URL` as `client_name`, retrying for up to `give_up_after`.
/// Once connected the client reconnects forever on its own; connection events are logged.
pub async fn connect(
    settings: &Settings,
    client_name: &str,
    give_up_after: Duration,
) -> Result<Client, ConnectError> {
    let started = tokio::time::Instant::now();
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let mut options = ConnectOptions::new()
            .name(client_name)
            .connection_timeout(Duration::from_secs(3))
            .request_timeout(Some(Duration::from_secs(5)))
            .max_reconnects(None)
            .reconnect_delay_callback(reconnect_delay)
            .event_callback(|event| async move {
                match event {
                    Event::Connected => tracing::info!(nats.event = "connected", "NATS connected"),
                    Event::Disconnected => {
                        tracing::warn!(nats.event = "disconnected", "NATS disconnected")
                    }
                    Event::Closed => {
                        tracing::info!(nats.event = "closed", "NATS connection closed")
                    }
                    other => tracing::warn!(nats.event = %other, "NATS event"),
                }
            });
        if let Some(path) = &settings.nats_creds {
            options = options.credentials_file(path).await.map_err(|source| {
                ConnectError::Credentials {
                    path: path.display().to_string(),
                    source,
                }
            })?;
        }
        let servers = server_addrs(&settings.nats_url)?;
        // async-nats ignores a user and password in the URL: they are sent for every
        // server, discovered cluster members included.
        if let Some((user, password)) = url_credentials(&servers) {
            options = options.user_and_password(user, password);
        }
        match options.connect(servers).await {
            Ok(client) => return Ok(client),
            Err(err) => {
                if started.elapsed() >= give_up_after {
                    return Err(ConnectError::GaveUp {
                        url: settings.nats_url_redacted(),
                        attempts,
                        last_error: err.to_string(),
                    });
                }
                tracing::warn!(
                    nats.url = %settings.nats_url_redacted(),
                    attempt = attempts,
                    error = %err,
                    "NATS not reachable yet; retrying"
                );
                tokio::time::sleep(reconnect_delay(attempts as usize * 5)).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_comma_separated_nats_url_names_every_seed() {
        let addrs =
            server_addrs("nats://nats-1:4222, nats://nats-2:4222,nats://nats-3:4222").unwrap();
        assert_eq!(addrs.len(), 3);
        assert_eq!(addrs[1].host(), "nats-2");
        assert!(matches!(
            server_addrs("nats://host:notaport"),
            Err(ConnectError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn credentials_in_the_url_are_used_and_never_printed() {
        let addrs = server_addrs("nats://nats-1:4222,nats://api:s3cret@nats-2:4222").unwrap();
        assert_eq!(
            url_credentials(&addrs),
            Some(("api".to_owned(), "s3cret".to_owned()))
        );
        for bad in [
            "nats://api:s3cret@host:notaport",
            "api:s3cret@host:notaport",
            "nats://api:s3cret@[::1",
        ] {
            let err = server_addrs(bad).unwrap_err().to_string();
            assert!(!err.contains("s3cret"), "{err}");
        }
    }
}
