//! [`ClientConfig`]: where the server is, how to authenticate, and how long and how often to try.

use std::fmt;
use std::time::Duration;

use reqwest::Url;
use secrecy::{ExposeSecret, SecretString};

use crate::error::AiError;

/// Default limit on one HTTP attempt, from sending the request to the end of the reply body.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(120);
/// Default limit on establishing a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Default number of HTTP attempts per completion (the first one included).
pub const DEFAULT_MAX_ATTEMPTS: u32 = 4;
/// Default backoff base: the first retry waits between half of it and all of it.
pub const DEFAULT_BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Default upper bound on a computed backoff delay.
pub const DEFAULT_BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Default upper bound on a delay the server asks for (`retry-after-ms` / `Retry-After`).
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Settings of a [`Client`](crate::Client). Build with [`ClientConfig::new`], then set fields.
#[derive(Clone)]
#[non_exhaustive]
pub struct ClientConfig {
    /// The API root, e.g. `https://api.openai.com/v1` or `http://localhost:11434/v1`;
    /// requests go to `{base_url}/chat/completions` (a trailing `/` is ignored).
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>`; `None` (or an empty key) sends no header.
    pub api_key: Option<SecretString>,
    /// The model used when a request does not name one.
    pub model: String,
    /// Limit on one HTTP attempt (connect, send, and read the whole reply).
    pub request_timeout: Duration,
    /// Limit on establishing a connection.
    pub connect_timeout: Duration,
    /// HTTP attempts per completion, the first included (at least 1).
    pub max_attempts: u32,
    /// Backoff base: retry `n` waits a random time in `[e/2, e]`, `e = min(cap, base·2^(n-1))`.
    pub backoff_base: Duration,
    /// Upper bound on a computed backoff delay.
    pub backoff_cap: Duration,
    /// Upper bound on a server-requested delay; a longer request is shortened to this.
    pub max_retry_after: Duration,
}

impl ClientConfig {
    /// A configuration with no key and the default timeouts and retry settings.
    pub fn new(base_url: impl Into<String>, model: impl Into<String>) -> Self {
        Self {
            base_url: base_url.into(),
            api_key: None,
            model: model.into(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            backoff_base: DEFAULT_BACKOFF_BASE,
            backoff_cap: DEFAULT_BACKOFF_CAP,
            max_retry_after: DEFAULT_MAX_RETRY_AFTER,
        }
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: SecretString) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The key, if one is configured and not blank.
    pub(crate) fn key(&self) -> Option<&str> {
        self.api_key
            .as_ref()
            .map(|k| k.expose_secret())
            .filter(|k| !k.trim().is_empty())
    }

    /// Checks the settings and returns the chat-completions endpoint.
    pub(crate) fn endpoint(&self) -> Result<Url, AiError> {
        // The URL itself is never echoed: it could carry credentials.
        let mut url = Url::parse(self.base_url.trim())
            .map_err(|e| AiError::Config(format!("base_url is not a valid URL: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AiError::Config(
                "base_url must be an http or https URL".into(),
            ));
        }
        if url.cannot_be_a_base() {
            return Err(AiError::Config("base_url cannot be a base URL".into()));
        }
        let path = format!("{}/chat/completions", url.path().trim_end_matches('/'));
        url.set_path(&path);
        if self.model.trim().is_empty() {
            return Err(AiError::Config("model must not be empty".into()));
        }
        if self.max_attempts == 0 {
            return Err(AiError::Config("max_attempts must be at least 1".into()));
        }
        if self.request_timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(AiError::Config("timeouts must be positive".into()));
        }
        Ok(url)
    }
}

impl fmt::Debug for ClientConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field("model", &self.model)
            .field("request_timeout", &self.request_timeout)
            .field("connect_timeout", &self.connect_timeout)
            .field("max_attempts", &self.max_attempts)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn debug_redacts_the_key() {
        let config = ClientConfig::new("http://localhost/v1", "m")
            .with_api_key(SecretString::from("sk-very-secret"));
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-very-secret"), "{debug}");
        assert!(debug.contains("[REDACTED]"), "{debug}");
    }

    #[test]
    fn blank_keys_count_as_none() {
        let config =
            ClientConfig::new("http://localhost/v1", "m").with_api_key(SecretString::from("  "));
        assert_eq!(config.key(), None);
    }

    #[test]
    fn endpoint_appends_the_path_once() {
        for base in ["http://h:1/v1", "http://h:1/v1/", " http://h:1/v1 "] {
            let url = ClientConfig::new(base, "m").endpoint().unwrap();
            assert_eq!(url.as_str(), "http://h:1/v1/chat/completions");
        }
        let url = ClientConfig::new("https://h/openai?api-version=1", "m")
            .endpoint()
            .unwrap();
        assert_eq!(
            url.as_str(),
            "https://h/openai/chat/completions?api-version=1"
        );
    }

    #[test]
    fn invalid_settings_are_config_errors() {
        let bad = [
            ClientConfig::new("not a url", "m"),
            ClientConfig::new("ftp://h/v1", "m"),
            ClientConfig::new("http://h/v1", " "),
            ClientConfig {
                max_attempts: 0,
                ..ClientConfig::new("http://h/v1", "m")
            },
        ];
        for config in bad {
            let err = config.endpoint().unwrap_err();
            assert_eq!(err.code(), "config", "{err}");
            assert!(!err.is_transient());
        }
    }
}
