//! `settings.jobs`: the job platform as both binaries see it (the topology they
//! create, how a job is retried, how long its traces are kept).

use std::time::Duration;

use super::parse::{at_least, parse, parse_duration, positive, Get};
use super::ConfigError;

/// How jobs are delivered, retried and kept; read by the API (it submits and creates
/// the topology) and by the worker (it runs them and creates the same topology).
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// `JOB_MAX_ATTEMPTS`: runs of a job's handler before it fails for good. Only the
    /// handler's own failures count; an infrastructure error (NATS, the database) never
    /// uses an attempt.
    pub max_attempts: u32,
    /// `JOB_ACK_WAIT`: how long a delivered job may go without a heartbeat before redelivery.
    pub ack_wait: Duration,
    /// `JOB_BACKOFF_BASE`: retry delay after the first failed attempt.
    pub backoff_base: Duration,
    /// `JOB_BACKOFF_CAP`: the longest retry delay.
    pub backoff_cap: Duration,
    /// `JOB_MAX_ACK_PENDING`: jobs of one kind in flight across all workers.
    pub max_ack_pending: i64,
    /// `JOB_SUBMIT_TIMEOUT`: how long a submission may retry its status write and publish
    /// (through a NATS leader election) before the client gets 503.
    pub submit_timeout: Duration,
    /// `JOB_STATUS_RETENTION`: how long a job status is kept after its last change.
    pub status_retention: Duration,
    /// `DLQ_RETENTION`: how long a dead letter is kept.
    pub dlq_retention: Duration,
    /// `JOB_RESULTS_RETENTION`: how long a `job_results` row is kept (the reconciler
    /// deletes older ones).
    pub results_retention: Duration,
}

impl JobSettings {
    /// Reads this section from `get`.
    pub(super) fn read(get: &impl Get) -> Result<Self, ConfigError> {
        let days = |n: u64| Duration::from_secs(n * 24 * 3600);
        Ok(Self {
            max_attempts: parse(get, "JOB_MAX_ATTEMPTS", 10u32)?,
            ack_wait: parse_duration(get, "JOB_ACK_WAIT", Duration::from_secs(30))?,
            backoff_base: parse_duration(get, "JOB_BACKOFF_BASE", Duration::from_secs(1))?,
            backoff_cap: parse_duration(get, "JOB_BACKOFF_CAP", Duration::from_secs(300))?,
            max_ack_pending: parse(get, "JOB_MAX_ACK_PENDING", 10_000i64)?,
            submit_timeout: parse_duration(get, "JOB_SUBMIT_TIMEOUT", Duration::from_secs(15))?,
            status_retention: parse_duration(get, "JOB_STATUS_RETENTION", days(7))?,
            dlq_retention: parse_duration(get, "DLQ_RETENTION", days(30))?,
            results_retention: parse_duration(get, "JOB_RESULTS_RETENTION", days(30))?,
        })
    }

    /// Counts, delays and retentions in range.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        positive("JOB_MAX_ATTEMPTS", u64::from(self.max_attempts))?;
        positive("JOB_MAX_ACK_PENDING", self.max_ack_pending.max(0) as u64)?;
        at_least("JOB_ACK_WAIT", self.ack_wait, Duration::from_secs(1))?;
        for (variable, value) in [
            ("JOB_STATUS_RETENTION", self.status_retention),
            ("DLQ_RETENTION", self.dlq_retention),
            ("JOB_RESULTS_RETENTION", self.results_retention),
        ] {
            at_least(variable, value, Duration::from_secs(60))?;
        }
        if self.submit_timeout < Duration::from_secs(1)
            || self.submit_timeout > crate::nats::bootstrap::DUPLICATE_WINDOW / 2
        {
            return Err(ConfigError::Invalid {
                variable: "JOB_SUBMIT_TIMEOUT",
                value: humantime::format_duration(self.submit_timeout).to_string(),
                reason: "must be between 1s and half the JOBS duplicate window (5m)".into(),
            });
        }
        if self.backoff_base.is_zero() {
            return Err(ConfigError::Invalid {
                variable: "JOB_BACKOFF_BASE",
                value: "0s".into(),
                reason: "must be positive".into(),
            });
        }
        if self.backoff_cap < self.backoff_base {
            return Err(ConfigError::Invalid {
                variable: "JOB_BACKOFF_CAP",
                value: humantime::format_duration(self.backoff_cap).to_string(),
                reason: "JOB_BACKOFF_BASE must be positive and JOB_BACKOFF_CAP at least as large"
                    .into(),
            });
        }
        Ok(())
    }
}
