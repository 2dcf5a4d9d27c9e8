//! Dead letters in `JOBS_DLQ`: list, inspect, replay (a new job linked to the
//! original), purge. Used by the ops CLI (`hast-api dlq …`) and tests.

use async_nats::jetstream::{self, stream::Stream};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::envelope::{
    JobEnvelope, CORRELATION_HEADER, DLQ_ATTEMPTS_HEADER, DLQ_ERROR_CODE_HEADER, DLQ_ERROR_HEADER,
    DLQ_JOB_ID_HEADER, DLQ_SUBJECT_HEADER,
};
use super::submit::{NewJob, SubmitError, Submitted, Submitter};
use crate::nats::names::DLQ_STREAM;

/// One dead letter as operators see it.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    /// Stream sequence in `JOBS_DLQ` (the handle for show/replay).
    pub sequence: u64,
    pub job_id: String,
    pub kind: String,
    pub error_code: String,
    pub error: String,
    pub attempts: u32,
    pub original_subject: String,
    pub correlation_id: Option<String>,
    pub dead_lettered_at: DateTime<Utc>,
    /// The original job message, when it parses.
    pub envelope: Option<JobEnvelope>,
}

/// What can go wrong with dead letters.
#[derive(Debug, thiserror::Error)]
pub enum DlqError {
    #[error("no dead letter with sequence {0}")]
    NotFound(u64),
    #[error("dead letter {0} has no replayable job message")]
    NotReplayable(u64),
    /// The letter's job completed after all (its result is stored): replaying it would
    /// run it again.
    #[error("job {job_id} of dead letter {sequence} has completed; pass --force to run it again")]
    AlreadyCompleted { sequence: u64, job_id: String },
    #[error("NATS: {0}")]
    Nats(String),
    #[error(transparent)]
    Submit(#[from] SubmitError),
}

fn nats(err: impl std::fmt::Display) -> DlqError {
    DlqError::Nats(err.to_string())
}

async fn dlq_stream(js: &jetstream::Context) -> Result<Stream, DlqError> {
    js.get_stream(DLQ_STREAM).await.map_err(nats)
}

/// Up to `limit` dead letters, oldest first.
pub async fn list(js: &jetstream::Context, limit: usize) -> Result<Vec<DeadLetter>, DlqError> {
    let mut stream = dlq_stream(js).await?;
    let state = stream.info().await.map_err(nats)?.state.clone();
    let mut letters = Vec::new();
    if state.messages == 0 {
        return Ok(letters);
    }
    for sequence in state.first_sequence..=state.last_sequence {
        if letters.len() >= limit {
            break;
        }
        if let Ok(letter) = show(js, sequence).await {
            letters.push(letter);
        }
    }
    Ok(letters)
}

/// The dead letter at `sequence`.
pub async fn show(js: &jetstream::Context, sequence: u64) -> Result<DeadLetter, DlqError> {
    let stream = dlq_stream(js).await?;
    let message = stream
        .get_raw_message(sequence)
        .await
        .map_err(|_| DlqError::NotFound(sequence))?;
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
    let envelope: Option<JobEnvelope> = serde_json::from_slice(&message.payload).ok();
    Ok(DeadLetter {
        sequence,
        job_id: header(DLQ_JOB_ID_HEADER).unwrap_or_default(),
        kind: message
            .subject
            .strip_prefix("dlq.")
            .unwrap_or(&message.subject)
            .to_owned(),
        error_code: header(DLQ_ERROR_CODE_HEADER).unwrap_or_default(),
        error: header(DLQ_ERROR_HEADER).unwrap_or_default(),
        attempts: header(DLQ_ATTEMPTS_HEADER)
            .and_then(|a| a.parse().ok())
            .unwrap_or(0),
        original_subject: header(DLQ_SUBJECT_HEADER).unwrap_or_default(),
        correlation_id: header(CORRELATION_HEADER),
        dead_lettered_at: DateTime::<Utc>::from_timestamp(
            message.time.unix_timestamp(),
            message.time.nanosecond(),
        )
        .unwrap_or_else(Utc::now),
        envelope,
    })
}

/// How a replay treats a job that completed after all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Replay {
    /// Refuse it ([`DlqError::AlreadyCompleted`]).
    UnlessCompleted,
    /// Run it again anyway.
    Force,
}

/// Submits the dead letter's job again as a new job (`replay_of` = the original id)
/// and removes the dead letter. Replaying the same letter twice submits once: the
/// new job's idempotency key is derived from the letter. A job whose status says it
/// completed, or for which `completed` says so (its stored result), is refused unless
/// `mode` is [`Replay::Force`].
pub async fn replay(
    js: &jetstream::Context,
    submitter: &Submitter,
    sequence: u64,
    mode: Replay,
    completed: bool,
) -> Result<Submitted, DlqError> {
    let letter = show(js, sequence).await?;
    let envelope = letter.envelope.ok_or(DlqError::NotReplayable(sequence))?;
    if mode == Replay::UnlessCompleted {
        let status_completed = matches!(
            submitter.statuses().get(&envelope.id).await,
            Ok((status, _)) if status.status == super::JobState::Completed
        );
        if completed || status_completed {
            return Err(DlqError::AlreadyCompleted {
                sequence,
                job_id: envelope.id,
            });
        }
    }
    let submitted = submitter
        .submit(NewJob {
            kind: envelope.kind,
            payload: envelope.payload,
            owner_id: envelope.owner_id,
            correlation_id: letter.correlation_id,
            idempotency_key: Some(format!("dlq-replay:{}:{sequence}", envelope.id)),
            replay_of: Some(envelope.id),
        })
        .await?;
    dlq_stream(js)
        .await?
        .delete_message(sequence)
        .await
        .map_err(nats)?;
    Ok(submitted)
}

/// Removes every dead letter; returns how many there were.
pub async fn purge(js: &jetstream::Context) -> Result<u64, DlqError> {
    let response = dlq_stream(js).await?.purge().await.map_err(nats)?;
    Ok(response.purged)
}
