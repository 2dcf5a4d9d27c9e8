//! Worker heartbeats in the `workers` KV bucket: workers write them, the API and the
//! ops CLI read them. A key disappears when a worker stops cleanly, or when its last
//! heartbeat is older than the bucket's TTL.

use async_nats::jetstream::kv;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

/// What a worker says about itself every heartbeat interval.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct WorkerHeartbeat {
    /// Random id of this worker process (also the KV key).
    pub id: String,
    pub host: String,
    pub pid: u32,
    /// Job kinds this worker pulls (`WORKER_KINDS`).
    pub kinds: Vec<String>,
    /// Each kind's slots: how many of its jobs this worker runs at once.
    #[serde(default)]
    pub concurrency: std::collections::BTreeMap<String, usize>,
    /// Jobs running right now.
    pub in_flight: usize,
    /// Each kind's consumer `ack_wait` in milliseconds, as this worker last read it from
    /// the server: its `Progress` acks go out every third of it (or of its own
    /// `JOB_ACK_WAIT`, if shorter).
    #[serde(default)]
    pub ack_wait_ms: std::collections::BTreeMap<String, u64>,
    /// The jobs this worker is running now (claimed, not yet settled), oldest first.
    #[serde(default)]
    pub jobs: Vec<RunningJob>,
    pub started_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
}

/// A job a worker is running.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunningJob {
    pub id: String,
    pub kind: String,
    /// When this worker claimed it.
    pub started_at: DateTime<Utc>,
}

/// Why the heartbeats could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read worker heartbeats: {0}")]
pub struct HeartbeatError(String);

/// Every live worker's last heartbeat.
pub async fn live_workers(bucket: &kv::Store) -> Result<Vec<WorkerHeartbeat>, HeartbeatError> {
    let keys: Vec<String> = bucket
        .keys()
        .await
        .map_err(|e| HeartbeatError(e.to_string()))?
        .try_collect()
        .await
        .map_err(|e| HeartbeatError(e.to_string()))?;
    let mut workers = Vec::with_capacity(keys.len());
    for key in keys {
        if let Some(value) = bucket
            .get(&key)
            .await
            .map_err(|e| HeartbeatError(e.to_string()))?
        {
            // A value that does not parse is skipped: it cannot be a live worker of ours.
            if let Ok(heartbeat) = serde_json::from_slice::<WorkerHeartbeat>(&value) {
                workers.push(heartbeat);
            }
        }
    }
    Ok(workers)
}
