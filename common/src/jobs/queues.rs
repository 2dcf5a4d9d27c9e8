//! Each kind's queue as operators see it: its consumer `worker-<kind>` on `JOBS`, which
//! they can pause and resume (JetStream's consumer pause, nats-server 2.11). A paused
//! consumer delivers nothing until the date it is paused to or until it is resumed;
//! jobs submitted meanwhile wait in `JOBS` as `queued`. A worker's update of the
//! consumer at start keeps the pause (see [`crate::nats::bootstrap`]).

use async_nats::jetstream::{self, consumer};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::nats::names::{consumer_name, JOBS_STREAM};

/// One kind's queue.
#[derive(Debug, Clone, Serialize)]
pub struct KindQueue {
    pub kind: String,
    pub paused: bool,
    /// Until when, if paused.
    pub pause_until: Option<DateTime<Utc>>,
    /// Jobs waiting for their first delivery (or a redelivery).
    pub pending: u64,
    /// Jobs delivered to a worker and not yet settled.
    pub in_progress: usize,
    /// Live workers that serve the kind (set by the caller from the heartbeats).
    pub workers: usize,
}

/// What can go wrong with a queue.
#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("the pause date {0} is not in the future")]
    PastDate(DateTime<Utc>),
    #[error("NATS: {0}")]
    Nats(String),
}

fn nats(err: impl std::fmt::Display) -> QueueError {
    QueueError::Nats(err.to_string())
}

fn checked(kind: &str) -> Result<&'static str, QueueError> {
    super::KindSpec::named(kind)
        .map(|spec| spec.name)
        .ok_or_else(|| QueueError::UnknownKind(kind.to_owned()))
}

fn to_nats_time(at: DateTime<Utc>) -> Result<async_nats::datetime::DateTime, QueueError> {
    let nanos = at
        .timestamp_nanos_opt()
        .ok_or_else(|| QueueError::Nats(format!("{at} is out of range")))?;
    async_nats::datetime::from_nanos(i128::from(nanos)).map_err(nats)
}

fn from_nats_time(at: async_nats::datetime::DateTime) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(at.unix_timestamp(), at.nanosecond())
}

/// Stops deliveries of `kind` until `until` (the jobs stay queued).
pub async fn pause(
    js: &jetstream::Context,
    kind: &str,
    until: DateTime<Utc>,
) -> Result<KindQueue, QueueError> {
    let kind = checked(kind)?;
    if until <= Utc::now() {
        return Err(QueueError::PastDate(until));
    }
    let stream = js.get_stream_no_info(JOBS_STREAM).await.map_err(nats)?;
    stream
        .pause_consumer(&consumer_name(kind), to_nats_time(until)?)
        .await
        .map_err(nats)?;
    state(js, kind).await
}

/// Restarts deliveries of `kind`; harmless when it is not paused.
pub async fn resume(js: &jetstream::Context, kind: &str) -> Result<KindQueue, QueueError> {
    let kind = checked(kind)?;
    let stream = js.get_stream_no_info(JOBS_STREAM).await.map_err(nats)?;
    stream
        .resume_consumer(&consumer_name(kind))
        .await
        .map_err(nats)?;
    state(js, kind).await
}

/// `kind`'s queue as the server has it now (`workers` is 0: the caller counts them).
pub async fn state(js: &jetstream::Context, kind: &str) -> Result<KindQueue, QueueError> {
    let kind = checked(kind)?;
    let stream = js.get_stream_no_info(JOBS_STREAM).await.map_err(nats)?;
    let info: consumer::Info = stream
        .consumer_info(consumer_name(kind))
        .await
        .map_err(nats)?;
    Ok(KindQueue {
        kind: kind.to_owned(),
        paused: info.paused,
        pause_until: info
            .config
            .pause_until
            .filter(|_| info.paused)
            .and_then(from_nats_time),
        pending: info.num_pending,
        in_progress: info.num_ack_pending,
        workers: 0,
    })
}
