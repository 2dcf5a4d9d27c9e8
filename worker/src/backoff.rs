//! Retry delays: exponential with "equal jitter".
//!
//! Attempt n waits a uniformly random time in `[e/2, e]` where
//! `e = min(cap, base · 2^(n-1))`. The random half spreads a burst of failures out
//! (no thundering herd on a recovering dependency) like full jitter does, while the
//! fixed half keeps successive delays from shrinking, so retries really do back off.

use std::time::Duration;

use rand::Rng;

/// The delay before retrying after failed attempt `attempt` (1-based).
pub fn retry_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(32);
    let ceiling = base
        .checked_mul(1u32 << exponent.min(31))
        .unwrap_or(cap)
        .min(cap);
    let half = ceiling / 2;
    let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
    half + Duration::from_millis(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_within_their_bounds_and_stop_at_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for _ in 0..200 {
            let d1 = retry_delay(1, base, cap);
            let d2 = retry_delay(2, base, cap);
            let d3 = retry_delay(3, base, cap);
            let d10 = retry_delay(10, base, cap);
            assert!((50..=100).contains(&d1.as_millis()), "{d1:?}");
            assert!((100..=200).contains(&d2.as_millis()), "{d2:?}");
            assert!((200..=400).contains(&d3.as_millis()), "{d3:?}");
            assert!((1000..=2000).contains(&d10.as_millis()), "{d10:?}");
            assert!(d1 <= d2 && d2 <= d3);
        }
        assert!(retry_delay(u32::MAX, base, cap) <= cap);
    }
}
