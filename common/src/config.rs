//! Typed configuration, read once at start-up from the environment (and `.env`).
//!
//! Every variable has a development default so `scripts/run.sh` needs no setup.
//! [`Settings::from_lookup`] takes any key → value function so tests can parse
//! a configuration without touching the process environment.
//! `APP_ENV=production` refuses insecure values (see [`Settings::validate`]).

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use crate::jobs::WorkerPools;

/// The session secret used when none is configured. Production refuses it.
pub const DEVELOPMENT_SESSION_SECRET: &str = "hast-development-session-secret-do-not-use";

/// Minimum length of `SESSION_SECRET` in production.
pub const MIN_SECRET_LEN: usize = 32;

/// Why a configuration could not be loaded. Every variant names the variable.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// The variable is set but its value cannot be parsed.
    #[error("{variable}: invalid value {value:?}: {reason}")]
    Invalid {
        variable: &'static str,
        value: String,
        reason: String,
    },
    /// The value parses but is not allowed in this environment.
    #[error("{variable}: {reason}")]
    Insecure {
        variable: &'static str,
        reason: String,
    },
}

/// Where the service runs. Development relaxes cookie and secret rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppEnv {
    Development,
    Production,
}

impl FromStr for AppEnv {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "development" | "dev" => Ok(Self::Development),
            "production" | "prod" => Ok(Self::Production),
            _ => Err("expected development or production".into()),
        }
    }
}

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

/// A database URL. Its password is never printed: `Debug` and `Display` redact it.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    /// Wraps a URL string.
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }
    /// The full URL, password included. Do not log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url_password(&self.0)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// Replaces the password of `scheme://user:password@host` (or `user:password@host`)
/// with `***`.
pub fn redact_url_password(url: &str) -> String {
    let scheme_end = url.find("://").map_or(0, |i| i + 3);
    let rest = &url[scheme_end..];
    let authority_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match (authority.rfind('@'), authority.find(':')) {
        (Some(at), Some(colon)) if colon < at => format!(
            "{}{}:***{}",
            &url[..scheme_end],
            &authority[..colon],
            &rest[at..]
        ),
        _ => url.to_owned(),
    }
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

/// Everything both binaries read from their environment.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `APP_ENV`: development (default) or production.
    pub app_env: AppEnv,
    /// `BIND_ADDR`: the API's listening address.
    pub bind_addr: SocketAddr,
    /// `DATABASE_URL`: `sqlite://path` (default `sqlite://data/hast.db`) or `postgres://…`.
    pub database_url: DatabaseUrl,
    /// `DATABASE_POOL_SIZE`: connections per process.
    pub database_pool_size: usize,
    /// `NATS_URL`: one or more comma-separated server URLs.
    pub nats_url: String,
    /// `NATS_CREDS`: optional credentials file for NATS.
    pub nats_creds: Option<PathBuf>,
    /// `JOBS_REPLICAS`: replicas of streams and buckets (1 in development, 3 in a cluster).
    pub jobs_replicas: usize,
    /// `CORS_ALLOWED_ORIGINS`: origins allowed to call the API from a browser.
    pub cors_allowed_origins: Vec<String>,
    /// `SESSION_TTL`: how long an idle session lives.
    pub session_ttl: Duration,
    /// `SESSION_SECRET`: key for hashing session tokens before they are stored.
    pub session_secret: SecretString,
    /// `COOKIE_SECURE`: set the `Secure` attribute on cookies (default: on outside development).
    pub cookie_secure: bool,
    /// `MAX_UPLOAD_BYTES`: the largest accepted upload.
    pub max_upload_bytes: u64,
    /// `ANALYZER`: offline (default) or openai.
    pub analyzer: Analyzer,
    /// `OPENAI_*`.
    pub openai: OpenAiSettings,
    /// `WORKER_KINDS` and `WORKER_CONCURRENCY`: the kinds one worker runs and how many
    /// jobs of each at once ([`WorkerPools`]).
    pub worker_pools: WorkerPools,
    /// `WORKER_METRICS_ADDR`: where a worker serves `/healthz` and `/metrics`.
    pub worker_metrics_addr: SocketAddr,
    /// `JOB_MAX_ATTEMPTS`: runs of a job's handler before it fails for good. Only the
    /// handler's own failures count; an infrastructure error (NATS, the database) never
    /// uses an attempt.
    pub job_max_attempts: u32,
    /// `JOB_ACK_WAIT`: how long a delivered job may go without a heartbeat before redelivery.
    pub job_ack_wait: Duration,
    /// `JOB_BACKOFF_BASE`: retry delay after the first failed attempt.
    pub job_backoff_base: Duration,
    /// `JOB_BACKOFF_CAP`: the longest retry delay.
    pub job_backoff_cap: Duration,
    /// `JOB_MAX_ACK_PENDING`: jobs of one kind in flight across all workers.
    pub job_max_ack_pending: i64,
    /// `JOB_INFRA_RETRY_BUDGET`: how long a worker keeps retrying a status, result or
    /// dead-letter write (keeping the message alive) before it hands the message back.
    pub job_infra_retry_budget: Duration,
    /// `JOB_SUBMIT_TIMEOUT`: how long a submission may retry its status write and publish
    /// (through a NATS leader election) before the client gets 503.
    pub job_submit_timeout: Duration,
    /// `JETSTREAM_MAX_BYTES`: the JetStream storage Hast may use on each node, shared out
    /// among its streams, buckets and the object store as `max_bytes`
    /// (`hast_common::nats::storage`). Keep it below the server's `max_file_store`.
    pub jetstream_max_bytes: u64,
    /// `JOB_STATUS_RETENTION`: how long a job status is kept after its last change.
    pub job_status_retention: Duration,
    /// `DLQ_RETENTION`: how long a dead letter is kept.
    pub dlq_retention: Duration,
    /// `JOB_RESULTS_RETENTION`: how long a `job_results` row is kept (the reconciler
    /// deletes older ones).
    pub job_results_retention: Duration,
    /// `RECONCILE_INTERVAL`: how often the reconciler (one worker of the fleet at a
    /// time) looks for stranded jobs.
    pub reconcile_interval: Duration,
    /// `JOB_LOST_AFTER`: an unfinished job whose message is gone from `JOBS` and whose
    /// status has not changed for this long is failed visibly (`message_lost`).
    pub job_lost_after: Duration,
    /// `ECHO_EXECUTION_LOG`: a file the `echo` handler appends every execution to
    /// (diagnostics and tests: counts executions, not rows). Unset: nothing is written.
    pub echo_execution_log: Option<PathBuf>,
    /// `SHUTDOWN_GRACE`: how long in-flight work may run after SIGTERM.
    pub shutdown_grace: Duration,
    /// Abuse limits, shared by every API replica through NATS KV.
    pub limits: AbuseLimits,
    /// `TRUST_FORWARDED_FOR`: take the client address from `X-Forwarded-For` when the
    /// request comes from one of [`Self::trusted_proxies`].
    pub trust_forwarded_for: bool,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of the reverse
    /// proxies (default loopback): the client is the right-most `X-Forwarded-For`
    /// entry outside them.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Bounds of the API's HTTP server.
    pub http: HttpLimits,
    /// `METRICS_TOKEN`: the bearer token that opens the API's `/metrics` and the health
    /// check's details. Unset: open in development, off in production.
    pub metrics_token: Option<SecretString>,
}

/// Bounds of the API's HTTP server (per API process).
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// `HTTP_HEADER_TIMEOUT`: how long a client may take to send a request's headers
    /// before its connection is closed.
    pub header_timeout: Duration,
    /// `HTTP_MAX_CONNECTIONS`: open connections; one more is answered 503 and closed.
    pub max_connections: usize,
    /// `SSE_STREAMS_PER_USER`: event streams one user may hold open at once.
    pub sse_streams_per_user: usize,
    /// `SSE_MAX_LIFETIME`: how long one event stream lasts before the server ends it
    /// (clients reconnect).
    pub sse_max_lifetime: Duration,
}

/// Abuse limits (issue #4). Counters live in the `rate_limits` KV bucket, so they hold
/// across API replicas.
#[derive(Debug, Clone)]
pub struct AbuseLimits {
    /// `LOGIN_MAX_FAILURES`: failed logins of one account from one client address before
    /// the backoff starts.
    pub login_max_failures: u32,
    /// `LOGIN_BACKOFF_BASE`: the wait after the first failure past
    /// [`Self::login_max_failures`]; each further failure doubles it.
    pub login_backoff_base: Duration,
    /// `LOGIN_BACKOFF_CAP`: the longest such wait (at most 1 h).
    pub login_backoff_cap: Duration,
    /// `LOGIN_ACCOUNT_FAILURES_PER_HOUR`: failed logins of one account in any hour, from
    /// every address together (1 to 100, ASVS V2.2.1).
    pub login_account_failures_per_hour: u32,
    /// `LOGIN_ADDRESS_FAILURES_PER_HOUR`: failed logins from one client address in any
    /// hour, to every account together.
    pub login_address_failures_per_hour: u32,
    /// `REGISTRATIONS_PER_HOUR`: registration attempts per client address per hour.
    pub registrations_per_hour: u32,
    /// `PASSWORD_HASH_CONCURRENCY`: argon2id runs at once (default: one per core); up to
    /// four times as many requests wait for one, more get 503.
    pub password_hash_concurrency: usize,
    /// `UPLOADS_PER_HOUR`: photo uploads per user per hour.
    pub uploads_per_hour: u32,
    /// `GUEST_MAX_ANALYSES`: analyses a guest may create before signing up.
    pub guest_max_analyses: u32,
    /// `JOBS_PER_HOUR`: jobs one user may submit through `POST /api/v1/jobs` in a fixed
    /// one-hour window (`0`: no limit).
    pub jobs_per_hour: u32,
    /// `MESSAGES_PER_HOUR`: questions one user may ask in conversations in a fixed
    /// one-hour window (each is a model call with `ANALYZER=openai`).
    pub messages_per_hour: u32,
    /// `QUESTIONS_IN_FLIGHT`: questions one user may have waiting for an answer at once
    /// (the fleet's model slots are shared; one user must not hold them all).
    pub questions_in_flight: u32,
    /// `PHOTO_DECODE_SLOTS`: uploads decoded at once by one API process (default: the
    /// number of cores). Decoding is CPU- and memory-bound; more at once only adds memory.
    pub photo_decode_slots: usize,
    /// `PHOTO_DECODE_WAIT`: how long an upload waits for a decode slot before it is
    /// answered 503 with `Retry-After`.
    pub photo_decode_wait: Duration,
}

impl Settings {
    /// `NATS_URL` with any password replaced, for logs and error messages.
    pub fn nats_url_redacted(&self) -> String {
        self.nats_url
            .split(',')
            .map(|u| redact_url_password(u.trim()))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Reads `.env` (if present) and the process environment, then validates.
    pub fn from_env() -> Result<Self, ConfigError> {
        // A missing .env is normal; a malformed one is reported by dotenvy on stderr-free path:
        // we ignore it here because every variable is validated below anyway.
        let _ = dotenvy::dotenv();
        let vars: HashMap<String, String> = std::env::vars().collect();
        Self::from_lookup(|key| vars.get(key).cloned())
    }

    /// Parses settings from any key → value lookup, then validates them.
    // Long on purpose: one line per variable of the top-level section, in the order of
    // the struct (the OpenAI, abuse-limit and HTTP sections read themselves).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let app_env: AppEnv = parse(&get, "APP_ENV", AppEnv::Development)?;
        let development = app_env == AppEnv::Development;

        let settings = Settings {
            app_env,
            bind_addr: parse(&get, "BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            database_url: DatabaseUrl::new(
                get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/hast.db".into()),
            ),
            database_pool_size: parse(&get, "DATABASE_POOL_SIZE", 8usize)?,
            nats_url: get("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            nats_creds: get("NATS_CREDS").map(PathBuf::from),
            jobs_replicas: parse(&get, "JOBS_REPLICAS", 1usize)?,
            cors_allowed_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().trim_end_matches('/').to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            session_ttl: parse_duration(&get, "SESSION_TTL", Duration::from_secs(7 * 24 * 3600))?,
            session_secret: SecretString::from(
                get("SESSION_SECRET").unwrap_or_else(|| DEVELOPMENT_SESSION_SECRET.into()),
            ),
            cookie_secure: parse_bool(&get, "COOKIE_SECURE", !development)?,
            max_upload_bytes: parse(&get, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024u64)?,
            analyzer: parse(&get, "ANALYZER", Analyzer::Offline)?,
            openai: OpenAiSettings::read(&get)?,
            worker_pools: parse_pools(&get)?,
            worker_metrics_addr: parse(
                &get,
                "WORKER_METRICS_ADDR",
                SocketAddr::from(([127, 0, 0, 1], 9091)),
            )?,
            job_max_attempts: parse(&get, "JOB_MAX_ATTEMPTS", 10u32)?,
            job_ack_wait: parse_duration(&get, "JOB_ACK_WAIT", Duration::from_secs(30))?,
            job_backoff_base: parse_duration(&get, "JOB_BACKOFF_BASE", Duration::from_secs(1))?,
            job_backoff_cap: parse_duration(&get, "JOB_BACKOFF_CAP", Duration::from_secs(300))?,
            job_max_ack_pending: parse(&get, "JOB_MAX_ACK_PENDING", 10_000i64)?,
            job_infra_retry_budget: parse_duration(
                &get,
                "JOB_INFRA_RETRY_BUDGET",
                Duration::from_secs(120),
            )?,
            job_submit_timeout: parse_duration(
                &get,
                "JOB_SUBMIT_TIMEOUT",
                Duration::from_secs(15),
            )?,
            jetstream_max_bytes: parse(&get, "JETSTREAM_MAX_BYTES", 9 * 1024 * 1024 * 1024u64)?,
            job_status_retention: parse_duration(
                &get,
                "JOB_STATUS_RETENTION",
                Duration::from_secs(7 * 24 * 3600),
            )?,
            dlq_retention: parse_duration(
                &get,
                "DLQ_RETENTION",
                Duration::from_secs(30 * 24 * 3600),
            )?,
            job_results_retention: parse_duration(
                &get,
                "JOB_RESULTS_RETENTION",
                Duration::from_secs(30 * 24 * 3600),
            )?,
            reconcile_interval: parse_duration(
                &get,
                "RECONCILE_INTERVAL",
                Duration::from_secs(30),
            )?,
            job_lost_after: parse_duration(&get, "JOB_LOST_AFTER", Duration::from_secs(600))?,
            echo_execution_log: get("ECHO_EXECUTION_LOG")
                .filter(|p| !p.is_empty())
                .map(PathBuf::from),
            shutdown_grace: parse_duration(&get, "SHUTDOWN_GRACE", Duration::from_secs(25))?,
            limits: AbuseLimits::read(&get)?,
            trust_forwarded_for: parse_bool(&get, "TRUST_FORWARDED_FOR", false)?,
            trusted_proxies: parse_networks(&get, "TRUSTED_PROXIES", "127.0.0.0/8,::1/128")?,
            metrics_token: get("METRICS_TOKEN").map(SecretString::from),
            http: HttpLimits::read(&get)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Rejects values that are out of range anywhere, and insecure values in production.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_limits()?;
        self.validate_jobs()?;
        self.validate_addresses()?;
        if self.app_env == AppEnv::Production {
            self.validate_production()?;
        }
        Ok(())
    }

    /// Pool sizes, counts and the API's abuse limits.
    fn validate_limits(&self) -> Result<(), ConfigError> {
        positive("DATABASE_POOL_SIZE", self.database_pool_size as u64)?;
        positive("JOBS_REPLICAS", self.jobs_replicas as u64)?;
        positive("JOB_MAX_ATTEMPTS", u64::from(self.job_max_attempts))?;
        positive("MAX_UPLOAD_BYTES", self.max_upload_bytes)?;
        positive(
            "LOGIN_MAX_FAILURES",
            u64::from(self.limits.login_max_failures),
        )?;
        positive("UPLOADS_PER_HOUR", u64::from(self.limits.uploads_per_hour))?;
        positive("PHOTO_DECODE_SLOTS", self.limits.photo_decode_slots as u64)?;
        positive("HTTP_MAX_CONNECTIONS", self.http.max_connections as u64)?;
        positive(
            "SSE_STREAMS_PER_USER",
            self.http.sse_streams_per_user as u64,
        )?;
        at_least(
            "HTTP_HEADER_TIMEOUT",
            self.http.header_timeout,
            Duration::from_secs(1),
        )?;
        at_least(
            "SSE_MAX_LIFETIME",
            self.http.sse_max_lifetime,
            Duration::from_secs(1),
        )?;
        positive(
            "MESSAGES_PER_HOUR",
            u64::from(self.limits.messages_per_hour),
        )?;
        positive(
            "QUESTIONS_IN_FLIGHT",
            u64::from(self.limits.questions_in_flight),
        )?;
        positive("OPENAI_MAX_CONCURRENCY", self.openai.max_concurrency as u64)?;
        at_least(
            "OPENAI_TIMEOUT",
            self.openai.timeout,
            Duration::from_secs(1),
        )?;
        if self.openai.chat_context_tokens < 100 {
            return Err(ConfigError::Invalid {
                variable: "CHAT_CONTEXT_TOKENS",
                value: self.openai.chat_context_tokens.to_string(),
                reason: "must be at least 100".into(),
            });
        }
        self.validate_login()?;
        positive(
            "REGISTRATIONS_PER_HOUR",
            u64::from(self.limits.registrations_per_hour),
        )?;
        positive(
            "PASSWORD_HASH_CONCURRENCY",
            self.limits.password_hash_concurrency as u64,
        )?;
        Ok(())
    }

    /// The sign-in throttle.
    fn validate_login(&self) -> Result<(), ConfigError> {
        for (variable, value) in [
            ("LOGIN_BACKOFF_BASE", self.limits.login_backoff_base),
            ("LOGIN_BACKOFF_CAP", self.limits.login_backoff_cap),
        ] {
            // The counters live in `rate_limits`, whose entries expire after an hour.
            if value < Duration::from_millis(100) || value > Duration::from_secs(3600) {
                return Err(ConfigError::Invalid {
                    variable,
                    value: humantime::format_duration(value).to_string(),
                    reason: "must be between 100ms and 1h".into(),
                });
            }
        }
        if self.limits.login_backoff_cap < self.limits.login_backoff_base {
            return Err(ConfigError::Invalid {
                variable: "LOGIN_BACKOFF_CAP",
                value: humantime::format_duration(self.limits.login_backoff_cap).to_string(),
                reason: "must be at least LOGIN_BACKOFF_BASE".into(),
            });
        }
        let per_account = self.limits.login_account_failures_per_hour;
        if !(1..=100).contains(&per_account) {
            return Err(ConfigError::Invalid {
                variable: "LOGIN_ACCOUNT_FAILURES_PER_HOUR",
                value: per_account.to_string(),
                reason: "must be between 1 and 100 (ASVS V2.2.1)".into(),
            });
        }
        positive(
            "LOGIN_ADDRESS_FAILURES_PER_HOUR",
            u64::from(self.limits.login_address_failures_per_hour),
        )?;
        Ok(())
    }

    /// Durations and sizes of sessions, jobs and their storage.
    fn validate_jobs(&self) -> Result<(), ConfigError> {
        at_least("SESSION_TTL", self.session_ttl, Duration::from_secs(1))?;
        positive(
            "JOB_MAX_ACK_PENDING",
            self.job_max_ack_pending.max(0) as u64,
        )?;
        if self.jobs_replicas > 5 {
            return Err(ConfigError::Invalid {
                variable: "JOBS_REPLICAS",
                value: self.jobs_replicas.to_string(),
                reason: "JetStream allows at most 5 replicas".into(),
            });
        }
        at_least("JOB_ACK_WAIT", self.job_ack_wait, Duration::from_secs(1))?;
        at_least(
            "JOB_INFRA_RETRY_BUDGET",
            self.job_infra_retry_budget,
            Duration::from_secs(1),
        )?;
        if self.jetstream_max_bytes < crate::nats::storage::MIN_BUDGET {
            return Err(ConfigError::Invalid {
                variable: "JETSTREAM_MAX_BYTES",
                value: self.jetstream_max_bytes.to_string(),
                reason: format!("must be at least {}", crate::nats::storage::MIN_BUDGET),
            });
        }
        for (variable, value) in [
            ("JOB_STATUS_RETENTION", self.job_status_retention),
            ("DLQ_RETENTION", self.dlq_retention),
            ("JOB_RESULTS_RETENTION", self.job_results_retention),
        ] {
            at_least(variable, value, Duration::from_secs(60))?;
        }
        at_least(
            "RECONCILE_INTERVAL",
            self.reconcile_interval,
            Duration::from_millis(100),
        )?;
        if self.job_lost_after <= self.job_submit_timeout {
            return Err(ConfigError::Invalid {
                variable: "JOB_LOST_AFTER",
                value: humantime::format_duration(self.job_lost_after).to_string(),
                reason: "must be longer than JOB_SUBMIT_TIMEOUT".into(),
            });
        }
        if self.job_submit_timeout < Duration::from_secs(1)
            || self.job_submit_timeout > crate::nats::bootstrap::DUPLICATE_WINDOW / 2
        {
            return Err(ConfigError::Invalid {
                variable: "JOB_SUBMIT_TIMEOUT",
                value: humantime::format_duration(self.job_submit_timeout).to_string(),
                reason: "must be between 1s and half the JOBS duplicate window (5m)".into(),
            });
        }
        if self.job_backoff_base.is_zero() {
            return Err(ConfigError::Invalid {
                variable: "JOB_BACKOFF_BASE",
                value: "0s".into(),
                reason: "must be positive".into(),
            });
        }
        if self.job_backoff_cap < self.job_backoff_base {
            return Err(ConfigError::Invalid {
                variable: "JOB_BACKOFF_CAP",
                value: humantime::format_duration(self.job_backoff_cap).to_string(),
                reason: "JOB_BACKOFF_BASE must be positive and JOB_BACKOFF_CAP at least as large"
                    .into(),
            });
        }
        Ok(())
    }

    /// The database and NATS URLs and the CORS origins.
    fn validate_addresses(&self) -> Result<(), ConfigError> {
        let url = self.database_url.expose();
        if !(url.starts_with("sqlite://")
            || url.starts_with("postgres://")
            || url.starts_with("postgresql://"))
        {
            return Err(ConfigError::Invalid {
                variable: "DATABASE_URL",
                value: self.database_url.redacted(),
                reason: "expected sqlite://PATH or postgres://USER:PASSWORD@HOST/DB".into(),
            });
        }
        if let Err(err) = crate::nats::server_addrs(&self.nats_url) {
            return Err(ConfigError::Invalid {
                variable: "NATS_URL",
                value: self.nats_url_redacted(),
                reason: err.to_string(),
            });
        }
        for origin in &self.cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    variable: "CORS_ALLOWED_ORIGINS",
                    value: origin.clone(),
                    reason: "each origin must start with http:// or https://".into(),
                });
            }
        }
        Ok(())
    }

    /// What production refuses: a missing or short session secret, cookies without
    /// `Secure`, plain-http CORS origins.
    fn validate_production(&self) -> Result<(), ConfigError> {
        let secret = self.session_secret.expose_secret();
        if secret == DEVELOPMENT_SESSION_SECRET {
            return Err(ConfigError::Insecure {
                variable: "SESSION_SECRET",
                reason: "required in production (it is unset or the development default): set a random value of at least 32 characters, for example `openssl rand -base64 48`, the same on every API instance".into(),
            });
        }
        if secret.len() < MIN_SECRET_LEN {
            return Err(ConfigError::Insecure {
                variable: "SESSION_SECRET",
                reason: format!("must be at least {MIN_SECRET_LEN} characters in production"),
            });
        }
        if !self.cookie_secure {
            return Err(ConfigError::Insecure {
                variable: "COOKIE_SECURE",
                reason: "production refuses cookies without the Secure attribute".into(),
            });
        }
        if self
            .cors_allowed_origins
            .iter()
            .any(|o| o.starts_with("http://"))
        {
            return Err(ConfigError::Insecure {
                variable: "CORS_ALLOWED_ORIGINS",
                reason: "production allows only https:// origins".into(),
            });
        }
        Ok(())
    }

    /// True when `APP_ENV=development`.
    pub fn is_development(&self) -> bool {
        self.app_env == AppEnv::Development
    }
}

impl OpenAiSettings {
    /// Reads this section from `get`.
    fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            base_url: get("OPENAI_BASE_URL").unwrap_or_else(|| "https://api.openai.com/v1".into()),
            api_key: get("OPENAI_API_KEY").map(SecretString::from),
            model: get("OPENAI_MODEL").unwrap_or_else(|| "gpt-4o-mini".into()),
            timeout: parse_duration(&get, "OPENAI_TIMEOUT", Duration::from_secs(60))?,
            max_concurrency: parse(&get, "OPENAI_MAX_CONCURRENCY", 4usize)?,
            chat_context_tokens: parse(&get, "CHAT_CONTEXT_TOKENS", 6000usize)?,
        })
    }
}

impl AbuseLimits {
    /// Reads this section from `get`.
    fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            login_max_failures: parse(&get, "LOGIN_MAX_FAILURES", 5u32)?,
            login_backoff_base: parse_duration(&get, "LOGIN_BACKOFF_BASE", Duration::from_secs(1))?,
            login_backoff_cap: parse_duration(
                &get,
                "LOGIN_BACKOFF_CAP",
                Duration::from_secs(15 * 60),
            )?,
            login_account_failures_per_hour: parse(
                &get,
                "LOGIN_ACCOUNT_FAILURES_PER_HOUR",
                100u32,
            )?,
            login_address_failures_per_hour: parse(
                &get,
                "LOGIN_ADDRESS_FAILURES_PER_HOUR",
                100u32,
            )?,
            registrations_per_hour: parse(&get, "REGISTRATIONS_PER_HOUR", 10u32)?,
            password_hash_concurrency: parse(
                &get,
                "PASSWORD_HASH_CONCURRENCY",
                std::thread::available_parallelism().map_or(1, usize::from),
            )?,
            uploads_per_hour: parse(&get, "UPLOADS_PER_HOUR", 30u32)?,
            guest_max_analyses: parse(&get, "GUEST_MAX_ANALYSES", 3u32)?,
            jobs_per_hour: parse(&get, "JOBS_PER_HOUR", 1000u32)?,
            messages_per_hour: parse(&get, "MESSAGES_PER_HOUR", 60u32)?,
            questions_in_flight: parse(&get, "QUESTIONS_IN_FLIGHT", 2u32)?,
            photo_decode_slots: parse(&get, "PHOTO_DECODE_SLOTS", default_cores())?,
            photo_decode_wait: parse_duration(&get, "PHOTO_DECODE_WAIT", Duration::from_secs(2))?,
        })
    }
}

impl HttpLimits {
    /// Reads this section from `get`.
    fn read(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Self {
            header_timeout: parse_duration(&get, "HTTP_HEADER_TIMEOUT", Duration::from_secs(10))?,
            max_connections: parse(&get, "HTTP_MAX_CONNECTIONS", 1000usize)?,
            sse_streams_per_user: parse(&get, "SSE_STREAMS_PER_USER", 8usize)?,
            sse_max_lifetime: parse_duration(
                &get,
                "SSE_MAX_LIFETIME",
                Duration::from_secs(30 * 60),
            )?,
        })
    }
}

/// `variable` must be at least 1.
fn positive(variable: &'static str, value: u64) -> Result<(), ConfigError> {
    if value == 0 {
        Err(ConfigError::Invalid {
            variable,
            value: value.to_string(),
            reason: "must be at least 1".into(),
        })
    } else {
        Ok(())
    }
}

/// `variable` must be at least `min`.
fn at_least(variable: &'static str, value: Duration, min: Duration) -> Result<(), ConfigError> {
    if value < min {
        Err(ConfigError::Invalid {
            variable,
            value: humantime::format_duration(value).to_string(),
            reason: format!("must be at least {}", humantime::format_duration(min)),
        })
    } else {
        Ok(())
    }
}

/// `WORKER_KINDS` and `WORKER_CONCURRENCY`, sized for this host's cores.
fn parse_pools(get: &impl Fn(&str) -> Option<String>) -> Result<WorkerPools, ConfigError> {
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

fn parse<T: FromStr>(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: T,
) -> Result<T, ConfigError>
where
    T::Err: fmt::Display,
{
    match get(variable) {
        None => Ok(default),
        Some(raw) => raw
            .trim()
            .parse()
            .map_err(|e: T::Err| ConfigError::Invalid {
                variable,
                value: raw.clone(),
                reason: e.to_string(),
            }),
    }
}

/// Comma-separated CIDR ranges; a bare address is a range of one.
fn parse_networks(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: &str,
) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    let raw = get(variable).unwrap_or_else(|| default.to_owned());
    raw.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<ipnet::IpNet>()
                .or_else(|_| s.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map(|n| n.trunc())
                .map_err(|_| ConfigError::Invalid {
                    variable,
                    value: s.to_owned(),
                    reason: "expected an IP address or a CIDR range such as 10.0.0.0/8".into(),
                })
        })
        .collect()
}

fn parse_bool(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: bool,
) -> Result<bool, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => match raw.trim().to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(ConfigError::Invalid {
                variable,
                value: raw,
                reason: "expected true or false".into(),
            }),
        },
    }
}

/// The number of cores this process may use (1 when it cannot be told).
fn default_cores() -> usize {
    std::thread::available_parallelism()
        .map(std::num::NonZeroUsize::get)
        .unwrap_or(1)
}

fn parse_duration(
    get: &impl Fn(&str) -> Option<String>,
    variable: &'static str,
    default: Duration,
) -> Result<Duration, ConfigError> {
    match get(variable) {
        None => Ok(default),
        Some(raw) => {
            let trimmed = raw.trim();
            // A bare number means seconds.
            if let Ok(secs) = trimmed.parse::<u64>() {
                return Ok(Duration::from_secs(secs));
            }
            humantime::parse_duration(trimmed).map_err(|e| ConfigError::Invalid {
                variable,
                value: raw.clone(),
                reason: format!("{e} (examples: 30s, 10m, 7d)"),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_need_no_environment() {
        let s = settings(&[]).expect("defaults are valid");
        assert_eq!(s.app_env, AppEnv::Development);
        assert_eq!(s.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url.expose(), "sqlite://data/hast.db");
        assert_eq!(s.nats_url, "nats://127.0.0.1:4222");
        assert!(
            !s.cookie_secure,
            "development cookies are not Secure by default"
        );
        assert_eq!(s.job_ack_wait, Duration::from_secs(30));
        assert_eq!(s.max_upload_bytes, 10 * 1024 * 1024);
    }

    #[test]
    fn values_are_parsed() {
        let s = settings(&[
            ("BIND_ADDR", "0.0.0.0:9000"),
            ("JOB_ACK_WAIT", "45s"),
            ("SESSION_TTL", "2h"),
            ("WORKER_KINDS", "echo,analysis"),
            ("WORKER_CONCURRENCY", "3,analysis=1"),
            ("CORS_ALLOWED_ORIGINS", "http://a.test, https://b.test/"),
            ("COOKIE_SECURE", "true"),
            ("ANALYZER", "openai"),
        ])
        .expect("valid");
        assert_eq!(s.bind_addr.port(), 9000);
        assert_eq!(s.job_ack_wait, Duration::from_secs(45));
        assert_eq!(s.session_ttl, Duration::from_secs(7200));
        assert_eq!(
            s.worker_pools.iter().collect::<Vec<_>>(),
            [("analysis", 1), ("echo", 3)]
        );
        assert_eq!(
            s.cors_allowed_origins,
            vec!["http://a.test".to_owned(), "https://b.test".to_owned()]
        );
        assert!(s.cookie_secure);
        assert_eq!(s.analyzer, Analyzer::OpenAi);
    }

    #[test]
    fn model_limits_have_defaults_and_are_checked() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.openai.max_concurrency, 4);
        assert_eq!(s.openai.chat_context_tokens, 6000);
        let s = settings(&[
            ("OPENAI_MAX_CONCURRENCY", "2"),
            ("CHAT_CONTEXT_TOKENS", "800"),
        ])
        .expect("valid");
        assert_eq!(
            (s.openai.max_concurrency, s.openai.chat_context_tokens),
            (2, 800)
        );
        let err = settings(&[("OPENAI_MAX_CONCURRENCY", "0")]).unwrap_err();
        assert!(err.to_string().contains("OPENAI_MAX_CONCURRENCY"), "{err}");
        let err = settings(&[("CHAT_CONTEXT_TOKENS", "10")]).unwrap_err();
        assert!(err.to_string().starts_with("CHAT_CONTEXT_TOKENS"), "{err}");
    }

    #[test]
    fn an_invalid_value_names_its_variable() {
        let err = settings(&[("BIND_ADDR", "not-an-address")]).unwrap_err();
        assert!(
            err.to_string().starts_with("BIND_ADDR: invalid value"),
            "{err}"
        );
        let err = settings(&[("JOB_ACK_WAIT", "soon")]).unwrap_err();
        assert!(err.to_string().starts_with("JOB_ACK_WAIT"), "{err}");
        let err = settings(&[("WORKER_CONCURRENCY", "0")]).unwrap_err();
        assert!(err.to_string().starts_with("WORKER_CONCURRENCY"), "{err}");
        let err = settings(&[("WORKER_KINDS", "echo,palmistry")]).unwrap_err();
        assert!(err.to_string().starts_with("WORKER_KINDS"), "{err}");
        let err =
            settings(&[("WORKER_KINDS", "echo"), ("WORKER_CONCURRENCY", "chat=4")]).unwrap_err();
        assert!(err.to_string().starts_with("WORKER_CONCURRENCY"), "{err}");
        let err = settings(&[("DATABASE_URL", "mysql://x")]).unwrap_err();
        assert!(err.to_string().starts_with("DATABASE_URL"), "{err}");
        let err = settings(&[("COOKIE_SECURE", "maybe")]).unwrap_err();
        assert!(err.to_string().starts_with("COOKIE_SECURE"), "{err}");
        let err = settings(&[("NATS_URL", "nats://a:4222,nats://b:port")]).unwrap_err();
        assert!(err.to_string().starts_with("NATS_URL"), "{err}");
        for url in [
            "nats://api:s3cret@a:4222,nats://b:port",
            "api:s3cret@b:port",
            "nats://api:s3cret@[::1",
        ] {
            let err = settings(&[("NATS_URL", url)]).unwrap_err().to_string();
            assert!(
                err.starts_with("NATS_URL") && !err.contains("s3cret"),
                "{err}"
            );
        }
        let err = settings(&[("APP_ENV", "staging")]).unwrap_err();
        assert!(err.to_string().starts_with("APP_ENV"), "{err}");
    }

    #[test]
    fn production_refuses_development_secret_and_insecure_cookies() {
        let err = settings(&[("APP_ENV", "production")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Insecure {
                variable: "SESSION_SECRET",
                ..
            }
        ));

        let strong = "x".repeat(48);
        let err = settings(&[
            ("APP_ENV", "production"),
            ("SESSION_SECRET", &strong),
            ("COOKIE_SECURE", "false"),
        ])
        .unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Insecure {
                variable: "COOKIE_SECURE",
                ..
            }
        ));

        let err = settings(&[("APP_ENV", "production"), ("SESSION_SECRET", "short")]).unwrap_err();
        assert!(matches!(
            err,
            ConfigError::Insecure {
                variable: "SESSION_SECRET",
                ..
            }
        ));

        let ok = settings(&[("APP_ENV", "production"), ("SESSION_SECRET", &strong)])
            .expect("secure production settings");
        assert!(ok.cookie_secure, "production cookies default to Secure");
    }

    #[test]
    fn trusted_proxies_are_cidr_ranges() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.trusted_proxies.len(), 2, "loopback by default");
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")]).unwrap();
        let shown: Vec<String> = s.trusted_proxies.iter().map(ToString::to_string).collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        let err = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert!(err.to_string().starts_with("TRUSTED_PROXIES"), "{err}");
    }

    #[test]
    fn sign_in_limits_are_checked() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.limits.login_account_failures_per_hour, 100);
        assert!(s.limits.password_hash_concurrency >= 1);
        for (variable, value) in [
            ("LOGIN_ACCOUNT_FAILURES_PER_HOUR", "101"),
            ("LOGIN_ACCOUNT_FAILURES_PER_HOUR", "0"),
            ("LOGIN_BACKOFF_CAP", "2h"),
            ("LOGIN_BACKOFF_BASE", "10ms"),
            ("REGISTRATIONS_PER_HOUR", "0"),
            ("PASSWORD_HASH_CONCURRENCY", "0"),
        ] {
            let err = settings(&[(variable, value)]).unwrap_err();
            assert!(
                err.to_string().starts_with(variable),
                "{variable}={value}: {err}"
            );
        }
    }

    #[test]
    fn database_passwords_are_redacted() {
        let url = DatabaseUrl::new("postgres://hast:s3cret@db:5432/hast");
        assert_eq!(url.to_string(), "postgres://hast:***@db:5432/hast");
        assert!(!format!("{url:?}").contains("s3cret"));
        assert_eq!(
            redact_url_password("sqlite://data/hast.db"),
            "sqlite://data/hast.db"
        );
    }

    #[test]
    fn job_platform_limits_are_checked() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.job_max_attempts, 10);
        assert_eq!(defaults.job_submit_timeout, Duration::from_secs(15));
        assert_eq!(defaults.jetstream_max_bytes, 9 * 1024 * 1024 * 1024);
        for (variable, value) in [
            ("JOB_SUBMIT_TIMEOUT", "6m"),
            ("JOB_INFRA_RETRY_BUDGET", "10ms"),
            ("JETSTREAM_MAX_BYTES", "1024"),
            ("JOB_STATUS_RETENTION", "30s"),
            ("RECONCILE_INTERVAL", "1ms"),
            ("JOB_LOST_AFTER", "5s"),
        ] {
            let err = settings(&[(variable, value)]).unwrap_err();
            assert!(
                err.to_string().starts_with(variable),
                "{variable}={value}: {err}"
            );
        }
        let log = settings(&[("ECHO_EXECUTION_LOG", "/tmp/x.log")]).unwrap();
        assert_eq!(log.echo_execution_log, Some(PathBuf::from("/tmp/x.log")));
    }

    /// Every variable the code reads is in `.env.example` (with its default) and in
    /// docs/configuration.md (with its meaning), and neither names one the code does
    /// not read: the table and the example are checked against the code, not trusted.
    #[test]
    fn every_variable_is_in_the_example_and_the_reference_and_no_other() {
        let read = std::cell::RefCell::new(std::collections::BTreeSet::new());
        let _ = Settings::from_lookup(|k| {
            read.borrow_mut().insert(k.to_owned());
            None
        });
        let read = read.into_inner();
        let example = include_str!("../../.env.example");
        let reference = include_str!("../../docs/configuration.md");
        let in_example: std::collections::BTreeSet<String> = example
            .lines()
            .filter_map(|l| l.strip_prefix("# ")?.split_once('=').map(|(k, _)| k))
            .filter(|k| {
                k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            })
            .map(str::to_owned)
            .collect();
        // Read by compose, the scripts or the logger, not by `Settings`.
        let elsewhere = [
            "POSTGRES_PASSWORD",
            "NATS_API_PASSWORD",
            "NATS_WORKER_PASSWORD",
            "NATS_OPERATOR_PASSWORD",
            "NATS_ROUTE_PASSWORD",
            "RUST_LOG",
        ];
        let missing_example: Vec<_> = read.iter().filter(|v| !in_example.contains(*v)).collect();
        let missing_reference: Vec<_> = read
            .iter()
            .filter(|v| !reference.contains(&format!("`{v}`")))
            .collect();
        let unread: Vec<_> = in_example
            .iter()
            .filter(|v| !read.contains(*v) && !elsewhere.contains(&v.as_str()))
            .collect();
        assert_eq!(
            missing_example,
            Vec::<&String>::new(),
            "not in .env.example"
        );
        assert_eq!(
            missing_reference,
            Vec::<&String>::new(),
            "not in docs/configuration.md"
        );
        assert_eq!(
            unread,
            Vec::<&String>::new(),
            "in .env.example, read by nothing"
        );
    }
}
