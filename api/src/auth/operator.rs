//! Operator access to `/metrics` and the health check's details (`METRICS_TOKEN`).
//!
//! With a token set, a request carrying `Authorization: Bearer <METRICS_TOKEN>` sees them;
//! others see only the overall health status, and `/metrics` answers 401. Without a
//! token, development shows everything and production hides `/metrics` (404) and the
//! details.

use hast_common::config::{AppEnv, Settings};
use secrecy::ExposeSecret;
use sha2::{Digest, Sha256};
use warp::http::HeaderMap;

/// What a caller may see of the operator endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperatorAccess {
    /// Everything: metrics and health details.
    Full,
    /// A token is configured and this caller did not present it.
    Denied,
    /// No token is configured, in production: the operator endpoints are off.
    Off,
}

/// The access of a request with `headers`.
pub fn access(settings: &Settings, headers: &HeaderMap) -> OperatorAccess {
    let Some(token) = &settings.api.metrics_token else {
        return if settings.app_env == AppEnv::Development {
            OperatorAccess::Full
        } else {
            OperatorAccess::Off
        };
    };
    let presented = headers
        .get(warp::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    // Compared as digests: equal length, and no early exit on the secret's bytes.
    if Sha256::digest(presented.as_bytes()) == Sha256::digest(token.expose_secret().as_bytes()) {
        OperatorAccess::Full
    } else {
        OperatorAccess::Denied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Settings {
        let vars: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| vars.get(k).cloned()).expect("settings")
    }

    fn bearer(token: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            warp::http::header::AUTHORIZATION,
            format!("Bearer {token}").parse().expect("a header value"),
        );
        headers
    }

    #[test]
    fn the_token_opens_the_operator_endpoints_and_nothing_else_does() {
        let s = settings(&[("METRICS_TOKEN", "s3cret-token-for-prometheus")]);
        assert_eq!(
            access(&s, &bearer("s3cret-token-for-prometheus")),
            OperatorAccess::Full
        );
        assert_eq!(access(&s, &bearer("guess")), OperatorAccess::Denied);
        assert_eq!(access(&s, &HeaderMap::new()), OperatorAccess::Denied);
    }

    #[test]
    fn without_a_token_development_is_open_and_production_is_off() {
        assert_eq!(
            access(&settings(&[]), &HeaderMap::new()),
            OperatorAccess::Full
        );
        let secret = "x".repeat(40);
        let production = settings(&[("APP_ENV", "production"), ("SESSION_SECRET", &secret)]);
        assert_eq!(access(&production, &HeaderMap::new()), OperatorAccess::Off);
    }
}
