//! The job loop: pull, claim, run, settle.
//!
//! One pull loop per kind this worker runs (`WORKER_KINDS`), each with its own slots
//! ([`Semaphore`] with the kind's `WORKER_CONCURRENCY` permits), so light kinds never
//! wait behind heavy ones and a CPU-bound kind never outnumbers its slots. A loop first
//! waits for one free slot, takes any other free ones, and fetches at most that many
//! messages, so a worker never holds more messages than it can run. Each message is
//! processed in its own task:
//!
//! 1. **claim** ([`claim`]): a redelivered job whose outcome is already stored is settled
//!    from that row without running again (a stored result wins). Otherwise the job's
//!    status moves to `running` with `attempt + 1`, by compare-and-swap, unless it is
//!    final (skip it) or its attempts are used up (`attempts_exhausted`). Attempts are
//!    counted in the status, never from JetStream's delivery count: a redelivery caused
//!    by NATS or the database uses no attempt.
//! 2. **run** the handler in its own task (a panic fails only this job) under the
//!    kind's deadline, sending `Progress` acks every `ack_wait / 3` (the consumer's
//!    actual `ack_wait`) and checking for cancellation at each of them;
//! 3. **settle** ([`settle`]): store the result and mark `completed`; or mark `retrying`
//!    and Nak with a backoff delay; or store the failure, dead-letter it, mark `failed`
//!    and only then Term.
//!
//! Every status, result and dead-letter write in these steps waits out infrastructure
//! failures inside the worker ([`patience`]) instead of giving the message back.
//!
//! Shutdown: the loops stop fetching; running jobs get `SHUTDOWN_GRACE` to finish;
//! what is still running then is abandoned: Nak'd for immediate redelivery and marked
//! `retrying` (never left `running`).

mod claim;
pub(crate) mod patience;
pub(crate) mod settle;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::PullConsumer;
use async_nats::jetstream::message::AckKind;
use async_nats::jetstream::{self, Message};
use futures::StreamExt;
use hast_common::config::Settings;
use hast_common::db::Database;
use hast_common::jobs::envelope::CORRELATION_HEADER;
use hast_common::jobs::{JobEnvelope, JobFailure, JobState, JobStatus, StatusStore};
use hast_common::nats::names::{consumer_name, JOBS_STREAM};
use serde_json::Value;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tracing::Instrument;

use crate::heartbeat::WorkerIdentity;
use crate::jobs::{CancelFlag, JobContext, JobError, Registry};
use crate::result_writer::ResultWriter;

/// How long one fetch waits for messages before the loop checks for shutdown again.
const FETCH_EXPIRES: Duration = Duration::from_secs(2);
/// Most messages fetched in one request.
const MAX_BATCH: usize = 256;
/// How often, at most, a pull loop re-reads its consumer's `ack_wait` from the server
/// (and at least once per this worker's `JOB_ACK_WAIT`).
const ACK_WAIT_REFRESH: Duration = Duration::from_secs(30);

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
    /// Free job slots, per kind.
    slots: BTreeMap<&'static str, Pool>,
    /// The `workers` bucket: whether another worker is alive.
    workers: async_nats::jetstream::kv::Store,
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

/// One delivered message and what its processing needs to keep it alive.
pub(crate) struct Delivery {
    pub message: Message,
    pub kind: String,
    /// JetStream's delivery count of this message (1 on the first delivery).
    pub deliveries: u64,
    /// The message's sequence in `JOBS`: unique per message, the dead letter's id.
    pub stream_sequence: u64,
    pub abandon: watch::Receiver<bool>,
}

impl Delivery {
    /// Tells the server the job is still being worked on (resets `ack_wait`).
    pub async fn progress(&self) {
        let _ = self.message.ack_with(AckKind::Progress).await;
    }
}

impl Runner {
    /// A runner over these parts, with one pool of slots per kind in `registry`, sized
    /// by `WORKER_CONCURRENCY` (a kind without a size gets one slot).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        settings: Arc<Settings>,
        db: Database,
        nats: async_nats::Client,
        jetstream: jetstream::Context,
        statuses: StatusStore,
        images: async_nats::jetstream::object_store::ObjectStore,
        registry: Registry,
        identity: Arc<WorkerIdentity>,
        workers: async_nats::jetstream::kv::Store,
    ) -> Self {
        Self {
            slots: registry
                .keys()
                .map(|kind| {
                    let size = settings.worker.pools.slots(kind).unwrap_or(1);
                    metrics::gauge!("hast_worker_slots", "kind" => *kind).set(size as f64);
                    (
                        *kind,
                        Pool {
                            free: Arc::new(Semaphore::new(size)),
                            size,
                        },
                    )
                })
                .collect(),
            results: ResultWriter::start(db.clone()),
            settings,
            db,
            nats,
            jetstream,
            statuses,
            images,
            registry,
            identity,
            workers,
        }
    }

    /// Waits until no job holds a slot of any pool. Call it once the loops have
    /// stopped (nothing takes a slot any more).
    pub async fn wait_idle(&self) {
        futures::future::join_all(self.slots.values().map(|pool| async move {
            let all = u32::try_from(pool.size).unwrap_or(u32::MAX);
            let _ = pool.free.acquire_many(all).await;
        }))
        .await;
    }

    /// How often a running job of `kind` sends `Progress`: a third of the shorter of
    /// this worker's `JOB_ACK_WAIT` and the consumer's actual `ack_wait` (another
    /// process may have changed it since this one started).
    pub(crate) fn heartbeat_every(&self, kind: &str) -> Duration {
        let actual = self
            .identity
            .ack_waits
            .get(kind)
            .map(|ms| Duration::from_millis(ms.load(Ordering::Relaxed)))
            .unwrap_or(self.settings.jobs.ack_wait);
        (actual.min(self.settings.jobs.ack_wait) / 3).max(Duration::from_millis(100))
    }

    /// Records `kind`'s consumer `ack_wait` as the server reports it.
    async fn refresh_ack_wait(&self, kind: &str, consumer: &mut PullConsumer) {
        match consumer.info().await {
            Ok(info) => {
                if let Some(slot) = self.identity.ack_waits.get(kind) {
                    let ms = u64::try_from(info.config.ack_wait.as_millis()).unwrap_or(u64::MAX);
                    slot.store(ms, Ordering::Relaxed);
                }
            }
            Err(err) => {
                tracing::debug!(job.kind = kind, error = %err, "cannot read the consumer's ack_wait")
            }
        }
    }

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
        mut consumer: PullConsumer,
        signals: Signals,
    ) {
        let mut stop = signals.stop.clone();
        let Some(slots) = self.slots.get(kind).map(|pool| pool.free.clone()) else {
            return;
        };
        let mut draining = false;
        self.refresh_ack_wait(kind, &mut consumer).await;
        let mut refreshed = Instant::now();
        loop {
            if *stop.borrow() {
                break;
            }
            if refreshed.elapsed() >= ACK_WAIT_REFRESH.min(self.settings.jobs.ack_wait) {
                self.refresh_ack_wait(kind, &mut consumer).await;
                refreshed = Instant::now();
            }
            let Some(mut permits) = take_slots(&slots, draining, &mut stop).await else {
                break;
            };
            let wanted = permits.len();
            let batch = fetch(&consumer, wanted, draining).await;
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
                        .process(kind, message, permit, signals.abandon.clone()),
                );
            }
            // A full batch means more may be waiting: keep draining. Otherwise go back
            // to waiting for the next message.
            draining = received == wanted;
        }
        tracing::info!(job.kind = kind, "pull loop stopped");
    }

    /// Processes one delivered message. Its slot is freed when the message is settled
    /// and the last holder of `permit` lets go of it (a handler's blocking work may
    /// outlive its task).
    async fn process(
        self: Arc<Self>,
        kind: &'static str,
        message: Message,
        permit: OwnedSemaphorePermit,
        abandon: watch::Receiver<bool>,
    ) {
        let (deliveries, stream_sequence) = message
            .info()
            .map(|i| {
                (
                    u64::try_from(i.delivered).unwrap_or(u64::MAX),
                    i.stream_sequence,
                )
            })
            .unwrap_or((1, 0));
        let correlation_id = message
            .headers
            .as_ref()
            .and_then(|h| h.get(CORRELATION_HEADER))
            .map(|v| v.as_str().to_owned())
            .unwrap_or_default();
        let delivery = Delivery {
            message,
            kind: kind.to_owned(),
            deliveries,
            stream_sequence,
            abandon,
        };
        let envelope: JobEnvelope = match serde_json::from_slice(&delivery.message.payload) {
            Ok(e) => e,
            Err(err) => {
                tracing::error!(error = %err, subject = %delivery.message.subject, "malformed job message");
                let failure = JobFailure {
                    code: "malformed_message".into(),
                    message: err.to_string(),
                };
                self.dead_letter_malformed(&delivery, &failure).await;
                return;
            }
        };
        let span = tracing::info_span!(
            "job",
            job.id = %envelope.id,
            job.kind = %envelope.kind,
            job.delivery = deliveries,
            correlation_id = %correlation_id,
        );
        self.identity
            .in_flight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let running = metrics::gauge!("hast_jobs_running", "kind" => kind);
        running.increment(1.0);
        // Held here until the message is settled (the handler's work holds clones).
        let slot = Arc::new(permit);
        // Boxed: the state machine is large; keep it off the runtime thread's stack.
        Box::pin(
            self.clone()
                .process_envelope(delivery, envelope, slot.clone())
                .instrument(span),
        )
        .await;
        drop(slot);
        running.decrement(1.0);
        self.identity
            .in_flight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }

    async fn process_envelope(
        self: Arc<Self>,
        delivery: Delivery,
        envelope: JobEnvelope,
        slot: Arc<OwnedSemaphorePermit>,
    ) {
        let Some(running) = self.claim(&delivery, &envelope).await else {
            return;
        };
        let _in_hand = self.identity.hold(&envelope.id, &envelope.kind);
        let attempt = running.0.attempt;
        let max_attempts = running.0.max_attempts;
        tracing::info!(attempt, "job started");
        let clock = Instant::now();
        let Some(outcome) = self
            .run_handler(&delivery, &envelope, attempt, max_attempts, slot)
            .await
        else {
            return;
        };
        let seconds = clock.elapsed().as_secs_f64();
        let kind = envelope.kind.clone();
        match outcome {
            Ok(result) => {
                metrics::histogram!("hast_job_duration_seconds", "kind" => kind, "outcome" => "completed").record(seconds);
                self.complete(&delivery, &envelope, result, running).await;
            }
            Err(err) if err.is_transient() && attempt < max_attempts => {
                metrics::histogram!("hast_job_duration_seconds", "kind" => kind, "outcome" => "retrying").record(seconds);
                self.retry(&delivery, &envelope, attempt, &err).await;
            }
            Err(err) => {
                metrics::histogram!("hast_job_duration_seconds", "kind" => kind, "outcome" => "failed").record(seconds);
                let failure = JobFailure {
                    code: err.code().to_owned(),
                    message: err.message().to_owned(),
                };
                let owner = running.0.owner_id.clone();
                self.fail(&delivery, &envelope, &failure, attempt, owner)
                    .await;
            }
        }
    }

    /// Runs the handler under the kind's deadline with heartbeats. `None` when the job
    /// was cancelled or handed back meanwhile (its message is settled).
    async fn run_handler(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
        attempt: u32,
        max_attempts: u32,
        slot: Arc<OwnedSemaphorePermit>,
    ) -> Option<Result<Value, JobError>> {
        let Some(handler) = self.registry.get(envelope.kind.as_str()).cloned() else {
            return Some(Err(JobError::permanent(
                "unknown_kind",
                format!("no handler for {}", envelope.kind),
            )));
        };
        let timeout = hast_common::jobs::KindSpec::named(&envelope.kind)
            .map(|k| k.timeout)
            .unwrap_or(Duration::from_secs(60));
        let cancel = CancelFlag::default();
        let ctx = JobContext {
            job_id: envelope.id.clone(),
            attempt,
            max_attempts,
            replay_of: envelope.replay_of.clone(),
            db: self.db.clone(),
            nats: self.nats.clone(),
            statuses: self.statuses.clone(),
            images: self.images.clone(),
            identity: self.identity.clone(),
            cancel: cancel.clone(),
            slot,
        };
        let mut task = tokio::spawn(
            handler
                .run(ctx, envelope.payload.clone())
                .instrument(tracing::Span::current()),
        );
        // Whatever ends the wait below, the handler's work stops at its next check.
        let _stop_work = cancel.on_drop();
        let every = self.heartbeat_every(&delivery.kind);
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(deadline);
        let mut abandon = delivery.abandon.clone();
        loop {
            tokio::select! {
                joined = &mut task => return Some(match joined {
                    Ok(result) => result,
                    Err(err) if err.is_panic() => {
                        tracing::error!("job handler panicked");
                        Err(JobError::permanent("panicked", "the job handler panicked"))
                    }
                    Err(err) => Err(JobError::transient("aborted", err.to_string())),
                }),
                _ = heartbeat.tick() => {
                    delivery.progress().await;
                    if let Ok((status, _)) = self.statuses.get(&envelope.id).await {
                        if status.status == JobState::Cancelled {
                            task.abort();
                            tracing::info!("job cancelled while running; abandoned");
                            metrics::counter!("hast_jobs_cancelled_total", "kind" => envelope.kind.clone()).increment(1);
                            self.drop_cancelled(delivery, envelope).await;
                            return None;
                        }
                    }
                }
                () = &mut deadline => {
                    task.abort();
                    return Some(Err(JobError::transient(
                        "timeout",
                        format!("the job did not finish within {timeout:?}"),
                    )));
                }
                _ = abandon.changed() => {
                    task.abort();
                    self.abandon(delivery, envelope).await;
                    return None;
                }
            }
        }
    }
}

/// One kind's slots.
#[derive(Debug)]
struct Pool {
    free: Arc<Semaphore>,
    size: usize,
}

/// Waits for one free slot of a kind (`None` once stopping), then, when `draining`,
/// takes every other free one too (up to [`MAX_BATCH`]).
async fn take_slots(
    slots: &Arc<Semaphore>,
    draining: bool,
    stop: &mut watch::Receiver<bool>,
) -> Option<Vec<OwnedSemaphorePermit>> {
    let first = tokio::select! {
        permit = slots.clone().acquire_owned() => permit.ok()?,
        _ = stop.changed() => return None,
    };
    let mut permits = vec![first];
    if draining {
        while permits.len() < MAX_BATCH {
            match slots.clone().try_acquire_owned() {
                Ok(p) => permits.push(p),
                Err(_) => break,
            }
        }
    }
    Some(permits)
}

/// Fetches up to `wanted` messages: whatever is there now when `draining` (no wait when
/// empty), else waits (bounded) for the next one.
async fn fetch(
    consumer: &PullConsumer,
    wanted: usize,
    draining: bool,
) -> Result<jetstream::consumer::pull::Batch, jetstream::consumer::pull::BatchError> {
    if draining {
        // The expiry bounds the wait on the client too: a request lost while the
        // consumer's leader changes would otherwise leave this loop waiting for an
        // answer that never comes (seen in the cluster test: no worker pulled again).
        consumer
            .fetch()
            .max_messages(wanted)
            .expires(FETCH_EXPIRES)
            .messages()
            .await
    } else {
        consumer
            .batch()
            .max_messages(wanted)
            .expires(FETCH_EXPIRES)
            .messages()
            .await
    }
}

/// Whether a status is the one a claim made at `started` wrote.
fn claimed_at(status: &JobStatus, started: chrono::DateTime<chrono::Utc>) -> bool {
    status.status == JobState::Running && status.started_at == Some(started)
}
