//! NATS names. They are part of the public contract: operators type them into the
//! `nats` CLI and docs/operations.md quotes them. Change them only deliberately.

/// Work-queue stream holding every job until a worker acknowledges it.
pub const JOBS_STREAM: &str = "JOBS";
/// Subjects of [`JOBS_STREAM`]: `jobs.<kind>`.
pub const JOBS_SUBJECTS: &str = "jobs.>";
/// Stream of jobs that failed for good, kept for inspection and replay.
pub const DLQ_STREAM: &str = "JOBS_DLQ";
/// Subjects of [`DLQ_STREAM`]: `dlq.<kind>`.
pub const DLQ_SUBJECTS: &str = "dlq.>";
/// KV bucket: job id → job status JSON.
pub const JOB_STATUS_BUCKET: &str = "job_status";
/// KV bucket: `<owner>.<job id>` → nothing: the index of job statuses by owner.
pub const JOB_OWNERS_BUCKET: &str = "job_owners";
/// KV bucket: session key → session JSON (TTL = session lifetime).
pub const SESSIONS_BUCKET: &str = "sessions";
/// KV bucket: worker id → heartbeat JSON (short TTL).
pub const WORKERS_BUCKET: &str = "workers";
/// KV bucket: hash of (owner, `Idempotency-Key`) → the job it created.
pub const IDEMPOTENCY_BUCKET: &str = "idempotency";
/// KV bucket: abuse-limit counters (`<scope>.<subject hash>.<window>` → count).
pub const RATE_LIMITS_BUCKET: &str = "rate_limits";
/// KV bucket: the fleet-wide semaphore on model calls (`slot.<n>` → holder, TTL = lease).
pub const AI_SLOTS_BUCKET: &str = "ai_slots";
/// KV bucket: leases on fleet-wide singletons (`reconciler` → the holding worker's id).
pub const LEASES_BUCKET: &str = "leases";
/// Advisories JetStream publishes when a `JOBS` message reached its consumer's
/// `max_deliver` (the last token is the consumer).
pub const MAX_DELIVERIES_ADVISORIES: &str = "$JS.EVENT.ADVISORY.CONSUMER.MAX_DELIVERIES.JOBS.*";
/// Work-queue stream keeping those advisories until the reconciler has settled the job
/// each names (core NATS advisories would be lost while no reconciler listens).
pub const ADVISORIES_STREAM: &str = "JOBS_ADVISORIES";
/// The reconciler's durable consumer on [`ADVISORIES_STREAM`].
pub const RECONCILER_CONSUMER: &str = "reconciler";
/// Object store for uploaded photos and rendered overlays.
pub const IMAGES_BUCKET: &str = "images";

/// The subject a job of `kind` is published to.
pub fn job_subject(kind: &str) -> String {
    format!("jobs.{kind}")
}

/// The subject a dead letter of `kind` is published to.
pub fn dlq_subject(kind: &str) -> String {
    format!("dlq.{kind}")
}

/// The durable pull consumer that serves jobs of `kind`.
pub fn consumer_name(kind: &str) -> String {
    format!("worker-{kind}")
}
