use anyhow::Context;
use hast_common::config::Settings;
use hast_common::telemetry::{get_subscriber, init_subscriber, DEFAULT_FILTER};
use hast_worker::Worker;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_subscriber(get_subscriber(
        "hast-worker",
        DEFAULT_FILTER,
        std::io::stdout,
    ))?;
    let settings = Settings::from_env().context("invalid configuration")?;
    let worker = Worker::build(settings).await.context("start-up failed")?;
    worker
        .run_until_stopped(hast_common::shutdown::signal())
        .await;
    Ok(())
}
