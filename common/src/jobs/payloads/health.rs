//! `health`: a worker self-check of its database and NATS connection. Its result
//! names the worker and the latency of each check.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::jobs::{Concurrency, Job};

/// The job's payload: any JSON object (its fields are ignored).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct HealthPayload(pub Map<String, Value>);

impl Job for HealthPayload {
    const KIND: &'static str = "health";
    const TIMEOUT: Duration = Duration::from_secs(10);
    const CONCURRENCY: Concurrency = Concurrency::Fixed(16);
}
