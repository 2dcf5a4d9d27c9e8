//! Job handlers: one file per kind, one registration list ([`register`]).
//!
//! A handler gets the payload and a [`JobContext`] and returns the result JSON or a
//! [`JobError`] that says whether trying again could help. Delivery is at-least-once,
//! so handlers must be idempotent: the runner stores results keyed by job id.

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
use hast_common::jobs::StatusStore;
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

impl JobContext {
    /// Deletes every object of analysis `id`, whose row is gone: the user deleted it
    /// while a job of it ran, and the job may have written an object after the API's
    /// sweep (the API sweeps before and after deleting the row; a job checks the row
    /// after its last write). A failure is transient: the retry finds no row and comes
    /// back here.
    pub async fn discard_deleted_analysis(&self, id: &str) -> Result<(), JobError> {
        hast_common::nats::objects::delete_analysis_objects(&self.images, id)
            .await
            .map_err(|e| JobError::transient("object_store", e))?;
        tracing::info!(analysis.id = %id, "analysis deleted meanwhile: its objects are removed");
        Ok(())
    }
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

/// A job kind's implementation.
pub trait Handler: Send + Sync + 'static {
    /// The kind name; must be in `hast_common::jobs::KINDS`.
    fn kind(&self) -> &'static str;
    /// Runs one attempt.
    fn run(&self, ctx: JobContext, payload: Value) -> BoxFuture<'static, Result<Value, JobError>>;

    /// Undoes what a run left behind when the job was cancelled while running or as it
    /// finished (the runner calls it before settling the message). Default: nothing.
    fn cancelled(
        &self,
        _db: Database,
        _payload: Value,
    ) -> BoxFuture<'static, Result<(), hast_common::db::DbError>> {
        Box::pin(async { Ok(()) })
    }
}

impl std::fmt::Debug for dyn Handler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Handler({})", self.kind())
    }
}

/// Every handler, by kind.
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

/// The one registration list: the handlers of `kinds`. A name without a handler is
/// left out, which [`check_registry`] then reports.
pub fn register<E>(
    kinds: impl IntoIterator<Item = &'static str>,
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
        use hast_common::jobs::kinds;
        let handler: Arc<dyn Handler> = match kind {
            kinds::echo::KIND => match echo.take() {
                Some(echo) => Arc::new(echo),
                None => continue,
            },
            kinds::health::KIND => Arc::new(health::Health),
            kinds::analysis::KIND => match engine.take() {
                Some(build) => Arc::new(analysis::Analysis::new(build()?, ai.clone())),
                None => continue,
            },
            kinds::thumbnail::KIND => Arc::new(thumbnail::Thumbnail),
            kinds::chat::KIND => Arc::new(chat::Chat::new(ai.clone())),
            _ => continue,
        };
        registry.insert(handler.kind(), handler);
    }
    Ok(registry)
}

/// Checks that the registry has a handler for exactly `kinds`, each under its own name.
pub fn check_registry<'a>(
    registry: &Registry,
    kinds: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let mut wanted: Vec<&str> = kinds.into_iter().collect();
    let mut registered: Vec<&str> = registry.keys().copied().collect();
    wanted.sort_unstable();
    registered.sort_unstable();
    let misnamed = registry
        .iter()
        .find(|(name, handler)| **name != handler.kind());
    if wanted == registered && misnamed.is_none() {
        Ok(())
    } else {
        Err(format!(
            "job kinds wanted {wanted:?} but handlers registered for {registered:?}"
        ))
    }
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
    fn every_declared_kind_has_exactly_one_handler() {
        let built = std::cell::Cell::new(false);
        let kinds = hast_common::jobs::kind_names();
        let registry = register(kinds.iter().copied(), parts(&built)).unwrap();
        check_registry(&registry, kinds).unwrap();
        assert!(built.get());
    }

    #[test]
    fn a_worker_without_analysis_never_builds_the_palm_engine() {
        let built = std::cell::Cell::new(false);
        let registry = register(["echo", "chat", "thumbnail"], parts(&built)).unwrap();
        check_registry(&registry, ["chat", "echo", "thumbnail"]).unwrap();
        assert!(!built.get(), "the engine (and its model) was built");
    }
}
