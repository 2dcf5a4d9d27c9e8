//! [`AiError`]: every way a completion can fail, and whether trying again can help.
//!
//! - **Transient** ([`AiError::is_transient`]): HTTP 408, 409, 429 (unless the quota is
//!   exhausted), 5xx, timeouts and connection failures. [`Client::complete`](crate::Client::complete)
//!   retries them itself.
//! - **Permanent**: other 4xx (400, 401, 403, 404, ...), `insufficient_quota`, unexpected
//!   statuses, a bad configuration.
//! - **Invalid reply** ([`AiError::InvalidReply`]): a 200 that cannot be used (refusal, no
//!   content, truncated, content-filtered, not chat-completion JSON). Not transient and not
//!   retried by the client: the caller decides whether a repair attempt is worth it.

use std::fmt;

use crate::response::Usage;

/// Longest provider message (or reply excerpt) kept in an error, in characters.
pub const MAX_MESSAGE_CHARS: usize = 300;

/// What was wrong with a 200 reply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum InvalidReplyKind {
    /// The model refused (`message.refusal` was set).
    Refusal,
    /// The message had no content.
    Empty,
    /// `finish_reason` was `length`: the reply was cut at the token limit.
    Truncated,
    /// `finish_reason` was `content_filter`.
    ContentFilter,
    /// The body was not chat-completion JSON.
    Malformed,
}

impl InvalidReplyKind {
    /// A stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Refusal => "refusal",
            Self::Empty => "empty_reply",
            Self::Truncated => "truncated",
            Self::ContentFilter => "content_filter",
            Self::Malformed => "malformed_reply",
        }
    }
}

impl fmt::Display for InvalidReplyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A failed completion. `attempts` counts the HTTP attempts made, the failing one included.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AiError {
    /// The configuration or the request cannot be used. Permanent.
    #[error("invalid client configuration: {0}")]
    Config(String),
    /// The [`Gate`](crate::Gate) refused to admit the attempt. Never retried by the client.
    #[error("the gate refused the request: {message}")]
    Gate {
        /// Why, as the gate put it.
        message: String,
        /// Whether a later attempt may be admitted.
        transient: bool,
    },
    /// The server answered with a non-success status.
    #[error("the provider answered HTTP {status} (attempt {attempts}): {message}")]
    Http {
        /// The HTTP status.
        status: u16,
        /// The body's `error.code` or `error.type` (`insufficient_quota` if either says so).
        provider_code: Option<String>,
        /// The provider's message, truncated and scrubbed of the key.
        message: String,
        /// HTTP attempts made.
        attempts: u32,
    },
    /// An attempt took longer than the request timeout. Transient.
    #[error("the request timed out (attempt {attempts})")]
    Timeout {
        /// HTTP attempts made.
        attempts: u32,
    },
    /// The server could not be reached, or the connection failed mid-reply. Transient.
    #[error("could not reach the provider (attempt {attempts}): {message}")]
    Connection {
        /// What failed (no URL, no headers).
        message: String,
        /// HTTP attempts made.
        attempts: u32,
    },
    /// A 200 reply that cannot be used. Not retried by the client.
    #[error("invalid reply: {kind} (attempt {attempts}): {detail}")]
    InvalidReply {
        /// What was wrong.
        kind: InvalidReplyKind,
        /// The refusal text, or what failed to parse (truncated).
        detail: String,
        /// Tokens spent, summed over all attempts that reported usage.
        usage: Usage,
        /// HTTP attempts made.
        attempts: u32,
    },
}

impl AiError {
    /// A gate refusal, for [`Gate`](crate::Gate) implementations.
    pub fn gate(message: impl Into<String>, transient: bool) -> Self {
        Self::Gate {
            message: message.into(),
            transient,
        }
    }

    /// Whether the same request may succeed later.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Config(_) | Self::InvalidReply { .. } => false,
            Self::Gate { transient, .. } => *transient,
            Self::Http {
                status,
                provider_code,
                ..
            } => status_is_transient(*status, provider_code.as_deref()),
            Self::Timeout { .. } | Self::Connection { .. } => true,
        }
    }

    /// Whether this is a 200 reply that cannot be used ([`AiError::InvalidReply`]).
    pub fn is_invalid_reply(&self) -> bool {
        matches!(self, Self::InvalidReply { .. })
    }

    /// A stable snake_case code, e.g. `rate_limited`, `insufficient_quota`, `server_error`,
    /// `unauthorized`, `timeout`, `refusal`, `truncated`, `malformed_reply`.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Config(_) => "config",
            Self::Gate { .. } => "gate",
            Self::Http {
                status,
                provider_code,
                ..
            } => status_code(*status, provider_code.as_deref()),
            Self::Timeout { .. } => "timeout",
            Self::Connection { .. } => "connection",
            Self::InvalidReply { kind, .. } => kind.code(),
        }
    }

    /// The HTTP status, for [`AiError::Http`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Http { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// HTTP attempts made, the failing one included (0 for `Config` and `Gate` errors).
    pub fn attempts(&self) -> u32 {
        match self {
            Self::Config(_) | Self::Gate { .. } => 0,
            Self::Http { attempts, .. }
            | Self::Timeout { attempts }
            | Self::Connection { attempts, .. }
            | Self::InvalidReply { attempts, .. } => *attempts,
        }
    }

    /// Records the attempt count (and, for an invalid reply, the summed usage).
    pub(crate) fn finish(mut self, made: u32, total: Usage) -> Self {
        match &mut self {
            Self::Config(_) | Self::Gate { .. } => {}
            Self::Http { attempts, .. }
            | Self::Timeout { attempts }
            | Self::Connection { attempts, .. } => *attempts = made,
            Self::InvalidReply {
                attempts, usage, ..
            } => {
                *attempts = made;
                *usage = total;
            }
        }
        self
    }
}

fn is_quota(provider_code: Option<&str>) -> bool {
    provider_code == Some("insufficient_quota")
}

fn status_is_transient(status: u16, provider_code: Option<&str>) -> bool {
    !is_quota(provider_code) && matches!(status, 408 | 409 | 429 | 500..=599)
}

fn status_code(status: u16, provider_code: Option<&str>) -> &'static str {
    if is_quota(provider_code) {
        return "insufficient_quota";
    }
    match status {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        408 => "request_timeout",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "unprocessable",
        429 => "rate_limited",
        500..=599 => "server_error",
        _ if (400..=499).contains(&status) => "client_error",
        _ => "unexpected_status",
    }
}

/// Makes provider text safe to keep: the key (if any) replaced, whitespace collapsed, at most
/// [`MAX_MESSAGE_CHARS`] characters.
pub(crate) fn sanitize(text: &str, key: Option<&str>) -> String {
    let scrubbed = match key {
        Some(k) if !k.is_empty() => text.replace(k, "[REDACTED]"),
        _ => text.to_owned(),
    };
    let collapsed = scrubbed.split_whitespace().collect::<Vec<_>>().join(" ");
    match collapsed.char_indices().nth(MAX_MESSAGE_CHARS) {
        Some((cut, _)) => format!("{}…", &collapsed[..cut]),
        None => collapsed,
    }
}

/// The message and code of an error body. Understands `{"error":{"message","type","code"}}`
/// (OpenAI, Ollama, llama.cpp), `{"error":"..."}`, and top-level `message`/`type`/`code` (vLLM);
/// anything else is kept as text.
pub(crate) fn parse_error_body(body: &[u8]) -> (String, Option<String>) {
    let text = String::from_utf8_lossy(body);
    let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return (text.into_owned(), None);
    };
    let object = match json.get("error") {
        Some(serde_json::Value::String(message)) => return (message.clone(), None),
        Some(inner @ serde_json::Value::Object(_)) => inner,
        _ => &json,
    };
    let field = |name: &str| {
        object
            .get(name)
            .and_then(|v| v.as_str())
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let message = field("message").unwrap_or_else(|| text.into_owned());
    let (code, kind) = (field("code"), field("type"));
    let provider_code = if code.as_deref() == Some("insufficient_quota")
        || kind.as_deref() == Some("insufficient_quota")
    {
        Some("insufficient_quota".to_owned())
    } else {
        code.or(kind)
    };
    (message, provider_code)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn http(status: u16, provider_code: Option<&str>) -> AiError {
        AiError::Http {
            status,
            provider_code: provider_code.map(str::to_owned),
            message: String::new(),
            attempts: 1,
        }
    }

    #[test]
    fn statuses_are_classified() {
        for status in [408, 409, 429, 500, 502, 503, 504, 599] {
            assert!(http(status, None).is_transient(), "{status}");
        }
        for status in [400, 401, 403, 404, 413, 422, 418, 301, 101] {
            assert!(!http(status, None).is_transient(), "{status}");
        }
        let quota = http(429, Some("insufficient_quota"));
        assert!(!quota.is_transient());
        assert_eq!(quota.code(), "insufficient_quota");
        assert_eq!(
            http(429, Some("rate_limit_exceeded")).code(),
            "rate_limited"
        );
        assert_eq!(http(401, None).code(), "unauthorized");
        assert_eq!(http(503, None).code(), "server_error");
        assert_eq!(http(418, None).code(), "client_error");
        assert_eq!(http(302, None).code(), "unexpected_status");
    }

    #[test]
    fn other_variants_are_classified() {
        assert!(AiError::Timeout { attempts: 1 }.is_transient());
        assert!(AiError::Connection {
            message: String::new(),
            attempts: 1
        }
        .is_transient());
        let invalid = AiError::InvalidReply {
            kind: InvalidReplyKind::Truncated,
            detail: String::new(),
            usage: Usage::default(),
            attempts: 1,
        };
        assert!(!invalid.is_transient());
        assert!(invalid.is_invalid_reply());
        assert_eq!(invalid.code(), "truncated");
        assert!(AiError::gate("busy", true).is_transient());
        assert!(!AiError::gate("budget spent", false).is_transient());
    }

    #[test]
    fn error_bodies_are_understood() {
        let openai = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert_eq!(
            parse_error_body(openai),
            (
                "You exceeded your current quota".into(),
                Some("insufficient_quota".into())
            )
        );
        let type_only = br#"{"error":{"message":"m","type":"insufficient_quota","code":null}}"#;
        assert_eq!(
            parse_error_body(type_only).1.as_deref(),
            Some("insufficient_quota")
        );
        let llama = br#"{"error":{"code":500,"message":"boom","type":"server_error"}}"#;
        assert_eq!(
            parse_error_body(llama),
            ("boom".into(), Some("server_error".into()))
        );
        let vllm = br#"{"object":"error","message":"bad","type":"BadRequestError","code":400}"#;
        assert_eq!(
            parse_error_body(vllm),
            ("bad".into(), Some("BadRequestError".into()))
        );
        assert_eq!(
            parse_error_body(br#"{"error":"nope"}"#),
            ("nope".into(), None)
        );
        assert_eq!(
            parse_error_body(b"Bad Gateway"),
            ("Bad Gateway".into(), None)
        );
    }

    #[test]
    fn sanitize_truncates_and_scrubs_the_key() {
        let long = "é".repeat(1000);
        let kept = sanitize(&long, None);
        assert_eq!(kept.chars().count(), MAX_MESSAGE_CHARS + 1);
        let scrubbed = sanitize("bad key sk-123 given\n\n  again sk-123", Some("sk-123"));
        assert_eq!(scrubbed, "bad key [REDACTED] given again [REDACTED]");
    }
}
