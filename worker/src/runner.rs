//! The job loop: pull, run, record, acknowledge.
//!
//! One pull loop per kind shares the worker's slots ([`Semaphore`] with
//! `WORKER_CONCURRENCY` permits). A loop first waits for one free slot, takes any other
//! free ones, and fetches at most that many messages, so a worker never holds more
//! messages than it can run. Each message is processed in its own task (see
//! [`process`]):
//!
//! 1. skip it if its status is already terminal (cancelled, or completed by an earlier
//!    delivery whose ack was lost);
//! 2. mark it `running` with attempt = delivery count;
//! 3. run the handler in its own task (a panic fails only this job) under the kind's
//!    deadline, sending `Progress` acks every `ack_wait / 3` and checking for
//!    cancellation at each of them;
//! 4. success: store the result (one row per job id; retried while the database is
//!    unreachable, without re-running the handler), mark `completed`, then ack and wait
//!    for the server's confirmation;
//!    transient failure before the last attempt: mark `retrying` with `next_attempt_at`
//!    and Nak with that delay;
//!    permanent failure or last attempt: store the failure, copy the message to
//!    `JOBS_DLQ` with headers saying why, mark `failed`, then Term.
//!
//! Shutdown: the loops stop fetching; running jobs get `SHUTDOWN_GRACE` to finish;
//! what is still running then is abandoned: Nak'd for immediate redelivery and marked
//! `retrying` (never left `running`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, Message};
use async_nats::HeaderMap;
use chrono::Utc;
use futures::StreamExt;
use hast_common::config::Settings;
use hast_common::db::models::JobResult;
use hast_common::db::{self, Database, DbError};
use hast_common::jobs::envelope::{
    CORRELATION_HEADER, DLQ_ATTEMPTS_HEADER, DLQ_ERROR_CODE_HEADER, DLQ_ERROR_HEADER,
    DLQ_JOB_ID_HEADER, DLQ_SUBJECT_HEADER, MSG_ID_HEADER, STATUS_REVISION_HEADER,
};
use hast_common::jobs::{JobEnvelope, JobFailure, JobState, JobStatus, StatusError, StatusStore};
use hast_common::nats::names::{consumer_name, dlq_subject, JOBS_STREAM};
use serde_json::Value;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::backoff::retry_delay;
use crate::heartbeat::WorkerIdentity;
use crate::jobs::{JobContext, JobError, Registry};
use crate::result_writer::ResultWriter;

/// How long one fetch waits for messages before the loop checks for shutdown again.
const FETCH_EXPIRES: Duration = Duration::from_secs(2);
/// Most messages fetched in one request.
const MAX_BATCH: usize = 256;

/// What became of a result row.
enum Persisted {
    /// Stored (or already there, or kept only in the status).
    Stored,
    /// Refused because the job's owner no longer exists.
    OwnerGone,
    /// The worker is shutting down before the database came back.
    ShuttingDown,
}

/// Hands a message back to be delivered again in a second, after a passing failure of
/// the status store or the database.
async fn redeliver_soon(message: &Message) {
    let _ = message
        .ack_with(AckKind::Nak(Some(Duration::from_secs(1))))
        .await;
}

/// Whether marking a job completed found it cancelled, or its status purged (with its
/// analysis or account), since the worker last looked: its result must then go.
fn cancelled_meanwhile<T>(marked: &Result<T, StatusError>) -> bool {
    match marked {
        Err(StatusError::NotFound) => true,
        Err(StatusError::Terminal(state)) => *state == JobState::Cancelled.as_str(),
        _ => false,
    }
}

/// The change that marks a job completed with `result`.
fn mark_completed(result: Option<Value>) -> impl FnMut(&mut JobStatus) -> bool {
    let finished = Utc::now();
    move |s| {
        s.status = JobState::Completed;
        s.progress = 100;
        s.error = None;
        s.finished_at = Some(finished);
        s.result = result.clone();
        true
    }
}

/// Everything the loop and its tasks share.
pub struct Runner {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub nats: async_nats::Client,
    pub jetstream: jetstream::Context,
    pub statuses: StatusStore,
    /// The `images` object store (photos, overlays, thumbnails).
    pub images: async_nats::jetstream::object_store::ObjectStore,
    pub registry: Registry,
    /// Group-commit writer for results.
    pub results: ResultWriter,
    pub identity: Arc<WorkerIdentity>,
    /// Free job slots.
    pub slots: Arc<Semaphore>,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("worker", &self.identity.id)
            .finish()
    }
}

/// Signals from the worker to its loops and tasks.
#[derive(Clone, Debug)]
pub struct Signals {
    /// Turns true when the loops must stop fetching.
    pub stop: watch::Receiver<bool>,
    /// Turns true when running jobs must be abandoned.
    pub abandon: watch::Receiver<bool>,
}

impl Runner {
    /// Runs one pull loop per kind until `signals.stop`; returns when the loops have
    /// stopped (running jobs may still be finishing: wait on [`Runner::slots`]).
    pub async fn run(self: Arc<Self>, signals: Signals) -> Result<(), async_nats::Error> {
        let stream = self.jetstream.get_stream(JOBS_STREAM).await?;
        let mut loops = Vec::new();
        for kind in self.registry.keys() {
            let consumer: PullConsumer = stream.get_consumer(&consumer_name(kind)).await?;
            loops.push(tokio::spawn(self.clone().pull_loop(
                kind,
                consumer,
                signals.clone(),
            )));
        }
        for handle in loops {
            if let Err(err) = handle.await {
                tracing::error!(error = %err, "pull loop ended abnormally");
            }
        }
        Ok(())
    }

    /// Pulls jobs of one kind. While the queue is empty the loop long-polls for a
    /// single message holding a single slot (an idle kind costs one slot and one
    /// request per [`FETCH_EXPIRES`]); once work arrives it fetches bursts of as many
    /// messages as there are free slots, without waiting, until the queue is drained.
    async fn pull_loop(
        self: Arc<Self>,
        kind: &'static str,
        consumer: PullConsumer,
        signals: Signals,
    ) {
        let mut stop = signals.stop.clone();
        let mut draining = false;
        loop {
            if *stop.borrow() {
                break;
            }
            let first = tokio::select! {
                permit = self.slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
                _ = stop.changed() => break,
            };
            let mut permits = vec![first];
            if draining {
                while permits.len() < MAX_BATCH {
                    match self.slots.clone().try_acquire_owned() {
                        Ok(p) => permits.push(p),
                        Err(_) => break,
                    }
                }
            }
            let wanted = permits.len();
            let batch = if draining {
                // Whatever is there now, up to `wanted`; returns at once when empty.
                consumer.fetch().max_messages(wanted).messages().await
            } else {
                // Wait (bounded) for the next message.
                consumer
                    .batch()
                    .max_messages(wanted)
                    .expires(FETCH_EXPIRES)
                    .messages()
                    .await
            };
            let mut batch = match batch {
                Ok(batch) => batch,
                Err(err) => {
                    tracing::warn!(job.kind = kind, error = %err, "fetch failed; retrying");
                    drop(permits);
                    draining = false;
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stop.changed() => {}
                    }
                    continue;
                }
            };
            let mut received = 0;
            while let Some(message) = batch.next().await {
                let message = match message {
                    Ok(m) => m,
                    Err(err) => {
                        tracing::debug!(job.kind = kind, error = %err, "fetch ended");
                        break;
                    }
                };
                received += 1;
                let Some(permit) = permits.pop() else {
                    // Cannot happen (we asked for permits.len()); never run unslotted work.
                    let _ = message.ack_with(AckKind::Nak(None)).await;
                    continue;
                };
                if *stop.borrow() {
                    let _ = message.ack_with(AckKind::Nak(None)).await;
                    continue;
                }
                tokio::spawn(
                    self.clone()
                        .process(message, permit, signals.abandon.clone()),
                );
            }
            // A full batch means more may be waiting: keep draining. Otherwise go back
            // to waiting for the next message.
            draining = received == wanted;
        }
        tracing::info!(job.kind = kind, "pull loop stopped");
    }

    /// Processes one delivered message; `_permit` frees the slot when dropped.
    async fn process(
        self: Arc<Self>,
        message: Message,
        _permit: OwnedSemaphorePermit,
        abandon: watch::Receiver<bool>,
    ) {
        let attempt = message
            .info()
            .map(|i| u32::try_from(i.delivered).unwrap_or(u32::MAX))
            .unwrap_or(1);
        let correlation_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(CORRELATION_HEADER))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let envelope: JobEnvelope = match serde_json::from_slice(&message.payload) {
            Ok(e) => e,
            Err(err) => {
                tracing::error!(error = %err, subject = %message.subject, "malformed job message");
                let failure = JobFailure {
                    code: "malformed_message".into(),
                    message: err.to_string(),
                };
                self.dead_letter(&message, "unknown", "unknown", &failure, attempt)
                    .await;
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
        };
        let span = tracing::info_span!(
            "job",
            job.id = %envelope.id,
            job.kind = %envelope.kind,
            attempt,
            correlation_id = %correlation_id,
        );
        self.identity
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        // Boxed: the state machine is large; keep it off the runtime thread's stack.
        Box::pin(
            self.clone()
                .process_envelope(&message, envelope, attempt, abandon)
                .instrument(span),
        )
        .await;
        self.identity
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn process_envelope(
        self: Arc<Self>,
        message: &Message,
        envelope: JobEnvelope,
        attempt: u32,
        mut abandon: watch::Receiver<bool>,
    ) {
        let kind = envelope.kind.clone();
        let max_attempts = self.settings.job_max_attempts;
        // 1. The worker running the last attempt died: fail visibly now (unless an
        //    earlier delivery finished the job and only its ack was lost).
        if attempt > max_attempts {
            match self.statuses.get(&envelope.id).await {
                Ok((status, _)) if status.status.is_terminal() => {
                    let _ = message.ack_with(AckKind::Term).await;
                }
                _ => {
                    let failure = JobFailure {
                        code: "attempts_exhausted".into(),
                        message: format!("no attempt succeeded in {max_attempts}"),
                    };
                    self.fail(message, &envelope, &failure, max_attempts).await;
                }
            }
            return;
        }
        // A redelivery of a job whose result is already stored (the worker died
        // between storing it and acknowledging): finish from the stored row instead of
        // running the handler again.
        if attempt > 1 {
            if let Ok(Some(row)) = self.db.find_job_result(&envelope.id).await {
                if row.outcome == "completed" {
                    let result: Option<Value> = row
                        .result
                        .as_deref()
                        .and_then(|r| serde_json::from_str(r).ok());
                    let marked = self
                        .statuses
                        .transition(&envelope.id, mark_completed(result))
                        .await;
                    if cancelled_meanwhile(&marked) {
                        // The withdrawal of a cancelled job's result failed last time.
                        let _ = self.db.withdraw_job_result(&envelope.id).await;
                    }
                    let _ = message.double_ack().await;
                    tracing::info!("job result already stored; completed without re-running");
                    return;
                }
            }
        }
        // 2. Running (the transition refuses terminal states: cancelled, or finished by
        //    an earlier delivery whose ack was lost).
        let started = Utc::now();
        let mark_running = |s: &mut JobStatus| {
            s.status = JobState::Running;
            s.attempt = attempt;
            s.started_at = Some(started);
            s.next_attempt_at = None;
            true
        };
        // On a first delivery the API's `queued` document and revision are known from the
        // message, so the update needs no read (it falls back to one if anything changed).
        let known = (attempt == 1)
            .then(|| {
                message
                    .headers
                    .as_ref()?
                    .get(STATUS_REVISION_HEADER)?
                    .as_str()
                    .parse::<u64>()
                    .ok()
            })
            .flatten()
            .map(|revision| (JobStatus::queued_for(&envelope, max_attempts), revision));
        let mut running = self
            .statuses
            .transition_from(&envelope.id, known, mark_running)
            .await;
        if let Err(StatusError::NotFound) = running {
            // A job whose owner deleted their account: its status was purged on purpose.
            if let Some(owner) = &envelope.owner_id {
                if let Ok(None) = self.db.find_user(owner).await {
                    tracing::info!("job owner no longer exists; dropping the job");
                    let _ = message.ack_with(AckKind::Term).await;
                    return;
                }
            }
            // Published without a status (or it expired): recreate it.
            let mut status = JobStatus::queued(
                envelope.id.clone(),
                &kind,
                max_attempts,
                envelope.owner_id.clone(),
            );
            status.replay_of = envelope.replay_of.clone();
            let _ = self.statuses.create(&status).await;
            running = self
                .statuses
                .transition_from(&envelope.id, None, mark_running)
                .await;
        }
        let running = match running {
            Ok(running) => running,
            Err(StatusError::Terminal(state)) => {
                tracing::info!(job.status = state, "job already finished; skipping");
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
            Err(err) => {
                tracing::warn!(error = %err, "cannot mark job running; retrying soon");
                redeliver_soon(message).await;
                return;
            }
        };
        tracing::info!("job started");
        // 3. Run under a deadline with heartbeats.
        let Some(handler) = self.registry.get(kind.as_str()).cloned() else {
            let failure = JobFailure {
                code: "unknown_kind".into(),
                message: format!("no handler for {kind}"),
            };
            self.fail(message, &envelope, &failure, attempt).await;
            return;
        };
        let timeout = hast_common::jobs::kind(&kind)
            .map(|k| k.timeout)
            .unwrap_or(Duration::from_secs(60));
        let ctx = JobContext {
            job_id: envelope.id.clone(),
            attempt,
            replay_of: envelope.replay_of.clone(),
            db: self.db.clone(),
            nats: self.nats.clone(),
            statuses: self.statuses.clone(),
            images: self.images.clone(),
            identity: self.identity.clone(),
        };
        let clock = Instant::now();
        let mut task = tokio::spawn(
            handler
                .run(ctx, envelope.payload.clone())
                .instrument(tracing::Span::current()),
        );
        let heartbeat_every = (self.settings.job_ack_wait / 3).max(Duration::from_millis(100));
        let mut heartbeat = tokio::time::interval_at(
            tokio::time::Instant::now() + heartbeat_every,
            heartbeat_every,
        );
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let outcome: Result<Value, JobError> = loop {
            tokio::select! {
                joined = &mut task => break match joined {
                    Ok(result) => result,
                    Err(err) if err.is_panic() => {
                        tracing::error!("job handler panicked");
                        Err(JobError::permanent("panicked", "the job handler panicked"))
                    }
                    Err(err) => Err(JobError::transient("aborted", err.to_string())),
                },
                _ = heartbeat.tick() => {
                    let _ = message.ack_with(AckKind::Progress).await;
                    if let Ok((status, _)) = self.statuses.get(&envelope.id).await {
                        if status.status == JobState::Cancelled {
                            task.abort();
                            tracing::info!("job cancelled while running; abandoned");
                            metrics::counter!("hast_jobs_cancelled_total", "kind" => kind.clone()).increment(1);
                            let _ = message.ack_with(AckKind::Term).await;
                            return;
                        }
                    }
                }
                () = &mut deadline => {
                    task.abort();
                    break Err(JobError::transient(
                        "timeout",
                        format!("the job did not finish within {timeout:?}"),
                    ));
                }
                _ = abandon.changed() => {
                    task.abort();
                    self.abandon(message, &envelope).await;
                    return;
                }
            }
        };
        let seconds = clock.elapsed().as_secs_f64();
        // 4. Settle.
        match outcome {
            Ok(result) => {
                metrics::histogram!("hast_job_duration_seconds", "kind" => kind.clone(), "outcome" => "completed").record(seconds);
                self.complete(message, &envelope, attempt, result, running, &mut abandon)
                    .await;
            }
            Err(err) if err.is_transient() && attempt < max_attempts => {
                metrics::histogram!("hast_job_duration_seconds", "kind" => kind.clone(), "outcome" => "retrying").record(seconds);
                self.retry(message, &envelope, attempt, &err).await;
            }
            Err(err) => {
                metrics::histogram!("hast_job_duration_seconds", "kind" => kind.clone(), "outcome" => "failed").record(seconds);
                let failure = JobFailure {
                    code: err.code().to_owned(),
                    message: err.message().to_owned(),
                };
                self.fail(message, &envelope, &failure, attempt).await;
            }
        }
    }

    async fn complete(
        &self,
        message: &Message,
        envelope: &JobEnvelope,
        attempt: u32,
        result: Value,
        running: (JobStatus, u64),
        abandon: &mut watch::Receiver<bool>,
    ) {
        let now = db::now();
        let row = JobResult {
            job_id: envelope.id.clone(),
            kind: envelope.kind.clone(),
            // The status's owner wins: a guest's jobs move to the account they sign up for.
            owner_id: running
                .0
                .owner_id
                .clone()
                .or_else(|| envelope.owner_id.clone()),
            outcome: "completed".into(),
            result: Some(result.to_string()),
            error: None,
            attempts: i32::try_from(attempt).unwrap_or(i32::MAX),
            created_at: db::now_from(envelope.created_at),
            finished_at: now,
        };
        match self.persist(message, &row, abandon).await {
            Persisted::Stored => {}
            Persisted::OwnerGone => {
                // The owner deleted their account while the job ran: its status was
                // purged with everything else of theirs. Drop the job without writing a
                // status back.
                tracing::info!("job owner no longer exists; dropping the job");
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
            Persisted::ShuttingDown => {
                self.abandon(message, envelope).await;
                return;
            }
        }
        match self
            .statuses
            .transition_from(&envelope.id, Some(running), mark_completed(Some(result)))
            .await
        {
            marked if cancelled_meanwhile(&marked) => {
                // Cancelled, or purged with its analysis, after the last cancellation
                // check: the result stored above must not outlive the job (the API
                // deletes a result stored before it cancelled).
                if let Err(err) = self.db.withdraw_job_result(&envelope.id).await {
                    tracing::warn!(error = %err, "cannot withdraw a cancelled job's result; redelivering");
                    redeliver_soon(message).await;
                    return;
                }
                tracing::info!("job cancelled as it finished; its result is withdrawn");
                metrics::counter!("hast_jobs_cancelled_total", "kind" => envelope.kind.clone())
                    .increment(1);
                let _ = message.ack_with(AckKind::Term).await;
                return;
            }
            // Done, or finished by another delivery (whose ack was lost): the result stands.
            Ok(_) | Err(StatusError::Terminal(_)) => {}
            Err(err) => {
                // The result is stored; the status write is retried by the redelivery.
                tracing::warn!(error = %err, "cannot mark job completed; redelivering");
                redeliver_soon(message).await;
                return;
            }
        }
        if let Err(err) = message.double_ack().await {
            tracing::warn!(error = %err, "ack not confirmed; a redelivery will be skipped");
        }
        metrics::counter!("hast_jobs_completed_total", "kind" => envelope.kind.clone())
            .increment(1);
        tracing::info!("job completed");
    }

    /// Stores a result row, retrying while the database is unreachable and keeping the
    /// message alive meanwhile.
    async fn persist(
        &self,
        message: &Message,
        row: &JobResult,
        abandon: &mut watch::Receiver<bool>,
    ) -> Persisted {
        let mut delay = Duration::from_millis(100);
        let mut last_progress = Instant::now();
        loop {
            match self.results.record(row.clone()).await {
                Ok(_) => return Persisted::Stored,
                Err(DbError::ForeignKey(_)) if row.owner_id.is_some() => {
                    return Persisted::OwnerGone;
                }
                Err(err @ (DbError::Conflict(_) | DbError::ForeignKey(_))) => {
                    // The row cannot be written as it is; keep the outcome in the status.
                    tracing::error!(error = %err, "job result rejected by the database");
                    return Persisted::Stored;
                }
                Err(err) => {
                    tracing::warn!(error = %err, retry_in_ms = delay.as_millis() as u64, "cannot store job result; retrying");
                }
            }
            if last_progress.elapsed() >= self.settings.job_ack_wait / 3 {
                let _ = message.ack_with(AckKind::Progress).await;
                last_progress = Instant::now();
            }
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                _ = abandon.changed() => return Persisted::ShuttingDown,
            }
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    async fn retry(&self, message: &Message, envelope: &JobEnvelope, attempt: u32, err: &JobError) {
        let delay = retry_delay(
            attempt,
            self.settings.job_backoff_base,
            self.settings.job_backoff_cap,
        );
        let next = Utc::now() + chrono::Duration::from_std(delay).unwrap_or_default();
        let failure = JobFailure {
            code: err.code().to_owned(),
            message: err.message().to_owned(),
        };
        let _ = self
            .statuses
            .transition(&envelope.id, |s| {
                s.status = JobState::Retrying;
                s.error = Some(failure.clone());
                s.next_attempt_at = Some(next);
                true
            })
            .await;
        let _ = message.ack_with(AckKind::Nak(Some(delay))).await;
        metrics::counter!("hast_jobs_retried_total", "kind" => envelope.kind.clone()).increment(1);
        tracing::warn!(
            error.code = err.code(),
            error.message = err.message(),
            retry_in_ms = delay.as_millis() as u64,
            "job attempt failed; will retry"
        );
    }

    async fn fail(
        &self,
        message: &Message,
        envelope: &JobEnvelope,
        failure: &JobFailure,
        attempt: u32,
    ) {
        let row = JobResult {
            job_id: envelope.id.clone(),
            kind: envelope.kind.clone(),
            owner_id: envelope.owner_id.clone(),
            outcome: "failed".into(),
            result: None,
            error: serde_json::to_string(failure).ok(),
            attempts: i32::try_from(attempt).unwrap_or(i32::MAX),
            created_at: db::now_from(envelope.created_at),
            finished_at: db::now(),
        };
        if let Err(err) = self.results.record(row).await {
            tracing::warn!(error = %err, "cannot store the failure; the status and dead letter still record it");
        }
        // The dead letter first: once the status says `failed`, its copy is in JOBS_DLQ.
        self.dead_letter(message, &envelope.id, &envelope.kind, failure, attempt)
            .await;
        let finished = Utc::now();
        let _ = self
            .statuses
            .transition(&envelope.id, |s| {
                s.status = JobState::Failed;
                s.error = Some(failure.clone());
                s.finished_at = Some(finished);
                s.next_attempt_at = None;
                true
            })
            .await;
        let _ = message.ack_with(AckKind::Term).await;
        metrics::counter!("hast_jobs_failed_total", "kind" => envelope.kind.clone()).increment(1);
        tracing::error!(error.code = %failure.code, error.message = %failure.message, "job failed");
    }

    /// Copies the message to `dlq.<kind>` with headers saying why.
    async fn dead_letter(
        &self,
        message: &Message,
        job_id: &str,
        kind: &str,
        failure: &JobFailure,
        attempts: u32,
    ) {
        let mut headers = HeaderMap::new();
        headers.insert(MSG_ID_HEADER, job_id);
        headers.insert(DLQ_JOB_ID_HEADER, job_id);
        headers.insert(DLQ_ERROR_CODE_HEADER, failure.code.as_str());
        headers.insert(
            DLQ_ERROR_HEADER,
            failure.message.replace(['\r', '\n'], " ").as_str(),
        );
        headers.insert(DLQ_ATTEMPTS_HEADER, attempts.to_string().as_str());
        headers.insert(DLQ_SUBJECT_HEADER, message.subject.as_str());
        if let Some(cid) = message
            .headers
            .as_ref()
            .and_then(|h| h.get(CORRELATION_HEADER))
        {
            headers.insert(CORRELATION_HEADER, cid.as_str());
        }
        let published = async {
            self.jetstream
                .publish_with_headers(dlq_subject(kind), headers, message.payload.clone())
                .await?
                .await
                .map(|_| ())
                .map_err(async_nats::Error::from)
        };
        match published.await {
            Ok(()) => {
                metrics::counter!("hast_jobs_dead_lettered_total", "kind" => kind.to_owned())
                    .increment(1);
            }
            Err(err) => tracing::error!(error = %err, "could not write the dead letter"),
        }
    }

    /// Gives a running job back: Nak for immediate redelivery, status `retrying`.
    async fn abandon(&self, message: &Message, envelope: &JobEnvelope) {
        let now = Utc::now();
        let _ = self
            .statuses
            .transition(&envelope.id, |s| {
                s.status = JobState::Retrying;
                s.error = Some(JobFailure {
                    code: "worker_shutdown".into(),
                    message: "the worker stopped during this attempt".into(),
                });
                s.next_attempt_at = Some(now);
                true
            })
            .await;
        // Confirmed, so the Nak is processed before the connection drains.
        if let Err(err) = message.double_ack_with(AckKind::Nak(None)).await {
            tracing::warn!(error = %err, "Nak not confirmed; the job is redelivered after JOB_ACK_WAIT");
        }
        tracing::warn!("job abandoned at shutdown; redelivering");
    }
}
