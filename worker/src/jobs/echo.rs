//! `echo`: returns its payload; `sleep_ms`, `fail_times`, `fail` and `panic` drive the
//! platform's paths in tests and benchmarks.
//!
//! With `ECHO_EXECUTION_LOG` set, every run of the handler first appends a line
//! `<job id> <attempt> <worker id>` to that file, so tests (and operators checking a
//! deployment) count executions, not rows: "exactly once" can then fail.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::future::BoxFuture;
use hast_common::jobs::payloads::echo::EchoPayload;
use serde_json::Value;

use super::{JobContext, JobError, JobHandler};

/// The `echo` handler.
#[derive(Debug, Default)]
pub struct Echo {
    executions: Option<Arc<Mutex<std::fs::File>>>,
}

impl Echo {
    /// An echo that appends each execution to `path` (created if missing).
    pub fn with_execution_log(path: &Path) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        Ok(Self {
            executions: Some(Arc::new(Mutex::new(file))),
        })
    }
}

impl JobHandler for Echo {
    type Job = EchoPayload;

    fn run(
        &self,
        ctx: JobContext,
        payload: EchoPayload,
    ) -> BoxFuture<'static, Result<Value, JobError>> {
        let executions = self.executions.clone();
        Box::pin(async move {
            if let Some(log) = executions {
                let line = format!("{} {} {}\n", ctx.job_id, ctx.attempt, ctx.identity.id);
                // One write of one short line to a file opened for appending.
                let written = log.lock().map_err(|e| e.to_string()).and_then(|mut file| {
                    file.write_all(line.as_bytes()).map_err(|e| e.to_string())
                });
                if let Err(err) = written {
                    return Err(JobError::transient("execution_log", err));
                }
            }
            let controls = &payload.controls;
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
            serde_json::to_value(&payload)
                .map_err(|e| JobError::permanent("serialise", e.to_string()))
        })
    }
}
