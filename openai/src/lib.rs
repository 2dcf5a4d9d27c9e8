//! A client for OpenAI-compatible chat-completions servers: OpenAI, Ollama, vLLM, LM Studio and
//! the llama.cpp server all answer `POST {base_url}/chat/completions`.
//!
//! Layout, one job per module:
//!
//! - `config.rs`: [`ClientConfig`], the endpoint, key, model, timeouts and retry settings. Its
//!   `Debug` redacts the key.
//! - `request.rs`: [`ChatRequest`], a builder of messages (text and JPEG image parts) with an
//!   optional strict JSON-schema response format, and its wire form.
//! - `response.rs`: [`Completion`], [`Usage`], [`FinishReason`] and the tolerant wire types of a
//!   reply (local servers omit fields OpenAI sends).
//! - `error.rs`: [`AiError`], classified as transient (retried), permanent, or an invalid reply
//!   (a 200 the caller cannot use: refusal, truncation, malformed body; never retried here).
//! - `retry.rs`: the delay before a retry: `retry-after-ms`, then `Retry-After`, else
//!   exponential backoff with equal jitter.
//! - `gate.rs`: [`Gate`], the hook a fleet-wide limiter uses to admit each HTTP attempt.
//! - `budget.rs`: [`fit_to_budget`], which drops the oldest turns of a conversation to fit a
//!   token estimate.
//! - `client.rs`: [`Client::complete`], which runs the attempts.
//!
//! The API key is a [`secrecy::SecretString`]: it is sent only in the `Authorization` header and
//! never reaches a log line, a `Debug` output, an error message or a returned value. Provider
//! messages are truncated and scrubbed of the key before they are kept.

pub mod budget;
pub mod client;
pub mod config;
pub mod error;
pub mod gate;
pub mod request;
pub mod response;
pub mod retry;

pub use budget::{estimate_tokens, fit_to_budget};
pub use client::Client;
pub use config::ClientConfig;
pub use error::{AiError, InvalidReplyKind};
pub use gate::{AdmitFuture, Gate, GatePermit};
pub use request::{ChatRequest, Message, Part, ResponseFormat, Role};
pub use response::{Completion, FinishReason, Usage};
