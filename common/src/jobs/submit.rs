//! Submitting a job: write `queued` to `job_status`, publish to `jobs.<kind>` with
//! `Nats-Msg-Id` = job id, and return only after JetStream's publish ack, so an
//! accepted job is durable.
//!
//! Idempotency: with a key, the first submit records `key → envelope` in the
//! `idempotency` bucket (create-only); a repeat returns the original job and, while
//! that job is still queued, re-publishes it with the same `Nats-Msg-Id` so a message
//! lost between status write and publish ack exists exactly once (JetStream drops the
//! duplicate inside its 10-minute window). A publish is retried with the same id.
//!
//! Failure leaves nothing half-done: if the publish is not acknowledged, the status
//! becomes `failed` (`submit_failed`), the key is released, and the caller gets
//! [`SubmitError::Unavailable`].

use std::time::Duration;

use async_nats::jetstream::{self, kv};
use async_nats::HeaderMap;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::envelope::{JobEnvelope, CORRELATION_HEADER, MSG_ID_HEADER, STATUS_REVISION_HEADER};
use super::status::{JobFailure, JobState, JobStatus};
use super::store::{StatusError, StatusStore};
use crate::nats::names::job_subject;

/// Deadline of one publish attempt (waiting for the stream's ack).
const PUBLISH_ATTEMPT_TIMEOUT: Duration = Duration::from_millis(1000);
/// Publish attempts before a submit gives up (same `Nats-Msg-Id` each time).
const PUBLISH_ATTEMPTS: u32 = 3;
/// Deadline of the whole submission.
pub const SUBMIT_TIMEOUT: Duration = Duration::from_secs(5);
/// Longest accepted `Idempotency-Key`.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 255;

/// A job to submit.
#[derive(Debug, Clone)]
pub struct NewJob {
    pub kind: String,
    pub payload: Value,
    pub owner_id: Option<String>,
    pub correlation_id: Option<String>,
    pub idempotency_key: Option<String>,
    pub replay_of: Option<String>,
}

/// The outcome of a successful submit.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub status: JobStatus,
    /// `false` when an `Idempotency-Key` matched an earlier submit.
    pub created: bool,
}

/// Why a job was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("unknown job kind {0:?}")]
    UnknownKind(String),
    #[error("invalid payload: {0}")]
    InvalidPayload(String),
    #[error("invalid Idempotency-Key: {0}")]
    InvalidIdempotencyKey(String),
    #[error("the Idempotency-Key was used for a different request")]
    IdempotencyMismatch,
    #[error("the job queue is unavailable: {0}")]
    Unavailable(String),
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    envelope: JobEnvelope,
    correlation_id: Option<String>,
}

/// Submits jobs. Cheap to clone.
#[derive(Clone)]
pub struct Submitter {
    jetstream: jetstream::Context,
    statuses: StatusStore,
    idempotency: kv::Store,
    max_attempts: u32,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("max_attempts", &self.max_attempts)
            .finish()
    }
}

impl Submitter {
    pub fn new(
        jetstream: jetstream::Context,
        statuses: StatusStore,
        idempotency: kv::Store,
        max_attempts: u32,
    ) -> Self {
        Self {
            jetstream,
            statuses,
            idempotency,
            max_attempts,
        }
    }

    /// Validates and submits `job` within [`SUBMIT_TIMEOUT`].
    pub async fn submit(&self, job: NewJob) -> Result<Submitted, SubmitError> {
        let spec =
            super::kind(&job.kind).ok_or_else(|| SubmitError::UnknownKind(job.kind.clone()))?;
        (spec.validate)(&job.payload).map_err(SubmitError::InvalidPayload)?;
        if let Some(key) = &job.idempotency_key {
            if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN || !key.is_ascii() {
                return Err(SubmitError::InvalidIdempotencyKey(format!(
                    "1 to {MAX_IDEMPOTENCY_KEY_LEN} ASCII characters"
                )));
            }
        }
        let kind = job.kind.clone();
        let id = uuid::Uuid::now_v7().to_string();
        let idem_key = job
            .idempotency_key
            .as_deref()
            .map(|k| idempotency_bucket_key(job.owner_id.as_deref(), k));
        // Boxed: the submission state machine is large, and callers (HTTP handlers)
        // should not carry it inline on their stack.
        let inner: futures::future::BoxFuture<'_, _> = Box::pin(self.submit_inner(job, id.clone()));
        let outcome = match tokio::time::timeout(SUBMIT_TIMEOUT, inner).await {
            Ok(outcome) => outcome,
            Err(_) => {
                // Whatever got written before the deadline must not look accepted: the
                // caller is told 503, so the job is failed (a worker skips it even if the
                // publish did land) and the key is released for the retry.
                let cleanup = async {
                    self.mark_submit_failed(&id).await;
                    self.release_key(idem_key.as_deref()).await;
                };
                let _ = tokio::time::timeout(Duration::from_secs(2), cleanup).await;
                Err(SubmitError::Unavailable(format!(
                    "no answer from NATS within {SUBMIT_TIMEOUT:?}"
                )))
            }
        };
        if let Ok(s) = &outcome {
            if s.created {
                metrics::counter!("hast_jobs_submitted_total", "kind" => kind).increment(1);
            }
        }
        outcome
    }

    async fn submit_inner(&self, job: NewJob, id: String) -> Result<Submitted, SubmitError> {
        let envelope = JobEnvelope {
            id,
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            owner_id: job.owner_id.clone(),
            created_at: Utc::now(),
            replay_of: job.replay_of.clone(),
        };
        let idem_key = job
            .idempotency_key
            .as_deref()
            .map(|k| idempotency_bucket_key(job.owner_id.as_deref(), k));
        if let Some(key) = &idem_key {
            let record = IdempotencyRecord {
                envelope: envelope.clone(),
                correlation_id: job.correlation_id.clone(),
            };
            let body =
                serde_json::to_vec(&record).map_err(|e| SubmitError::Unavailable(e.to_string()))?;
            match self.idempotency.create(key, body.into()).await {
                Ok(_) => {}
                Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => {
                    return self.repeat(key, &job).await;
                }
                Err(e) => return Err(SubmitError::Unavailable(e.to_string())),
            }
        }
        self.create_and_publish(
            &envelope,
            job.correlation_id.as_deref(),
            idem_key.as_deref(),
        )
        .await
    }

    /// A repeated idempotent submit: the original job, re-published while queued.
    async fn repeat(&self, key: &str, job: &NewJob) -> Result<Submitted, SubmitError> {
        let entry = self
            .idempotency
            .entry(key)
            .await
            .map_err(|e| SubmitError::Unavailable(e.to_string()))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            // Released between our create and this read: submit afresh.
            return Box::pin(self.submit_inner(job.clone(), uuid::Uuid::now_v7().to_string()))
                .await;
        };
        let record: IdempotencyRecord = serde_json::from_slice(&entry.value)
            .map_err(|e| SubmitError::Unavailable(e.to_string()))?;
        if record.envelope.kind != job.kind || record.envelope.payload != job.payload {
            return Err(SubmitError::IdempotencyMismatch);
        }
        match self.statuses.get(&record.envelope.id).await {
            Ok((status, _)) if status.status == JobState::Queued => {
                self.publish(&record.envelope, record.correlation_id.as_deref(), None)
                    .await?;
                Ok(Submitted {
                    status,
                    created: false,
                })
            }
            Ok((status, _)) => Ok(Submitted {
                status,
                created: false,
            }),
            // The first submit died before writing the status: finish its work.
            Err(StatusError::NotFound) => self
                .create_and_publish(
                    &record.envelope,
                    record.correlation_id.as_deref(),
                    Some(key),
                )
                .await
                .map(|s| Submitted {
                    created: false,
                    ..s
                }),
            Err(e) => Err(SubmitError::Unavailable(e.to_string())),
        }
    }

    async fn create_and_publish(
        &self,
        envelope: &JobEnvelope,
        correlation_id: Option<&str>,
        idem_key: Option<&str>,
    ) -> Result<Submitted, SubmitError> {
        let status = JobStatus::queued_for(envelope, self.max_attempts);
        let revision = match self.statuses.create(&status).await {
            Ok(revision) => Some(revision),
            Err(StatusError::AlreadyExists) => None,
            Err(e) => {
                self.release_key(idem_key).await;
                return Err(SubmitError::Unavailable(e.to_string()));
            }
        };
        if let Err(err) = self.publish(envelope, correlation_id, revision).await {
            // Leave no job that looks accepted: mark it failed and free the key.
            self.mark_submit_failed(&envelope.id).await;
            self.release_key(idem_key).await;
            return Err(err);
        }
        Ok(Submitted {
            status,
            created: true,
        })
    }

    async fn mark_submit_failed(&self, id: &str) {
        let _ = self
            .statuses
            .transition(id, |s| {
                s.status = JobState::Failed;
                s.finished_at = Some(Utc::now());
                s.error = Some(JobFailure {
                    code: "submit_failed".into(),
                    message: "the job could not be queued".into(),
                });
                true
            })
            .await;
    }

    async fn release_key(&self, idem_key: Option<&str>) {
        if let Some(key) = idem_key {
            if let Err(err) = self.idempotency.purge(key).await {
                tracing::warn!(error = %err, "could not release an idempotency key");
            }
        }
    }

    /// Publishes with the job id as `Nats-Msg-Id`, retrying on timeout.
    async fn publish(
        &self,
        envelope: &JobEnvelope,
        correlation_id: Option<&str>,
        status_revision: Option<u64>,
    ) -> Result<(), SubmitError> {
        let body = bytes::Bytes::from(
            serde_json::to_vec(envelope).map_err(|e| SubmitError::Unavailable(e.to_string()))?,
        );
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, envelope.id.as_str());
        if let Some(cid) = correlation_id {
            headers.insert(CORRELATION_HEADER, cid);
        }
        if let Some(revision) = status_revision {
            headers.insert(STATUS_REVISION_HEADER, revision.to_string().as_str());
        }
        let subject = job_subject(&envelope.kind);
        let mut last_error = String::new();
        for attempt in 1..=PUBLISH_ATTEMPTS {
            let publish = async {
                self.jetstream
                    .publish_with_headers(subject.clone(), headers.clone(), body.clone())
                    .await
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| e.to_string())
            };
            match tokio::time::timeout(PUBLISH_ATTEMPT_TIMEOUT, publish).await {
                Ok(Ok(_ack)) => return Ok(()),
                Ok(Err(e)) => last_error = e,
                Err(_) => last_error = format!("no publish ack within {PUBLISH_ATTEMPT_TIMEOUT:?}"),
            }
            tracing::warn!(job.id = %envelope.id, attempt, error = %last_error, "publish failed; retrying");
        }
        Err(SubmitError::Unavailable(last_error))
    }
}

/// The bucket key of an idempotency key: `<owner>.<sha256(owner, key)>` (KV keys have
/// a restricted alphabet, and keys of different users must not collide). The owner
/// prefix lets account deletion purge a user's records with one subject filter; see
/// [`idempotency_owner_prefix`].
fn idempotency_bucket_key(owner: Option<&str>, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(owner.unwrap_or("-").as_bytes());
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    format!(
        "{}.{}",
        idempotency_owner_prefix(owner),
        hex::encode(hasher.finalize())
    )
}

/// The first token of every idempotency record of `owner` (`anonymous` for none).
pub fn idempotency_owner_prefix(owner: Option<&str>) -> String {
    match owner {
        Some(owner) if owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') => {
            owner.to_owned()
        }
        Some(owner) => hex::encode(Sha256::digest(owner.as_bytes())),
        None => "anonymous".to_owned(),
    }
}
