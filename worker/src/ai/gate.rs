//! [`NatsGate`]: the fleet-wide limit on model calls, a distributed semaphore in the
//! `ai_slots` KV bucket.
//!
//! There are `OPENAI_MAX_CONCURRENCY` slots, keys `slot.0` … `slot.<n-1>`. Admitting an
//! HTTP attempt means *creating* one of them (create-only: it fails while another holder
//! has it); the [`SlotPermit`] deletes it (expecting its own revision, so it never frees
//! a slot someone else re-took) when the attempt ends. The bucket's `max_age` is the
//! lease: a slot whose holder crashed expires by itself (2 × `OPENAI_TIMEOUT`).
//!
//! When every slot is held, the gate waits on a watch of the bucket (created before the
//! slots are tried, so no release is missed) for a deletion, re-trying at least every
//! [`RECHECK`] because an expiry produces no event.

use std::time::Duration;

use async_nats::jetstream::kv::{self, CreateErrorKind, Operation};
use futures::StreamExt;
use hast_openai::{AdmitFuture, AiError, Gate, GatePermit};

/// Longest wait between two attempts to take a slot while all are held.
pub const RECHECK: Duration = Duration::from_secs(1);

/// The fleet-wide gate on model calls.
#[derive(Clone)]
pub struct NatsGate {
    kv: kv::Store,
    slots: usize,
    /// Written into a held slot (which worker holds it), for operators.
    holder: String,
}

impl std::fmt::Debug for NatsGate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NatsGate")
            .field("slots", &self.slots)
            .field("holder", &self.holder)
            .finish()
    }
}

impl NatsGate {
    /// A gate of `slots` slots (at least 1) in the `ai_slots` bucket.
    pub fn new(kv: kv::Store, slots: usize, holder: impl Into<String>) -> Self {
        Self {
            kv,
            slots: slots.max(1),
            holder: holder.into(),
        }
    }

    /// Tries each slot once; the permit of the first one taken.
    async fn try_take(&self) -> Result<Option<SlotPermit>, AiError> {
        for index in 0..self.slots {
            let key = format!("slot.{index}");
            match self
                .kv
                .create(&key, self.holder.clone().into_bytes().into())
                .await
            {
                Ok(revision) => {
                    return Ok(Some(SlotPermit {
                        kv: self.kv.clone(),
                        key,
                        revision,
                    }))
                }
                Err(err) if err.kind() == CreateErrorKind::AlreadyExists => continue,
                Err(err) => {
                    return Err(AiError::gate(
                        format!("the ai_slots bucket is unavailable: {err}"),
                        true,
                    ))
                }
            }
        }
        Ok(None)
    }

    async fn admit_slot(&self) -> Result<SlotPermit, AiError> {
        // Watch first: a slot released between a failed try and the wait is then seen.
        let mut releases = match self.kv.watch_all().await {
            Ok(watch) => Some(watch),
            Err(err) => {
                tracing::warn!(error = %err, "cannot watch ai_slots; re-checking periodically");
                None
            }
        };
        loop {
            if let Some(permit) = self.try_take().await? {
                return Ok(permit);
            }
            let wait = async {
                match releases.as_mut() {
                    Some(watch) => {
                        while let Some(entry) = watch.next().await {
                            match entry {
                                Ok(entry)
                                    if matches!(
                                        entry.operation,
                                        Operation::Delete | Operation::Purge
                                    ) =>
                                {
                                    return true
                                }
                                Ok(_) => {}
                                Err(_) => return false,
                            }
                        }
                        false
                    }
                    None => std::future::pending().await,
                }
            };
            match tokio::time::timeout(RECHECK, wait).await {
                Ok(true) | Err(_) => {}
                // The watch ended or failed: carry on with the periodic re-check.
                Ok(false) => releases = None,
            }
        }
    }
}

impl Gate for NatsGate {
    fn admit(&self) -> AdmitFuture<'_> {
        Box::pin(async move {
            let permit = self.admit_slot().await?;
            Ok(Box::new(permit) as GatePermit)
        })
    }
}

/// One held slot; dropping it frees the slot.
pub struct SlotPermit {
    kv: kv::Store,
    key: String,
    revision: u64,
}

impl std::fmt::Debug for SlotPermit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SlotPermit({}@{})", self.key, self.revision)
    }
}

impl Drop for SlotPermit {
    fn drop(&mut self) {
        let kv = self.kv.clone();
        let key = std::mem::take(&mut self.key);
        let revision = self.revision;
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                // Fails harmlessly if the lease expired and someone else holds it now.
                if let Err(err) = kv.delete_expect_revision(&key, Some(revision)).await {
                    tracing::debug!(slot = %key, error = %err, "slot not released (expired?)");
                }
            });
        }
    }
}
