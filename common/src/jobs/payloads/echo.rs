//! `echo`: the test task. Returns its payload. Optional controls drive every path of
//! the platform end to end:
//! - `sleep_ms`: take this long (at most [`MAX_SLEEP_MS`]);
//! - `fail_times`: fail transiently on the first N attempts, then succeed;
//! - `fail`: fail permanently;
//! - `panic`: panic in the handler (a panic fails that job only);
//! - `fail_unless_replayed`: fail permanently unless the job is a dead-letter replay
//!   (drives the dead-letter → replay → completed path).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jobs::{Concurrency, Job};

/// Longest accepted `sleep_ms`.
pub const MAX_SLEEP_MS: u64 = 60_000;

/// The controls an echo payload may carry.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EchoControls {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sleep_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_times: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub panic: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fail_unless_replayed: Option<bool>,
}

/// The job's payload: the controls, and every other field, echoed back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EchoPayload {
    #[serde(flatten)]
    pub controls: EchoControls,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl Job for EchoPayload {
    const KIND: &'static str = "echo";
    const PUBLIC: bool = true;
    const DEVELOPMENT_ONLY: bool = true;
    const TIMEOUT: Duration = Duration::from_secs(90);
    const CONCURRENCY: Concurrency = Concurrency::Fixed(256);

    fn validate(&self) -> Result<(), String> {
        if self.controls.sleep_ms.is_some_and(|ms| ms > MAX_SLEEP_MS) {
            return Err(format!("sleep_ms must be at most {MAX_SLEEP_MS}"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_echo_payload_keeps_every_field() {
        let payload = json!({"sleep_ms": 5, "fail": true, "note": "hi", "n": [1, 2]});
        let parsed: EchoPayload = crate::jobs::job::parse(&payload).unwrap();
        assert_eq!(parsed.controls.sleep_ms, Some(5));
        assert_eq!(parsed.controls.fail, Some(true));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), payload);
        assert_eq!(
            serde_json::to_value(crate::jobs::job::parse::<EchoPayload>(&json!({})).unwrap())
                .unwrap(),
            json!({})
        );
    }

    #[test]
    fn bad_echo_payloads_are_refused() {
        use crate::jobs::job::validate_value;
        assert!(validate_value::<EchoPayload>(&json!({"sleep_ms": "soon"})).is_err());
        assert!(validate_value::<EchoPayload>(&json!({"sleep_ms": 60_001})).is_err());
        assert!(validate_value::<EchoPayload>(&json!([1, 2])).is_err());
        assert!(validate_value::<EchoPayload>(&json!({"sleep_ms": 60_000})).is_ok());
    }
}
