//! The reconciler (River calls it the rescuer): settles jobs the normal path cannot.
//!
//! Two kinds of stranded job:
//! - **Stuck at `max_deliver`.** A `JOBS` message delivered `max_deliver` times without
//!   being settled (say, every delivery's worker crashed, or NATS stayed unreachable
//!   beyond `JOB_INFRA_RETRY_BUDGET` many times over). JetStream stops delivering it
//!   but keeps it in the work queue (counted neither as pending nor as waiting for an
//!   ack, and not below the ack floor either: nothing in the consumer's state tells it
//!   apart), and publishes a `MAX_DELIVERIES` advisory. The `JOBS_ADVISORIES` stream
//!   keeps those advisories, so none is lost while no reconciler runs. The reconciler
//!   fails such a job visibly (`max_deliveries`: failure row, dead letter, status
//!   `failed`), removes the message, then acknowledges the advisory. A stored success
//!   wins (the job is marked completed instead), and a message whose status is already
//!   final is just removed.
//! - **Message gone.** A status that is not final and has not changed for
//!   `JOB_LOST_AFTER`, with no message left in `JOBS` (a submission whose publish and
//!   settling write both got no answer, a message removed by hand). Failed visibly
//!   (`message_lost`).
//!
//! It also applies `JOB_RESULTS_RETENTION`: each pass deletes `job_results` rows that
//! finished longer ago than that, oldest first, up to [`MAX_PRUNED_PER_PASS`] (about
//! 3,000 rows a second at the default interval).
//!
//! One worker of the fleet reconciles at a time: the holder of the `reconciler` key in
//! the `leases` bucket (taken with a create-only write, renewed by compare-and-swap
//! every third of [`LEASE_TTL`]; the bucket's `max_age` expires the lease of a holder
//! that died). The holder reads the stored advisories every `RECONCILE_INTERVAL`; the
//! "message gone" scan reads every status in the bucket, so it runs every half
//! `JOB_LOST_AFTER` only.

use std::collections::HashSet;
use std::time::Duration;

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::stream::{DirectGetErrorKind, Stream};
use async_nats::jetstream::{self, kv};
use chrono::Utc;
use futures::StreamExt;
use hast_common::db::models::JobResult;
use hast_common::db::{self, Database};
use hast_common::jobs::envelope::CORRELATION_HEADER;
use hast_common::jobs::{JobEnvelope, JobFailure, JobState, JobStatus, StatusError, StatusStore};
use hast_common::nats::bootstrap::LEASE_TTL;
use hast_common::nats::names::{
    ADVISORIES_STREAM, JOBS_STREAM, JOBS_SUBJECTS, RECONCILER_CONSUMER,
};
use tokio::sync::watch;

use crate::runner::settle::{mark_completed, publish_dead_letter, Letter};

/// The lease's key in the `leases` bucket.
const LEASE_KEY: &str = "reconciler";
/// Most `job_results` rows deleted in one pass, and per statement.
pub const MAX_PRUNED_PER_PASS: usize = 100_000;
const PRUNE_BATCH: i64 = 5_000;
/// Most stranded messages settled in one pass.
const MAX_STRANDED_PER_PASS: usize = 1_000;
/// Most `JOBS` messages read to learn which jobs still have one; past it the "message
/// gone" check is skipped for that pass (the queue is too deep to tell cheaply).
const MAX_QUEUE_SCAN: usize = 100_000;

/// What one pass settled.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Report {
    /// Jobs stuck at `max_deliver`, failed (or completed from a stored result).
    pub stranded: usize,
    /// Leftover messages of finished jobs, removed.
    pub leftovers: usize,
    /// Unfinished jobs without a message, failed.
    pub lost: usize,
    /// `job_results` rows past their retention, deleted.
    pub pruned: usize,
}

/// The reconciler's handles and settings.
pub struct Reconciler {
    pub jetstream: jetstream::Context,
    pub nats: async_nats::Client,
    pub db: Database,
    pub statuses: StatusStore,
    pub leases: kv::Store,
    /// This worker's id (the lease's value).
    pub holder: String,
    /// `RECONCILE_INTERVAL`.
    pub interval: Duration,
    /// `JOB_LOST_AFTER`.
    pub lost_after: Duration,
    /// `JOB_RESULTS_RETENTION`.
    pub results_retention: Duration,
}

impl std::fmt::Debug for Reconciler {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reconciler")
            .field("holder", &self.holder)
            .finish_non_exhaustive()
    }
}

/// The JSON of a `MAX_DELIVERIES` advisory (the fields used here).
#[derive(Debug, serde::Deserialize)]
struct MaxDeliveries {
    stream_seq: u64,
    #[serde(default)]
    deliveries: u64,
}

impl Reconciler {
    /// Competes for the lease and, while holding it, reconciles; until `stop`.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut lease = Lease::new(self.leases.clone(), self.holder.clone());
        let mut renew = tokio::time::interval(LEASE_TTL / 3);
        let mut pass = tokio::time::interval(self.interval);
        pass.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let lost_every = (self.lost_after / 2).max(self.interval);
        let mut last_lost_scan: Option<tokio::time::Instant> = None;
        let mut holding = false;
        loop {
            tokio::select! {
                _ = stop.changed() => break,
                _ = renew.tick() => {
                    let held = lease.hold().await;
                    if held != holding {
                        tracing::info!(held, "reconciler lease changed hands");
                    }
                    holding = held;
                }
                _ = pass.tick() => {
                    if !holding {
                        continue;
                    }
                    let look_for_lost = last_lost_scan.is_none_or(|t| t.elapsed() >= lost_every);
                    if look_for_lost {
                        last_lost_scan = Some(tokio::time::Instant::now());
                    }
                    let report = self.pass(look_for_lost).await;
                    if report != Report::default() {
                        tracing::warn!(?report, "reconciler settled stranded jobs");
                    }
                }
            }
        }
        if holding {
            lease.release().await;
        }
    }

    /// One pass: the jobs named by stored max-deliveries advisories, and (with
    /// `look_for_lost`) unfinished jobs whose message is gone.
    pub async fn pass(&self, look_for_lost: bool) -> Report {
        let mut report = Report::default();
        let Ok(stream) = self.jetstream.get_stream(JOBS_STREAM).await else {
            return report;
        };
        self.drain_advisories(&stream, &mut report).await;
        if look_for_lost {
            report.lost = self.fail_lost(&stream).await;
        }
        report.pruned = self.prune_results().await;
        report
    }

    /// Deletes `job_results` rows older than their retention; how many.
    async fn prune_results(&self) -> usize {
        let retention =
            chrono::Duration::from_std(self.results_retention).unwrap_or(chrono::Duration::MAX);
        let cutoff = db::now_from(Utc::now() - retention);
        let mut pruned = 0;
        while pruned < MAX_PRUNED_PER_PASS {
            match self.db.prune_job_results(cutoff, PRUNE_BATCH).await {
                Ok(n) => {
                    pruned += n;
                    if n < PRUNE_BATCH as usize {
                        break;
                    }
                }
                Err(err) => {
                    tracing::warn!(error = %err, "cannot prune job results; next pass");
                    break;
                }
            }
        }
        if pruned > 0 {
            metrics::counter!("hast_job_results_pruned_total").increment(pruned as u64);
        }
        pruned
    }

    /// Settles the job of every stored advisory (up to [`MAX_STRANDED_PER_PASS`]),
    /// acknowledging each advisory once its job is settled.
    async fn drain_advisories(&self, stream: &Stream, report: &mut Report) {
        let consumer: Result<PullConsumer, _> = self
            .jetstream
            .get_consumer_from_stream(RECONCILER_CONSUMER, ADVISORIES_STREAM)
            .await;
        let Ok(consumer) = consumer else {
            return;
        };
        let Ok(mut advisories) = consumer
            .fetch()
            .max_messages(MAX_STRANDED_PER_PASS)
            .messages()
            .await
        else {
            return;
        };
        while let Some(Ok(advisory)) = advisories.next().await {
            let Ok(parsed) = serde_json::from_slice::<MaxDeliveries>(&advisory.payload) else {
                let _ = advisory.ack().await;
                continue;
            };
            let message = match stream.direct_get(parsed.stream_seq).await {
                Ok(message) => message,
                // Settled meanwhile (removed, or acknowledged after all).
                Err(err) if err.kind() == DirectGetErrorKind::NotFound => {
                    let _ = advisory.ack().await;
                    continue;
                }
                Err(_) => continue,
            };
            // Unsettled (something did not answer): the advisory comes back after its
            // ack_wait.
            if let Some(settled) = self
                .settle_stranded(stream, &message, Some(parsed.deliveries))
                .await
            {
                match settled {
                    Settled::Failed => report.stranded += 1,
                    Settled::Removed => report.leftovers += 1,
                }
                let _ = advisory.ack().await;
            }
        }
    }

    /// Settles one message JetStream stopped delivering. `None` when something did not
    /// answer (the next pass tries again; every step is idempotent).
    async fn settle_stranded(
        &self,
        stream: &Stream,
        message: &jetstream::message::StreamMessage,
        deliveries: Option<u64>,
    ) -> Option<Settled> {
        let envelope: Option<JobEnvelope> = serde_json::from_slice(&message.payload).ok();
        let status = match &envelope {
            Some(envelope) => match self.statuses.get(&envelope.id).await {
                Ok((status, _)) => Some(status),
                Err(StatusError::NotFound) => None,
                Err(_) => return None,
            },
            None => None,
        };
        let Some((envelope, status)) = envelope.zip(status.filter(|s| !s.status.is_terminal()))
        else {
            // A finished (or deleted) job's leftover, or not a job at all.
            stream.delete_message(message.sequence).await.ok()?;
            return Some(Settled::Removed);
        };
        let stored = self.db.find_job_result(&envelope.id).await.ok()?;
        if let Some(row) = stored.filter(|r| r.outcome == "completed") {
            // A stored success wins over the lost deliveries.
            let result = row
                .result
                .as_deref()
                .and_then(|r| serde_json::from_str(r).ok());
            match self
                .statuses
                .transition(&envelope.id, mark_completed(result))
                .await
            {
                Ok(_) | Err(StatusError::Terminal(_) | StatusError::NotFound) => {}
                Err(_) => return None,
            }
            stream.delete_message(message.sequence).await.ok()?;
            tracing::warn!(job.id = %envelope.id, "job stuck at max_deliver completed from its stored result");
            return Some(Settled::Failed);
        }
        let failure = JobFailure {
            code: "max_deliveries".into(),
            message: match deliveries {
                Some(n) if n > 0 => format!("delivered {n} times without being settled"),
                _ => "delivered as often as allowed without being settled".into(),
            },
        };
        let correlation_id = message
            .headers
            .get(CORRELATION_HEADER)
            .map(|v| v.as_str().to_owned());
        self.fail_job(&envelope.id, &envelope.kind, &status, &failure)
            .await?;
        publish_dead_letter(
            &self.jetstream,
            Letter {
                job_id: &envelope.id,
                kind: &envelope.kind,
                failure: &failure,
                attempts: status.attempt,
                original_subject: message.subject.as_str(),
                stream_sequence: message.sequence,
                payload: message.payload.clone(),
                correlation_id: correlation_id.as_deref(),
            },
        )
        .await
        .ok()?;
        self.mark_failed(&envelope.id, &failure, None).await?;
        stream.delete_message(message.sequence).await.ok()?;
        metrics::counter!("hast_reconciler_settled_total", "reason" => "max_deliveries")
            .increment(1);
        tracing::error!(job.id = %envelope.id, job.kind = %envelope.kind, "job stuck at max_deliver failed visibly");
        Some(Settled::Failed)
    }

    /// Fails unfinished jobs whose message is gone and whose status has not changed for
    /// `JOB_LOST_AFTER`. Returns how many.
    async fn fail_lost(&self, stream: &Stream) -> usize {
        let Some(queued) = self.jobs_in_queue(stream).await else {
            return 0;
        };
        let cutoff = Utc::now()
            - chrono::Duration::from_std(self.lost_after).unwrap_or(chrono::Duration::MAX);
        let mut candidates = Vec::new();
        let scanned = self
            .statuses
            .for_each_latest(|key, status| {
                if !status.status.is_terminal()
                    && status.updated_at < cutoff
                    && !queued.contains(key)
                {
                    candidates.push(status);
                }
            })
            .await;
        if scanned.is_err() {
            return 0;
        }
        let mut failed = 0;
        for status in candidates {
            let failure = JobFailure {
                code: "message_lost".into(),
                message: "the job's message is no longer queued".into(),
            };
            if self
                .mark_failed(&status.id, &failure, Some(cutoff))
                .await
                .is_some_and(|changed| changed)
            {
                let _ = self
                    .fail_job(&status.id, &status.kind, &status, &failure)
                    .await;
                failed += 1;
                metrics::counter!("hast_reconciler_settled_total", "reason" => "message_lost")
                    .increment(1);
                tracing::error!(job.id = %status.id, job.kind = %status.kind, "unfinished job without a message failed visibly");
            }
        }
        failed
    }

    /// The ids of the jobs that have a message in `JOBS`, as the stream's leader has
    /// them; `None` if the queue is too deep to read in one pass or did not answer.
    async fn jobs_in_queue(&self, stream: &Stream) -> Option<HashSet<String>> {
        let mut ids = HashSet::new();
        let mut next = 1;
        for _ in 0..MAX_QUEUE_SCAN {
            // Read from the stream's leader: a replica that lags could lack a message the
            // leader holds, and its job would be failed as lost.
            let read = stream
                .raw_message_builder()
                .sequence(next)
                .next_by_subject(JOBS_SUBJECTS)
                .send()
                .await;
            match read {
                Ok(message) => {
                    next = message.sequence + 1;
                    if let Ok(envelope) = serde_json::from_slice::<JobEnvelope>(&message.payload) {
                        ids.insert(envelope.id);
                    }
                }
                Err(err)
                    if err.kind() == jetstream::stream::RawMessageErrorKind::NoMessageFound =>
                {
                    return Some(ids);
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// Stores the failure row (an outcome already stored stands). `None` if the
    /// database did not answer.
    async fn fail_job(
        &self,
        id: &str,
        kind: &str,
        status: &JobStatus,
        failure: &JobFailure,
    ) -> Option<()> {
        let row = JobResult {
            job_id: id.to_owned(),
            kind: kind.to_owned(),
            owner_id: status.owner_id.clone(),
            outcome: "failed".into(),
            result: None,
            error: serde_json::to_string(failure).ok(),
            attempts: i32::try_from(status.attempt).unwrap_or(i32::MAX),
            created_at: db::now_from(status.created_at),
            finished_at: db::now(),
        };
        match self.db.record_job_result(&row).await {
            Ok(_) | Err(db::DbError::ForeignKey(_) | db::DbError::Conflict(_)) => Some(()),
            Err(_) => None,
        }
    }

    /// Marks the job failed unless it is final already (or, with `unchanged_since`, was
    /// updated after it). `Some(true)` if this call failed it, `None` if NATS did not
    /// answer.
    async fn mark_failed(
        &self,
        id: &str,
        failure: &JobFailure,
        unchanged_since: Option<chrono::DateTime<Utc>>,
    ) -> Option<bool> {
        let finished = Utc::now();
        let mut changed = false;
        let outcome = self
            .statuses
            .transition(id, |s| {
                if unchanged_since.is_some_and(|cutoff| s.updated_at >= cutoff) {
                    changed = false;
                    return false;
                }
                s.status = JobState::Failed;
                s.error = Some(failure.clone());
                s.finished_at = Some(finished);
                s.next_attempt_at = None;
                changed = true;
                true
            })
            .await;
        match outcome {
            Ok(_) => Some(changed),
            Err(StatusError::Terminal(_) | StatusError::NotFound) => Some(false),
            Err(_) => None,
        }
    }
}

/// What became of a stranded message.
enum Settled {
    /// Its job was settled (failed, or completed from a stored result).
    Failed,
    /// It was a finished job's leftover, now removed.
    Removed,
}

/// The `reconciler` lease, held by one worker of the fleet at a time.
struct Lease {
    bucket: kv::Store,
    holder: String,
    revision: Option<u64>,
}

impl Lease {
    fn new(bucket: kv::Store, holder: String) -> Self {
        Self {
            bucket,
            holder,
            revision: None,
        }
    }

    /// Takes or renews the lease; whether this worker holds it now.
    async fn hold(&mut self) -> bool {
        let value = bytes::Bytes::from(self.holder.clone());
        self.revision = match self.revision {
            Some(revision) => self.bucket.update(LEASE_KEY, value, revision).await.ok(),
            None => self.bucket.create(LEASE_KEY, value).await.ok(),
        };
        self.revision.is_some()
    }

    /// Gives the lease up (a clean stop), so another worker takes it at once.
    async fn release(&mut self) {
        if let Some(revision) = self.revision.take() {
            let _ = self
                .bucket
                .delete_expect_revision(LEASE_KEY, Some(revision))
                .await;
        }
    }
}
