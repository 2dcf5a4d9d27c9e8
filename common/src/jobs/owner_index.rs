//! [`OwnerIndex`]: which jobs belong to whom, in the `job_owners` KV bucket, so a
//! guest claim and an account deletion read one owner's entries instead of every status.
//!
//! An entry is keyed `<owner token>.<job id>` ([`owner_token`]; the job id is the first
//! of the entry's jobs) and holds the ids of some of the owner's jobs, one per line. It is
//! written together with the jobs' statuses, before they are published (see
//! [`super::StatusStore::create`]): every accepted job with an owner is in an entry. The
//! index is a hint that the status confirms: a job whose status is gone (purged, expired,
//! never written because the submit failed) or now names someone else (after a claim) is
//! skipped. The bucket's `max_age` is the statuses' retention, so entries expire with the
//! statuses they point to.
//!
//! **Group commit.** Submissions record their jobs through one writer task per process
//! that takes whatever is waiting and writes one entry per owner: idle, an entry is one
//! job and its write runs beside the status write (no added latency); under load, one
//! write covers many jobs, so the index costs nats-server a small fraction of a write per
//! job (docs/benchmarks.md). Each caller gets its own answer only once its entry is stored.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use async_nats::jetstream::{consumer, kv};
use futures::StreamExt;
use sha2::{Digest, Sha256};
use tokio::sync::{mpsc, oneshot};

use super::store::StatusError;

/// Most jobs one writer pass takes from the queue.
const MAX_BATCH: usize = 512;

/// The owner's first token in every key of `job_owners` and `idempotency`: the id itself
/// when it is a valid key token (user ids are UUIDs), else its SHA-256 in hex;
/// `anonymous` for none.
pub fn owner_token(owner: Option<&str>) -> String {
    match owner {
        Some(owner)
            if !owner.is_empty()
                && owner.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') =>
        {
            owner.to_owned()
        }
        Some(owner) => hex::encode(Sha256::digest(owner.as_bytes())),
        None => "anonymous".to_owned(),
    }
}

type Reply = oneshot::Sender<Result<(), String>>;

/// One job waiting to be indexed.
struct Pending {
    owner: String,
    job_id: String,
    reply: Reply,
}

/// One stored entry: its key and the jobs it lists.
#[derive(Debug, Clone)]
pub struct IndexEntry {
    pub key: String,
    pub jobs: Vec<String>,
}

/// The `job_owners` bucket. Cheap to clone; clones share one writer task.
#[derive(Clone)]
pub struct OwnerIndex {
    bucket: kv::Store,
    /// Started on the first [`Self::record`]; it ends when the last clone is dropped.
    writer: Arc<OnceLock<mpsc::UnboundedSender<Pending>>>,
}

impl std::fmt::Debug for OwnerIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OwnerIndex")
    }
}

fn unavailable(e: impl std::fmt::Display) -> StatusError {
    StatusError::Unavailable(e.to_string())
}

impl OwnerIndex {
    pub fn new(bucket: kv::Store) -> Self {
        Self {
            bucket,
            writer: Arc::new(OnceLock::new()),
        }
    }

    fn subject(&self, key: &str) -> String {
        format!("{}{key}", self.bucket.prefix)
    }

    /// Records that `job_id` belongs to `owner`; returns once the entry listing it is
    /// stored. Repeating it is harmless (the job is listed twice, and read once).
    pub async fn record(&self, owner: &str, job_id: &str) -> Result<(), StatusError> {
        let writer = self.writer.get_or_init(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            tokio::spawn(write_batches(self.bucket.clone(), rx));
            tx
        });
        let (reply, answer) = oneshot::channel();
        writer
            .send(Pending {
                owner: owner.to_owned(),
                job_id: job_id.to_owned(),
                reply,
            })
            .map_err(|_| unavailable("the owner index writer has stopped"))?;
        answer
            .await
            .map_err(|_| unavailable("the owner index writer has stopped"))?
            .map_err(StatusError::Unavailable)
    }

    /// Stores one entry listing `jobs` of `owner` at once (a guest claim).
    pub async fn record_all(&self, owner: &str, jobs: &[String]) -> Result<(), StatusError> {
        let Some(first) = jobs.first() else {
            return Ok(());
        };
        self.bucket
            .put(entry_key(owner, first), jobs.join("\n").into())
            .await
            .map(|_| ())
            .map_err(unavailable)
    }

    /// The entries under `owner`.
    pub async fn entries_of(&self, owner: &str) -> Result<Vec<IndexEntry>, StatusError> {
        let prefix = self.subject(&format!("{}.", owner_token(Some(owner))));
        // An ordered consumer on the owner's subjects, the last message of each (like
        // `kv::Store::keys`, filtered, with the values).
        let consumer = self
            .bucket
            .stream
            .create_consumer(consumer::pull::OrderedConfig {
                filter_subject: format!("{prefix}>"),
                replay_policy: consumer::ReplayPolicy::Instant,
                deliver_policy: consumer::DeliverPolicy::LastPerSubject,
                ..Default::default()
            })
            .await
            .map_err(unavailable)?;
        let mut pending = consumer.cached_info().num_pending;
        let mut messages = consumer.messages().await.map_err(unavailable)?;
        let mut entries = Vec::new();
        while pending > 0 {
            let message = tokio::time::timeout(std::time::Duration::from_secs(5), messages.next())
                .await
                .map_err(|_| unavailable("owner index read timed out"))?
                .ok_or_else(|| unavailable("owner index read ended early"))?
                .map_err(unavailable)?;
            pending = message.info().map_err(unavailable)?.pending;
            let removed = message
                .headers
                .as_ref()
                .and_then(|h| h.get("KV-Operation"))
                .is_some();
            let Some(key) = message.subject.strip_prefix(self.bucket.prefix.as_str()) else {
                continue;
            };
            if removed {
                continue;
            }
            let jobs = std::str::from_utf8(&message.payload)
                .unwrap_or_default()
                .lines()
                .filter(|id| !id.is_empty())
                .map(str::to_owned)
                .collect();
            entries.push(IndexEntry {
                key: key.to_owned(),
                jobs,
            });
        }
        Ok(entries)
    }

    /// Removes the entries with these keys (no marker left behind).
    pub async fn forget(&self, keys: &[String]) -> Result<(), StatusError> {
        for key in keys {
            self.purge_subject(key).await?;
        }
        Ok(())
    }

    /// Removes every entry of `owner` (account deletion).
    pub async fn forget_all(&self, owner: &str) -> Result<(), StatusError> {
        self.purge_subject(&format!("{}.>", owner_token(Some(owner))))
            .await
    }

    async fn purge_subject(&self, key_filter: &str) -> Result<(), StatusError> {
        self.bucket
            .stream
            .purge()
            .filter(self.subject(key_filter))
            .await
            .map(|_| ())
            .map_err(unavailable)
    }
}

fn entry_key(owner: &str, first_job: &str) -> String {
    format!("{}.{first_job}", owner_token(Some(owner)))
}

/// The writer task: takes what is waiting, writes one entry per owner (all at once),
/// answers each caller, and goes round again.
async fn write_batches(bucket: kv::Store, mut rx: mpsc::UnboundedReceiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let mut by_owner: HashMap<String, Vec<Pending>> = HashMap::new();
        for pending in batch.drain(..) {
            by_owner
                .entry(pending.owner.clone())
                .or_default()
                .push(pending);
        }
        let writes = by_owner.into_iter().map(|(owner, pendings)| {
            let bucket = bucket.clone();
            async move {
                let key = entry_key(&owner, &pendings[0].job_id);
                let value: Vec<&str> = pendings.iter().map(|p| p.job_id.as_str()).collect();
                let written = bucket
                    .put(key, value.join("\n").into())
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string());
                for pending in pendings {
                    let _ = pending.reply.send(written.clone());
                }
            }
        });
        futures::future::join_all(writes).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owner_tokens_are_valid_key_tokens_and_do_not_collide() {
        assert_eq!(
            owner_token(Some("0193a1b2-0000-7000-8000-000000000001")),
            "0193a1b2-0000-7000-8000-000000000001"
        );
        assert_eq!(owner_token(None), "anonymous");
        let odd = owner_token(Some("a.b>*"));
        assert!(odd.chars().all(|c| c.is_ascii_hexdigit()) && odd.len() == 64);
        assert_ne!(owner_token(Some("")), owner_token(None));
        assert!(!owner_token(Some("")).is_empty());
    }
}
