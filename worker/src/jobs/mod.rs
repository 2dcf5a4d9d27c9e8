//! Job handlers: one file per kind, built by [`register`] from an exhaustive `match` on
//! [`Kind`].
//!
//! A handler implements [`JobHandler`]: it gets its kind's typed payload and a
//! [`JobContext`] and returns the result JSON or a [`JobError`] that says whether trying
//! again could help. [`Typed`] adapts it to the runner's untyped [`Handler`], parsing the
//! payload in that one place. Delivery is at-least-once, so handlers must be idempotent:
//! the runner stores results keyed by job id.

mod analysis;
pub(crate) mod chat;
pub mod echo;
mod health;
mod thumbnail;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::future::BoxFuture;
use hast_common::db::Database;
use hast_common::jobs::{Job, Kind, StatusStore};
use serde_json::Value;

use crate::heartbeat::WorkerIdentity;

/// Why a job attempt failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// Trying again later may succeed (a timeout, a dependency briefly down).
    #[error("{code}: {message}")]
    Transient { code: String, message: String },
    /// Trying again cannot succeed (invalid input, a refused request).
    #[error("{code}: {message}")]
    Permanent { code: String, message: String },
}

/// A database error inside a handler: transient (the next attempt may find it back).
impl From<hast_common::db::DbError> for JobError {
    fn from(e: hast_common::db::DbError) -> Self {
        Self::transient("database", e.to_string())
    }
}

impl JobError {
    pub fn transient(code: &str, message: impl Into<String>) -> Self {
        Self::Transient {
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn permanent(code: &str, message: impl Into<String>) -> Self {
        Self::Permanent {
            code: code.into(),
            message: message.into(),
        }
    }
    pub fn code(&self) -> &str {
        match self {
            Self::Transient { code, .. } | Self::Permanent { code, .. } => code,
        }
    }
    pub fn message(&self) -> &str {
        match self {
            Self::Transient { message, .. } | Self::Permanent { message, .. } => message,
        }
    }
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient { .. })
    }
}

/// Set when a job's attempt is over for the runner (past its deadline, cancelled,
/// handed back at shutdown, or finished): work that outlives the handler's task (the
/// palm engine in `spawn_blocking`) checks it between stages and stops.
#[derive(Clone, Debug, Default)]
pub struct CancelFlag(Arc<AtomicBool>);

impl CancelFlag {
    /// Asks the work to stop.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    /// Whether the work should stop.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that cancels when dropped.
    pub fn on_drop(&self) -> CancelOnDrop {
        CancelOnDrop(self.clone())
    }
}

/// Cancels its [`CancelFlag`] when dropped.
#[derive(Debug)]
pub struct CancelOnDrop(CancelFlag);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.cancel();
    }
}

/// What a handler may use.
#[derive(Clone)]
pub struct JobContext {
    pub job_id: String,
    /// This attempt (1-based), counted in the job status.
    pub attempt: u32,
    /// The job's attempts in all.
    pub max_attempts: u32,
    /// The dead-lettered job this one replays, if any.
    pub replay_of: Option<String>,
    pub db: Database,
    pub nats: async_nats::Client,
    pub statuses: StatusStore,
    /// The `images` object store.
    pub images: async_nats::jetstream::object_store::ObjectStore,
    pub identity: Arc<WorkerIdentity>,
    /// Set when the runner has given up on this attempt; see [`CancelFlag`].
    pub cancel: CancelFlag,
    /// The worker slot this attempt holds. Work moved off the handler's task (into
    /// `spawn_blocking`) keeps a clone, so the slot is freed only when that work ends:
    /// a worker never runs more copies than it has slots, even after a deadline.
    pub slot: Arc<tokio::sync::OwnedSemaphorePermit>,
}

impl std::fmt::Debug for JobContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobContext")
            .field("job_id", &self.job_id)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

impl JobContext {
    /// Reports progress (0–100) through the job status. Best effort: a failure to
    /// report never fails the job.
    pub async fn progress(&self, percent: u8) {
        let percent = percent.min(100);
        let _ = self
            .statuses
            .transition(&self.job_id, |s| {
                let changed = s.progress != percent;
                s.progress = percent;
                changed
            })
            .await;
    }
}

/// A job kind's implementation, typed by its payload.
pub trait JobHandler: Send + Sync + 'static {
    /// The kind's payload type.
    type Job: Job;

    /// Runs one attempt.
    fn run(&self, ctx: JobContext, job: Self::Job) -> BoxFuture<'static, Result<Value, JobError>>;

    /// Undoes what a run left behind when the job was cancelled while running or as it
    /// finished (the runner calls it before settling the message). Default: nothing.
    fn cancelled(
        &self,
        _db: Database,
        _job: Self::Job,
    ) -> BoxFuture<'static, Result<(), hast_common::db::DbError>> {
        Box::pin(async { Ok(()) })
    }
}

/// A handler as the runner calls it: the payload still JSON. Implemented by [`Typed`].
pub trait Handler: Send + Sync + 'static {
    /// The kind name.
    fn kind(&self) -> &'static str;
    /// Runs one attempt.
    fn run(&self, ctx: JobContext, payload: Value) -> BoxFuture<'static, Result<Value, JobError>>;
    /// See [`JobHandler::cancelled`].
    fn cancelled(
        &self,
        db: Database,
        payload: Value,
    ) -> BoxFuture<'static, Result<(), hast_common::db::DbError>>;
}

impl std::fmt::Debug for dyn Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handler({})", self.kind())
    }
}

/// Adapts a [`JobHandler`] to [`Handler`]: parses and validates the payload (a payload
/// that is not its kind's fails permanently, `invalid_payload`), then calls it.
#[derive(Debug)]
pub struct Typed<H>(pub H);

impl<H: JobHandler> Handler for Typed<H> {
    fn kind(&self) -> &'static str {
        H::Job::KIND
    }

    fn run(&self, ctx: JobContext, payload: Value) -> BoxFuture<'static, Result<Value, JobError>> {
        match hast_common::jobs::job::parse::<H::Job>(&payload) {
            Ok(job) => self.0.run(ctx, job),
            Err(e) => Box::pin(async move { Err(JobError::permanent("invalid_payload", e)) }),
        }
    }

    fn cancelled(
        &self,
        db: Database,
        payload: Value,
    ) -> BoxFuture<'static, Result<(), hast_common::db::DbError>> {
        match hast_common::jobs::job::parse::<H::Job>(&payload) {
            Ok(job) => self.0.cancelled(db, job),
            // Never run, so nothing to undo.
            Err(_) => Box::pin(async { Ok(()) }),
        }
    }
}

/// Every handler, by kind name.
pub type Registry = HashMap<&'static str, Arc<dyn Handler>>;

/// What handlers are built from. `engine` builds the palm engine (loading its model
/// takes memory and time, so it is called only when `analysis` is registered); `ai` is
/// the model client when `ANALYZER=openai` (else readings and answers are offline).
pub struct Parts<E> {
    pub engine: E,
    pub ai: Option<Arc<crate::ai::Ai>>,
    pub echo: echo::Echo,
}

impl<E> std::fmt::Debug for Parts<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parts")
            .field("ai", &self.ai.is_some())
            .finish_non_exhaustive()
    }
}

/// The handlers of `kinds` (a worker's `WORKER_KINDS`), each under its kind's name. The
/// `match` is exhaustive: a new [`Kind`] does not compile until it has a handler here.
pub fn register<E>(
    kinds: impl IntoIterator<Item = Kind>,
    parts: Parts<E>,
) -> Result<Registry, hast_palm::EngineError>
where
    E: FnOnce() -> Result<Arc<hast_palm::Engine>, hast_palm::EngineError>,
{
    let Parts { engine, ai, echo } = parts;
    let mut engine = Some(engine);
    let mut echo = Some(echo);
    let mut registry = Registry::new();
    for kind in kinds {
        let handler: Arc<dyn Handler> = match kind {
            Kind::Analysis => match engine.take() {
                Some(build) => Arc::new(Typed(analysis::Analysis::new(build()?, ai.clone()))),
                None => continue,
            },
            Kind::Chat => Arc::new(Typed(chat::Chat::new(ai.clone()))),
            Kind::Echo => match echo.take() {
                Some(echo) => Arc::new(Typed(echo)),
                None => continue,
            },
            Kind::Health => Arc::new(Typed(health::Health)),
            Kind::Thumbnail => Arc::new(Typed(thumbnail::Thumbnail)),
        };
        registry.insert(kind.name(), handler);
    }
    Ok(registry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(
        engine_built: &std::cell::Cell<bool>,
    ) -> Parts<impl FnOnce() -> Result<Arc<hast_palm::Engine>, hast_palm::EngineError> + '_> {
        Parts {
            engine: move || {
                engine_built.set(true);
                Ok(Arc::new(hast_palm::Engine::with_model(None)))
            },
            ai: None,
            echo: echo::Echo::default(),
        }
    }

    #[test]
    fn every_kind_has_a_handler_of_its_own_type() {
        let built = std::cell::Cell::new(false);
        let registry = register(Kind::ALL.iter().copied(), parts(&built)).unwrap();
        assert_eq!(registry.len(), Kind::ALL.len());
        for kind in Kind::ALL {
            assert_eq!(registry[kind.name()].kind(), kind.name());
        }
        assert!(built.get());
    }

    #[test]
    fn a_worker_without_analysis_never_builds_the_palm_engine() {
        let built = std::cell::Cell::new(false);
        let registry = register([Kind::Echo, Kind::Chat, Kind::Thumbnail], parts(&built)).unwrap();
        let mut names: Vec<_> = registry.keys().copied().collect();
        names.sort_unstable();
        assert_eq!(names, ["chat", "echo", "thumbnail"]);
        assert!(!built.get(), "the engine (and its model) was built");
    }
}
