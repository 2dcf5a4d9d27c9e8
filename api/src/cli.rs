//! The `hast-api` command line.

use clap::{Parser, Subcommand};

/// Hast HTTP API.
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
}
