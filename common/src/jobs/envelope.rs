//! The job message: body and headers published to `jobs.<kind>`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// JetStream de-duplication header: the job id.
pub const MSG_ID_HEADER: &str = "Nats-Msg-Id";
/// The request's correlation id, continued in the worker's log lines.
pub const CORRELATION_HEADER: &str = "X-Correlation-Id";
/// Revision of the `queued` status written with the job, so the worker's first update
/// needs no read.
pub const STATUS_REVISION_HEADER: &str = "Hast-Status-Revision";
/// Dead-letter headers: why a job ended in `JOBS_DLQ`.
pub const DLQ_ERROR_CODE_HEADER: &str = "Hast-Error-Code";
pub const DLQ_ERROR_HEADER: &str = "Hast-Error";
pub const DLQ_ATTEMPTS_HEADER: &str = "Hast-Attempts";
pub const DLQ_SUBJECT_HEADER: &str = "Hast-Original-Subject";
pub const DLQ_JOB_ID_HEADER: &str = "Hast-Job-Id";

/// What a worker receives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobEnvelope {
    pub id: String,
    pub kind: String,
    pub payload: Value,
    #[serde(default)]
    pub owner_id: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The dead-lettered job this one replays.
    #[serde(default)]
    pub replay_of: Option<String>,
    /// `max_attempts` of the job's `queued` status (so the worker can rebuild that
    /// document exactly and update it without reading it first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_attempts: Option<u32>,
}
