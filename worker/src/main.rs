use anyhow::Context;
use clap::Parser;
use hast_common::config::Settings;
use hast_common::telemetry::{get_subscriber, init_subscriber, DEFAULT_FILTER};
use hast_worker::Worker;

/// Hast worker: pulls jobs from JetStream, runs them and persists their results.
/// Configured entirely through environment variables (see docs/configuration.md).
#[derive(Debug, Parser)]
#[command(name = "hast-worker", version, about)]
struct Cli {}

/// mimalloc: the services allocate many small, short-lived buffers per request and
/// job; see docs/benchmarks.md for the measured effect.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse();
    init_subscriber(get_subscriber(
        "hast-worker",
        DEFAULT_FILTER,
        std::io::stdout,
    ))?;
    let settings = Settings::from_env().context("invalid configuration")?;
    let worker = Worker::build(settings).await.context("start-up failed")?;
    // A second signal means "now": exit without waiting for running jobs (they are
    // redelivered after JOB_ACK_WAIT).
    let shutdown = hast_common::shutdown::first_then(|| std::process::exit(130));
    worker.run_until_stopped(shutdown).await;
    Ok(())
}
