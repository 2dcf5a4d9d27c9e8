//! `echo`: returns its payload; `sleep_ms`, `fail_times`, `fail` and `panic` drive the
//! platform's paths in tests and benchmarks.

use std::time::Duration;

use futures::future::BoxFuture;
use hast_common::jobs::kinds::echo::{EchoControls, KIND};
use serde_json::Value;

use super::{Handler, JobContext, JobError};

pub struct Echo;

impl Handler for Echo {
    fn kind(&self) -> &'static str {
        KIND
    }

    fn run(&self, ctx: JobContext, payload: Value) -> BoxFuture<'static, Result<Value, JobError>> {
        Box::pin(async move {
            let controls = EchoControls::from_payload(&payload)
                .map_err(|e| JobError::permanent("invalid_payload", e))?;
            if let Some(ms) = controls.sleep_ms.filter(|ms| *ms > 0) {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            if controls.panic == Some(true) {
                panic!("echo was asked to panic");
            }
            if controls.fail_unless_replayed == Some(true) && ctx.replay_of.is_none() {
                return Err(JobError::permanent(
                    "echo_failed",
                    "echo fails until replayed",
                ));
            }
            if controls.fail == Some(true) {
                return Err(JobError::permanent("echo_failed", "echo was asked to fail"));
            }
            if let Some(times) = controls.fail_times {
                if ctx.attempt <= times {
                    return Err(JobError::transient(
                        "echo_transient",
                        format!("failing attempt {} of the first {times}", ctx.attempt),
                    ));
                }
            }
            Ok(payload)
        })
    }
}
