//! `health`: the worker checks its own database and NATS connection.

use std::time::{Duration, Instant};

use futures::future::BoxFuture;
use hast_common::jobs::payloads::health::HealthPayload;
use serde_json::{json, Value};

use super::{JobContext, JobError, JobHandler};

pub struct Health;

impl JobHandler for Health {
    type Job = HealthPayload;

    fn run(
        &self,
        ctx: JobContext,
        _job: HealthPayload,
    ) -> BoxFuture<'static, Result<Value, JobError>> {
        Box::pin(async move {
            let started = Instant::now();
            ctx.db
                .ping(Duration::from_secs(2))
                .await
                .map_err(|e| JobError::transient("database_unavailable", e.to_string()))?;
            let database_ms = started.elapsed().as_secs_f64() * 1000.0;
            let started = Instant::now();
            ctx.nats
                .flush()
                .await
                .map_err(|e| JobError::transient("nats_unavailable", e.to_string()))?;
            let nats_ms = started.elapsed().as_secs_f64() * 1000.0;
            Ok(json!({
                "worker": ctx.identity.id,
                "host": ctx.identity.host,
                "database_ms": database_ms,
                "nats_ms": nats_ms,
            }))
        })
    }
}
