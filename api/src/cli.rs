//! The `hast-api` command line: the server, migrations, and operator commands that
//! talk to NATS directly (they print JSON, one object per line, for `jq`).

use clap::{Parser, Subcommand};

/// Hast HTTP API and operator tools.
#[derive(Debug, Parser)]
#[command(name = "hast-api", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What to do; `serve` when omitted.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve HTTP on BIND_ADDR (the default).
    Serve,
    /// Apply pending database migrations to DATABASE_URL and exit.
    Migrate,
    /// Live workers (from their heartbeats).
    Workers,
    /// Jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Dead letters in JOBS_DLQ.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, Subcommand)]
pub enum JobsCommand {
    /// Show a job's status.
    Show { id: String },
    /// Submit a job of any kind (operators may submit non-public kinds).
    Submit {
        kind: String,
        /// The payload as JSON.
        #[arg(default_value = "{}")]
        payload: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead letters, oldest first.
    List {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Show one dead letter.
    Show { sequence: u64 },
    /// Submit a dead letter's job again as a new job linked to the original. A job that
    /// completed after all (its result is stored) is refused unless --force.
    Replay {
        sequence: u64,
        /// Run it again even if it completed.
        #[arg(long)]
        force: bool,
    },
    /// Remove every dead letter.
    Purge {
        /// Required: purging cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}
