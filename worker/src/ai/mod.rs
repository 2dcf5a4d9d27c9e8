//! The model side of the worker (`ANALYZER=openai`): one [`Ai`] per process, shared by the
//! `analysis` and `chat` handlers.
//!
//! - `gate.rs`: [`NatsGate`], the fleet-wide limit on model calls (`ai_slots` bucket).
//! - `reading.rs`: the analysis — the offline measurement first, then the model writes the
//!   prose of the reading (strict JSON schema, validated, one repair attempt); measured
//!   fields always win.
//! - `chat.rs`: a chat answer from the reading and the conversation, fitted to
//!   `CHAT_CONTEXT_TOKENS`.
//!
//! Failures: a transient error (after the client's own retries) fails the attempt as
//! transient so the platform retries the job, except on the job's last attempt, where the
//! offline result stands; a permanent error (401, quota, …) or an unusable reply never
//! fails the job: the offline result stands and says why.
//!
//! Metrics: `hast_ai_requests_total{kind,outcome}` (`ok`, `invalid_reply`, `transient`,
//! `permanent`) and `hast_ai_tokens_total{kind,type}` (`prompt`, `completion`).
//!
//! The API key lives only in the client's configuration (a `SecretString`): it is never
//! logged, stored or put in a result.

pub mod answer;
pub mod gate;
pub mod reading;

use std::sync::Arc;
use std::time::Duration;

use hast_common::config::Settings;
use hast_common::jobs::Kind;
use hast_openai::{AiError, ChatRequest, Client, ClientConfig, Completion, Usage};
use serde_json::{json, Value};

pub use gate::NatsGate;

/// Time left, at the least, between the end of a job's model work and its kind's deadline.
pub const MODEL_MARGIN: Duration = Duration::from_secs(20);

use crate::jobs::{JobContext, JobError};

/// The model client and what its callers need to know.
pub struct Ai {
    client: Client,
    /// `CHAT_CONTEXT_TOKENS`.
    pub chat_context_tokens: usize,
    /// The reading schema (`palm/reading.schema.json`) and its validator.
    pub(crate) schema: reading::ReadingSchema,
}

impl std::fmt::Debug for Ai {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client's Debug redacts the key; keep it out entirely anyway.
        f.debug_struct("Ai")
            .field("model", &self.client.config().model)
            .field("chat_context_tokens", &self.chat_context_tokens)
            .finish_non_exhaustive()
    }
}

/// Why the model client could not be built.
#[derive(Debug, thiserror::Error)]
pub enum AiSetupError {
    #[error("OPENAI_*: {0}")]
    Client(#[from] AiError),
    #[error("reading schema: {0}")]
    Schema(String),
}

impl Ai {
    /// The client for `settings.worker.openai`, admitting every HTTP attempt through `gate`.
    pub fn new(
        settings: &Settings,
        gate: Arc<dyn hast_openai::Gate>,
    ) -> Result<Self, AiSetupError> {
        let openai = &settings.worker.openai;
        let mut config = ClientConfig::new(openai.base_url.clone(), openai.model.clone());
        config.api_key = openai.api_key.clone();
        config.request_timeout = openai.timeout;
        let client = Client::new(config)?.with_gate(gate);
        Ok(Self {
            client,
            chat_context_tokens: openai.chat_context_tokens,
            schema: reading::ReadingSchema::load().map_err(AiSetupError::Schema)?,
        })
    }

    /// When the model work of a job of `kind` started now must end: [`MODEL_MARGIN`]
    /// before the kind's deadline, so that a slow provider (the client's retries, a repair
    /// request) ends in this worker's fallback rather than in the runner's timeout.
    pub(crate) fn deadline(kind: Kind) -> tokio::time::Instant {
        let limit = kind.spec().timeout;
        tokio::time::Instant::now() + limit.saturating_sub(MODEL_MARGIN).max(MODEL_MARGIN)
    }

    /// Runs one completion for a job of `kind`, counting requests and tokens. Past
    /// `deadline` it gives up with a (transient) timeout.
    pub(crate) async fn complete(
        &self,
        kind: Kind,
        request: &ChatRequest,
        deadline: tokio::time::Instant,
    ) -> Result<Completion, AiError> {
        let outcome = tokio::time::timeout_at(deadline, self.client.complete(request))
            .await
            .unwrap_or(Err(AiError::Timeout { attempts: 0 }));
        let kind = kind.name();
        let (label, usage) = match &outcome {
            Ok(completion) => ("ok", Some(completion.usage)),
            Err(AiError::InvalidReply { usage, .. }) => ("invalid_reply", Some(*usage)),
            Err(err) if err.is_transient() => ("transient", None),
            Err(_) => ("permanent", None),
        };
        metrics::counter!("hast_ai_requests_total", "kind" => kind, "outcome" => label)
            .increment(1);
        if let Some(usage) = usage {
            count_tokens(kind, usage);
        }
        outcome
    }

    /// Whether a transient model failure should fail this attempt (so the platform
    /// retries the job) rather than fall back to the offline result.
    pub(crate) fn retry_later(&self, ctx: &JobContext, err: &AiError) -> Option<JobError> {
        (err.is_transient() && ctx.attempt < ctx.max_attempts).then(|| {
            JobError::transient(
                &format!("openai_{}", err.code()),
                format!("the model is unavailable: {err}"),
            )
        })
    }
}

fn count_tokens(kind: &'static str, usage: Usage) {
    metrics::counter!("hast_ai_tokens_total", "kind" => kind, "type" => "prompt")
        .increment(usage.prompt_tokens);
    metrics::counter!("hast_ai_tokens_total", "kind" => kind, "type" => "completion")
        .increment(usage.completion_tokens);
}

/// `usage` as result JSON.
pub(crate) fn usage_json(usage: Usage) -> Value {
    json!({
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "total_tokens": usage.total_tokens,
    })
}
