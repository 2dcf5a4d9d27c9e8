//! `hast-worker`: pulls jobs from JetStream, runs them, persists their results.
//!
//! Run as many as you like, on any host that reaches NATS and the database.
//!
//! Layout:
//! - [`ai`]: the model engine (`ANALYZER=openai`): the fleet-wide gate on model calls, the
//!   model's reading and its chat answers.
//! - [`app`]: start-up and shutdown (`Worker::build`, `run_until_stopped`).
//! - [`runner`]: the job loop (pull, run, record, acknowledge, retry, dead-letter).
//! - [`jobs`]: the handler trait, one file per job kind, the registration list.
//! - [`backoff`]: retry delays.
//! - [`result_writer`]: group commit of job results.
//! - [`reconciler`]: settles stranded jobs (stuck at `max_deliver`, or without a
//!   message); one worker of the fleet at a time, through a lease.
//! - [`heartbeat`]: this worker's entry in the `workers` KV bucket.
//! - [`metrics_server`]: `/healthz` and `/metrics` on `WORKER_METRICS_ADDR`.

pub mod ai;
pub mod app;
pub mod backoff;
pub mod heartbeat;
pub mod jobs;
pub mod metrics_server;
pub mod reconciler;
pub mod result_writer;
pub mod runner;

pub use app::Worker;
