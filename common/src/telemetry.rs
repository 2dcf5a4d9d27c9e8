//! Logging: bunyan JSON lines on stdout, filtered by `RUST_LOG`.
//!
//! Built the zero-to-production way: `Registry + EnvFilter + JsonStorageLayer +
//! BunyanFormattingLayer`. Each line carries `v`, `name`, `hostname`, `pid`, `level`,
//! `time`, `msg`, plus the fields of every enclosing span (for example the request's
//! `correlation_id`), so `hast-api | bunyan` pretty-prints it.
//!
//! Rule: values that are secrets (passwords, tokens, API keys, database passwords) are
//! never passed to a log macro; configuration types redact them in `Debug`.

use tracing::subscriber::set_global_default;
use tracing::Subscriber;
use tracing_bunyan_formatter::{BunyanFormattingLayer, JsonStorageLayer};
use tracing_log::LogTracer;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::{EnvFilter, Registry};

/// Why the global subscriber could not be installed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("a global tracing subscriber is already installed")]
    AlreadySet(#[from] tracing::subscriber::SetGlobalDefaultError),
    #[error("the `log` bridge is already installed")]
    LogBridge(#[from] tracing_log::log::SetLoggerError),
}

/// Builds a subscriber that writes bunyan JSON to `sink`.
///
/// `name` becomes the bunyan `name` field (the binary's name); `default_filter` applies
/// when `RUST_LOG` is not set.
pub fn get_subscriber<Sink>(
    name: &str,
    default_filter: &str,
    sink: Sink,
) -> impl Subscriber + Send + Sync
where
    Sink: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let env_filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    Registry::default()
        .with(env_filter)
        .with(JsonStorageLayer)
        .with(BunyanFormattingLayer::new(name.to_owned(), sink))
}

/// Installs `subscriber` for the whole process and routes `log` records into it.
pub fn init_subscriber(subscriber: impl Subscriber + Send + Sync) -> Result<(), TelemetryError> {
    LogTracer::init()?;
    set_global_default(subscriber)?;
    Ok(())
}

/// The default filter: our crates at info, noisy dependencies at warn.
pub const DEFAULT_FILTER: &str =
    "info,hyper=warn,hyper_util=warn,async_nats=warn,tokio_postgres=warn,warp=warn";
