//! Operator commands behind `hast-api workers|jobs|dlq`.

use anyhow::{bail, Context};
use hast_common::config::Settings;
use hast_common::db::Database;
use hast_common::jobs::{dlq, NewJob, StatusStore, Submitter};
use hast_common::nats::bootstrap::{open, Topology};
use hast_common::workers::live_workers;
use serde::Serialize;

use crate::cli::{DlqCommand, JobsCommand};

async fn topology(settings: &Settings) -> anyhow::Result<Topology> {
    let client =
        hast_common::nats::connect(settings, "hast-ops", std::time::Duration::from_secs(5))
            .await
            .context("cannot reach NATS")?;
    // Open, never reconcile: an operator's shell must not rewrite the consumers'
    // settings with its own environment.
    Ok(open(client).await?)
}

fn submitter(settings: &Settings, topology: &Topology) -> Submitter {
    Submitter::new(
        topology.jetstream.clone(),
        StatusStore::of(topology),
        topology.idempotency.clone(),
        settings.job_max_attempts,
    )
    .with_timeout(settings.job_submit_timeout)
}

fn print(value: &impl Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

/// `hast-api workers`
pub async fn workers(settings: &Settings) -> anyhow::Result<()> {
    let topology = topology(settings).await?;
    for worker in live_workers(&topology.workers).await? {
        print(&worker)?;
    }
    Ok(())
}

/// `hast-api jobs …`
pub async fn jobs(settings: &Settings, command: JobsCommand) -> anyhow::Result<()> {
    let topology = topology(settings).await?;
    match command {
        JobsCommand::Show { id } => {
            let (status, _) = StatusStore::of(&topology)
                .get(&id)
                .await
                .with_context(|| format!("job {id}"))?;
            print(&status)
        }
        JobsCommand::Submit { kind, payload } => {
            let payload = serde_json::from_str(&payload).context("payload is not JSON")?;
            let submitted = submitter(settings, &topology)
                .submit(NewJob {
                    kind,
                    payload,
                    owner_id: None,
                    correlation_id: None,
                    idempotency_key: None,
                    replay_of: None,
                })
                .await?;
            print(&submitted.status)
        }
    }
}

/// `hast-api dlq …`
pub async fn dlq(settings: &Settings, command: DlqCommand) -> anyhow::Result<()> {
    let topology = topology(settings).await?;
    let js = &topology.jetstream;
    match command {
        DlqCommand::List { limit } => {
            for letter in dlq::list(js, limit).await? {
                print(&letter)?;
            }
            Ok(())
        }
        DlqCommand::Show { sequence } => print(&dlq::show(js, sequence).await?),
        DlqCommand::Replay { sequence, force } => {
            let mode = if force {
                dlq::Replay::Force
            } else {
                dlq::Replay::UnlessCompleted
            };
            let completed = match dlq::show(js, sequence).await?.envelope {
                Some(envelope) if !force => {
                    let db = Database::connect(
                        settings.database_url.expose(),
                        settings.database_pool_size,
                    )?;
                    db.find_job_result(&envelope.id)
                        .await?
                        .is_some_and(|row| row.outcome == "completed")
                }
                _ => false,
            };
            let submitter = submitter(settings, &topology);
            let submitted = dlq::replay(js, &submitter, sequence, mode, completed).await?;
            print(&submitted.status)
        }
        DlqCommand::Purge { yes } => {
            if !yes {
                bail!("purging dead letters cannot be undone; pass --yes");
            }
            let purged = dlq::purge(js).await?;
            print(&serde_json::json!({ "purged": purged }))
        }
    }
}
