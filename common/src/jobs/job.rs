//! The [`Job`] trait: a job kind is its payload type. The type names the kind and says
//! who may submit it, how long one attempt may run, how many a worker runs at once, and
//! what a payload must hold beyond its shape ([`Job::validate`]); serde checks the shape.
//! [`KindSpec::of`] turns a `Job` into the untyped entry of [`super::KINDS`].

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::Concurrency;

/// A job kind, implemented by its payload type.
pub trait Job: Serialize + DeserializeOwned + Send + Sync + 'static {
    /// Subject suffix: `jobs.<KIND>`; the consumer is `worker-<KIND>`.
    const KIND: &'static str;
    /// Whether clients may submit it through `POST /api/v1/jobs`.
    const PUBLIC: bool = false;
    /// Public only with `APP_ENV=development`: a diagnostic kind (its payload can ask
    /// to fail, panic or sleep) that would let anyone fill the job store in production.
    const DEVELOPMENT_ONLY: bool = false;
    /// Deadline of one attempt.
    const TIMEOUT: Duration;
    /// How many a worker runs at once unless `WORKER_CONCURRENCY` says otherwise.
    const CONCURRENCY: Concurrency;

    /// Checks what serde cannot express; the message says what is wrong.
    fn validate(&self) -> Result<(), String> {
        Ok(())
    }
}

/// Parses `payload` as a `J` (a JSON object) and validates it.
pub fn parse<J: Job>(payload: &Value) -> Result<J, String> {
    if !payload.is_object() {
        return Err("the payload must be a JSON object".into());
    }
    let job = J::deserialize(payload).map_err(|e| format!("invalid payload: {e}"))?;
    job.validate()?;
    Ok(job)
}

/// Whether `payload` is a valid `J`.
pub fn validate_value<J: Job>(payload: &Value) -> Result<(), String> {
    parse::<J>(payload).map(|_| ())
}

/// A job kind without its type: what the API, bootstrap and the runner read.
#[derive(Debug, Clone, Copy)]
pub struct KindSpec {
    /// [`Job::KIND`].
    pub name: &'static str,
    /// [`Job::PUBLIC`].
    pub public: bool,
    /// [`Job::DEVELOPMENT_ONLY`].
    pub development_only: bool,
    /// [`Job::TIMEOUT`].
    pub timeout: Duration,
    /// [`Job::CONCURRENCY`].
    pub concurrency: Concurrency,
    /// [`validate_value`] of the kind's type.
    pub validate: fn(&Value) -> Result<(), String>,
}

impl KindSpec {
    /// The spec of the kind named `name`, if it is one.
    pub fn named(name: &str) -> Option<&'static KindSpec> {
        super::KINDS.iter().find(|k| k.name == name)
    }

    /// The spec of the kind named `name` if clients may submit it through the API in
    /// `env` (public, and not development-only outside development).
    pub fn submittable(name: &str, env: crate::config::AppEnv) -> Option<&'static KindSpec> {
        Self::named(name).filter(|k| {
            k.public && (!k.development_only || env == crate::config::AppEnv::Development)
        })
    }

    /// The spec of job type `J`.
    pub const fn of<J: Job>() -> Self {
        Self {
            name: J::KIND,
            public: J::PUBLIC,
            development_only: J::DEVELOPMENT_ONLY,
            timeout: J::TIMEOUT,
            concurrency: J::CONCURRENCY,
            validate: validate_value::<J>,
        }
    }
}
