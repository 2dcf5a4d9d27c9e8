//! `echo`: the test task. Returns its payload. Optional controls drive every path of
//! the platform end to end:
//! - `sleep_ms`: take this long (at most [`MAX_SLEEP_MS`]);
//! - `fail_times`: fail transiently on the first N attempts, then succeed;
//! - `fail`: fail permanently;
//! - `panic`: panic in the handler (a panic fails that job only);
//! - `fail_unless_replayed`: fail permanently unless the job is a dead-letter replay
//!   (drives the dead-letter → replay → completed path).

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const KIND: &str = "echo";
/// Longest accepted `sleep_ms`.
pub const MAX_SLEEP_MS: u64 = 60_000;

/// The controls an echo payload may carry; every other field is echoed back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct EchoControls {
    pub sleep_ms: Option<u64>,
    pub fail_times: Option<u32>,
    pub fail: Option<bool>,
    pub panic: Option<bool>,
    pub fail_unless_replayed: Option<bool>,
}

impl EchoControls {
    /// The controls in `payload` (which must be an object).
    pub fn from_payload(payload: &Value) -> Result<Self, String> {
        if !payload.is_object() {
            return Err("the payload must be a JSON object".into());
        }
        let controls: Self = serde_json::from_value(payload.clone())
            .map_err(|e| format!("invalid echo controls: {e}"))?;
        if controls.sleep_ms.is_some_and(|ms| ms > MAX_SLEEP_MS) {
            return Err(format!("sleep_ms must be at most {MAX_SLEEP_MS}"));
        }
        Ok(controls)
    }
}

/// Validates an echo payload.
pub fn validate(payload: &Value) -> Result<(), String> {
    EchoControls::from_payload(payload).map(|_| ())
}
