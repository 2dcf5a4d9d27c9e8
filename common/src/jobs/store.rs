//! [`StatusStore`]: job statuses in the `job_status` KV bucket, changed only by
//! compare-and-swap on the entry's revision, so a stale writer cannot move a job
//! backwards and a terminal state never changes. An owned job is also indexed under its
//! owner ([`OwnerIndex`]) before its status is written.

use async_nats::jetstream::kv::{self, CreateErrorKind, UpdateErrorKind};
use futures::StreamExt;

use super::owner_index::OwnerIndex;
use super::status::JobStatus;

/// What can go wrong reading or writing a status.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("job not found")]
    NotFound,
    #[error("job already exists")]
    AlreadyExists,
    /// The job is in a terminal state; nothing may change it.
    #[error("job is already {0}")]
    Terminal(&'static str),
    #[error("NATS unavailable: {0}")]
    Unavailable(String),
    #[error("corrupt status document: {0}")]
    Corrupt(String),
}

/// How many times a transition re-reads and retries after losing a CAS race.
const CAS_RETRIES: usize = 16;

/// Job statuses in KV, and the index of them by owner.
#[derive(Clone)]
pub struct StatusStore {
    bucket: kv::Store,
    owners: OwnerIndex,
}

impl std::fmt::Debug for StatusStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatusStore")
    }
}

impl StatusStore {
    /// The store on the `job_status` bucket, indexing owners in `job_owners`.
    pub fn new(bucket: kv::Store, job_owners: kv::Store) -> Self {
        Self {
            bucket,
            owners: OwnerIndex::new(job_owners),
        }
    }

    /// The store on a bootstrapped topology's buckets.
    pub fn of(topology: &crate::nats::bootstrap::Topology) -> Self {
        Self::new(topology.job_status.clone(), topology.job_owners.clone())
    }

    /// The underlying bucket (for watches).
    pub fn bucket(&self) -> &kv::Store {
        &self.bucket
    }

    /// Writes a new status; fails with [`StatusError::AlreadyExists`] if the id is taken.
    /// An owned job is indexed under its owner in the same call (both writes in flight at
    /// once; the index write is idempotent). `Ok` means both landed, so a job published
    /// after it has its index entry; a caller retries the whole call on `Unavailable`.
    pub async fn create(&self, status: &JobStatus) -> Result<u64, StatusError> {
        let body = encode(status)?;
        let index = async {
            match &status.owner_id {
                Some(owner) => self.owners.record(owner, &status.id).await,
                None => Ok(()),
            }
        };
        let create = async {
            self.bucket
                .create(&status.id, body.into())
                .await
                .map_err(|e| match e.kind() {
                    CreateErrorKind::AlreadyExists => StatusError::AlreadyExists,
                    _ => StatusError::Unavailable(e.to_string()),
                })
        };
        let (indexed, created) = futures::join!(index, create);
        indexed?;
        created
    }

    /// The current status and its revision. "Not found" is the bucket leader's answer
    /// ([`crate::nats::kv_read`]): a worker drops a job whose status is gone, and must
    /// never drop one on a replica's lag.
    pub async fn get(&self, id: &str) -> Result<(JobStatus, u64), StatusError> {
        if !valid_key(id) {
            return Err(StatusError::NotFound);
        }
        let entry = crate::nats::kv_read::entry(&self.bucket, id)
            .await
            .map_err(|e| StatusError::Unavailable(e.to_string()))?
            .ok_or(StatusError::NotFound)?;
        if entry.operation != kv::Operation::Put {
            return Err(StatusError::NotFound);
        }
        Ok((decode(&entry.value)?, entry.revision))
    }

    /// Applies `change` to the current status with compare-and-swap, retrying when
    /// another writer got there first. `change` returns `false` to leave the status as
    /// it is. A terminal status is never changed: [`StatusError::Terminal`].
    pub async fn transition(
        &self,
        id: &str,
        change: impl FnMut(&mut JobStatus) -> bool,
    ) -> Result<JobStatus, StatusError> {
        self.transition_from(id, None, change)
            .await
            .map(|(status, _)| status)
    }

    /// Like [`Self::transition`], starting from a status and revision the caller
    /// already holds (saving a read when nobody else wrote meanwhile). Returns the new
    /// status and its revision.
    pub async fn transition_from(
        &self,
        id: &str,
        known: Option<(JobStatus, u64)>,
        mut change: impl FnMut(&mut JobStatus) -> bool,
    ) -> Result<(JobStatus, u64), StatusError> {
        let mut known = known;
        for _ in 0..CAS_RETRIES {
            let (mut status, revision) = match known.take() {
                Some(k) => k,
                None => self.get(id).await?,
            };
            if status.status.is_terminal() {
                return Err(StatusError::Terminal(status.status.as_str()));
            }
            if !change(&mut status) {
                return Ok((status, revision));
            }
            status.updated_at = chrono::Utc::now();
            match self
                .bucket
                .update(id, encode(&status)?.into(), revision)
                .await
            {
                Ok(new_revision) => return Ok((status, new_revision)),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(StatusError::Unavailable(e.to_string())),
            }
        }
        Err(StatusError::Unavailable(format!(
            "status of {id} kept changing; gave up after {CAS_RETRIES} attempts"
        )))
    }

    /// Cancels job `id` (its owner's `DELETE`, an operator's `hast-api jobs cancel`):
    /// `cancelled` unless it is already final ([`StatusError::Terminal`]). A queued job
    /// is dropped when a worker takes it; a running one at the worker's next heartbeat.
    pub async fn cancel(&self, id: &str) -> Result<JobStatus, StatusError> {
        self.transition(id, |s| {
            s.status = super::JobState::Cancelled;
            s.finished_at = Some(chrono::Utc::now());
            s.next_attempt_at = None;
            true
        })
        .await
    }

    /// Applies `change` with compare-and-swap whatever the state, terminal included
    /// (for facts about the job rather than its progress, such as its owner).
    pub async fn transition_any(
        &self,
        id: &str,
        mut change: impl FnMut(&mut JobStatus),
    ) -> Result<(), StatusError> {
        for _ in 0..CAS_RETRIES {
            let (mut status, revision) = self.get(id).await?;
            change(&mut status);
            match self
                .bucket
                .update(id, encode(&status)?.into(), revision)
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) if e.kind() == UpdateErrorKind::WrongLastRevision => continue,
                Err(e) => return Err(StatusError::Unavailable(e.to_string())),
            }
        }
        Err(StatusError::Unavailable(format!(
            "status of {id} kept changing; gave up after {CAS_RETRIES} attempts"
        )))
    }

    /// Calls `visit` with the key and last status of every job in the bucket.
    ///
    /// Cost: one pass over the last status of every job in the bucket (bounded by its
    /// `max_age` and `max_bytes`).
    pub async fn for_each_latest(
        &self,
        mut visit: impl FnMut(&str, JobStatus),
    ) -> Result<(), StatusError> {
        let unavailable = |e: &dyn std::fmt::Display| StatusError::Unavailable(e.to_string());
        let mut stream = self.bucket.stream.clone();
        let info = stream.info().await.map_err(|e| unavailable(&e))?;
        if info.state.messages == 0 {
            return Ok(());
        }
        let mut watch = self
            .bucket
            .watch_with_history(">")
            .await
            .map_err(|e| unavailable(&e))?;
        loop {
            let next = tokio::time::timeout(std::time::Duration::from_secs(5), watch.next())
                .await
                .map_err(|_| StatusError::Unavailable("status scan timed out".into()))?;
            let Some(entry) = next else { break };
            let entry = entry.map_err(|e| unavailable(&e))?;
            if entry.operation == kv::Operation::Put {
                if let Ok(status) = decode(&entry.value) {
                    visit(&entry.key, status);
                }
            }
            if entry.delta == 0 {
                break;
            }
        }
        Ok(())
    }

    /// The last status of every job of `owner` still in the bucket, with its key: the
    /// jobs the owner index lists, each confirmed by its status.
    ///
    /// Cost: one read of the owner's index entries and one status read per job.
    pub async fn owned_by(&self, owner: &str) -> Result<Vec<(String, JobStatus)>, StatusError> {
        let entries = self.owners.entries_of(owner).await?;
        self.confirmed(owner, entries.iter().flat_map(|e| e.jobs.iter()))
            .await
    }

    /// The jobs among `ids` whose status names `owner`, each once.
    async fn confirmed(
        &self,
        owner: &str,
        ids: impl Iterator<Item = &String>,
    ) -> Result<Vec<(String, JobStatus)>, StatusError> {
        let mut seen = std::collections::HashSet::new();
        let mut owned = Vec::new();
        for id in ids {
            if !seen.insert(id.as_str()) {
                continue;
            }
            match self.get(id).await {
                Ok((status, _)) if status.owner_id.as_deref() == Some(owner) => {
                    owned.push((id.clone(), status))
                }
                Ok(_) | Err(StatusError::NotFound) | Err(StatusError::Corrupt(_)) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(owned)
    }

    /// Gives every job of `from` to `to` (a guest who signed up). Returns how many.
    ///
    /// The jobs are indexed under `to` before their statuses name `to`, and the entries
    /// read under `from` removed after (only those: a job `from` submits meanwhile keeps
    /// its entry), so a failure part way leaves every job findable under the owner its
    /// status names; running it again finishes the move.
    pub async fn reassign_owner(&self, from: &str, to: &str) -> Result<usize, StatusError> {
        let entries = self.owners.entries_of(from).await?;
        let owned = self
            .confirmed(from, entries.iter().flat_map(|e| e.jobs.iter()))
            .await?;
        let ids: Vec<String> = owned.iter().map(|(id, _)| id.clone()).collect();
        self.owners.record_all(to, &ids).await?;
        for id in &ids {
            match self
                .transition_any(id, |s| {
                    s.owner_id = Some(to.to_owned());
                })
                .await
            {
                Ok(()) | Err(StatusError::NotFound) => {}
                Err(err) => return Err(err),
            }
        }
        let keys: Vec<String> = entries.into_iter().map(|e| e.key).collect();
        self.owners.forget(&keys).await?;
        Ok(ids.len())
    }

    /// Removes job `id`'s status and its history (no marker is left behind).
    pub async fn purge(&self, id: &str) -> Result<(), StatusError> {
        if !valid_key(id) {
            return Err(StatusError::NotFound);
        }
        self.bucket
            .stream
            .purge()
            .filter(format!("{}{}", self.bucket.prefix, id))
            .await
            .map(|_| ())
            .map_err(|e| StatusError::Unavailable(e.to_string()))
    }

    /// Removes every status owned by `owner` (account deletion), leaving no entry or
    /// history behind: each job's subject is purged from the bucket's stream, then the
    /// owner's index entries. Unfinished jobs are cancelled first so a worker holding one
    /// abandons it. Returns how many jobs were removed.
    ///
    /// Cost: see [`Self::owned_by`].
    pub async fn purge_owned_by(&self, owner: &str) -> Result<usize, StatusError> {
        let unavailable = |e: &dyn std::fmt::Display| StatusError::Unavailable(e.to_string());
        let owned = self.owned_by(owner).await?;
        let stream = self.bucket.stream.clone();
        for (key, status) in &owned {
            if !status.status.is_terminal() {
                // Best effort: a worker that sees `cancelled` drops the job.
                let _ = self.cancel(key).await;
            }
        }
        for (key, _) in &owned {
            stream
                .purge()
                .filter(format!("{}{}", self.bucket.prefix, key))
                .await
                .map_err(|e| unavailable(&e))?;
        }
        self.owners.forget_all(owner).await?;
        Ok(owned.len())
    }

    /// The current status, then every change, ending after a terminal state.
    pub async fn follow(
        &self,
        id: &str,
    ) -> Result<impl futures::Stream<Item = JobStatus> + Send + 'static, StatusError> {
        let (current, revision) = self.get(id).await?;
        let updates = self
            .bucket
            .watch_from_revision(id, revision + 1)
            .await
            .map_err(|e| StatusError::Unavailable(e.to_string()))?;
        let first = futures::stream::iter([current.clone()]);
        let rest = updates.filter_map(|entry| async move {
            let entry = entry.ok()?;
            (entry.operation == kv::Operation::Put)
                .then(|| decode(&entry.value).ok())
                .flatten()
        });
        let stream = first.chain(rest);
        Ok(take_until_terminal(stream))
    }
}

/// Yields items up to and including the first terminal status.
fn take_until_terminal(
    stream: impl futures::Stream<Item = JobStatus> + Send + 'static,
) -> impl futures::Stream<Item = JobStatus> + Send + 'static {
    futures::stream::unfold((Box::pin(stream), false), |(mut s, done)| async move {
        if done {
            return None;
        }
        let item = s.next().await?;
        let terminal = item.status.is_terminal();
        Some((item, (s, terminal)))
    })
}

/// KV keys allow `[-/_=.a-zA-Z0-9]`; job ids are UUIDs, anything else cannot exist.
pub fn valid_key(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

fn encode(status: &JobStatus) -> Result<Vec<u8>, StatusError> {
    serde_json::to_vec(status).map_err(|e| StatusError::Corrupt(e.to_string()))
}

fn decode(bytes: &[u8]) -> Result<JobStatus, StatusError> {
    serde_json::from_slice(bytes).map_err(|e| StatusError::Corrupt(e.to_string()))
}
