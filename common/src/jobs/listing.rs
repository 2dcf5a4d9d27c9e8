//! Jobs by state and kind for operators (`hast-api jobs list`), read from indexes that
//! already exist, so listing costs the job path no extra write:
//!
//! - **Unfinished jobs** (`queued`, `retrying`, `running`) are exactly the messages in
//!   `JOBS` (a work queue: a message leaves it when its job is settled). They are read
//!   oldest first on the subject `jobs.<kind>` (direct get, "next message at or after"),
//!   and each one's status is read by id to keep those in the state asked for. At most
//!   [`MAX_QUEUE_SCAN`] messages are read per listing.
//! - **Finished jobs** (`completed`, `failed`) are the rows of `job_results`, newest
//!   first, through the index on `(kind, outcome, finished_at)`. Rows are kept for
//!   `JOB_RESULTS_RETENTION`.
//! - **Cancelled jobs** are not listable: a cancel writes only the job's status (the
//!   `job_status` bucket, which has no index by state), and its result row, if any, is
//!   withdrawn. Finding them would mean reading every status in the bucket.

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::{JobEnvelope, JobState, StatusError, StatusStore};
use crate::db::{Database, DbError};
use crate::nats::names::{job_subject, JOBS_STREAM, JOBS_SUBJECTS};

/// Most jobs one listing returns.
pub const MAX_LIST_LIMIT: usize = 1000;
/// Most `JOBS` messages one listing (or one search for a queued job) reads.
pub const MAX_QUEUE_SCAN: usize = 10_000;

/// One job in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct ListedJob {
    pub id: String,
    pub kind: String,
    pub state: JobState,
    pub owner_id: Option<String>,
    /// Attempts so far (the status's `attempt`; a finished job's `attempts`).
    pub attempt: u32,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    /// A failed job's `{"code","message"}`.
    pub error: Option<Value>,
    /// The worker running it (unfinished jobs).
    pub worker_id: Option<String>,
    /// Its message's sequence in `JOBS` (unfinished jobs).
    pub queue_sequence: Option<u64>,
}

/// A listing and whether it is whole.
#[derive(Debug, Clone)]
pub struct Listing {
    pub jobs: Vec<ListedJob>,
    /// `false` when the scan of `JOBS` stopped after [`MAX_QUEUE_SCAN`] messages before
    /// the queue's end (more jobs in that state may exist).
    pub complete: bool,
}

/// Why jobs could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error(
        "cancelled jobs are not listable: a cancel writes only the job's status, which has \
         no index by state (show one with `hast-api jobs show <id>`)"
    )]
    CancelledNotListable,
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Status(#[from] StatusError),
    #[error(transparent)]
    Database(#[from] DbError),
}

/// Reads the messages of one subject of `JOBS`, oldest first.
pub(crate) struct QueueCursor {
    stream: Stream<()>,
    subject: String,
    next: u64,
    read: usize,
}

impl QueueCursor {
    /// A cursor over the jobs of `kind` (of every kind with `None`).
    pub(crate) async fn open(
        js: &jetstream::Context,
        kind: Option<&str>,
    ) -> Result<Self, ListError> {
        let stream = js
            .get_stream_no_info(JOBS_STREAM)
            .await
            .map_err(|e| ListError::Nats(e.to_string()))?;
        Ok(Self {
            stream,
            subject: kind.map_or_else(|| JOBS_SUBJECTS.to_owned(), job_subject),
            next: 1,
            read: 0,
        })
    }

    /// The next message; `Ok(None)` at the end of the queue.
    pub(crate) async fn next(&mut self) -> Result<Option<StreamMessage>, ListError> {
        match self
            .stream
            .direct_get_next_for_subject(self.subject.as_str(), Some(self.next))
            .await
        {
            Ok(message) => {
                self.next = message.sequence + 1;
                self.read += 1;
                Ok(Some(message))
            }
            Err(e) if e.kind() == DirectGetErrorKind::NotFound => Ok(None),
            Err(e) => Err(ListError::Nats(e.to_string())),
        }
    }

    /// Messages read so far.
    pub(crate) fn read(&self) -> usize {
        self.read
    }
}

fn checked_kind(kind: Option<&str>) -> Result<Option<&'static str>, ListError> {
    kind.map(|k| {
        super::KindSpec::named(k)
            .map(|spec| spec.name)
            .ok_or_else(|| ListError::UnknownKind(k.to_owned()))
    })
    .transpose()
}

/// Up to `limit` jobs in `state` (of `kind`, or of every kind), from the index that
/// holds that state (see the module documentation).
pub async fn list(
    js: &jetstream::Context,
    statuses: &StatusStore,
    db: &Database,
    state: JobState,
    kind: Option<&str>,
    limit: usize,
) -> Result<Listing, ListError> {
    let kind = checked_kind(kind)?;
    let limit = limit.min(MAX_LIST_LIMIT);
    match state {
        JobState::Queued | JobState::Retrying | JobState::Running => {
            unfinished(js, statuses, state, kind, limit).await
        }
        JobState::Completed | JobState::Failed => finished(db, state, kind, limit).await,
        JobState::Cancelled => Err(ListError::CancelledNotListable),
    }
}

async fn unfinished(
    js: &jetstream::Context,
    statuses: &StatusStore,
    state: JobState,
    kind: Option<&str>,
    limit: usize,
) -> Result<Listing, ListError> {
    let mut cursor = QueueCursor::open(js, kind).await?;
    let mut jobs = Vec::new();
    while jobs.len() < limit {
        if cursor.read() >= MAX_QUEUE_SCAN {
            return Ok(Listing {
                jobs,
                complete: false,
            });
        }
        let Some(message) = cursor.next().await? else {
            break;
        };
        let Ok(envelope) = serde_json::from_slice::<JobEnvelope>(&message.payload) else {
            continue;
        };
        let status = match statuses.get(&envelope.id).await {
            Ok((status, _)) => status,
            Err(StatusError::NotFound | StatusError::Corrupt(_)) => continue,
            Err(e) => return Err(e.into()),
        };
        if status.status != state {
            continue;
        }
        jobs.push(ListedJob {
            id: status.id,
            kind: status.kind,
            state: status.status,
            owner_id: status.owner_id,
            attempt: status.attempt,
            created_at: status.created_at,
            finished_at: status.finished_at,
            error: None,
            worker_id: status.worker_id,
            queue_sequence: Some(message.sequence),
        });
    }
    Ok(Listing {
        jobs,
        complete: true,
    })
}

async fn finished(
    db: &Database,
    state: JobState,
    kind: Option<&str>,
    limit: usize,
) -> Result<Listing, ListError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let rows = db.finished_jobs(kind, state.as_str(), limit).await?;
    let jobs = rows
        .into_iter()
        .map(|row| ListedJob {
            id: row.job_id,
            kind: row.kind,
            state,
            owner_id: row.owner_id,
            attempt: u32::try_from(row.attempts).unwrap_or(0),
            created_at: row.created_at.and_utc(),
            finished_at: Some(row.finished_at.and_utc()),
            error: row.error.and_then(|e| serde_json::from_str(&e).ok()),
            worker_id: None,
            queue_sequence: None,
        })
        .collect();
    Ok(Listing {
        jobs,
        complete: true,
    })
}
