//! The job status document: the value in the `job_status` KV bucket, the body of
//! `GET /api/v1/jobs/{id}` and of each Server-Sent Event.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where a job is in its life cycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Retrying,
    Completed,
    Failed,
    Cancelled,
}

impl JobState {
    /// Completed, failed and cancelled never change again.
    pub fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Failed | Self::Cancelled)
    }

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Retrying => "retrying",
            Self::Completed => "completed",
            Self::Failed => "failed",
            Self::Cancelled => "cancelled",
        }
    }
}

/// Why a job failed: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobFailure {
    pub code: String,
    pub message: String,
}

/// The status of one job.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobStatus {
    pub id: String,
    pub kind: String,
    pub status: JobState,
    /// Runs of the handler so far, this one included (0 until a worker starts it).
    /// Counted by the worker in this document, not by JetStream deliveries: a message
    /// redelivered because NATS or the database failed does not use an attempt.
    pub attempt: u32,
    pub max_attempts: u32,
    /// 0–100.
    pub progress: u8,
    pub error: Option<JobFailure>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub result: Option<Value>,
    /// The user the job belongs to (`None` for operator jobs). Not shown to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    /// The job this one replays (dead-letter replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replay_of: Option<String>,
    /// The worker running (or that last ran) the current attempt. Not shown to clients.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
}

impl JobStatus {
    /// A freshly queued job.
    pub fn queued(id: String, kind: &str, max_attempts: u32, owner_id: Option<String>) -> Self {
        let now = Utc::now();
        Self {
            id,
            kind: kind.to_owned(),
            status: JobState::Queued,
            attempt: 0,
            max_attempts,
            progress: 0,
            error: None,
            created_at: now,
            updated_at: now,
            started_at: None,
            finished_at: None,
            next_attempt_at: None,
            result: None,
            owner_id,
            replay_of: None,
            worker_id: None,
        }
    }

    /// The `queued` status the API writes for `envelope`: its times are the envelope's
    /// `created_at`, so a worker can rebuild the exact document and update it by
    /// revision without reading it first.
    pub fn queued_for(envelope: &super::JobEnvelope, max_attempts: u32) -> Self {
        let mut status = Self::queued(
            envelope.id.clone(),
            &envelope.kind,
            envelope.max_attempts.unwrap_or(max_attempts),
            envelope.owner_id.clone(),
        );
        status.created_at = envelope.created_at;
        status.updated_at = envelope.created_at;
        status.replay_of = envelope.replay_of.clone();
        status
    }

    /// The client-facing JSON (without the internal `owner_id` and `worker_id`).
    pub fn public_json(&self) -> Value {
        let mut value = serde_json::to_value(self).unwrap_or(Value::Null);
        if let Some(map) = value.as_object_mut() {
            map.remove("owner_id");
            map.remove("worker_id");
        }
        value
    }
}
