//! This worker's entry in the `workers` KV bucket, refreshed every
//! [`WORKER_HEARTBEAT_INTERVAL`] and removed on a clean stop.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_nats::jetstream::kv;
use chrono::Utc;
use hast_common::jobs::WorkerPools;
use hast_common::nats::bootstrap::WORKER_HEARTBEAT_INTERVAL;
use hast_common::workers::{RunningJob, WorkerHeartbeat};
use tokio::sync::watch;

/// Identity of this worker process and its live counters.
#[derive(Debug)]
pub struct WorkerIdentity {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub kinds: Vec<String>,
    /// Each kind's slots (`WORKER_CONCURRENCY`).
    pub concurrency: BTreeMap<String, usize>,
    pub started_at: chrono::DateTime<Utc>,
    /// Jobs running now; the job loop updates it.
    pub in_flight: AtomicUsize,
    /// Each kind's consumer `ack_wait` in milliseconds, as the server has it (the job
    /// loop re-reads it; see the runner).
    pub ack_waits: BTreeMap<String, AtomicU64>,
    /// The jobs this worker is running now, by id ([`WorkerIdentity::hold`]); the
    /// heartbeat lists them and a redelivery of one of them is not claimed again.
    in_hand: Mutex<HashMap<String, RunningJob>>,
}

impl WorkerIdentity {
    /// A new identity for this process, serving the kinds of `pools` with `ack_wait`
    /// (its `JOB_ACK_WAIT`) until the consumers' own is read.
    pub fn new(pools: &WorkerPools, ack_wait: std::time::Duration) -> Self {
        let ms = u64::try_from(ack_wait.as_millis()).unwrap_or(u64::MAX);
        let kinds: Vec<String> = pools.kinds().map(|k| k.name().to_owned()).collect();
        Self {
            concurrency: pools.iter().map(|(k, n)| (k.to_owned(), n)).collect(),
            ack_waits: kinds
                .iter()
                .map(|kind| (kind.clone(), AtomicU64::new(ms)))
                .collect(),
            id: uuid::Uuid::now_v7().to_string(),
            host: hostname_or_unknown(),
            pid: std::process::id(),
            kinds,
            started_at: Utc::now(),
            in_flight: AtomicUsize::new(0),
            in_hand: Mutex::new(HashMap::new()),
        }
    }

    /// Marks job `id` as being run by this worker until the guard is dropped.
    pub fn hold(&self, id: &str, kind: &str) -> InHand<'_> {
        if let Ok(mut jobs) = self.in_hand.lock() {
            jobs.insert(
                id.to_owned(),
                RunningJob {
                    id: id.to_owned(),
                    kind: kind.to_owned(),
                    started_at: Utc::now(),
                },
            );
        }
        InHand {
            identity: self,
            id: id.to_owned(),
        }
    }

    /// Whether this worker is running job `id` now.
    pub fn holds(&self, id: &str) -> bool {
        self.in_hand.lock().is_ok_and(|jobs| jobs.contains_key(id))
    }

    fn running_jobs(&self) -> Vec<RunningJob> {
        let mut jobs: Vec<RunningJob> = self
            .in_hand
            .lock()
            .map(|jobs| jobs.values().cloned().collect())
            .unwrap_or_default();
        jobs.sort_by_key(|job| job.started_at);
        jobs
    }

    /// The heartbeat as of now.
    pub fn heartbeat(&self) -> WorkerHeartbeat {
        WorkerHeartbeat {
            id: self.id.clone(),
            host: self.host.clone(),
            pid: self.pid,
            kinds: self.kinds.clone(),
            concurrency: self.concurrency.clone(),
            in_flight: self.in_flight.load(Ordering::Relaxed),
            ack_wait_ms: self
                .ack_waits
                .iter()
                .map(|(kind, ms)| (kind.clone(), ms.load(Ordering::Relaxed)))
                .collect(),
            jobs: self.running_jobs(),
            started_at: self.started_at,
            last_seen: Utc::now(),
        }
    }
}

/// A job held by this worker ([`WorkerIdentity::hold`]); dropping it lets go.
#[derive(Debug)]
pub struct InHand<'a> {
    identity: &'a WorkerIdentity,
    id: String,
}

impl Drop for InHand<'_> {
    fn drop(&mut self) {
        if let Ok(mut jobs) = self.identity.in_hand.lock() {
            jobs.remove(&self.id);
        }
    }
}

fn hostname_or_unknown() -> String {
    hostname::get()
        .ok()
        .and_then(|h| h.into_string().ok())
        .unwrap_or_else(|| "unknown".into())
}

/// Writes one heartbeat.
pub async fn beat(bucket: &kv::Store, identity: &WorkerIdentity) -> Result<(), String> {
    let body = serde_json::to_vec(&identity.heartbeat()).map_err(|e| e.to_string())?;
    bucket
        .put(identity.id.as_str(), body.into())
        .await
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Beats until `stop` turns true, then deletes this worker's key.
pub async fn run(
    bucket: kv::Store,
    identity: Arc<WorkerIdentity>,
    mut stop: watch::Receiver<bool>,
) {
    let mut ticker = tokio::time::interval(WORKER_HEARTBEAT_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                if let Err(err) = beat(&bucket, &identity).await {
                    tracing::warn!(error = %err, "heartbeat failed");
                }
            }
            _ = stop.changed() => break,
        }
    }
    if let Err(err) = bucket.delete(identity.id.as_str()).await {
        tracing::warn!(error = %err, "could not remove heartbeat on shutdown");
    }
}
