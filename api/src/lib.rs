//! `hast-api`: the HTTP face of Hast.
//!
//! It accepts work, publishes jobs to JetStream and reports their status; it never
//! consumes jobs (that is `hast-worker`'s job).
//!
//! Layout:
//! - [`app`]: start-up (`Application::build`, `run_until_stopped`).
//! - [`auth`]: sessions, passwords, CSRF, the identity filters and abuse limits.
//! - [`server`]: the hyper loop, CORS and graceful shutdown.
//! - [`request_context`]: correlation ids, the request span and the access log.
//! - [`routes`]: one module per resource (`routes/health.rs`, …).
//! - [`error`]: `ApiError` and the single mapping of failures to JSON error responses.
//! - [`extract`]: shared request extractors (state, JSON bodies).
//! - [`state`]: `AppState`, what handlers get.
//! - [`cli`]: the `hast-api` command line (`serve`, `migrate`, `workers`, `kinds`, `jobs`, `dlq`).
//! - [`ops`]: the operator's console (the commands other than `serve` and `migrate`).

pub mod accounts;
pub mod analyses;
pub mod app;
pub mod auth;
pub mod cli;
pub mod error;
pub mod extract;
pub mod ops;
pub mod request_context;
pub mod routes;
pub mod server;
pub mod state;
pub mod stream_slots;

pub use app::{runtime, Application};
