//! Dead letters in `JOBS_DLQ`: list and find by filter, inspect, replay (a new job
//! linked to the original), delete one, purge. Used by the ops CLI (`hast-api dlq …`) and tests.

use async_nats::jetstream::message::StreamMessage;
use async_nats::jetstream::stream::{RawMessageErrorKind, Stream};
use async_nats::jetstream::{self};
use chrono::{DateTime, Utc};
use serde::Serialize;

use super::envelope::{
    JobEnvelope, CORRELATION_HEADER, DLQ_ATTEMPTS_HEADER, DLQ_ERROR_CODE_HEADER, DLQ_ERROR_HEADER,
    DLQ_JOB_ID_HEADER, DLQ_SUBJECT_HEADER,
};
use super::submit::{NewJob, SubmitError, Submitted, Submitter};
use crate::nats::names::{dlq_subject, DLQ_STREAM, DLQ_SUBJECTS};

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
    find(js, &Filter::default(), limit).await
}

/// The dead letter at `sequence`.
pub async fn show(js: &jetstream::Context, sequence: u64) -> Result<DeadLetter, DlqError> {
    let stream = dlq_stream(js).await?;
    let message = stream
        .get_raw_message(sequence)
        .await
        .map_err(|_| DlqError::NotFound(sequence))?;
    Ok(letter(&message))
}

fn letter(message: &StreamMessage) -> DeadLetter {
    let header = |name: &str| message.headers.get(name).map(|v| v.as_str().to_owned());
    let envelope: Option<JobEnvelope> = serde_json::from_slice(&message.payload).ok();
    DeadLetter {
        sequence: message.sequence,
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
    }
}

/// Which dead letters an operator means; every field left `None` matches all.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only letters of this kind (read by subject, `dlq.<kind>`).
    pub kind: Option<String>,
    /// Only letters whose error code (`Hast-Error-Code`) is this.
    pub error_code: Option<String>,
    /// Only letters dead-lettered at or after this.
    pub since: Option<DateTime<Utc>>,
}

impl Filter {
    fn matches(&self, letter: &DeadLetter) -> bool {
        self.kind.as_ref().is_none_or(|k| *k == letter.kind)
            && self
                .error_code
                .as_ref()
                .is_none_or(|c| *c == letter.error_code)
            && self.since.is_none_or(|t| letter.dead_lettered_at >= t)
    }
}

/// Up to `limit` dead letters matching `filter`, oldest first.
///
/// Cost: one read per letter of the kind (of every kind without one) until `limit`
/// match; `JOBS_DLQ` is bounded by `DLQ_RETENTION` and its `max_bytes`.
pub async fn find(
    js: &jetstream::Context,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<DeadLetter>, DlqError> {
    let subject = filter
        .kind
        .as_deref()
        .map_or_else(|| DLQ_SUBJECTS.to_owned(), dlq_subject);
    let stream = dlq_stream(js).await?;
    let mut letters = Vec::new();
    let mut next = 1;
    while letters.len() < limit {
        let message = match stream
            .raw_message_builder()
            .sequence(next)
            .next_by_subject(subject.clone())
            .send()
            .await
        {
            Ok(message) => message,
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => break,
            Err(e) => return Err(nats(e)),
        };
        next = message.sequence + 1;
        let letter = letter(&message);
        if filter.matches(&letter) {
            letters.push(letter);
        }
    }
    Ok(letters)
}

/// The dead letter of job `job_id` (of kind `kind`), if `JOBS_DLQ` still holds one.
///
/// Cost: one read per letter of the kind.
pub async fn of_job(
    js: &jetstream::Context,
    kind: &str,
    job_id: &str,
) -> Result<Option<DeadLetter>, DlqError> {
    let filter = Filter {
        kind: Some(kind.to_owned()),
        ..Filter::default()
    };
    let stream = dlq_stream(js).await?;
    let mut next = 1;
    loop {
        let message = match stream
            .raw_message_builder()
            .sequence(next)
            .next_by_subject(dlq_subject(kind))
            .send()
            .await
        {
            Ok(message) => message,
            Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => return Ok(None),
            Err(e) => return Err(nats(e)),
        };
        next = message.sequence + 1;
        let found = message
            .headers
            .get(DLQ_JOB_ID_HEADER)
            .is_some_and(|v| v.as_str() == job_id);
        if found {
            let letter = letter(&message);
            return Ok(filter.matches(&letter).then_some(letter));
        }
    }
}

/// Removes the dead letter at `sequence` without replaying it.
pub async fn delete(js: &jetstream::Context, sequence: u64) -> Result<(), DlqError> {
    let stream = dlq_stream(js).await?;
    match stream.get_raw_message(sequence).await {
        Ok(_) => {}
        Err(e) if e.kind() == RawMessageErrorKind::NoMessageFound => {
            return Err(DlqError::NotFound(sequence))
        }
        Err(e) => return Err(nats(e)),
    }
    stream.delete_message(sequence).await.map_err(nats)?;
    Ok(())
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
