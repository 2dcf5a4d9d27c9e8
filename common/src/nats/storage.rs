//! How Hast's JetStream storage is shared out: every stream, KV bucket and the object
//! store gets a `max_bytes` that is a fixed share of one budget (`JETSTREAM_MAX_BYTES`,
//! default 9 GiB: the shipped configs give JetStream a 10 GB file store, and the rest is
//! headroom). Each has `discard: new`, so a full one refuses new writes instead of
//! dropping old ones: an accepted job is never pushed out, and a full `JOBS` or
//! `job_status` makes submissions answer `507 storage_full` while everything already
//! accepted runs to its end.
//!
//! | what | share | at 9 GiB |
//! |---|---|---|
//! | `images` (photos, overlays, thumbnails) | 58 % | 5.2 GiB |
//! | `job_status` | 12 % | 1.1 GiB |
//! | `job_owners` (the index of statuses by owner) | 2 % | 184 MiB |
//! | `JOBS` | 10 % | 0.9 GiB |
//! | `JOBS_DLQ` | 6 % | 553 MiB |
//! | `idempotency`, `sessions` | 4 % each | 369 MiB each |
//! | `rate_limits` | 2 % | 184 MiB |
//! | `JOBS_ADVISORIES` | 1 % | 92 MiB |
//! | `workers`, `leases` | 0.1 % each | 9 MiB each |
//!
//! (`ai_slots` holds at most `OPENAI_MAX_CONCURRENCY` tiny keys: 1 MiB, outside the
//! shares.)
//!
//! Sessions and rate limits have their own shares, so a flood of jobs can fill `JOBS`
//! or `job_status` but never stop logins.

/// The smallest budget accepted (every share must hold a few messages).
pub const MIN_BUDGET: u64 = 16 * 1024 * 1024;

/// What a `max_bytes` is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Store {
    Images,
    JobStatus,
    JobOwners,
    Jobs,
    DeadLetters,
    Idempotency,
    Sessions,
    RateLimits,
    Advisories,
    Workers,
    Leases,
}

impl Store {
    /// This store's share of the budget, in thousandths.
    pub fn permille(self) -> u64 {
        match self {
            Self::Images => 580,
            Self::JobStatus => 120,
            Self::JobOwners => 20,
            Self::Jobs => 100,
            Self::DeadLetters => 60,
            Self::Idempotency | Self::Sessions => 40,
            Self::RateLimits => 20,
            Self::Advisories => 10,
            Self::Workers | Self::Leases => 1,
        }
    }

    /// Its `max_bytes` under `budget`.
    pub fn max_bytes(self, budget: u64) -> i64 {
        i64::try_from(budget / 1000 * self.permille()).unwrap_or(i64::MAX)
    }
}

/// Whether a JetStream error says a store is full (its `max_bytes`, or the server's
/// storage, is used up).
pub fn is_storage_full(error: &str) -> bool {
    let error = error.to_ascii_lowercase();
    error.contains("maximum bytes exceeded")
        || error.contains("insufficient resources")
        || error.contains("insufficient storage")
        || error.contains("resource limits exceeded")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shares_fit_in_the_budget() {
        let all = [
            Store::Images,
            Store::JobStatus,
            Store::JobOwners,
            Store::Jobs,
            Store::DeadLetters,
            Store::Idempotency,
            Store::Sessions,
            Store::RateLimits,
            Store::Advisories,
            Store::Workers,
            Store::Leases,
        ];
        let total: u64 = all.iter().map(|s| s.permille()).sum();
        assert!(total <= 1000, "{total} ‰");
        let budget = 9 * 1024 * 1024 * 1024;
        let bytes: i64 = all.iter().map(|s| s.max_bytes(budget)).sum();
        assert!(bytes <= budget as i64);
    }

    #[test]
    fn full_stores_are_recognised_from_jetstream_errors() {
        assert!(is_storage_full("nats: maximum bytes exceeded"));
        assert!(is_storage_full("insufficient resources (10047)"));
        assert!(!is_storage_full("timed out"));
    }
}
