//! Settling an attempt: completed, retrying or failed, and the shutdown hand-back.
//!
//! Order matters for what a crash at any point leaves behind:
//! - completed: the result row, then the status, then the ack. A redelivery finds the
//!   row and finishes from it without running the handler again.
//! - failed: the failure row, then the dead letter (acknowledged by JetStream), then
//!   the status, then Term. A message is never Term'd before its dead letter is stored,
//!   and a redelivery resumes from the row (the dead letter's message id is the job
//!   message's stream sequence, so a resumed publish is dropped as a duplicate).
//! - the first outcome stored for a job id wins: a delivery that finds another outcome
//!   already stored settles from that one.

use async_nats::jetstream::message::AckKind;
use async_nats::HeaderMap;
use chrono::Utc;
use hast_common::db::models::JobResult;
use hast_common::db::{self, DbError};
use hast_common::jobs::envelope::{
    CORRELATION_HEADER, DLQ_ATTEMPTS_HEADER, DLQ_ERROR_CODE_HEADER, DLQ_ERROR_HEADER,
    DLQ_JOB_ID_HEADER, DLQ_SUBJECT_HEADER, MSG_ID_HEADER,
};
use hast_common::jobs::{JobEnvelope, JobFailure, JobState, JobStatus, StatusError};
use hast_common::nats::names::{dlq_subject, JOBS_STREAM};
use serde_json::Value;

use super::patience::{Step, Unfinished};
use super::{Delivery, Runner};
use crate::backoff::retry_delay;
use crate::jobs::JobError;

/// The step that reads a job's stored outcome (in logs).
pub(super) const READ_STORED: &str = "read the stored outcome";

/// The change that marks a job completed with `result`.
pub(crate) fn mark_completed(result: Option<Value>) -> impl FnMut(&mut JobStatus) -> bool {
    let finished = Utc::now();
    move |s| {
        s.status = JobState::Completed;
        s.progress = 100;
        s.error = None;
        s.finished_at = Some(finished);
        s.next_attempt_at = None;
        s.result = result.clone();
        true
    }
}

/// A status change as an infrastructure step: only an unanswered write is retried.
fn status_step<T>(outcome: Result<T, StatusError>) -> Step<Result<T, StatusError>> {
    match outcome {
        Err(StatusError::Unavailable(e)) => Step::Again(e),
        other => Step::Done(other),
    }
}

/// A result row as an infrastructure step: a refused row is an answer, anything else
/// (the database down, a statement timeout) is retried.
fn row_step(outcome: Result<bool, DbError>) -> Step<Result<bool, DbError>> {
    match outcome {
        Ok(inserted) => Step::Done(Ok(inserted)),
        Err(e @ (DbError::Conflict(_) | DbError::ForeignKey(_))) => Step::Done(Err(e)),
        Err(e) => Step::Again(e.to_string()),
    }
}

/// The `job_results` row of a job's outcome: its result, or why it failed. `owner_id`
/// (the status's) falls back to the envelope's.
fn outcome_row(
    envelope: &JobEnvelope,
    owner_id: Option<String>,
    attempts: u32,
    outcome: Result<&Value, &JobFailure>,
) -> JobResult {
    JobResult {
        job_id: envelope.id.clone(),
        kind: envelope.kind.clone(),
        owner_id: owner_id.or_else(|| envelope.owner_id.clone()),
        outcome: if outcome.is_ok() {
            "completed"
        } else {
            "failed"
        }
        .into(),
        result: outcome.ok().map(Value::to_string),
        error: outcome
            .err()
            .and_then(|failure| serde_json::to_string(failure).ok()),
        attempts: i32::try_from(attempts).unwrap_or(i32::MAX),
        created_at: db::now_from(envelope.created_at),
        finished_at: db::now(),
    }
}

impl Runner {
    /// Stores an outcome row, waiting out database errors: whether it was inserted
    /// (false: another delivery's row was there), or the database's refusal.
    async fn store_row(
        &self,
        delivery: &Delivery,
        step: &str,
        row: &JobResult,
    ) -> Result<Result<bool, DbError>, Unfinished> {
        self.keep_trying(delivery, step, || async {
            row_step(self.results.record(row.clone()).await)
        })
        .await
        .done()
    }

    /// The handler succeeded: store the result, mark the job completed, ack.
    pub(super) async fn complete(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        result: Value,
        running: (JobStatus, u64),
    ) {
        // The status's owner wins: a guest's jobs move to the account they sign up for.
        let owner = running.0.owner_id.clone();
        let row = outcome_row(envelope, owner, running.0.attempt, Ok(&result));
        match self.store_row(delivery, "store the result", &row).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                // Another delivery of this job stored its outcome first: that one stands.
                self.settle_from_existing(delivery, envelope).await;
                return;
            }
            Ok(Err(DbError::ForeignKey(_))) if row.owner_id.is_some() => {
                // The owner deleted their account while the job ran: its status was
                // purged with everything else of theirs. Drop the job.
                tracing::info!("job owner no longer exists; dropping the job");
                let _ = delivery.message.ack_with(AckKind::Term).await;
                return;
            }
            Ok(Err(err)) => {
                tracing::error!(error = %err, "job result rejected by the database; the status keeps it");
            }
            Err(Unfinished::ShuttingDown) => return self.abandon(delivery, envelope).await,
            Err(why) => return self.give_back(delivery, "store the result", why).await,
        }
        self.mark_completed_and_ack(delivery, envelope, Some(running), Some(result))
            .await;
    }

    /// Marks the job completed (its result row is stored) and acks. A job cancelled or
    /// purged meanwhile loses its row instead.
    async fn mark_completed_and_ack(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        known: Option<(JobStatus, u64)>,
        result: Option<Value>,
    ) {
        let mut known = known;
        let marked = self
            .keep_trying(delivery, "mark the job completed", || {
                let known = known.take();
                let change = mark_completed(result.clone());
                async move {
                    status_step(
                        self.statuses
                            .transition_from(&envelope.id, known, change)
                            .await,
                    )
                }
            })
            .await;
        let cancelled = match marked.done() {
            Ok(Err(StatusError::NotFound)) => true,
            Ok(Err(StatusError::Terminal(state))) => state == JobState::Cancelled.as_str(),
            Ok(Err(err @ StatusError::Corrupt(_))) => {
                tracing::error!(error = %err, "cannot mark the job completed; its result is stored");
                false
            }
            // Done, or finished by another delivery (whose ack was lost): the result stands.
            Ok(_) => false,
            Err(why) => {
                return self
                    .give_back(delivery, "mark the job completed", why)
                    .await
            }
        };
        if cancelled {
            self.withdraw_result(delivery, envelope).await;
            return;
        }
        // A plain ack: were it lost, the redelivery settles from the stored result, so
        // waiting for the server's confirmation would buy nothing (and cost a message).
        if let Err(err) = delivery.message.ack().await {
            tracing::warn!(error = %err, "ack not sent; a redelivery will finish from the stored result");
        }
        metrics::counter!("hast_jobs_completed_total", "kind" => envelope.kind.clone())
            .increment(1);
        tracing::info!("job completed");
    }

    /// A job cancelled, or purged with its analysis, after its last cancellation check:
    /// the result stored for it must not outlive it.
    async fn withdraw_result(&self, delivery: &Delivery, envelope: &JobEnvelope) {
        let withdrawn = self
            .keep_trying(delivery, "withdraw a cancelled job's result", || async {
                if let Err(e) = self.undo_cancelled(envelope).await {
                    return Step::Again(e.to_string());
                }
                match self.db.withdraw_job_result(&envelope.id).await {
                    Ok(_) => Step::Done(()),
                    Err(e) => Step::Again(e.to_string()),
                }
            })
            .await;
        match withdrawn.done() {
            Ok(()) => {
                tracing::info!("job cancelled as it finished; its result is withdrawn");
                metrics::counter!("hast_jobs_cancelled_total", "kind" => envelope.kind.clone())
                    .increment(1);
                let _ = delivery.message.ack_with(AckKind::Term).await;
            }
            Err(why) => {
                self.give_back(delivery, "withdraw a cancelled job's result", why)
                    .await
            }
        }
    }

    /// Drops a cancelled job's message once its handler has undone what a run left
    /// behind (see [`crate::jobs::Handler::cancelled`]).
    pub(super) async fn drop_cancelled(&self, delivery: &Delivery, envelope: &JobEnvelope) {
        const STEP: &str = "undo a cancelled job's writes";
        let undone = self
            .keep_trying(delivery, STEP, || async {
                match self.undo_cancelled(envelope).await {
                    Ok(()) => Step::Done(()),
                    Err(e) => Step::Again(e.to_string()),
                }
            })
            .await;
        match undone.done() {
            Ok(()) => {
                let _ = delivery.message.ack_with(AckKind::Term).await;
            }
            Err(why) => self.give_back(delivery, STEP, why).await,
        }
    }

    /// Lets the kind's handler undo what a run of a cancelled job left (an analysis's
    /// reading).
    pub(super) async fn undo_cancelled(
        &self,
        envelope: &JobEnvelope,
    ) -> Result<(), hast_common::db::DbError> {
        match self.registry.get(envelope.kind.as_str()) {
            Some(handler) => {
                handler
                    .cancelled(self.db.clone(), envelope.payload.clone())
                    .await
            }
            None => Ok(()),
        }
    }

    /// The outcome stored for the job, if any, waiting out database errors.
    pub(super) async fn stored_outcome(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
    ) -> Result<Option<JobResult>, Unfinished> {
        self.keep_trying(delivery, READ_STORED, || async {
            match self.db.find_job_result(&envelope.id).await {
                Ok(row) => Step::Done(row),
                Err(e) => Step::Again(e.to_string()),
            }
        })
        .await
        .done()
    }

    /// Settles the job from the outcome another delivery stored.
    async fn settle_from_existing(&self, delivery: &Delivery, envelope: &JobEnvelope) {
        match self.stored_outcome(delivery, envelope).await {
            Ok(Some(row)) => self.settle_from_stored(delivery, envelope, row).await,
            // Withdrawn meanwhile (the job was cancelled): nothing left to do.
            Ok(None) => {
                let _ = delivery.message.ack_with(AckKind::Term).await;
            }
            Err(why) => self.give_back(delivery, READ_STORED, why).await,
        }
    }

    /// Finishes a job whose outcome is already stored, without running it again.
    pub(super) async fn settle_from_stored(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        row: JobResult,
    ) {
        let attempts = u32::try_from(row.attempts).unwrap_or(0);
        if row.outcome == "completed" {
            tracing::info!("job result already stored; completing without re-running");
            let result: Option<Value> = row
                .result
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok());
            self.mark_completed_and_ack(delivery, envelope, None, result)
                .await;
        } else {
            let failure = row
                .error
                .as_deref()
                .and_then(|e| serde_json::from_str::<JobFailure>(e).ok())
                .unwrap_or_else(|| JobFailure {
                    code: "failed".into(),
                    message: "the job failed".into(),
                });
            tracing::info!("job failure already stored; finishing it without re-running");
            self.finish_failure(delivery, envelope, &failure, attempts)
                .await;
        }
    }

    /// A transient failure with attempts left: mark `retrying`, Nak with a backoff.
    pub(super) async fn retry(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        attempt: u32,
        err: &JobError,
    ) {
        let delay = retry_delay(
            attempt,
            self.settings.jobs.backoff_base,
            self.settings.jobs.backoff_cap,
        );
        let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        let failure = JobFailure {
            code: err.code().to_owned(),
            message: err.message().to_owned(),
        };
        let marked = self
            .keep_trying(delivery, "mark the job retrying", || {
                let failure = failure.clone();
                async move {
                    status_step(
                        self.statuses
                            .transition(&envelope.id, move |s| {
                                s.status = JobState::Retrying;
                                s.error = Some(failure.clone());
                                s.next_attempt_at = Some(next);
                                true
                            })
                            .await,
                    )
                }
            })
            .await
            .done();
        if let Err(Unfinished::GaveUp(error)) = &marked {
            // The status still says `running` with this attempt counted: the redelivery
            // below starts the next attempt all the same.
            tracing::warn!(error = %error, "cannot mark the job retrying");
        }
        let _ = delivery.message.ack_with(AckKind::Nak(Some(delay))).await;
        metrics::counter!("hast_jobs_retried_total", "kind" => envelope.kind.clone()).increment(1);
        tracing::warn!(
            error.code = err.code(),
            error.message = err.message(),
            retry_in_ms = delay.as_millis() as u64,
            "job attempt failed; will retry"
        );
    }

    /// A permanent failure, or the last attempt's: store it, then finish it.
    pub(super) async fn fail(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        failure: &JobFailure,
        attempts: u32,
        owner_id: Option<String>,
    ) {
        let row = outcome_row(envelope, owner_id, attempts, Err(failure));
        match self.store_row(delivery, "store the failure", &row).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                // An outcome is stored already (a success of another delivery wins).
                self.settle_from_existing(delivery, envelope).await;
                return;
            }
            Ok(Err(err)) => {
                tracing::warn!(error = %err, "cannot store the failure; the status and dead letter still record it");
            }
            Err(why) => return self.give_back(delivery, "store the failure", why).await,
        }
        self.finish_failure(delivery, envelope, failure, attempts)
            .await;
    }

    /// Dead-letters the job (acknowledged), marks it failed, then Terms it.
    async fn finish_failure(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        failure: &JobFailure,
        attempts: u32,
    ) {
        let lettered = self
            .keep_trying(delivery, "write the dead letter", || async {
                match self
                    .dead_letter(delivery, &envelope.id, &envelope.kind, failure, attempts)
                    .await
                {
                    Ok(()) => Step::Done(()),
                    Err(e) => Step::Again(e),
                }
            })
            .await;
        match lettered.done() {
            Ok(()) => {}
            Err(why) => return self.give_back(delivery, "write the dead letter", why).await,
        }
        let finished = Utc::now();
        let marked = self
            .keep_trying(delivery, "mark the job failed", || async {
                status_step(
                    self.statuses
                        .transition(&envelope.id, |s| {
                            s.status = JobState::Failed;
                            s.error = Some(failure.clone());
                            s.finished_at = Some(finished);
                            s.next_attempt_at = None;
                            true
                        })
                        .await,
                )
            })
            .await;
        match marked.done() {
            Ok(_) => {}
            Err(why) => return self.give_back(delivery, "mark the job failed", why).await,
        }
        if let Err(err) = delivery.message.double_ack_with(AckKind::Term).await {
            tracing::warn!(error = %err, "Term not confirmed; a redelivery finishes from the stored failure");
        }
        metrics::counter!("hast_jobs_failed_total", "kind" => envelope.kind.clone()).increment(1);
        tracing::error!(error.code = %failure.code, error.message = %failure.message, "job failed");
    }

    /// A message that is not a job envelope: dead-letter it, then Term it.
    pub(super) async fn dead_letter_malformed(&self, delivery: &Delivery, failure: &JobFailure) {
        let lettered = self
            .keep_trying(delivery, "write the dead letter", || async {
                match self
                    .dead_letter(delivery, "unknown", &delivery.kind, failure, 0)
                    .await
                {
                    Ok(()) => Step::Done(()),
                    Err(e) => Step::Again(e),
                }
            })
            .await;
        match lettered.done() {
            Ok(()) => {
                let _ = delivery.message.double_ack_with(AckKind::Term).await;
            }
            Err(why) => self.give_back(delivery, "write the dead letter", why).await,
        }
    }

    /// Copies the message to `dlq.<kind>` (see [`publish_dead_letter`]).
    async fn dead_letter(
        &self,
        delivery: &Delivery,
        job_id: &str,
        kind: &str,
        failure: &JobFailure,
        attempts: u32,
    ) -> Result<(), String> {
        let message = &delivery.message;
        let correlation_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(CORRELATION_HEADER))
            .map(|v| v.as_str().to_owned());
        publish_dead_letter(
            &self.jetstream,
            Letter {
                job_id,
                kind,
                failure,
                attempts,
                original_subject: message.subject.as_str(),
                stream_sequence: delivery.stream_sequence,
                payload: message.payload.clone(),
                correlation_id: correlation_id.as_deref(),
            },
        )
        .await
    }

    /// Gives a running job back at shutdown: status `retrying`, Nak for immediate
    /// redelivery.
    pub(super) async fn abandon(&self, delivery: &Delivery, envelope: &JobEnvelope) {
        let now = Utc::now();
        let marked = self.statuses.transition(&envelope.id, |s| {
            s.status = JobState::Retrying;
            s.error = Some(JobFailure {
                code: "worker_shutdown".into(),
                message: "the worker stopped during this attempt".into(),
            });
            s.next_attempt_at = Some(now);
            true
        });
        // Best effort and bounded: the worker is on its way out.
        let _ = tokio::time::timeout(std::time::Duration::from_secs(2), marked).await;
        // Confirmed, so the Nak is processed before the connection drains.
        if let Err(err) = delivery.message.double_ack_with(AckKind::Nak(None)).await {
            tracing::warn!(error = %err, "Nak not confirmed; the job is redelivered after JOB_ACK_WAIT");
        }
        tracing::warn!("job abandoned at shutdown; redelivering");
    }
}

/// A dead letter: a job message and why it failed for good.
pub(crate) struct Letter<'a> {
    pub job_id: &'a str,
    pub kind: &'a str,
    pub failure: &'a JobFailure,
    pub attempts: u32,
    pub original_subject: &'a str,
    /// The job message's sequence in `JOBS` (0 if unknown).
    pub stream_sequence: u64,
    pub payload: bytes::Bytes,
    pub correlation_id: Option<&'a str>,
}

/// Publishes `letter` to `dlq.<kind>` with headers saying why, and waits for JetStream
/// to store it. Its `Nats-Msg-Id` is the job message's `JOBS` sequence: unique per job
/// message, the same for every delivery of it, so a resumed publish is a duplicate.
pub(crate) async fn publish_dead_letter(
    jetstream: &async_nats::jetstream::Context,
    letter: Letter<'_>,
) -> Result<(), String> {
    let mut headers = HeaderMap::new();
    let letter_id = if letter.stream_sequence > 0 {
        format!("{JOBS_STREAM}-{}", letter.stream_sequence)
    } else {
        format!("{JOBS_STREAM}-job-{}", letter.job_id)
    };
    headers.insert(MSG_ID_HEADER, letter_id.as_str());
    headers.insert(DLQ_JOB_ID_HEADER, letter.job_id);
    headers.insert(DLQ_ERROR_CODE_HEADER, letter.failure.code.as_str());
    headers.insert(
        DLQ_ERROR_HEADER,
        letter.failure.message.replace(['\r', '\n'], " ").as_str(),
    );
    headers.insert(DLQ_ATTEMPTS_HEADER, letter.attempts.to_string().as_str());
    headers.insert(DLQ_SUBJECT_HEADER, letter.original_subject);
    if let Some(cid) = letter.correlation_id {
        headers.insert(CORRELATION_HEADER, cid);
    }
    let ack = jetstream
        .publish_with_headers(dlq_subject(letter.kind), headers, letter.payload)
        .await
        .map_err(|e| e.to_string())?
        .await
        .map_err(|e| e.to_string())?;
    if !ack.duplicate {
        metrics::counter!("hast_jobs_dead_lettered_total", "kind" => letter.kind.to_owned())
            .increment(1);
    }
    Ok(())
}
