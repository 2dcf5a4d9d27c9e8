//! Claiming a delivered job: settle it from an outcome already stored, or move its
//! status to `running` with the next attempt.

use async_nats::jetstream::message::AckKind;
use chrono::Utc;
use hast_common::jobs::{JobEnvelope, JobFailure, JobState, JobStatus, StatusError};

use super::patience::Step;
use super::{claimed_at, Delivery, Runner};

/// Shortest wait before a job redelivered while its attempt still runs is looked at
/// again.
const HELD_RECHECK: std::time::Duration = std::time::Duration::from_secs(5);

/// Who runs a redelivered job's current attempt, as far as this worker can tell.
enum Holder {
    /// A live worker (or this one): leave it.
    Live,
    /// Nobody: claim it. `abandoned` is the start of a running attempt judged dead or
    /// overdue, which the claim may take over.
    Free {
        abandoned: Option<chrono::DateTime<Utc>>,
    },
    /// NATS did not answer.
    Unknown(String),
}

impl Runner {
    /// The job's `running` status and its revision when this delivery should run the
    /// handler; `None` when the message was settled (or handed back) here.
    pub(super) async fn claim(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
    ) -> Option<(JobStatus, u64)> {
        // On a redelivery, the running attempt (its start) this worker judged abandoned:
        // the only one the claim below may take over.
        let abandoned = if delivery.deliveries > 1 {
            self.judge_redelivery(delivery, envelope).await?
        } else {
            None
        };
        let started = Utc::now();
        let me = self.identity.id.clone();
        let claim = move |s: &mut JobStatus| take_attempt(s, &me, started, abandoned);
        let mut known = self.known_queued(delivery, envelope);
        let claimed = self
            .keep_trying(delivery, "mark the job running", || {
                let known = known.take();
                let claim = claim.clone();
                async move {
                    match self
                        .statuses
                        .transition_from(&envelope.id, known, claim)
                        .await
                    {
                        Err(StatusError::Unavailable(e)) => Step::Again(e),
                        other => Step::Done(other),
                    }
                }
            })
            .await;
        let claimed = match claimed.done() {
            Ok(claimed) => claimed,
            Err(why) => {
                self.give_back(delivery, "mark the job running", why).await;
                return None;
            }
        };
        match claimed {
            Ok(running) if claimed_at(&running.0, started) => Some(running),
            Ok((status, _)) => {
                self.not_claimed(delivery, envelope, status).await;
                None
            }
            Err(err) => {
                self.unclaimable(delivery, envelope, err).await;
                None
            }
        }
    }

    /// A redelivery: `None` when it was settled or handed back here (an outcome is
    /// stored, or the attempt still runs elsewhere, or nobody can tell); otherwise the
    /// start of the running attempt judged abandoned, if any.
    async fn judge_redelivery(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
    ) -> Option<Option<chrono::DateTime<Utc>>> {
        if self.settled_from_stored(delivery, envelope).await {
            return None;
        }
        match self.still_in_hand(delivery, envelope).await {
            Holder::Free { abandoned } => Some(abandoned),
            Holder::Live => {
                // Only a heartbeat was lost: the attempt runs on. Look again later (the
                // holder's ack removes the message meanwhile).
                self.look_again_later(
                    delivery,
                    "job redelivered while its attempt still runs; not running it twice",
                )
                .await;
                None
            }
            Holder::Unknown(why) => {
                // NATS did not answer: claiming now could run a live attempt twice.
                tracing::info!(error = %why, "cannot tell whether the job still runs elsewhere");
                self.look_again_later(delivery, "job redelivered; its holder is unknown for now")
                    .await;
                None
            }
        }
    }

    /// The claim left `status` as it was: another worker's attempt runs (look again
    /// later), or every attempt was used (the worker running the last one died).
    async fn not_claimed(&self, delivery: &Delivery, envelope: &JobEnvelope, status: JobStatus) {
        if status.status == JobState::Running && status.attempt < status.max_attempts {
            self.look_again_later(
                delivery,
                "job claimed by another worker meanwhile; not running it twice",
            )
            .await;
            return;
        }
        let failure = JobFailure {
            code: "attempts_exhausted".into(),
            message: format!("no attempt succeeded in {}", status.max_attempts),
        };
        self.fail(
            delivery,
            envelope,
            &failure,
            status.attempt,
            status.owner_id,
        )
        .await;
    }

    /// The status refused the claim: the job is final, gone or unreadable.
    async fn unclaimable(&self, delivery: &Delivery, envelope: &JobEnvelope, err: StatusError) {
        match err {
            StatusError::Terminal(state) => {
                tracing::info!(job.status = state, "job already finished; skipping");
                if state == JobState::Cancelled.as_str() {
                    // Cancelled before it ran, or handed back before its undo finished.
                    self.drop_cancelled(delivery, envelope).await;
                } else {
                    let _ = delivery.message.ack_with(AckKind::Term).await;
                }
            }
            StatusError::NotFound => {
                // Purged on purpose, with its analysis or its owner's account.
                tracing::info!(
                    "job status is gone (deleted with its analysis or account); dropping the job"
                );
                let _ = delivery.message.ack_with(AckKind::Term).await;
            }
            err => {
                tracing::error!(error = %err, "unreadable job status");
                let failure = JobFailure {
                    code: "corrupt_status".into(),
                    message: err.to_string(),
                };
                self.fail(delivery, envelope, &failure, 0, envelope.owner_id.clone())
                    .await;
            }
        }
    }

    /// On a redelivery: whether the job's current attempt is still being run, by this
    /// worker (an earlier delivery it still holds) or by another live worker that started
    /// it no longer ago than the kind's deadline and two `ack_wait`s. The redelivery then
    /// only means heartbeats were lost (NATS unreachable for longer than `ack_wait`), and
    /// claiming it would run the handler twice. Past that bound, or with the holder's
    /// heartbeat gone from `workers` (a dead worker leaves within 15 s), it is claimed.
    ///
    /// A read that fails says nothing: [`Holder::Unknown`], and the message is looked at
    /// again later (claiming on a failed read ran a live attempt twice under node loss).
    async fn still_in_hand(&self, delivery: &Delivery, envelope: &JobEnvelope) -> Holder {
        if self.identity.holds(&envelope.id) {
            return Holder::Live;
        }
        let status = match self.statuses.get(&envelope.id).await {
            Ok((status, _)) => status,
            Err(StatusError::Unavailable(why)) => return Holder::Unknown(why),
            // Gone, final or unreadable: the claim says which and settles it.
            Err(_) => return Holder::Free { abandoned: None },
        };
        let (Some(holder), Some(started)) = (status.worker_id, status.started_at) else {
            return Holder::Free { abandoned: None };
        };
        if status.status != JobState::Running || holder == self.identity.id {
            return Holder::Free { abandoned: None };
        }
        let deadline = hast_common::jobs::KindSpec::named(&envelope.kind)
            .map(|k| k.timeout)
            .unwrap_or_default();
        let bound = deadline + self.heartbeat_every(&delivery.kind) * 6;
        let running_for = (Utc::now() - started).to_std().unwrap_or_default();
        let abandoned = Holder::Free {
            abandoned: Some(started),
        };
        if running_for > bound {
            return abandoned;
        }
        match hast_common::nats::kv_read::entry(&self.workers, holder.as_str()).await {
            Ok(Some(entry)) if entry.operation == async_nats::jetstream::kv::Operation::Put => {
                Holder::Live
            }
            Ok(_) => abandoned,
            Err(err) => Holder::Unknown(err.to_string()),
        }
    }

    /// Hands the message back to be delivered again after a few heartbeats (the holder's
    /// ack removes it meanwhile, if it finishes).
    async fn look_again_later(&self, delivery: &Delivery, why: &'static str) {
        let again = (self.heartbeat_every(&delivery.kind) * 3).max(HELD_RECHECK);
        tracing::info!(recheck_ms = again.as_millis() as u64, "{why}");
        let _ = delivery.message.ack_with(AckKind::Nak(Some(again))).await;
    }

    /// On a redelivery: whether an outcome stored by an earlier delivery settled the job
    /// (or the message was handed back while looking).
    async fn settled_from_stored(&self, delivery: &Delivery, envelope: &JobEnvelope) -> bool {
        match self.stored_outcome(delivery, envelope).await {
            Ok(Some(row)) => {
                self.settle_from_stored(delivery, envelope, row).await;
                true
            }
            Ok(None) => false,
            Err(why) => {
                self.give_back(delivery, super::settle::READ_STORED, why)
                    .await;
                true
            }
        }
    }

    /// On a first delivery, the API's `queued` document and its revision rebuilt from
    /// the message, so the claim needs no read (it falls back to one if anything
    /// changed since).
    fn known_queued(
        &self,
        delivery: &Delivery,
        envelope: &JobEnvelope,
    ) -> Option<(JobStatus, u64)> {
        if delivery.deliveries != 1 {
            return None;
        }
        let max_attempts = envelope.max_attempts?;
        let revision = delivery
            .message
            .headers
            .as_ref()?
            .get(hast_common::jobs::envelope::STATUS_REVISION_HEADER)?
            .as_str()
            .parse::<u64>()
            .ok()?;
        Some((JobStatus::queued_for(envelope, max_attempts), revision))
    }
}

/// The claim's rule: moves `s` to `running` with the next attempt for worker `me`
/// (started at `started`), unless this very claim already landed, every attempt is
/// used, or another worker's attempt runs that was not judged abandoned (`abandoned`
/// is its start). Returns whether `s` changed.
fn take_attempt(
    s: &mut JobStatus,
    me: &str,
    started: chrono::DateTime<Utc>,
    abandoned: Option<chrono::DateTime<Utc>>,
) -> bool {
    if claimed_at(s, started) {
        // An earlier try of this very claim landed without an answer.
        return false;
    }
    if s.attempt >= s.max_attempts {
        return false;
    }
    if s.status == JobState::Running
        && s.worker_id.as_deref() != Some(me)
        && s.started_at != abandoned
    {
        // Another worker's attempt this worker has not judged (the status it read was
        // older than this one): never take it over unseen.
        return false;
    }
    s.status = JobState::Running;
    s.attempt += 1;
    s.started_at = Some(started);
    s.next_attempt_at = None;
    s.worker_id = Some(me.to_owned());
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn running(worker: &str, started: chrono::DateTime<Utc>) -> JobStatus {
        let mut s = JobStatus::queued("job".into(), "echo", 3, None);
        s.status = JobState::Running;
        s.attempt = 1;
        s.worker_id = Some(worker.into());
        s.started_at = Some(started);
        s
    }

    #[test]
    fn a_queued_job_is_claimed_with_the_next_attempt() {
        let now = Utc::now();
        let mut s = JobStatus::queued("job".into(), "echo", 3, None);
        assert!(take_attempt(&mut s, "me", now, None));
        assert_eq!((s.status, s.attempt), (JobState::Running, 1));
        assert_eq!(s.worker_id.as_deref(), Some("me"));
        // The same claim again (its answer was lost): nothing changes.
        assert!(!take_attempt(&mut s, "me", now, None));
        assert_eq!(s.attempt, 1);
    }

    #[test]
    fn another_workers_attempt_is_taken_over_only_once_judged_abandoned() {
        let theirs = Utc::now() - chrono::Duration::seconds(5);
        let now = Utc::now();
        let mut s = running("other", theirs);
        assert!(!take_attempt(&mut s, "me", now, None), "never unseen");
        let older = theirs - chrono::Duration::seconds(60);
        assert!(
            !take_attempt(&mut s, "me", now, Some(older)),
            "not when another attempt was judged"
        );
        assert!(take_attempt(&mut s, "me", now, Some(theirs)));
        assert_eq!((s.attempt, s.worker_id.as_deref()), (2, Some("me")));
    }

    #[test]
    fn no_attempt_is_taken_beyond_the_last() {
        let mut s = running("other", Utc::now());
        s.attempt = 3;
        let abandoned = s.started_at;
        assert!(!take_attempt(&mut s, "me", Utc::now(), abandoned));
    }
}
