//! [`Client`]: sends a [`ChatRequest`], retries transient failures, validates the reply.

use std::error::Error as _;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use reqwest::header::{HeaderValue, ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use reqwest::Url;
use tracing::{debug, warn};

use crate::config::ClientConfig;
use crate::error::{parse_error_body, sanitize, AiError, InvalidReplyKind};
use crate::gate::Gate;
use crate::request::ChatRequest;
use crate::response::{usage_of, Completion, Reply, Usage, WireCompletion};
use crate::retry::{requested_delay, retry_delay};

/// Largest 200 body read; a longer one is a malformed reply.
const MAX_REPLY_BYTES: usize = 8 * 1024 * 1024;
/// Largest part of an error body read (only its message is kept).
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// A chat-completions client. Cheap to clone; clones share the connection pool and the gate.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    endpoint: Url,
    authorization: Option<HeaderValue>,
    config: Arc<ClientConfig>,
    gate: Option<Arc<dyn Gate>>,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("config", &self.config)
            .field("gate", &self.gate.is_some())
            .finish_non_exhaustive()
    }
}

/// How one attempt failed, with what the retry decision needs.
struct Failed {
    error: AiError,
    requested_delay: Option<Duration>,
    usage: Option<Usage>,
}

impl From<AiError> for Failed {
    fn from(error: AiError) -> Self {
        Self {
            error,
            requested_delay: None,
            usage: None,
        }
    }
}

impl Client {
    /// Checks the configuration and builds the HTTP client. Redirects are not followed (a
    /// redirect would turn the POST into a GET); a 3xx is a permanent error.
    pub fn new(config: ClientConfig) -> Result<Self, AiError> {
        let endpoint = config.endpoint()?;
        let authorization = match config.key() {
            Some(key) => {
                let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                    AiError::Config(
                        "the API key contains characters not allowed in a header".into(),
                    )
                })?;
                value.set_sensitive(true);
                Some(value)
            }
            None => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("hast-openai/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| AiError::Config(format!("cannot build the HTTP client: {}", chain(&e))))?;
        Ok(Self {
            http,
            endpoint,
            authorization,
            config: Arc::new(config),
            gate: None,
        })
    }

    /// Awaits `gate` before every HTTP attempt (see [`Gate`]).
    pub fn with_gate(mut self, gate: Arc<dyn Gate>) -> Self {
        self.gate = Some(gate);
        self
    }

    /// The configuration.
    pub fn config(&self) -> &ClientConfig {
        &self.config
    }

    /// Runs one completion: up to `max_attempts` HTTP attempts while the failure is transient,
    /// waiting between them as [`retry`](crate::retry) describes. A 200 that cannot be used is
    /// returned at once as [`AiError::InvalidReply`]. On failure the last error is returned,
    /// carrying the number of attempts made.
    pub async fn complete(&self, request: &ChatRequest) -> Result<Completion, AiError> {
        let model = request.model_or(&self.config.model);
        let body = Bytes::from(
            request
                .to_body(model)
                .map_err(|e| AiError::Config(format!("the request cannot be serialised: {e}")))?,
        );
        let timeout = request
            .timeout_override()
            .unwrap_or(self.config.request_timeout);
        let max_attempts = self.config.max_attempts.max(1);
        let mut usage = Usage::default();
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.attempt(body.clone(), timeout).await {
                Ok((reply_usage, reply)) => {
                    usage += reply_usage;
                    debug!(
                        attempts = attempt,
                        prompt_tokens = usage.prompt_tokens,
                        completion_tokens = usage.completion_tokens,
                        "chat completion done"
                    );
                    return Ok(Completion {
                        content: reply.content,
                        finish_reason: reply.finish_reason,
                        model: reply.model.unwrap_or_else(|| model.to_owned()),
                        usage,
                        attempts: attempt,
                    });
                }
                Err(failed) => {
                    usage += failed.usage.unwrap_or_default();
                    let error = failed.error.finish(attempt, usage);
                    let gated = matches!(error, AiError::Gate { .. });
                    if gated || !error.is_transient() || attempt >= max_attempts {
                        debug!(
                            attempts = attempt,
                            code = error.code(),
                            "chat completion failed"
                        );
                        return Err(error);
                    }
                    let delay = retry_delay(attempt, failed.requested_delay, &self.config);
                    warn!(
                        status = error.status(),
                        code = error.code(),
                        attempt,
                        max_attempts,
                        delay_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                        error = %error,
                        "chat completion attempt failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                }
            }
        }
    }

    /// One HTTP attempt under the gate. Returns the reply's usage with the reply.
    async fn attempt(&self, body: Bytes, timeout: Duration) -> Result<(Usage, Reply), Failed> {
        let _permit = match &self.gate {
            Some(gate) => Some(gate.admit().await?),
            None => None,
        };
        let mut request = self
            .http
            .post(self.endpoint.clone())
            .timeout(timeout)
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .body(body);
        if let Some(authorization) = &self.authorization {
            request = request.header(AUTHORIZATION, authorization.clone());
        }
        let mut response = request.send().await.map_err(transport_error)?;
        let status = response.status();
        let key = self.config.key();

        if !status.is_success() {
            let requested_delay = requested_delay(response.headers(), SystemTime::now());
            // A failure to read an error body is not worth more than the status itself.
            let (body, _) = read_body(&mut response, MAX_ERROR_BYTES)
                .await
                .unwrap_or_default();
            let (message, provider_code) = parse_error_body(&body);
            let message = match sanitize(&message, key) {
                m if m.is_empty() => status.canonical_reason().unwrap_or("").to_owned(),
                m => m,
            };
            return Err(Failed {
                error: AiError::Http {
                    status: status.as_u16(),
                    provider_code,
                    message,
                    attempts: 0,
                },
                requested_delay,
                usage: usage_of(&body),
            });
        }

        let (body, complete) = read_body(&mut response, MAX_REPLY_BYTES)
            .await
            .map_err(transport_error)?;
        let invalid = |kind, detail, usage| Failed {
            error: AiError::InvalidReply {
                kind,
                detail,
                usage: Usage::default(),
                attempts: 0,
            },
            requested_delay: None,
            usage,
        };
        if !complete {
            return Err(invalid(
                InvalidReplyKind::Malformed,
                format!("the reply is larger than {MAX_REPLY_BYTES} bytes"),
                None,
            ));
        }
        let parsed = WireCompletion::parse(&body, key)
            .map_err(|unusable| invalid(unusable.kind, unusable.detail, None))?;
        let reply_usage = parsed.usage();
        match parsed.into_reply(key) {
            Ok(reply) => Ok((reply_usage.unwrap_or_default(), reply)),
            Err(unusable) => Err(invalid(unusable.kind, unusable.detail, reply_usage)),
        }
    }
}

/// Reads at most `limit` bytes of the body; says whether the body ended within the limit.
async fn read_body(
    response: &mut reqwest::Response,
    limit: usize,
) -> Result<(Vec<u8>, bool), reqwest::Error> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = limit - body.len();
        if chunk.len() > room {
            body.extend_from_slice(&chunk[..room]);
            return Ok((body, false));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((body, true))
}

/// Classifies a transport failure. The URL is dropped: it could carry credentials.
fn transport_error(error: reqwest::Error) -> Failed {
    let error = error.without_url();
    let ai = if error.is_timeout() {
        AiError::Timeout { attempts: 0 }
    } else if error.is_builder() {
        AiError::Config(chain(&error))
    } else {
        AiError::Connection {
            message: sanitize(&chain(&error), None),
            attempts: 0,
        }
    };
    ai.into()
}

/// An error and its sources, joined with `: `.
fn chain(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
