//! Reading one variable: numbers, booleans, durations, address ranges, and the
//! common range checks. Every error names its variable.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use super::ConfigError;

/// A variable's value by name (`None`: unset or blank).
pub(super) trait Get: Fn(&str) -> Option<String> {}

impl<F: Fn(&str) -> Option<String>> Get for F {}

/// `variable` must be at least 1.
pub(super) fn positive(variable: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Invalid {
            variable,
            value: value.to_string(),
            reason: "must be at least 1".into(),
        })
    } else {
        Ok(())
    }
}

/// `variable` must be at least `min`.
pub(super) fn at_least(
    variable: &'static str,
    value: Duration,
    min: Duration,
) -> Result<(), ConfigError> {
    if value < min {
        Err(ConfigError::Invalid {
            variable,
            value: humantime::format_duration(value).to_string(),
            reason: format!("must be at least {}", humantime::format_duration(min)),
        })
    } else {
        Ok(())
    }
}

pub(super) fn parse<T: FromStr>(
    get: &impl Get,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match get(variable) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid {
                variable,
                value: raw.clone(),
                reason: e.to_string(),
            }),
    }
}

/// Comma-separated CIDR ranges; a bare address is a range of one.
pub(super) fn parse_networks(
    get: &impl Get,
    variable: &'static str,
    default: &str,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let raw = get(variable).unwrap_or_else(|| default.to_owned());
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| ConfigError::Invalid {
                    variable,
                    value: s.to_owned(),
                    reason: "expected an IP address or a CIDR range such as 10.0.0.0/8".into(),
                })
        })
        .collect()
}

pub(super) fn parse_bool(
    get: &impl Get,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::Invalid {
                variable,
                value: raw,
                reason: "expected true or false".into(),
            }),
        },
    }
}

/// The number of cores this process may use (1 when it cannot be told).
pub(super) fn default_cores() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
}

pub(super) fn parse_duration(
    get: &impl Get,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => {
            let trimmed = raw.trim();
            // A bare number means seconds.
            if let Ok(secs) = trimmed.parse::<u64>() {
                return Ok(Duration::from_secs(secs));
            }
            humantime::parse_duration(trimmed).map_err(|e| ConfigError::Invalid {
                variable,
                value: raw.clone(),
                reason: format!("{e} (examples: 30s, 10m, 7d)"),
            })
        }
    }
}
