//! Shared state handed to every route.

use std::sync::Arc;

use hast_common::config::Settings;
use hast_common::db::Database;
use hast_common::jobs::{StatusStore, Submitter};
use hast_common::nats::bootstrap::Topology;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::auth::limits::Limiter;
use crate::auth::password::Hasher;
use crate::auth::sessions::SessionStore;

/// What handlers need: settings, the database, NATS, the JetStream topology, job
/// submission and status, and the metrics handle ([`AppStateInner`], reached through
/// `Deref`).
///
/// One `Arc`: warp clones the state into every request's filters, and each NATS handle
/// (client, JetStream context, KV stores, streams) is several reference counts and
/// channel senders; cloning them all per request was over half of the API's CPU under
/// load (`perf`, docs/benchmarks.md).
#[derive(Clone)]
pub struct AppState(Arc<AppStateInner>);

/// The parts of [`AppState`].
pub struct AppStateInner {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub nats: async_nats::Client,
    pub topology: Topology,
    pub submitter: Submitter,
    pub statuses: StatusStore,
    pub metrics: PrometheusHandle,
    pub sessions: SessionStore,
    pub limiter: Limiter,
    /// Bounds argon2id runs (`PASSWORD_HASH_CONCURRENCY`).
    pub hasher: Hasher,
    /// Uploads decoded at once (`PHOTO_DECODE_SLOTS`).
    pub photo_slots: Arc<tokio::sync::Semaphore>,
    /// Event streams open per user (`SSE_STREAMS_PER_USER`).
    pub streams: crate::stream_slots::StreamSlots,
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for AppStateInner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the state from connected parts.
    pub fn new(
        settings: Settings,
        db: Database,
        nats: async_nats::Client,
        topology: Topology,
    ) -> Self {
        let statuses = StatusStore::of(&topology);
        let submitter = Submitter::new(
            topology.jetstream.clone(),
            statuses.clone(),
            topology.idempotency.clone(),
            settings.jobs.max_attempts,
        )
        .with_timeout(settings.jobs.submit_timeout);
        let sessions = SessionStore::new(
            topology.sessions.clone(),
            settings.api.session_secret.clone(),
            settings.api.session_ttl,
        );
        let limiter = Limiter::new(topology.rate_limits.clone());
        let hasher = Hasher::new(settings.api.limits.password_hash_concurrency);
        let photo_slots = Arc::new(tokio::sync::Semaphore::new(
            settings.api.limits.photo_decode_slots,
        ));
        let streams = crate::stream_slots::StreamSlots::new(settings.api.http.sse_streams_per_user);
        Self(Arc::new(AppStateInner {
            sessions,
            limiter,
            hasher,
            photo_slots,
            streams,
            settings: Arc::new(settings),
            db,
            nats,
            topology,
            submitter,
            statuses,
            metrics: hast_common::metrics::install(),
        }))
    }
}
