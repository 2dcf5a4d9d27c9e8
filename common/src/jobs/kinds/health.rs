//! `health`: a worker self-check of its database and NATS connection. Its result
//! names the worker and the latency of each check.

pub const KIND: &str = "health";
