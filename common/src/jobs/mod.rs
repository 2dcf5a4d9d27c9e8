//! Jobs: the kinds the platform knows, their status document, the KV status store,
//! the message envelope, and submission (used by the API and the ops CLI); for
//! operators, dead letters ([`dlq`]), queues to pause ([`queues`]), listings
//! ([`listing`]) and retries ([`retry`]).
//!
//! A kind is a subject `jobs.<kind>` with a durable consumer `worker-<kind>`. [`KINDS`]
//! is the one registration list: the API reads which kinds exist and which are public
//! from it, bootstrap creates a consumer per entry, and the worker refuses to start
//! unless it has a handler for every entry (and no others).

pub mod dlq;
pub mod envelope;
pub mod kinds;
pub mod listing;
pub mod owner_index;
pub mod pools;
pub mod queues;
pub mod retry;
pub mod status;
pub mod store;
pub mod submit;

use std::time::Duration;

use serde_json::Value;

pub use envelope::JobEnvelope;
pub use owner_index::{owner_token, OwnerIndex};
pub use pools::{Concurrency, WorkerPools};
pub use status::{JobFailure, JobState, JobStatus};
pub use store::{StatusError, StatusStore};
pub use submit::{NewJob, SubmitError, Submitted, Submitter};

/// A job kind: its name, who may submit it, how long one attempt may run, and how
/// its payload is validated before it is accepted.
#[derive(Debug)]
pub struct KindSpec {
    /// Subject suffix: `jobs.<name>`.
    pub name: &'static str,
    /// Whether clients may submit it through `POST /api/v1/jobs`.
    pub public: bool,
    /// Public only with `APP_ENV=development`: a diagnostic kind (its payload can ask
    /// to fail, panic or sleep) that would let anyone fill the job store in production.
    pub development_only: bool,
    /// Deadline of one attempt.
    pub timeout: Duration,
    /// How many a worker runs at once unless `WORKER_CONCURRENCY` says otherwise.
    pub concurrency: Concurrency,
    /// Checks a payload; the message says what is wrong.
    pub validate: fn(&Value) -> Result<(), String>,
}

/// Every job kind. Keep in step with the worker's handler list (checked at start-up).
pub const KINDS: &[KindSpec] = &[
    KindSpec {
        name: kinds::analysis::KIND,
        public: false,
        development_only: false,
        timeout: Duration::from_secs(120),
        concurrency: Concurrency::PerCore(1),
        validate: kinds::analysis::validate,
    },
    KindSpec {
        name: kinds::chat::KIND,
        public: false,
        development_only: false,
        timeout: Duration::from_secs(120),
        concurrency: Concurrency::Fixed(64),
        validate: kinds::chat::validate,
    },
    KindSpec {
        name: kinds::echo::KIND,
        public: true,
        development_only: true,
        timeout: Duration::from_secs(90),
        concurrency: Concurrency::Fixed(256),
        validate: kinds::echo::validate,
    },
    KindSpec {
        name: kinds::health::KIND,
        public: false,
        development_only: false,
        timeout: Duration::from_secs(10),
        concurrency: Concurrency::Fixed(16),
        validate: kinds::object_payload,
    },
    KindSpec {
        name: kinds::thumbnail::KIND,
        public: false,
        development_only: false,
        timeout: Duration::from_secs(30),
        concurrency: Concurrency::PerCore(2),
        validate: kinds::thumbnail::validate,
    },
];

/// The spec of `name`, if it is a known kind.
pub fn kind(name: &str) -> Option<&'static KindSpec> {
    KINDS.iter().find(|k| k.name == name)
}

/// The spec of `name` if clients may submit it through the API in `env`.
pub fn public_kind(name: &str, env: crate::config::AppEnv) -> Option<&'static KindSpec> {
    kind(name)
        .filter(|k| k.public && (!k.development_only || env == crate::config::AppEnv::Development))
}

/// The names of every kind.
pub fn kind_names() -> Vec<&'static str> {
    KINDS.iter().map(|k| k.name).collect()
}
