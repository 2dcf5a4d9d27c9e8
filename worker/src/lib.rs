//! `hast-worker`: pulls jobs from JetStream, runs them, persists their results.
//!
//! Run as many as you like, on any host that reaches NATS and the database.
//!
//! Layout:
//! - [`app`]: start-up and shutdown (`Worker::build`, `run_until_stopped`).
//! - [`heartbeat`]: this worker's entry in the `workers` KV bucket.
//! - [`metrics_server`]: `/healthz` on `WORKER_METRICS_ADDR`.

pub mod app;
pub mod heartbeat;
pub mod metrics_server;

pub use app::Worker;
