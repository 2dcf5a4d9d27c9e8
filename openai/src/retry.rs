//! The delay before retrying a transient failure.
//!
//! A delay the server asks for wins: `retry-after-ms` (milliseconds, fractions allowed; OpenAI
//! sends it), else `Retry-After` (seconds, or an HTTP date), at most the configured maximum.
//! Without one, retry `n` waits a uniformly random time in `[e/2, e]` with
//! `e = min(cap, base · 2^(n-1))` ("equal jitter", as the worker's job retries): the random half
//! spreads a burst of failures out, the fixed half keeps successive delays growing.

use std::time::{Duration, SystemTime};

use rand::Rng;
use reqwest::header::{HeaderMap, RETRY_AFTER};

use crate::config::ClientConfig;

/// The non-standard header OpenAI sends with 429s, in milliseconds.
pub const RETRY_AFTER_MS: &str = "retry-after-ms";

/// The backoff delay after failed attempt `attempt` (1-based).
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exponent = attempt.saturating_sub(1).min(31);
    let ceiling = base.checked_mul(1u32 << exponent).unwrap_or(cap).min(cap);
    let half = ceiling / 2;
    let spread = u64::try_from((ceiling - half).as_micros()).unwrap_or(u64::MAX);
    half + Duration::from_micros(rand::rng().random_range(0..=spread))
}

/// The delay the response asks for, if any: `retry-after-ms` first, then `Retry-After`
/// (an HTTP date is measured from `now`; a past date means no wait). Unparsable values are
/// ignored.
pub fn requested_delay(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header(RETRY_AFTER_MS).and_then(|v| v.parse::<f64>().ok()) {
        if let Ok(delay) = Duration::try_from_secs_f64(ms / 1000.0) {
            return Some(delay);
        }
    }
    let value = header(RETRY_AFTER.as_str())?;
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    if let Some(delay) = value
        .parse::<f64>()
        .ok()
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
    {
        return Some(delay);
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(date.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The delay before the attempt after failed attempt `attempt`, given the server's request.
pub fn retry_delay(attempt: u32, requested: Option<Duration>, config: &ClientConfig) -> Duration {
    match requested {
        Some(delay) => delay.min(config.max_retry_after),
        None => backoff_delay(attempt, config.backoff_base, config.backoff_cap),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use reqwest::header::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn backoff_grows_within_its_bounds_and_stops_at_the_cap() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_secs(2);
        for _ in 0..200 {
            let d1 = backoff_delay(1, base, cap);
            let d2 = backoff_delay(2, base, cap);
            let d3 = backoff_delay(3, base, cap);
            let d10 = backoff_delay(10, base, cap);
            assert!((50..=100).contains(&d1.as_millis()), "{d1:?}");
            assert!((100..=200).contains(&d2.as_millis()), "{d2:?}");
            assert!((200..=400).contains(&d3.as_millis()), "{d3:?}");
            assert!((1000..=2000).contains(&d10.as_millis()), "{d10:?}");
        }
        assert!(backoff_delay(u32::MAX, base, cap) <= cap);
        assert!(backoff_delay(40, Duration::from_secs(u64::MAX / 4), cap) <= cap);
    }

    #[test]
    fn retry_after_ms_is_preferred() {
        let now = SystemTime::now();
        let both = headers(&[("retry-after-ms", "250.5"), ("retry-after", "30")]);
        assert_eq!(
            requested_delay(&both, now),
            Some(Duration::from_micros(250_500))
        );
        let bad_ms = headers(&[("retry-after-ms", "soon"), ("retry-after", "3")]);
        assert_eq!(requested_delay(&bad_ms, now), Some(Duration::from_secs(3)));
        let negative = headers(&[("retry-after-ms", "-5")]);
        assert_eq!(requested_delay(&negative, now), None);
    }

    #[test]
    fn retry_after_takes_seconds_or_a_date() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480);
        let seconds = headers(&[("retry-after", "7")]);
        assert_eq!(requested_delay(&seconds, now), Some(Duration::from_secs(7)));
        // 1445412480 is Wed, 21 Oct 2015 07:28:00 GMT.
        let date = headers(&[("retry-after", "Wed, 21 Oct 2015 07:28:09 GMT")]);
        assert_eq!(requested_delay(&date, now), Some(Duration::from_secs(9)));
        let past = headers(&[("retry-after", "Wed, 21 Oct 2015 07:27:00 GMT")]);
        assert_eq!(requested_delay(&past, now), Some(Duration::ZERO));
        assert_eq!(
            requested_delay(&headers(&[("retry-after", "later")]), now),
            None
        );
        assert_eq!(requested_delay(&HeaderMap::new(), now), None);
    }

    #[test]
    fn requested_delays_are_capped_and_backoff_is_the_fallback() {
        let mut config = ClientConfig::new("http://h/v1", "m");
        config.max_retry_after = Duration::from_secs(60);
        config.backoff_base = Duration::from_millis(10);
        config.backoff_cap = Duration::from_millis(10);
        let long = Some(Duration::from_secs(3600));
        assert_eq!(retry_delay(1, long, &config), Duration::from_secs(60));
        let short = Some(Duration::from_millis(1));
        assert_eq!(retry_delay(1, short, &config), Duration::from_millis(1));
        let backoff = retry_delay(5, None, &config);
        assert!(backoff >= Duration::from_millis(5) && backoff <= Duration::from_millis(10));
    }
}
