//! What `hast-api` and `hast-worker` share.
//!
//! - [`config`]: typed settings from the environment, with production safety checks.
//! - [`telemetry`]: bunyan JSON logging.
//! - [`db`]: the [`db::Database`] handle over SQLite or PostgreSQL, schema, models,
//!   embedded migrations and one query module per table.
//! - [`nats`]: connecting to NATS and creating the JetStream topology (streams,
//!   consumers, KV buckets, object store) whose names are in [`nats::names`].
//! - [`jobs`]: the job kinds.
//! - [`workers`]: worker heartbeats.
//! - [`metrics`]: the Prometheus recorder.
//! - [`photo`]: checking an uploaded palm photo and normalising it to an upright,
//!   metadata-free JPEG.
//! - [`shutdown`]: the SIGTERM/SIGINT signal.

pub mod config;
pub mod db;
pub mod jobs;
pub mod metrics;
pub mod nats;
pub mod photo;
pub mod shutdown;
pub mod startup;
pub mod telemetry;
pub mod workers;
