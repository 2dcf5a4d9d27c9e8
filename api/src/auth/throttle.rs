//! Sign-in throttling (ASVS V2.2.1), kept in the `rate_limits` KV bucket so every API
//! replica sees the same records.
//!
//! Three records limit failed sign-ins:
//!
//! - **account and address** (`login_pair`): `LOGIN_MAX_FAILURES` failures are free,
//!   then each further one must wait `LOGIN_BACKOFF_BASE × 2^k` (capped at
//!   `LOGIN_BACKOFF_CAP`) after the previous one. A refused attempt changes nothing,
//!   so hammering does not extend the wait, and an attacker's failures do not slow the
//!   owner down from another address.
//! - **account** (`login_account`): at most `LOGIN_ACCOUNT_FAILURES_PER_HOUR` (≤ 100)
//!   failures in any hour, from every address together (counted per minute over the
//!   last 60 minutes).
//! - **address** (`login_address`): at most `LOGIN_ADDRESS_FAILURES_PER_HOUR` failures
//!   in any hour from one address, to every account together.
//!
//! Every attempt *reserves* a failure on all three before the password is checked, so
//! parallel guesses cannot slip past; a successful sign-in gives the reservation back
//! and clears the pair's backoff.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hast_common::config::AbuseLimits;
use serde::{Deserialize, Serialize};

use super::limits::{Limiter, LimitsUnavailable};

const PAIR: &str = "login_pair";
const ACCOUNT: &str = "login_account";
const ADDRESS: &str = "login_address";
/// The rolling records' detail part of the key.
const ROLLING: &str = "rolling";
const HOUR_MINUTES: u64 = 60;

/// Failures of one account from one address, and when the last one was reserved.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Backoff {
    failures: u32,
    last_ms: u64,
}

/// Failures per minute over the last hour: `(minute since the epoch, count)`, oldest
/// first.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
struct Rolling {
    minutes: Vec<(u64, u32)>,
}

impl Rolling {
    fn prune(&mut self, now_minute: u64) {
        self.minutes
            .retain(|(m, c)| *c > 0 && *m + HOUR_MINUTES > now_minute);
    }

    fn total(&self) -> u64 {
        self.minutes.iter().map(|(_, c)| u64::from(*c)).sum()
    }

    /// Seconds until fewer than `limit` failures are left in the last hour.
    fn wait(&self, limit: u64, now_ms: u64) -> u64 {
        let mut left = self.total();
        for (minute, count) in &self.minutes {
            left -= u64::from(*count);
            if left < limit {
                let free_at_ms = (minute + HOUR_MINUTES) * 60_000;
                return free_at_ms.saturating_sub(now_ms).div_ceil(1000);
            }
        }
        0
    }

    fn add(&mut self, minute: u64) {
        match self.minutes.last_mut() {
            Some((m, c)) if *m == minute => *c += 1,
            _ => self.minutes.push((minute, 1)),
        }
    }

    fn remove(&mut self, minute: u64) {
        if let Some((_, c)) = self.minutes.iter_mut().find(|(m, _)| *m == minute) {
            *c = c.saturating_sub(1);
        }
    }
}

/// The outcome of [`Throttle::reserve`].
#[derive(Debug)]
pub enum Verdict {
    /// The attempt may go ahead; give the reservation back if it succeeds.
    Go(Reservation),
    /// Refused: try again after this many seconds. `limit` names the record.
    Wait { seconds: u64, limit: &'static str },
}

/// A failure reserved on every record, to be released when the password was right.
#[derive(Debug)]
pub struct Reservation {
    pair: String,
    account: String,
    address: String,
    minute: u64,
}

/// The sign-in throttle of one request.
#[derive(Debug)]
pub struct Throttle<'a> {
    limiter: &'a Limiter,
    limits: &'a AbuseLimits,
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or_default()
}

/// How long failure number `failures + 1` must wait after the previous one.
fn backoff(limits: &AbuseLimits, failures: u32) -> Duration {
    let Some(past_free) = failures.checked_sub(limits.login_max_failures) else {
        return Duration::ZERO;
    };
    limits
        .login_backoff_base
        .saturating_mul(1u32 << past_free.min(20))
        .min(limits.login_backoff_cap)
}

impl<'a> Throttle<'a> {
    pub fn new(limiter: &'a Limiter, limits: &'a AbuseLimits) -> Self {
        Self { limiter, limits }
    }

    /// Reserves one failure of `email` from `address`, or says how long to wait.
    pub async fn reserve(&self, email: &str, address: &str) -> Result<Verdict, LimitsUnavailable> {
        let now = now_ms();
        let minute = now / 60_000;
        let pair = self.limiter.record_key(PAIR, email, address);
        let limits = self.limits;
        let previous = self
            .limiter
            .update(&pair, |b: &mut Backoff| {
                let ready_at = b
                    .last_ms
                    .saturating_add(backoff(limits, b.failures).as_millis() as u64);
                if now < ready_at {
                    return (false, Err(ready_at - now));
                }
                let previous = b.clone();
                b.failures += 1;
                b.last_ms = now;
                (true, Ok(previous))
            })
            .await?;
        let previous = match previous {
            Ok(previous) => previous,
            Err(wait_ms) => {
                return Ok(Verdict::Wait {
                    seconds: wait_ms.div_ceil(1000),
                    limit: PAIR,
                })
            }
        };
        let account = self.limiter.record_key(ACCOUNT, email, ROLLING);
        let address_key = self.limiter.record_key(ADDRESS, address, ROLLING);
        let rolling = [
            (
                ACCOUNT,
                &account,
                u64::from(limits.login_account_failures_per_hour),
            ),
            (
                ADDRESS,
                &address_key,
                u64::from(limits.login_address_failures_per_hour),
            ),
        ];
        let mut reserved = Vec::new();
        for (name, key, limit) in rolling {
            let wait = self
                .limiter
                .update(key, |r: &mut Rolling| {
                    r.prune(minute);
                    if r.total() >= limit {
                        return (false, Some(r.wait(limit, now)));
                    }
                    r.add(minute);
                    (true, None)
                })
                .await?;
            if let Some(seconds) = wait {
                // Undo what this attempt reserved: it was never tried.
                self.undo_pair(&pair, &previous, now).await?;
                for key in reserved {
                    self.undo_rolling(key, minute).await?;
                }
                return Ok(Verdict::Wait {
                    seconds: seconds.max(1),
                    limit: name,
                });
            }
            reserved.push(key);
        }
        Ok(Verdict::Go(Reservation {
            pair,
            account,
            address: address_key,
            minute,
        }))
    }

    /// The password was right: the failure reserved did not happen, and the pair's
    /// backoff starts over.
    pub async fn release(&self, reservation: Reservation) -> Result<(), LimitsUnavailable> {
        self.limiter
            .update(&reservation.pair, |b: &mut Backoff| {
                let changed = b.failures > 0;
                *b = Backoff::default();
                (changed, ())
            })
            .await?;
        self.undo_rolling(&reservation.account, reservation.minute)
            .await?;
        self.undo_rolling(&reservation.address, reservation.minute)
            .await
    }

    async fn undo_pair(
        &self,
        key: &str,
        previous: &Backoff,
        reserved_at: u64,
    ) -> Result<(), LimitsUnavailable> {
        self.limiter
            .update(key, |b: &mut Backoff| {
                // Only if nothing else was reserved meanwhile.
                if b.last_ms == reserved_at && b.failures == previous.failures + 1 {
                    *b = previous.clone();
                    (true, ())
                } else {
                    (false, ())
                }
            })
            .await
    }

    async fn undo_rolling(&self, key: &str, minute: u64) -> Result<(), LimitsUnavailable> {
        self.limiter
            .update(key, |r: &mut Rolling| {
                r.remove(minute);
                r.prune(minute);
                (true, ())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> AbuseLimits {
        AbuseLimits {
            login_max_failures: 5,
            login_backoff_base: Duration::from_secs(1),
            login_backoff_cap: Duration::from_secs(900),
            login_account_failures_per_hour: 100,
            login_address_failures_per_hour: 100,
            registrations_per_hour: 10,
            password_hash_concurrency: 1,
            uploads_per_hour: 30,
            guest_max_analyses: 3,
            jobs_per_hour: 1000,
            messages_per_hour: 60,
            questions_in_flight: 2,
            photo_decode_slots: 1,
            photo_decode_wait: Duration::from_secs(2),
        }
    }

    #[test]
    fn the_backoff_doubles_after_the_free_failures_up_to_its_cap() {
        let l = limits();
        let waits: Vec<u64> = (0..18).map(|n| backoff(&l, n).as_secs()).collect();
        assert_eq!(&waits[..5], &[0; 5]);
        assert_eq!(&waits[5..10], &[1, 2, 4, 8, 16]);
        assert_eq!(waits[15], 900);
        assert_eq!(backoff(&l, u32::MAX).as_secs(), 900);
        // One address can fail at most about 20 times an hour on one account.
        let mut elapsed = 0;
        let mut failures = 0;
        while elapsed + backoff(&l, failures).as_secs() <= 3600 {
            elapsed += backoff(&l, failures).as_secs();
            failures += 1;
        }
        assert!(failures <= 20, "{failures}");
    }

    #[test]
    fn the_rolling_hour_forgets_minutes_older_than_an_hour() {
        let mut r = Rolling::default();
        for _ in 0..3 {
            r.add(10);
        }
        r.add(40);
        assert_eq!(r.total(), 4);
        // At minute 69 the failures of minute 10 are 59 minutes old: still counted.
        assert_eq!(r.wait(4, 69 * 60_000), 60);
        assert_eq!(r.wait(2, 69 * 60_000), 60);
        assert_eq!(r.wait(1, 69 * 60_000), 31 * 60);
        r.prune(70);
        assert_eq!(r.total(), 1);
        r.remove(40);
        r.prune(70);
        assert!(r.minutes.is_empty());
    }
}
