//! Sessions in the `sessions` KV bucket.
//!
//! A token is `<user id>.<secret>`: the secret is 256 random bits (base64url). The
//! bucket key is `<user id>.<HMAC-SHA256(SESSION_SECRET, token)>`, so the bucket never
//! holds a token, and a stolen bucket does not yield usable tokens. The user-id prefix
//! lets one subject-filtered purge destroy all of a user's sessions (account deletion).
//!
//! Lifetime: the bucket's `max_age` is `SESSION_TTL`; a lookup re-writes the entry
//! once a tenth of the TTL has passed since the last write (sliding expiry), so an
//! idle session ends between 0.9 × and 1 × `SESSION_TTL` after its last use.

use std::time::Duration;

use async_nats::jetstream::kv;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

/// Bound on one session-store call, so a NATS outage answers 503 instead of hanging.
const CALL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a session lookup keeps trying while NATS does not answer (a reconnection
/// to another cluster node, a leader election) before the request gets a 503.
const LOOKUP_BUDGET: Duration = Duration::from_secs(8);

/// What the bucket stores for one session (no secret in it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SessionRecord {
    pub user_id: String,
    pub is_guest: bool,
    pub created_at: DateTime<Utc>,
    pub renewed_at: DateTime<Utc>,
}

/// A session found from a token.
#[derive(Debug, Clone)]
pub struct Session {
    pub user_id: String,
    pub is_guest: bool,
    /// The bucket key (needed to destroy it).
    pub key: String,
}

/// The session store could not be reached.
#[derive(Debug, thiserror::Error)]
#[error("session store unavailable: {0}")]
pub struct SessionStoreUnavailable(pub String);

/// Sessions in NATS KV.
#[derive(Clone)]
pub struct SessionStore {
    bucket: kv::Store,
    secret: SecretString,
    ttl: Duration,
}

impl std::fmt::Debug for SessionStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionStore")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

fn unavailable(e: impl std::fmt::Display) -> SessionStoreUnavailable {
    SessionStoreUnavailable(e.to_string())
}

async fn bounded<T, E: std::fmt::Display>(
    call: impl std::future::IntoFuture<Output = Result<T, E>>,
) -> Result<T, SessionStoreUnavailable> {
    tokio::time::timeout(CALL_TIMEOUT, call.into_future())
        .await
        .map_err(|_| SessionStoreUnavailable("timed out".into()))?
        .map_err(unavailable)
}

impl SessionStore {
    pub fn new(bucket: kv::Store, secret: SecretString, ttl: Duration) -> Self {
        Self {
            bucket,
            secret,
            ttl,
        }
    }

    /// Starts a session for `user_id`; returns the new token (shown to the client once).
    pub async fn create(
        &self,
        user_id: &str,
        is_guest: bool,
    ) -> Result<SecretString, SessionStoreUnavailable> {
        self.start(user_id, is_guest).await.map(|(token, _)| token)
    }

    /// Like [`Self::create`], also returning the session itself (no lookup needed).
    pub async fn start(
        &self,
        user_id: &str,
        is_guest: bool,
    ) -> Result<(SecretString, Session), SessionStoreUnavailable> {
        let mut secret = [0u8; 32];
        rand::rng().fill_bytes(&mut secret);
        let token = format!(
            "{user_id}.{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret)
        );
        let key = self
            .key(&token)
            .ok_or_else(|| SessionStoreUnavailable("invalid user id for a session".into()))?;
        let now = Utc::now();
        let record = SessionRecord {
            user_id: user_id.to_owned(),
            is_guest,
            created_at: now,
            renewed_at: now,
        };
        let body = serde_json::to_vec(&record).map_err(unavailable)?;
        bounded(self.bucket.put(&key, body.into())).await?;
        let session = Session {
            user_id: user_id.to_owned(),
            is_guest,
            key,
        };
        Ok((SecretString::from(token), session))
    }

    /// The session behind `token`, renewing it when due; `None` for an unknown,
    /// expired, destroyed or malformed token.
    pub async fn lookup(&self, token: &str) -> Result<Option<Session>, SessionStoreUnavailable> {
        let Some(key) = self.key(token) else {
            return Ok(None);
        };
        let Some(entry) = self.read_riding_through(&key).await? else {
            return Ok(None);
        };
        if entry.operation != kv::Operation::Put {
            return Ok(None);
        }
        let Ok(mut record) = serde_json::from_slice::<SessionRecord>(&entry.value) else {
            return Ok(None);
        };
        // The token's user-id part must agree with the record (it is part of the key,
        // so it does unless the bucket was tampered with).
        if !token.starts_with(&format!("{}.", record.user_id)) {
            return Ok(None);
        }
        let now = Utc::now();
        let since = (now - record.renewed_at).to_std().unwrap_or_default();
        if since >= self.ttl / 10 {
            record.renewed_at = now;
            if let Ok(body) = serde_json::to_vec(&record) {
                // Compare-and-swap: a concurrent logout (delete) must win.
                let _ = bounded(self.bucket.update(&key, body.into(), entry.revision)).await;
            }
        }
        Ok(Some(Session {
            user_id: record.user_id,
            is_guest: record.is_guest,
            key,
        }))
    }

    /// Reads a session's entry, retrying for up to [`LOOKUP_BUDGET`] when NATS does not
    /// answer: a client reconnecting after its server died, or a leader election, would
    /// otherwise turn every request of those seconds into a 503.
    async fn read_riding_through(
        &self,
        key: &str,
    ) -> Result<Option<kv::Entry>, SessionStoreUnavailable> {
        let deadline = tokio::time::Instant::now() + LOOKUP_BUDGET;
        let mut pause = Duration::from_millis(50);
        loop {
            match bounded(hast_common::nats::kv_read::entry(&self.bucket, key)).await {
                Ok(entry) => return Ok(entry),
                Err(err) if tokio::time::Instant::now() + pause >= deadline => return Err(err),
                Err(_) => {
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                }
            }
        }
    }

    /// Ends one session.
    pub async fn destroy(&self, session: &Session) -> Result<(), SessionStoreUnavailable> {
        let subject = format!("{}{}", self.bucket.prefix, session.key);
        bounded(self.bucket.stream.clone().purge().filter(subject)).await?;
        Ok(())
    }

    /// Ends every session of `user_id` (account deletion), leaving nothing behind.
    pub async fn destroy_all(&self, user_id: &str) -> Result<(), SessionStoreUnavailable> {
        let subject = format!("{}{user_id}.>", self.bucket.prefix);
        bounded(self.bucket.stream.clone().purge().filter(subject)).await?;
        Ok(())
    }

    /// The bucket key of `token`, or `None` if the token is malformed. The user id must
    /// be a UUID in the one form this server issues (lower-case, hyphenated): `{…}`,
    /// `urn:uuid:…` or upper-case forms would make other (or invalid) bucket keys.
    fn key(&self, token: &str) -> Option<String> {
        let (user_id, secret) = token.split_once('.')?;
        let canonical = uuid::Uuid::try_parse(user_id)
            .ok()?
            .hyphenated()
            .to_string();
        if canonical != user_id {
            return None;
        }
        if secret.len() != 43
            || !secret
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return None;
        }
        let mut mac =
            Hmac::<Sha256>::new_from_slice(self.secret.expose_secret().as_bytes()).ok()?;
        mac.update(token.as_bytes());
        Some(format!(
            "{user_id}.{}",
            hex::encode(mac.finalize().into_bytes())
        ))
    }
}
