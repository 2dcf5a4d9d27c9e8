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
    /// Live workers (from their heartbeats), each with the jobs it is running.
    Workers,
    /// Job kinds: their queues; pause and resume.
    #[command(subcommand)]
    Kinds(KindsCommand),
    /// Jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Dead letters in JOBS_DLQ.
    #[command(subcommand)]
    Dlq(DlqCommand),
}

#[derive(Debug, Subcommand)]
pub enum KindsCommand {
    /// Every kind's queue: paused or not, pending and in-progress jobs, live workers.
    List,
    /// Stop delivering jobs of a kind to workers; new jobs wait, queued.
    Pause {
        kind: String,
        /// An RFC 3339 date, or a duration from now (`30m`); without it, until resumed.
        #[arg(long)]
        until: Option<String>,
    },
    /// Deliver jobs of a kind again (harmless when it is not paused).
    Resume { kind: String },
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
    /// List jobs in a state: queued, retrying and running from the JOBS queue (oldest
    /// first); completed and failed from job_results (newest first).
    List {
        /// queued, retrying, running, completed or failed.
        #[arg(long)]
        state: String,
        #[arg(long)]
        kind: Option<String>,
        /// At most this many (at most 1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Cancel a job, whoever owns it (as its owner's DELETE does).
    Cancel { id: String },
    /// Run a failed or cancelled job again as a new job linked to the original, from
    /// its stored message (its dead letter, or its message still queued).
    Retry {
        id: String,
        /// Also run a job that completed.
        #[arg(long)]
        force: bool,
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
    /// Submit dead letters' jobs again, each as a new job linked to its original, and
    /// remove the letters: the one at SEQUENCE, or those matching the filters. A job
    /// that completed after all (its result is stored) is refused unless --force.
    Replay {
        #[arg(conflicts_with_all = ["kind", "code", "since", "all", "limit", "dry_run"])]
        sequence: Option<u64>,
        /// Run it again even if it completed.
        #[arg(long)]
        force: bool,
        /// Only letters of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only letters with this error code (`Hast-Error-Code`, e.g. `timeout`).
        #[arg(long)]
        code: Option<String>,
        /// Only letters dead-lettered since: an RFC 3339 date or a duration ago (`2h`).
        #[arg(long)]
        since: Option<String>,
        /// Every letter (required when no filter is given).
        #[arg(long)]
        all: bool,
        /// At most this many letters (at most 1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Print the matching letters; replay nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Remove one dead letter without replaying it.
    Delete { sequence: u64 },
    /// Remove every dead letter.
    Purge {
        /// Required: purging cannot be undone.
        #[arg(long)]
        yes: bool,
    },
}
