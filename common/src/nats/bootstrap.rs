//! Creates or reconciles the JetStream topology: streams `JOBS` and `JOBS_DLQ`, one
//! durable pull consumer per job kind, the KV buckets and the `images` object store.
//!
//! Every call is idempotent and every stream and bucket is created-or-updated, so
//! whichever process starts first builds the topology. The job consumers have one
//! owner: workers create or update them from their settings (`JOB_ACK_WAIT`,
//! `JOB_MAX_ATTEMPTS`, `JOB_MAX_ACK_PENDING`); the API only creates a missing one and
//! never changes an existing one, so a rolling configuration change cannot be undone by
//! an API replica with older settings. Workers heartbeat at the consumer's actual
//! `ack_wait`, read back from the server (see the worker's runner).

use std::time::Duration;

use async_nats::jetstream::{self, consumer, kv, object_store, stream};

use super::names::{
    consumer_name, job_subject, ADVISORIES_STREAM, AI_SLOTS_BUCKET, DLQ_STREAM, DLQ_SUBJECTS,
    IDEMPOTENCY_BUCKET, IMAGES_BUCKET, JOBS_STREAM, JOBS_SUBJECTS, JOB_OWNERS_BUCKET,
    JOB_STATUS_BUCKET, LEASES_BUCKET, MAX_DELIVERIES_ADVISORIES, RATE_LIMITS_BUCKET,
    RECONCILER_CONSUMER, SESSIONS_BUCKET, WORKERS_BUCKET,
};
use super::storage::Store;
use crate::config::Settings;

/// How long JetStream remembers a `Nats-Msg-Id`: a retried publish inside this window
/// is not a second job. It must exceed the API's publish-retry horizon.
pub const DUPLICATE_WINDOW: Duration = Duration::from_secs(10 * 60);
/// Max-deliveries advisories waiting for the reconciler are kept this long.
pub const ADVISORIES_MAX_AGE: Duration = Duration::from_secs(7 * 24 * 3600);
/// Revisions kept per job status key (the SSE stream and operators read the history).
pub const JOB_STATUS_HISTORY: i64 = 10;
/// How long an `Idempotency-Key` is remembered.
pub const IDEMPOTENCY_MAX_AGE: Duration = Duration::from_secs(24 * 3600);
/// Lifetime of an abuse-limit counter: the longest window (uploads per hour).
pub const RATE_LIMITS_MAX_AGE: Duration = Duration::from_secs(3600);
/// Lifetime of a lease in the `leases` bucket: a holder renews it every third of this;
/// a holder that died loses it after this long.
pub const LEASE_TTL: Duration = Duration::from_secs(30);
/// How often a worker refreshes its heartbeat.
pub const WORKER_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(5);
/// A worker that has not written a heartbeat for this long is gone.
pub const WORKER_HEARTBEAT_TTL: Duration = Duration::from_secs(15);
/// Lease of an `ai_slots` slot when the bucket is first created: twice the default
/// `OPENAI_TIMEOUT`. Workers with `ANALYZER=openai` reconcile it to twice their own
/// `OPENAI_TIMEOUT` ([`ensure_ai_slots`]); a holder that crashed frees its slot after it.
pub const DEFAULT_AI_SLOT_LEASE: Duration = Duration::from_secs(120);
/// Largest job message; photos travel through the object store, not in jobs.
pub const MAX_JOB_MESSAGE_BYTES: i32 = 1024 * 1024;

/// Deliveries of a job message allowed beyond twice its attempts: hand-backs after an
/// infrastructure outage outlasting `JOB_INFRA_RETRY_BUDGET`, worker shutdowns and lost
/// acknowledgements are deliveries that use no attempt. A message that reaches
/// `max_deliver` anyway is failed visibly by the reconciler.
pub const MAX_DELIVER_HEADROOM: i64 = 20;

/// The consumers' `max_deliver` for `max_attempts`: a ceiling far above the attempts the
/// worker counts itself in the job status.
pub fn max_deliver(max_attempts: u32) -> i64 {
    2 * i64::from(max_attempts) + MAX_DELIVER_HEADROOM
}

/// Who sets the job consumers' configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsumerOwnership {
    /// Create or update them (workers: they own the consumers).
    Reconcile,
    /// Create a missing one, never change an existing one (the API).
    CreateIfMissing,
}

/// Settings the topology is built from.
#[derive(Debug, Clone)]
pub struct TopologyConfig {
    /// Replicas of every stream and bucket (`JOBS_REPLICAS`).
    pub replicas: usize,
    /// Consumer `ack_wait` (`JOB_ACK_WAIT`); workers heartbeat well within it.
    pub ack_wait: Duration,
    /// Job attempts (`JOB_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Consumer `max_ack_pending`: jobs of one kind in flight fleet-wide.
    pub max_ack_pending: i64,
    /// Session lifetime (`SESSION_TTL`), the TTL of the `sessions` bucket.
    pub session_ttl: Duration,
    /// Job kinds; one consumer `worker-<kind>` each.
    pub kinds: Vec<String>,
    /// Whether this process may change existing consumers.
    pub consumers: ConsumerOwnership,
    /// `JETSTREAM_MAX_BYTES`, shared out as every store's `max_bytes` (see
    /// [`super::storage`]).
    pub storage_budget: u64,
    /// `JOB_STATUS_RETENTION`: the `job_status` bucket's `max_age`.
    pub status_retention: Duration,
    /// `DLQ_RETENTION`: the `JOBS_DLQ` stream's `max_age`.
    pub dlq_retention: Duration,
}

impl TopologyConfig {
    /// The topology for these settings and job kinds.
    pub fn from_settings(settings: &Settings, kinds: &[&str]) -> Self {
        Self {
            replicas: settings.jobs_replicas,
            ack_wait: settings.jobs.ack_wait,
            max_attempts: settings.jobs.max_attempts,
            max_ack_pending: settings.jobs.max_ack_pending,
            session_ttl: settings.api.session_ttl,
            kinds: kinds.iter().map(|k| (*k).to_owned()).collect(),
            consumers: ConsumerOwnership::Reconcile,
            storage_budget: settings.jetstream_max_bytes,
            status_retention: settings.jobs.status_retention,
            dlq_retention: settings.jobs.dlq_retention,
        }
    }

    /// The same topology, creating consumers only where they are missing.
    pub fn without_consumer_updates(mut self) -> Self {
        self.consumers = ConsumerOwnership::CreateIfMissing;
        self
    }
}

/// Handles on everything [`bootstrap`] created.
#[derive(Clone)]
pub struct Topology {
    pub jetstream: jetstream::Context,
    pub job_status: kv::Store,
    /// The index of job statuses by owner (see [`crate::jobs::OwnerIndex`]).
    pub job_owners: kv::Store,
    pub sessions: kv::Store,
    pub workers: kv::Store,
    pub idempotency: kv::Store,
    pub rate_limits: kv::Store,
    /// Leases on fleet-wide singletons (the reconciler).
    pub leases: kv::Store,
    /// The fleet-wide limit on model calls (see [`ensure_ai_slots`]).
    pub ai_slots: kv::Store,
    pub images: object_store::ObjectStore,
}

impl std::fmt::Debug for Topology {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Topology").finish_non_exhaustive()
    }
}

/// Which part of the topology could not be created.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up {what}: {message}")]
pub struct BootstrapError {
    pub what: String,
    pub message: String,
}

fn failed(what: impl Into<String>, err: impl std::fmt::Display) -> BootstrapError {
    BootstrapError {
        what: what.into(),
        message: err.to_string(),
    }
}

/// The `JOBS` stream configuration.
pub fn jobs_stream_config(config: &TopologyConfig) -> stream::Config {
    stream::Config {
        name: JOBS_STREAM.into(),
        description: Some("Hast jobs waiting for a worker (work queue)".into()),
        subjects: vec![JOBS_SUBJECTS.into()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: config.replicas,
        duplicate_window: DUPLICATE_WINDOW,
        max_message_size: MAX_JOB_MESSAGE_BYTES,
        max_bytes: Store::Jobs.max_bytes(config.storage_budget),
        discard: stream::DiscardPolicy::New,
        // The reconciler reads stranded messages by "next message at or after" without a
        // consumer (a work queue allows no second consumer on a subject).
        allow_direct: true,
        ..Default::default()
    }
}

/// The durable pull consumer for one job kind.
pub fn consumer_config(config: &TopologyConfig, kind: &str) -> consumer::pull::Config {
    consumer::pull::Config {
        durable_name: Some(consumer_name(kind)),
        description: Some(format!("Workers pulling {kind} jobs")),
        filter_subject: job_subject(kind),
        ack_policy: consumer::AckPolicy::Explicit,
        deliver_policy: consumer::DeliverPolicy::All,
        ack_wait: config.ack_wait,
        // The worker counts attempts in the job status and decides when a job has failed
        // for good; deliveries are only a ceiling (see [`max_deliver`]).
        max_deliver: max_deliver(config.max_attempts),
        max_ack_pending: config.max_ack_pending,
        num_replicas: config.replicas,
        ..Default::default()
    }
}

/// Handles on an existing topology, changing nothing (for operator tools, which must
/// not reconcile settings with their own environment).
pub async fn open(client: async_nats::Client) -> Result<Topology, BootstrapError> {
    let js = jetstream::new(client);
    let bucket = |name: &'static str| {
        let js = js.clone();
        async move {
            js.get_key_value(name)
                .await
                .map_err(|e| failed(format!("bucket {name} (is the service bootstrapped?)"), e))
        }
    };
    Ok(Topology {
        job_status: bucket(JOB_STATUS_BUCKET).await?,
        job_owners: bucket(JOB_OWNERS_BUCKET).await?,
        sessions: bucket(SESSIONS_BUCKET).await?,
        workers: bucket(WORKERS_BUCKET).await?,
        idempotency: bucket(IDEMPOTENCY_BUCKET).await?,
        rate_limits: bucket(RATE_LIMITS_BUCKET).await?,
        leases: bucket(LEASES_BUCKET).await?,
        ai_slots: bucket(AI_SLOTS_BUCKET).await?,
        images: js
            .get_object_store(IMAGES_BUCKET)
            .await
            .map_err(|e| failed(format!("object store {IMAGES_BUCKET}"), e))?,
        jetstream: js,
    })
}

/// Creates or reconciles the whole topology and returns handles on it.
pub async fn bootstrap(
    client: async_nats::Client,
    config: &TopologyConfig,
) -> Result<Topology, BootstrapError> {
    let js = jetstream::new(client);
    ensure_streams(&js, config).await?;
    ensure_job_consumers(&js, config).await?;
    let buckets = ensure_buckets(&js, config).await?;
    let ai_slots = ensure_ai_slots(&js, config.replicas, None).await?;
    let images = ensure_object_store(&js, config).await?;
    Ok(Topology {
        jetstream: js,
        job_status: buckets.job_status,
        job_owners: buckets.job_owners,
        sessions: buckets.sessions,
        workers: buckets.workers,
        idempotency: buckets.idempotency,
        rate_limits: buckets.rate_limits,
        leases: buckets.leases,
        ai_slots,
        images,
    })
}

/// `JOBS`, `JOBS_DLQ`, and the max-deliveries advisories with the reconciler's consumer.
async fn ensure_streams(
    js: &jetstream::Context,
    config: &TopologyConfig,
) -> Result<(), BootstrapError> {
    js.create_or_update_stream(jobs_stream_config(config))
        .await
        .map_err(|e| failed(format!("stream {JOBS_STREAM}"), e))?;
    js.create_or_update_stream(stream::Config {
        name: DLQ_STREAM.into(),
        description: Some("Hast jobs that failed for good (dead letters)".into()),
        subjects: vec![DLQ_SUBJECTS.into()],
        retention: stream::RetentionPolicy::Limits,
        storage: stream::StorageType::File,
        num_replicas: config.replicas,
        max_age: config.dlq_retention,
        max_bytes: Store::DeadLetters.max_bytes(config.storage_budget),
        discard: stream::DiscardPolicy::New,
        // A dead letter's id is its job message's JOBS sequence: a worker that resumes a
        // failure after a crash or an outage publishes it again, and this drops the copy.
        duplicate_window: DUPLICATE_WINDOW,
        ..Default::default()
    })
    .await
    .map_err(|e| failed(format!("stream {DLQ_STREAM}"), e))?;

    js.create_or_update_stream(stream::Config {
        name: ADVISORIES_STREAM.into(),
        description: Some(
            "JetStream's max-deliveries advisories of JOBS, for the reconciler".into(),
        ),
        subjects: vec![MAX_DELIVERIES_ADVISORIES.into()],
        retention: stream::RetentionPolicy::WorkQueue,
        storage: stream::StorageType::File,
        num_replicas: config.replicas,
        max_age: ADVISORIES_MAX_AGE,
        max_bytes: Store::Advisories.max_bytes(config.storage_budget),
        ..Default::default()
    })
    .await
    .map_err(|e| failed(format!("stream {ADVISORIES_STREAM}"), e))?;
    js.create_consumer_on_stream(
        consumer::pull::Config {
            durable_name: Some(RECONCILER_CONSUMER.into()),
            description: Some("The reconciler settling jobs stuck at max_deliver".into()),
            ack_policy: consumer::AckPolicy::Explicit,
            ack_wait: Duration::from_secs(60),
            num_replicas: config.replicas,
            ..Default::default()
        },
        ADVISORIES_STREAM,
    )
    .await
    .map_err(|e| failed(format!("consumer {RECONCILER_CONSUMER}"), e))?;
    Ok(())
}

/// One consumer `worker-<kind>` per kind, created or updated as `config.consumers` says.
async fn ensure_job_consumers(
    js: &jetstream::Context,
    config: &TopologyConfig,
) -> Result<(), BootstrapError> {
    for kind in &config.kinds {
        let what = || format!("consumer {}", consumer_name(kind));
        let wanted = consumer_config(config, kind);
        match config.consumers {
            ConsumerOwnership::Reconcile => {
                // An update that does not name `pause_until` keeps an operator's pause
                // (`hast-api kinds pause`): nats-server (2.11 and 2.15 tested) leaves
                // it as it is. Carrying it over here would re-pause a kind resumed
                // between the read and the update. tests/tests/console.rs holds this.
                js.create_consumer_on_stream(wanted, JOBS_STREAM)
                    .await
                    .map_err(|e| failed(what(), e))?;
            }
            ConsumerOwnership::CreateIfMissing => {
                match js
                    .create_consumer_strict_on_stream(wanted, JOBS_STREAM)
                    .await
                {
                    Ok(_) => {}
                    Err(e) if e.kind() == stream::ConsumerCreateStrictErrorKind::AlreadyExists => {}
                    Err(e) => return Err(failed(what(), e)),
                }
            }
        }
    }
    Ok(())
}

/// The KV buckets [`Topology`] holds (but `ai_slots`).
struct Buckets {
    job_status: kv::Store,
    job_owners: kv::Store,
    sessions: kv::Store,
    workers: kv::Store,
    idempotency: kv::Store,
    rate_limits: kv::Store,
    leases: kv::Store,
}

/// Long on purpose: one definition per bucket, side by side, so their histories, ages
/// and storage shares can be read and compared at a glance.
async fn ensure_buckets(
    js: &jetstream::Context,
    config: &TopologyConfig,
) -> Result<Buckets, BootstrapError> {
    let bucket =
        |name: &'static str, description: &str, history: i64, max_age: Duration, store: Store| {
            let js = js.clone();
            let config = kv::Config {
                bucket: name.into(),
                description: description.into(),
                history,
                max_age,
                max_bytes: store.max_bytes(config.storage_budget),
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                ..Default::default()
            };
            async move {
                js.create_or_update_key_value(config)
                    .await
                    .map_err(|e| failed(format!("bucket {name}"), e))
            }
        };
    let job_status = bucket(
        JOB_STATUS_BUCKET,
        "Hast job status by job id",
        JOB_STATUS_HISTORY,
        config.status_retention,
        Store::JobStatus,
    )
    .await?;
    // Its entries expire with the statuses they point to.
    let job_owners = bucket(
        JOB_OWNERS_BUCKET,
        "Hast index of job statuses by owner",
        1,
        config.status_retention,
        Store::JobOwners,
    )
    .await?;
    let sessions = bucket(
        SESSIONS_BUCKET,
        "Hast sessions by token hash",
        1,
        config.session_ttl,
        Store::Sessions,
    )
    .await?;
    let workers = bucket(
        WORKERS_BUCKET,
        "Hast worker heartbeats",
        1,
        WORKER_HEARTBEAT_TTL,
        Store::Workers,
    )
    .await?;
    let idempotency = bucket(
        IDEMPOTENCY_BUCKET,
        "Hast Idempotency-Key records",
        1,
        IDEMPOTENCY_MAX_AGE,
        Store::Idempotency,
    )
    .await?;

    let rate_limits = bucket(
        RATE_LIMITS_BUCKET,
        "Hast abuse-limit counters",
        1,
        RATE_LIMITS_MAX_AGE,
        Store::RateLimits,
    )
    .await?;

    let leases = bucket(
        LEASES_BUCKET,
        "Hast leases on fleet-wide singletons",
        1,
        LEASE_TTL,
        Store::Leases,
    )
    .await?;
    Ok(Buckets {
        job_status,
        job_owners,
        sessions,
        workers,
        idempotency,
        rate_limits,
        leases,
    })
}

/// The `ai_slots` bucket: one key per slot of the fleet-wide limit on model calls
/// (`OPENAI_MAX_CONCURRENCY`), created (create-only) by the caller holding it and
/// deleted when its call ends. The bucket's `max_age` is the lease: a slot whose holder
/// crashed expires after it.
///
/// With `lease = None` (every process's bootstrap) the bucket is created with
/// [`DEFAULT_AI_SLOT_LEASE`] if missing and otherwise left as it is; with `Some(lease)`
/// (a worker that calls a model) its lease is reconciled to `lease`.
pub async fn ensure_ai_slots(
    js: &jetstream::Context,
    replicas: usize,
    lease: Option<Duration>,
) -> Result<kv::Store, BootstrapError> {
    let what = || format!("bucket {AI_SLOTS_BUCKET}");
    if lease.is_none() {
        if let Ok(store) = js.get_key_value(AI_SLOTS_BUCKET).await {
            return Ok(store);
        }
    }
    js.create_or_update_key_value(kv::Config {
        bucket: AI_SLOTS_BUCKET.into(),
        description: "Hast fleet-wide model-call slots (key per held slot)".into(),
        history: 1,
        max_age: lease.unwrap_or(DEFAULT_AI_SLOT_LEASE),
        // Never more than OPENAI_MAX_CONCURRENCY tiny keys.
        max_bytes: 1024 * 1024,
        storage: stream::StorageType::File,
        num_replicas: replicas,
        ..Default::default()
    })
    .await
    .map_err(|e| failed(what(), e))
}

/// Creates the `images` object store, or reconciles its stream (`OBJ_images`) with the
/// same settings async-nats uses when it creates one.
async fn ensure_object_store(
    js: &jetstream::Context,
    config: &TopologyConfig,
) -> Result<object_store::ObjectStore, BootstrapError> {
    let what = || format!("object store {IMAGES_BUCKET}");
    match js.get_object_store(IMAGES_BUCKET).await {
        Ok(_) => {
            js.create_or_update_stream(stream::Config {
                name: format!("OBJ_{IMAGES_BUCKET}"),
                description: Some("Hast photos and overlays".into()),
                subjects: vec![
                    format!("$O.{IMAGES_BUCKET}.C.>"),
                    format!("$O.{IMAGES_BUCKET}.M.>"),
                ],
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                max_bytes: Store::Images.max_bytes(config.storage_budget),
                discard: stream::DiscardPolicy::New,
                allow_rollup: true,
                allow_direct: true,
                ..Default::default()
            })
            .await
            .map_err(|e| failed(what(), e))?;
        }
        Err(_) => {
            js.create_object_store(object_store::Config {
                bucket: IMAGES_BUCKET.into(),
                description: Some("Hast photos and overlays".into()),
                storage: stream::StorageType::File,
                num_replicas: config.replicas,
                max_bytes: Store::Images.max_bytes(config.storage_budget),
                ..Default::default()
            })
            .await
            .map_err(|e| failed(what(), e))?;
        }
    }
    js.get_object_store(IMAGES_BUCKET)
        .await
        .map_err(|e| failed(what(), e))
}
