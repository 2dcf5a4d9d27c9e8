//! The operator's console behind `hast-api workers|kinds|jobs|dlq`: [`run`] executes one
//! command and returns the JSON lines `main` prints (one object per line, for `jq`);
//! tests call it directly. docs/operations.md describes every command.

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{DateTime, Utc};
use hast_common::config::Settings;
use hast_common::db::Database;
use hast_common::jobs::listing::{self, MAX_LIST_LIMIT};
use hast_common::jobs::{dlq, queues, retry, JobState, NewJob, StatusStore, Submitter, KINDS};
use hast_common::nats::bootstrap::{open, Topology};
use hast_common::workers::live_workers;
use serde::Serialize;
use serde_json::{json, Value};

use crate::cli::{Command, DlqCommand, JobsCommand, KindsCommand};

/// What a console command printed.
#[derive(Debug, Default)]
pub struct Output {
    /// One JSON object per line.
    pub lines: Vec<Value>,
    /// How many of the items a bulk command acted on failed (each has a line with an
    /// `error`); the command then exits with an error after printing.
    pub failures: usize,
}

impl Output {
    fn push(&mut self, value: &impl Serialize) -> anyhow::Result<()> {
        self.lines.push(serde_json::to_value(value)?);
        Ok(())
    }

    fn one(value: &impl Serialize) -> anyhow::Result<Self> {
        let mut output = Self::default();
        output.push(value)?;
        Ok(output)
    }
}

/// A pause without `--until` lasts this long (JetStream needs a date).
const INDEFINITELY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// Runs one console command (not `serve` or `migrate`).
pub async fn run(settings: &Settings, command: Command) -> anyhow::Result<Output> {
    // Boxed: the commands' state machines are large; keep them off the caller's stack.
    match command {
        Command::Serve | Command::Migrate => bail!("not a console command"),
        Command::Workers => Box::pin(workers(settings)).await,
        Command::Kinds(command) => Box::pin(kinds(settings, command)).await,
        Command::Jobs(command) => Box::pin(jobs(settings, command)).await,
        Command::Dlq(command) => Box::pin(dead_letters(settings, command)).await,
    }
}

async fn topology(settings: &Settings) -> anyhow::Result<Topology> {
    let client = hast_common::nats::connect(settings, "hast-ops", Duration::from_secs(5))
        .await
        .context("cannot reach NATS")?;
    // Open, never reconcile: an operator's shell must not rewrite the consumers'
    // settings with its own environment.
    Ok(open(client).await?)
}

fn database(settings: &Settings) -> anyhow::Result<Database> {
    Ok(Database::connect(
        settings.database_url.expose(),
        settings.database_pool_size,
    )?)
}

fn submitter(settings: &Settings, topology: &Topology) -> Submitter {
    Submitter::new(
        topology.jetstream.clone(),
        StatusStore::of(topology),
        topology.idempotency.clone(),
        settings.jobs.max_attempts,
    )
    .with_timeout(settings.jobs.submit_timeout)
}

/// An RFC 3339 date, or a duration counted from now: forward for `Later`, back for
/// `Ago`.
fn parse_when(text: &str, direction: Direction) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(at.with_timezone(&Utc));
    }
    let span = humantime::parse_duration(text)
        .with_context(|| format!("{text:?} is neither an RFC 3339 date nor a duration"))?;
    let span = chrono::Duration::from_std(span).context("duration out of range")?;
    let now = Utc::now();
    match direction {
        Direction::Later => now.checked_add_signed(span),
        Direction::Ago => now.checked_sub_signed(span),
    }
    .context("date out of range")
}

#[derive(Clone, Copy)]
enum Direction {
    Later,
    Ago,
}

/// `hast-api workers`
async fn workers(settings: &Settings) -> anyhow::Result<Output> {
    let topology = topology(settings).await?;
    let mut output = Output::default();
    for worker in live_workers(&topology.workers).await? {
        output.push(&worker)?;
    }
    Ok(output)
}

/// `hast-api kinds …`
async fn kinds(settings: &Settings, command: KindsCommand) -> anyhow::Result<Output> {
    let topology = topology(settings).await?;
    let js = &topology.jetstream;
    let mut queue = match command {
        KindsCommand::List => {
            let workers = live_workers(&topology.workers).await?;
            let mut output = Output::default();
            for spec in KINDS {
                let mut queue = queues::state(js, spec.name).await?;
                queue.workers = workers
                    .iter()
                    .filter(|w| w.kinds.iter().any(|k| k == spec.name))
                    .count();
                output.push(&queue)?;
            }
            return Ok(output);
        }
        KindsCommand::Pause { kind, until } => {
            let until = match until {
                Some(text) => parse_when(&text, Direction::Later)?,
                None => Utc::now() + chrono::Duration::from_std(INDEFINITELY)?,
            };
            let queue = queues::pause(js, &kind, until).await?;
            tracing::warn!(job.kind = %kind, pause_until = %until, "kind paused");
            queue
        }
        KindsCommand::Resume { kind } => {
            let queue = queues::resume(js, &kind).await?;
            tracing::warn!(job.kind = %kind, "kind resumed");
            queue
        }
    };
    let workers = live_workers(&topology.workers).await?;
    queue.workers = workers
        .iter()
        .filter(|w| w.kinds.contains(&queue.kind))
        .count();
    Output::one(&queue)
}

/// `hast-api jobs …`
async fn jobs(settings: &Settings, command: JobsCommand) -> anyhow::Result<Output> {
    let topology = topology(settings).await?;
    let statuses = StatusStore::of(&topology);
    match command {
        JobsCommand::Show { id } => {
            let (status, _) = statuses
                .get(&id)
                .await
                .with_context(|| format!("job {id}"))?;
            Output::one(&status)
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
            Output::one(&submitted.status)
        }
        JobsCommand::List { state, kind, limit } => {
            let state: JobState = serde_json::from_value(Value::String(state.clone()))
                .with_context(|| format!("unknown state {state:?}"))?;
            if limit > MAX_LIST_LIMIT {
                bail!("--limit is at most {MAX_LIST_LIMIT}");
            }
            let db = database(settings)?;
            let listing = listing::list(
                &topology.jetstream,
                &statuses,
                &db,
                state,
                kind.as_deref(),
                limit,
            )
            .await?;
            if !listing.complete {
                tracing::warn!(
                    scanned = listing::MAX_QUEUE_SCAN,
                    "the JOBS queue is deeper than one listing reads; more jobs may be in this state"
                );
            }
            let mut output = Output::default();
            for job in &listing.jobs {
                output.push(job)?;
            }
            Ok(output)
        }
        JobsCommand::Cancel { id } => {
            let status = statuses
                .cancel(&id)
                .await
                .with_context(|| format!("job {id}"))?;
            tracing::warn!(job.id = %id, "job cancelled by an operator");
            Output::one(&status)
        }
        JobsCommand::Retry { id, force } => {
            let submitter = submitter(settings, &topology);
            let retried = retry::retry(&topology.jetstream, &submitter, &id, force).await?;
            Output::one(&retried.submitted.status)
        }
    }
}

/// `hast-api dlq …`
async fn dead_letters(settings: &Settings, command: DlqCommand) -> anyhow::Result<Output> {
    let topology = topology(settings).await?;
    let js = &topology.jetstream;
    match command {
        DlqCommand::List { limit } => {
            let mut output = Output::default();
            for letter in dlq::list(js, limit).await? {
                output.push(&letter)?;
            }
            Ok(output)
        }
        DlqCommand::Show { sequence } => Output::one(&dlq::show(js, sequence).await?),
        DlqCommand::Replay {
            sequence: Some(sequence),
            force,
            ..
        } => {
            let submitter = submitter(settings, &topology);
            let db = database(settings)?;
            let submitted = replay_one(js, &submitter, &db, sequence, force).await?;
            Output::one(&submitted.status)
        }
        DlqCommand::Replay {
            sequence: None,
            force,
            kind,
            code,
            since,
            all,
            limit,
            dry_run,
        } => {
            if kind.is_none() && code.is_none() && since.is_none() && !all {
                bail!("name the letters to replay: --kind, --code, --since, or --all");
            }
            if limit > MAX_LIST_LIMIT {
                bail!("--limit is at most {MAX_LIST_LIMIT}");
            }
            let filter = dlq::Filter {
                kind,
                error_code: code,
                since: since
                    .map(|text| parse_when(&text, Direction::Ago))
                    .transpose()?,
            };
            let letters = dlq::find(js, &filter, limit).await?;
            if dry_run {
                let mut output = Output::default();
                for letter in &letters {
                    output.push(letter)?;
                }
                return Ok(output);
            }
            replay_all(settings, &topology, letters, force).await
        }
        DlqCommand::Delete { sequence } => {
            dlq::delete(js, sequence).await?;
            tracing::warn!(
                dlq.sequence = sequence,
                "dead letter deleted by an operator"
            );
            Output::one(&json!({ "deleted": sequence }))
        }
        DlqCommand::Purge { yes } => {
            if !yes {
                bail!("purging dead letters cannot be undone; pass --yes");
            }
            let purged = dlq::purge(js).await?;
            Output::one(&json!({ "purged": purged }))
        }
    }
}

/// Replays `letters` one by one: a line per letter with the job it became or why it
/// could not be replayed (counted in `failures`).
async fn replay_all(
    settings: &Settings,
    topology: &Topology,
    letters: Vec<dlq::DeadLetter>,
    force: bool,
) -> anyhow::Result<Output> {
    let submitter = submitter(settings, topology);
    let db = database(settings)?;
    let mut output = Output::default();
    for letter in letters {
        let replayed =
            replay_one(&topology.jetstream, &submitter, &db, letter.sequence, force).await;
        let mut line = json!({
            "sequence": letter.sequence,
            "job_id": letter.job_id,
            "kind": letter.kind,
            "error_code": letter.error_code,
        });
        match replayed {
            Ok(submitted) => line["job"] = serde_json::to_value(&submitted.status)?,
            Err(err) => {
                output.failures += 1;
                line["error"] = Value::String(format!("{err:#}"));
            }
        }
        output.lines.push(line);
    }
    Ok(output)
}

/// Replays one dead letter; without `force`, refuses a job whose result says it
/// completed after all.
async fn replay_one(
    js: &async_nats::jetstream::Context,
    submitter: &Submitter,
    db: &Database,
    sequence: u64,
    force: bool,
) -> anyhow::Result<hast_common::jobs::Submitted> {
    let completed = match dlq::show(js, sequence).await?.envelope {
        Some(envelope) if !force => db
            .find_job_result(&envelope.id)
            .await?
            .is_some_and(|row| row.outcome == "completed"),
        _ => false,
    };
    let mode = if force {
        dlq::Replay::Force
    } else {
        dlq::Replay::UnlessCompleted
    };
    Ok(dlq::replay(js, submitter, sequence, mode, completed).await?)
}
