use anyhow::Context;
use clap::Parser;
use hast_api::cli::{Cli, Command};
use hast_api::Application;
use hast_common::config::Settings;
use hast_common::db::Database;
use hast_common::telemetry::{get_subscriber, init_subscriber, DEFAULT_FILTER};

/// mimalloc: the services allocate many small, short-lived buffers per request and
/// job; see docs/benchmarks.md for the measured effect.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    hast_api::runtime(0)
        .build()
        .context("cannot start the async runtime")?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // The server logs to stdout; operator commands keep stdout for their JSON output.
    let serving = matches!(
        cli.command,
        None | Some(Command::Serve) | Some(Command::Migrate)
    );
    if serving {
        init_subscriber(get_subscriber("hast-api", DEFAULT_FILTER, std::io::stdout))?;
    } else {
        init_subscriber(get_subscriber("hast-api", "warn", std::io::stderr))?;
    }
    let settings = Settings::from_env().context("invalid configuration")?;
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let app = Application::build(settings)
                .await
                .context("start-up failed")?;
            app.run_until_stopped(hast_common::shutdown::signal()).await;
        }
        Command::Migrate => {
            let db =
                Database::connect(settings.database_url.expose(), settings.database_pool_size)?;
            let applied = db.run_migrations().await?;
            tracing::info!(
                db.url = %settings.database_url,
                migrations.applied = ?applied,
                "migrations applied"
            );
        }
        console => {
            let output = hast_api::ops::run(&settings, console).await?;
            for line in &output.lines {
                println!("{line}");
            }
            if output.failures > 0 {
                anyhow::bail!(
                    "{} of them failed (the lines with an \"error\")",
                    output.failures
                );
            }
        }
    }
    Ok(())
}
