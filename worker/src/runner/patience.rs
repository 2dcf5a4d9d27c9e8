//! Waiting out infrastructure failures without using a job's attempts.
//!
//! A status write, a result row or a dead letter that fails because NATS or the
//! database is briefly gone (a leader election, a failover, a lost connection) is not
//! the job's fault. [`Runner::keep_trying`] retries such a step inside the worker, with
//! a backoff from 100 ms to 2 s, for up to `JOB_INFRA_RETRY_BUDGET`, and keeps the
//! message alive meanwhile with `Progress` acknowledgements (also while one try is
//! still waiting for its answer). Only when the budget runs out is the message handed
//! back (a delayed Nak: a delivery, not an attempt, since attempts are counted in the
//! job status). A worker shutting down hands it back at once.

use std::future::Future;
use std::time::{Duration, Instant};

use async_nats::jetstream::message::AckKind;

use super::{Delivery, Runner};

/// One try of an infrastructure step.
pub(crate) enum Step<T> {
    /// A final answer (which may itself be a refusal the caller handles).
    Done(T),
    /// A passing failure: try again.
    Again(String),
}

/// How waiting out a step ended.
pub(crate) enum Waited<T> {
    Done(T),
    /// The budget ran out; the last error.
    GaveUp(String),
    /// The worker is handing its jobs back.
    ShuttingDown,
}

/// Why a step did not finish.
pub(crate) enum Unfinished {
    /// The budget ran out; the last error.
    GaveUp(String),
    /// The worker is handing its jobs back.
    ShuttingDown,
}

impl<T> Waited<T> {
    /// The step's answer, or why there is none.
    pub(crate) fn done(self) -> Result<T, Unfinished> {
        match self {
            Self::Done(value) => Ok(value),
            Self::GaveUp(error) => Err(Unfinished::GaveUp(error)),
            Self::ShuttingDown => Err(Unfinished::ShuttingDown),
        }
    }
}

/// Delay before a handed-back message is delivered again.
pub(crate) const HAND_BACK_DELAY: Duration = Duration::from_secs(5);

impl Runner {
    /// Runs `step` until it gives a final answer, the budget runs out or the worker
    /// abandons its jobs; see the module doc. `what` names the step in logs.
    pub(crate) async fn keep_trying<T, F, Fut>(
        &self,
        delivery: &Delivery,
        what: &str,
        mut step: F,
    ) -> Waited<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Step<T>>,
    {
        let mut abandon = delivery.abandon.clone();
        let started = Instant::now();
        let budget = self.settings.worker.infra_retry_budget;
        let every = self.heartbeat_every(&delivery.kind);
        let mut heartbeat = tokio::time::interval_at(tokio::time::Instant::now() + every, every);
        let mut pause = Duration::from_millis(100);
        let mut failures = 0u32;
        loop {
            if *abandon.borrow() {
                return Waited::ShuttingDown;
            }
            let mut call = std::pin::pin!(step());
            let outcome = loop {
                tokio::select! {
                    outcome = &mut call => break outcome,
                    _ = heartbeat.tick() => delivery.progress().await,
                    _ = abandon.changed() => return Waited::ShuttingDown,
                }
            };
            let error = match outcome {
                Step::Done(value) => {
                    if failures > 0 {
                        tracing::info!(step = what, failures, "step succeeded after retrying");
                    }
                    return Waited::Done(value);
                }
                Step::Again(error) => error,
            };
            failures += 1;
            metrics::counter!("hast_job_infra_retries_total", "kind" => delivery.kind.clone())
                .increment(1);
            if started.elapsed() >= budget {
                return Waited::GaveUp(error);
            }
            if failures == 1 || failures.is_multiple_of(10) {
                tracing::warn!(step = what, failures, error = %error, "step failed; retrying within the job");
            }
            let sleep = tokio::time::sleep(pause);
            tokio::pin!(sleep);
            loop {
                tokio::select! {
                    () = &mut sleep => break,
                    _ = heartbeat.tick() => delivery.progress().await,
                    _ = abandon.changed() => return Waited::ShuttingDown,
                }
            }
            pause = (pause * 2).min(Duration::from_secs(2));
        }
    }

    /// Settles a message whose `step` did not finish: handed back after the budget ran
    /// out, or at once (Nak, no delay) when the worker is shutting down. Either way the
    /// next delivery resumes from what is stored.
    pub(crate) async fn give_back(&self, delivery: &Delivery, step: &str, why: Unfinished) {
        match why {
            Unfinished::GaveUp(error) => self.hand_back(delivery, step, &error).await,
            Unfinished::ShuttingDown => {
                let _ = delivery.message.ack_with(AckKind::Nak(None)).await;
            }
        }
    }

    /// Hands a message back after an infrastructure failure outlasted the budget: it is
    /// delivered again after [`HAND_BACK_DELAY`], without using an attempt.
    pub(crate) async fn hand_back(&self, delivery: &Delivery, step: &str, error: &str) {
        tracing::error!(
            step,
            error = %error,
            budget_s = self.settings.worker.infra_retry_budget.as_secs(),
            "step kept failing; handing the message back"
        );
        metrics::counter!("hast_jobs_handed_back_total", "kind" => delivery.kind.clone())
            .increment(1);
        let _ = delivery
            .message
            .ack_with(AckKind::Nak(Some(HAND_BACK_DELAY)))
            .await;
    }
}
