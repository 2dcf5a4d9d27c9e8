//! Submitting a job: write `queued` to `job_status`, publish to `jobs.<kind>` with
//! `Nats-Msg-Id` = job id, and return only after JetStream's publish ack, so an
//! accepted job is durable.
//!
//! **Riding through a leader election.** Every NATS step (the `Idempotency-Key` record,
//! the status, the publish) is retried under the same names and message id until the
//! submit budget (`JOB_SUBMIT_TIMEOUT`, default 15 s) runs out. An R3 stream or bucket
//! whose leader was killed elects a new one within nats-server's election timeout
//! (measured here: up to about 9 s), so the publish keeps 13 s of the budget. The `JOBS` duplicate window (10 minutes) is far
//! longer than the budget, so a retried publish that had landed is dropped by the
//! stream instead of becoming a second job.
//!
//! **An ambiguous publish is resolved, never guessed.** When no publish was acknowledged
//! within the budget, one of them may still have landed. The status is moved from
//! `queued` to `failed` (`submit_failed`) by compare-and-swap: if a worker had already
//! taken the job (the status is no longer `queued`), the publish landed and the job is
//! accepted after all; if the swap wins, a worker that later receives the message finds
//! a final status and drops it. If even that write gets no answer, the status stays
//! `queued` and the reconciler settles it (docs/operations.md, "Stranded jobs").
//!
//! **Idempotency.** With a key, the first submit records `key → envelope` in the
//! `idempotency` bucket (create-only). A repeat returns the original job and, while it
//! is still queued, re-publishes it with the same `Nats-Msg-Id`, so a message lost
//! between status write and publish ack exists exactly once. A key is released (for the
//! client's retry) only by the request that created it, and only when its job was not
//! accepted.

use std::future::Future;
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use async_nats::HeaderMap;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use super::envelope::{JobEnvelope, CORRELATION_HEADER, MSG_ID_HEADER, STATUS_REVISION_HEADER};
use super::owner_index::owner_token;
use super::status::{JobFailure, JobState, JobStatus};
use super::store::{StatusError, StatusStore};
use crate::nats::names::job_subject;
use crate::nats::storage::is_storage_full;

/// Longest wait for one publish acknowledgement; later tries get what is left of the
/// budget if that is less.
const PUBLISH_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(2);
/// Default submit budget (`JOB_SUBMIT_TIMEOUT`).
pub const DEFAULT_SUBMIT_TIMEOUT: Duration = Duration::from_secs(15);
/// Time kept back from the budget to settle an ambiguous publish.
const SETTLE_TIME: Duration = Duration::from_secs(2);
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

impl NewJob {
    /// A job of type `J`, with no owner, correlation id, key or replay. A payload that
    /// does not serialise (no job type does: they are plain structs) becomes `null`,
    /// which [`Submitter::submit`] refuses as an invalid payload.
    pub fn of<J: super::Job>(job: &J) -> Self {
        Self {
            kind: J::KIND.to_owned(),
            payload: serde_json::to_value(job).unwrap_or(Value::Null),
            owner_id: None,
            correlation_id: None,
            idempotency_key: None,
            replay_of: None,
        }
    }

    /// The same job, owned by `owner_id`.
    pub fn owned_by(mut self, owner_id: impl Into<String>) -> Self {
        self.owner_id = Some(owner_id.into());
        self
    }

    /// The same job, carrying the request's `X-Correlation-Id`.
    pub fn correlated(mut self, correlation_id: impl Into<String>) -> Self {
        self.correlation_id = Some(correlation_id.into());
        self
    }
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
    /// JetStream refused the write: the store is at its `max_bytes` (see
    /// [`crate::nats::storage`]). Nothing was accepted.
    #[error("the job store is full: {0}")]
    StorageFull(String),
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
    timeout: Duration,
}

impl std::fmt::Debug for Submitter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Submitter")
            .field("max_attempts", &self.max_attempts)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What one try of a NATS step came to.
enum Try<T, E> {
    Done(T),
    /// A final answer that is not success (say, the key exists already).
    Refused(E),
    /// No answer, or a passing error (a timeout, no responders, an election).
    Again(String),
}

/// Runs `step` until it gives a final answer or `deadline` passes, backing off from
/// 50 ms to 1 s between tries. `Err(Again)` carries the last passing error.
async fn until<T, E, F, Fut>(deadline: Instant, mut step: F) -> Result<T, Result<E, String>>
where
    F: FnMut(Duration) -> Fut,
    Fut: Future<Output = Try<T, E>>,
{
    let mut pause = Duration::from_millis(50);
    let mut last = String::from("no answer");
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(Err(last));
        }
        match tokio::time::timeout(left, step(left)).await {
            Ok(Try::Done(value)) => return Ok(value),
            Ok(Try::Refused(err)) => return Err(Ok(err)),
            Ok(Try::Again(err)) => last = err,
            Err(_) => return Err(Err(format!("{last}; no answer before the submit deadline"))),
        }
        let left = deadline.saturating_duration_since(Instant::now());
        tokio::time::sleep(pause.min(left)).await;
        pause = (pause * 2).min(Duration::from_secs(1));
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
            timeout: DEFAULT_SUBMIT_TIMEOUT,
        }
    }

    /// The status store it writes to.
    pub fn statuses(&self) -> &StatusStore {
        &self.statuses
    }

    /// The same submitter with another budget (`JOB_SUBMIT_TIMEOUT`).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Validates and submits `job` within the submit budget.
    pub async fn submit(&self, job: NewJob) -> Result<Submitted, SubmitError> {
        let spec = super::KindSpec::named(&job.kind)
            .ok_or_else(|| SubmitError::UnknownKind(job.kind.clone()))?;
        (spec.validate)(&job.payload).map_err(SubmitError::InvalidPayload)?;
        if let Some(key) = &job.idempotency_key {
            // Printable ASCII, not starting or ending with a space (the OpenAPI document's
            // pattern): a tab or a control character is no part of a key.
            let printable = key.bytes().all(|b| (b' '..=b'~').contains(&b));
            if key.is_empty()
                || key.len() > MAX_IDEMPOTENCY_KEY_LEN
                || !printable
                || key.starts_with(' ')
                || key.ends_with(' ')
            {
                return Err(SubmitError::InvalidIdempotencyKey(format!(
                    "1 to {MAX_IDEMPOTENCY_KEY_LEN} printable ASCII characters"
                )));
            }
        }
        let kind = job.kind.clone();
        let deadline = Instant::now() + self.timeout;
        // Boxed: the submission state machine is large, and callers (HTTP handlers)
        // should not carry it inline on their stack.
        let inner: futures::future::BoxFuture<'_, _> = Box::pin(self.submit_inner(job, deadline));
        // The inner steps watch the deadline themselves; this bound only guards against
        // a step that ignores it, leaving time to settle.
        let outcome = tokio::time::timeout(self.timeout + SETTLE_TIME * 2, inner)
            .await
            .unwrap_or_else(|_| {
                Err(SubmitError::Unavailable(format!(
                    "no answer from NATS within {:?}",
                    self.timeout
                )))
            });
        if let Ok(s) = &outcome {
            if s.created {
                metrics::counter!("hast_jobs_submitted_total", "kind" => kind).increment(1);
            }
        }
        outcome
    }

    async fn submit_inner(&self, job: NewJob, deadline: Instant) -> Result<Submitted, SubmitError> {
        let envelope = JobEnvelope {
            id: uuid::Uuid::now_v7().to_string(),
            kind: job.kind.clone(),
            payload: job.payload.clone(),
            owner_id: job.owner_id.clone(),
            created_at: Utc::now(),
            replay_of: job.replay_of.clone(),
            max_attempts: Some(self.max_attempts),
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
            let body = bytes::Bytes::from(
                serde_json::to_vec(&record).map_err(|e| SubmitError::Unavailable(e.to_string()))?,
            );
            let created = until(deadline, |_| async {
                match self.idempotency.create(key, body.clone()).await {
                    Ok(_) => Try::Done(()),
                    Err(e) if e.kind() == kv::CreateErrorKind::AlreadyExists => Try::Refused(None),
                    Err(e) if is_storage_full(&e.to_string()) => Try::Refused(Some(e.to_string())),
                    Err(e) => Try::Again(e.to_string()),
                }
            })
            .await;
            match created {
                Ok(()) => {}
                // Ours (an earlier try that landed) or another request's: the record
                // says which.
                Err(Ok(None)) => return self.repeat(key, &job, &envelope, deadline).await,
                Err(Ok(Some(full))) => return Err(SubmitError::StorageFull(full)),
                Err(Err(e)) => return Err(SubmitError::Unavailable(e)),
            }
        }
        self.create_and_publish(
            &envelope,
            job.correlation_id.as_deref(),
            idem_key.as_deref(),
            deadline,
        )
        .await
    }

    /// A submit whose key exists: the original job, re-published while queued. `ours`
    /// is the envelope this request would have created (the record may be its own, from a
    /// try whose answer was lost).
    async fn repeat(
        &self,
        key: &str,
        job: &NewJob,
        ours: &JobEnvelope,
        deadline: Instant,
    ) -> Result<Submitted, SubmitError> {
        let Some(record) = self.read_record(key, deadline).await? else {
            // Released between our create and this read: submit afresh.
            return Box::pin(self.submit_inner(job.clone(), deadline)).await;
        };
        if record.envelope.kind != job.kind || record.envelope.payload != job.payload {
            return Err(SubmitError::IdempotencyMismatch);
        }
        let created_here = record.envelope.id == ours.id;
        let status = self.read_status(&record.envelope.id, deadline).await?;
        let key_if_ours = created_here.then_some(key);
        match status {
            // Our own earlier try wrote the status: this is still the first submission.
            Some(status) if status.status == JobState::Queued && created_here => {
                self.publish_or_settle(
                    &record.envelope,
                    record.correlation_id.as_deref(),
                    None,
                    key_if_ours,
                    deadline,
                )
                .await?;
                Ok(Submitted {
                    status,
                    created: true,
                })
            }
            // Another request's job, still queued: publish it again in case that request
            // died before its publish (JetStream drops the copy if not). If this publish
            // gets no answer, the job is left alone: it was accepted, and may well be in
            // the stream already.
            Some(status) if status.status == JobState::Queued => {
                self.publish(
                    &record.envelope,
                    record.correlation_id.as_deref(),
                    None,
                    deadline,
                )
                .await
                .map_err(|e| match e {
                    Ok(full) => SubmitError::StorageFull(full),
                    Err(e) => SubmitError::Unavailable(e),
                })?;
                Ok(Submitted {
                    status,
                    created: false,
                })
            }
            Some(status) => Ok(Submitted {
                status,
                created: created_here,
            }),
            // The first submit died (or is still running) before writing the status:
            // finish its work under the same job id.
            None => self
                .create_and_publish(
                    &record.envelope,
                    record.correlation_id.as_deref(),
                    key_if_ours,
                    deadline,
                )
                .await
                .map(|s| Submitted {
                    created: created_here,
                    ..s
                }),
        }
    }

    /// The idempotency record under `key`; `None` once it was released.
    async fn read_record(
        &self,
        key: &str,
        deadline: Instant,
    ) -> Result<Option<IdempotencyRecord>, SubmitError> {
        let entry = until(deadline, |_| async {
            match crate::nats::kv_read::entry(&self.idempotency, key).await {
                Ok(entry) => Try::<_, ()>::Done(entry),
                Err(e) => Try::Again(e.to_string()),
            }
        })
        .await
        .map_err(|e| SubmitError::Unavailable(e.err().unwrap_or_default()))?;
        let Some(entry) = entry.filter(|e| e.operation == kv::Operation::Put) else {
            return Ok(None);
        };
        serde_json::from_slice(&entry.value)
            .map(Some)
            .map_err(|e| SubmitError::Unavailable(e.to_string()))
    }

    /// Job `id`'s status; `None` if it has none (yet).
    async fn read_status(
        &self,
        id: &str,
        deadline: Instant,
    ) -> Result<Option<JobStatus>, SubmitError> {
        until(deadline, |_| async {
            match self.statuses.get(id).await {
                Ok((status, _)) => Try::Done(Some(status)),
                Err(StatusError::NotFound) => Try::Done(None),
                Err(e) => Try::<_, ()>::Again(e.to_string()),
            }
        })
        .await
        .map_err(|e| SubmitError::Unavailable(e.err().unwrap_or_default()))
    }

    /// Writes the `queued` status and publishes. `own_key` is the idempotency record this
    /// request created (released if the job is not accepted).
    async fn create_and_publish(
        &self,
        envelope: &JobEnvelope,
        correlation_id: Option<&str>,
        own_key: Option<&str>,
        deadline: Instant,
    ) -> Result<Submitted, SubmitError> {
        let status = JobStatus::queued_for(envelope, self.max_attempts);
        let created = until(deadline, |_| async {
            match self.statuses.create(&status).await {
                Ok(revision) => Try::Done(Some(revision)),
                // An earlier try landed (the id is new), or a repeat of the same key got
                // here first: either way the status exists.
                Err(StatusError::AlreadyExists) => Try::Done(None),
                Err(e) if is_storage_full(&e.to_string()) => Try::Refused(e.to_string()),
                Err(e) => Try::Again(e.to_string()),
            }
        })
        .await;
        let revision = match created {
            Ok(revision) => revision,
            Err(Ok(full)) => {
                self.release_key(own_key).await;
                return Err(SubmitError::StorageFull(full));
            }
            Err(Err(e)) => {
                // Nothing was published: the job does not exist for anyone. A status
                // write that landed unseen stays `queued` without a message; the
                // reconciler fails it visibly.
                self.release_key(own_key).await;
                return Err(SubmitError::Unavailable(e));
            }
        };
        self.publish_or_settle(envelope, correlation_id, revision, own_key, deadline)
            .await?;
        Ok(Submitted {
            status,
            created: true,
        })
    }

    /// Publishes within the budget; if no publish was acknowledged, settles whether the
    /// job was accepted (see the module doc). `Ok` means accepted.
    async fn publish_or_settle(
        &self,
        envelope: &JobEnvelope,
        correlation_id: Option<&str>,
        status_revision: Option<u64>,
        own_key: Option<&str>,
        deadline: Instant,
    ) -> Result<(), SubmitError> {
        let publish_deadline = deadline
            .checked_sub(SETTLE_TIME)
            .filter(|d| *d > Instant::now())
            .unwrap_or(deadline);
        let (error, refused) = match self
            .publish(envelope, correlation_id, status_revision, publish_deadline)
            .await
        {
            Ok(()) => return Ok(()),
            // A definite refusal: the message was not stored.
            Err(Ok(full)) => (full, true),
            Err(Err(error)) => (error, false),
        };
        let unavailable = |error: String| {
            if refused {
                SubmitError::StorageFull(error)
            } else {
                SubmitError::Unavailable(error)
            }
        };
        tracing::warn!(job.id = %envelope.id, error = %error, "no publish acknowledged; settling the submission");
        let settle_deadline = Instant::now() + SETTLE_TIME;
        let settled = until(settle_deadline, |_| async {
            let refuse = |s: &mut JobStatus| {
                if s.status != JobState::Queued {
                    return false;
                }
                s.status = JobState::Failed;
                s.finished_at = Some(Utc::now());
                s.error = Some(JobFailure {
                    code: "submit_failed".into(),
                    message: "the job could not be queued".into(),
                });
                true
            };
            match self.statuses.transition(&envelope.id, refuse).await {
                Ok(status) => Try::<_, ()>::Done(Some(status.status)),
                Err(StatusError::Terminal(_)) => Try::Done(None),
                Err(StatusError::NotFound) => Try::Done(None),
                Err(e) => Try::Again(e.to_string()),
            }
        })
        .await;
        match settled {
            // A worker took the job: a publish did land.
            Ok(Some(state)) if state != JobState::Failed => {
                tracing::info!(job.id = %envelope.id, "an unacknowledged publish had landed; the job is accepted");
                Ok(())
            }
            // The job is now failed (or was finished or cancelled meanwhile by someone
            // else, which only a landed publish allows: accepted).
            Ok(Some(_)) => {
                self.release_key(own_key).await;
                Err(unavailable(error))
            }
            Ok(None) => Ok(()),
            // Unknown: left `queued` for the reconciler; the key is kept so the client's
            // retry with the same key finds (and re-publishes) this job.
            Err(_) => Err(unavailable(error)),
        }
    }

    async fn release_key(&self, idem_key: Option<&str>) {
        if let Some(key) = idem_key {
            if let Err(err) = self.idempotency.purge(key).await {
                tracing::warn!(error = %err, "could not release an idempotency key");
            }
        }
    }

    /// Publishes with the job id as `Nats-Msg-Id`, retrying until `deadline`.
    /// `Err(Ok(_))`: refused because the stream is full; `Err(Err(_))`: no
    /// acknowledgement (the publish may still have landed).
    async fn publish(
        &self,
        envelope: &JobEnvelope,
        correlation_id: Option<&str>,
        status_revision: Option<u64>,
        deadline: Instant,
    ) -> Result<(), Result<String, String>> {
        let body =
            bytes::Bytes::from(serde_json::to_vec(envelope).map_err(|e| Err(e.to_string()))?);
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, envelope.id.as_str());
        if let Some(cid) = correlation_id {
            headers.insert(CORRELATION_HEADER, cid);
        }
        if let Some(revision) = status_revision {
            headers.insert(STATUS_REVISION_HEADER, revision.to_string().as_str());
        }
        let subject = job_subject(&envelope.kind);
        until(deadline, |left| {
            let publish = async {
                self.jetstream
                    .publish_with_headers(subject.clone(), headers.clone(), body.clone())
                    .await
                    .map_err(|e| e.to_string())?
                    .await
                    .map_err(|e| e.to_string())
            };
            let limit = left.min(PUBLISH_ATTEMPT_TIMEOUT);
            async move {
                match tokio::time::timeout(limit, publish).await {
                    Ok(Ok(_ack)) => Try::Done(()),
                    Ok(Err(e)) if is_storage_full(&e) => Try::Refused(e),
                    Ok(Err(e)) => Try::Again(e),
                    Err(_) => Try::Again(format!("no publish ack within {limit:?}")),
                }
            }
        })
        .await
    }
}

/// The bucket key of an idempotency key: `<owner>.<sha256(owner, key)>` (KV keys have
/// a restricted alphabet, and keys of different users must not collide). The owner
/// prefix ([`owner_token`]) lets account deletion purge a user's records with one
/// subject filter.
fn idempotency_bucket_key(owner: Option<&str>, key: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(owner.unwrap_or("-").as_bytes());
    hasher.update([0u8]);
    hasher.update(key.as_bytes());
    format!("{}.{}", owner_token(owner), hex::encode(hasher.finalize()))
}
