//! `settings.worker`: what only the worker reads (its kinds and slots, the engine,
//! how it waits out NATS and the database, the reconciler, shutdown).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::SecretString;

use super::parse::{at_least, parse, parse_duration, positive, Get};
use super::ConfigError;
use crate::jobs::WorkerPools;

/// Which engine interprets palm photos.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Analyzer {
    Offline,
    OpenAi,
}

impl FromStr for Analyzer {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "offline" => Ok(Self::Offline),
            "openai" => Ok(Self::OpenAi),
            _ => Err("expected offline or openai".into()),
        }
    }
}

/// What only the worker reads.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `ANALYZER`: offline (default) or openai.
    pub analyzer: Analyzer,
    /// `OPENAI_*`.
    pub openai: OpenAiSettings,
    /// `WORKER_KINDS` and `WORKER_CONCURRENCY`: the kinds one worker runs and how many
    /// jobs of each at once ([`WorkerPools`]).
    pub pools: WorkerPools,
    /// `WORKER_METRICS_ADDR`: where a worker serves `/healthz` and `/metrics`.
    pub metrics_addr: SocketAddr,
    /// `JOB_INFRA_RETRY_BUDGET`: how long a worker keeps retrying a status, result or
    /// dead-letter write (keeping the message alive) before it hands the message back.
    pub infra_retry_budget: Duration,
    /// `RECONCILE_INTERVAL`: how often the reconciler (one worker of the fleet at a
    /// time) looks for stranded jobs.
    pub reconcile_interval: Duration,
    /// `JOB_LOST_AFTER`: an unfinished job whose message is gone from `JOBS` and whose
    /// status has not changed for this long is failed visibly (`message_lost`).
    pub lost_after: Duration,
    /// `ECHO_EXECUTION_LOG`: a file the `echo` handler appends every execution to
    /// (diagnostics and tests: counts executions, not rows). Unset: nothing is written.
    pub echo_execution_log: Option<PathBuf>,
    /// `SHUTDOWN_GRACE`: how long in-flight work may run after SIGTERM.
    pub shutdown_grace: Duration,
}

/// Settings of the OpenAI-compatible engine (used when `ANALYZER=openai`).
#[derive(Debug, Clone)]
pub struct OpenAiSettings {
    /// `OPENAI_BASE_URL`: the chat-completions server's base URL.
    pub base_url: String,
    /// `OPENAI_API_KEY`: a secret, never logged.
    pub api_key: Option<SecretString>,
    /// `OPENAI_MODEL`: the model name sent with each request.
    pub model: String,
    /// `OPENAI_TIMEOUT`: deadline of one request.
    pub timeout: Duration,
    /// `OPENAI_MAX_CONCURRENCY`: model requests in flight across the whole fleet (every
    /// worker), shared through the `ai_slots` KV bucket.
    pub max_concurrency: usize,
    /// `CHAT_CONTEXT_TOKENS`: the estimated prompt budget of a chat answer (the reading
    /// plus as much of the conversation as fits; the oldest turns are dropped first).
    pub chat_context_tokens: usize,
}

impl WorkerSettings {
    /// Reads this section from `get`.
    pub(super) fn read(get: &impl Get) -> Result<Self, ConfigError> {
        Ok(Self {
            analyzer: parse(get, "ANALYZER", Analyzer::Offline)?,
            openai: OpenAiSettings::read(get)?,
            pools: parse_pools(get)?,
            metrics_addr: parse(
                get,
                "WORKER_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9091)),
            )?,
            infra_retry_budget: parse_duration(
                get,
                "JOB_INFRA_RETRY_BUDGET",
                Duration::from_secs(120),
            )?,
            reconcile_interval: parse_duration(get, "RECONCILE_INTERVAL", Duration::from_secs(30))?,
            lost_after: parse_duration(get, "JOB_LOST_AFTER", Duration::from_secs(600))?,
            echo_execution_log: get("ECHO_EXECUTION_LOG").map(PathBuf::from),
            shutdown_grace: parse_duration(get, "SHUTDOWN_GRACE", Duration::from_secs(25))?,
        })
    }

    /// Delays in range and the engine's limits.
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        self.openai.validate()?;
        at_least(
            "JOB_INFRA_RETRY_BUDGET",
            self.infra_retry_budget,
            Duration::from_secs(1),
        )?;
        at_least(
            "RECONCILE_INTERVAL",
            self.reconcile_interval,
            Duration::from_millis(100),
        )
    }
}

impl OpenAiSettings {
    /// Reads this section from `get`.
    fn read(get: &impl Get) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into()),
            api_key: get("OPENAI_API_KEY").map(SecretString::from),
            model: get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            timeout: parse_duration(get, "OPENAI_TIMEOUT", Duration::from_secs(60))?,
            max_concurrency: parse(get, "OPENAI_MAX_CONCURRENCY", 4usize)?,
            chat_context_tokens: parse(get, "CHAT_CONTEXT_TOKENS", 6000usize)?,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        positive("OPENAI_MAX_CONCURRENCY", self.max_concurrency as u64)?;
        at_least("OPENAI_TIMEOUT", self.timeout, Duration::from_secs(1))?;
        if self.chat_context_tokens < 100 {
            return Err(ConfigError::Invalid {
                variable: "CHAT_CONTEXT_TOKENS",
                value: self.chat_context_tokens.to_string(),
                reason: "must be at least 100".into(),
            });
        }
        Ok(())
    }
}

/// `WORKER_KINDS` and `WORKER_CONCURRENCY`, sized for this host's cores.
fn parse_pools(get: &impl Get) -> Result<WorkerPools, ConfigError> {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let kinds = get("WORKER_KINDS");
    let concurrency = get("WORKER_CONCURRENCY");
    // Which variable is wrong: the kinds alone, or the counts given for them.
    WorkerPools::parse(kinds.as_deref(), None, cores).map_err(|e| ConfigError::Invalid {
        variable: "WORKER_KINDS",
        value: kinds.clone().unwrap_or_default(),
        reason: e.to_string(),
    })?;
    WorkerPools::parse(kinds.as_deref(), concurrency.as_deref(), cores).map_err(|e| {
        ConfigError::Invalid {
            variable: "WORKER_CONCURRENCY",
            value: concurrency.clone().unwrap_or_default(),
            reason: e.to_string(),
        }
    })
}
