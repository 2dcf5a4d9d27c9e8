//! Typed configuration, read once at start-up from the environment (and `.env`).
//!
//! Every variable has a development default so `scripts/run.sh` needs no setup.
//! [`Settings::from_lookup`] takes any key → value function so tests can parse
//! a configuration without touching the process environment.
//! `APP_ENV=production` refuses insecure values (see [`Settings::validate`]).
//!
//! [`Settings`] holds what both binaries need; its sections hold what one reader needs:
//! [`JobSettings`] (`settings.jobs`, the job platform), [`ApiSettings`]
//! (`settings.api`) and [`WorkerSettings`] (`settings.worker`), each in its own file
//! with its own checks.

mod api;
mod jobs;
mod parse;
mod worker;

use std::collections::HashMap;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

pub use api::{AbuseLimits, ApiSettings, HttpLimits};
pub use jobs::JobSettings;
pub use worker::{Analyzer, OpenAiSettings, WorkerSettings};

use parse::{parse, positive};

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

/// Everything both binaries read from their environment: what both need at the top,
/// then one section per reader.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `APP_ENV`: development (default) or production.
    pub app_env: AppEnv,
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
    /// `JETSTREAM_MAX_BYTES`: the JetStream storage Hast may use on each node, shared out
    /// among its streams, buckets and the object store as `max_bytes`
    /// (`hast_common::nats::storage`). Keep it below the server's `max_file_store`.
    pub jetstream_max_bytes: u64,
    /// The job platform: delivery, retries, retention (both binaries).
    pub jobs: JobSettings,
    /// What only the API reads.
    pub api: ApiSettings,
    /// What only the worker reads.
    pub worker: WorkerSettings,
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
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |key: &str| lookup(key).filter(|v| !v.trim().is_empty());
        let app_env: AppEnv = parse(&get, "APP_ENV", AppEnv::Development)?;
        let settings = Settings {
            app_env,
            database_url: DatabaseUrl::new(
                get("DATABASE_URL").unwrap_or_else(|| "sqlite://data/hast.db".into()),
            ),
            database_pool_size: parse(&get, "DATABASE_POOL_SIZE", 8usize)?,
            nats_url: get("NATS_URL").unwrap_or_else(|| "nats://127.0.0.1:4222".into()),
            nats_creds: get("NATS_CREDS").map(PathBuf::from),
            jobs_replicas: parse(&get, "JOBS_REPLICAS", 1usize)?,
            jetstream_max_bytes: parse(&get, "JETSTREAM_MAX_BYTES", 9 * 1024 * 1024 * 1024u64)?,
            jobs: JobSettings::read(&get)?,
            api: ApiSettings::read(&get, app_env == AppEnv::Development)?,
            worker: WorkerSettings::read(&get)?,
        };
        settings.validate()?;
        Ok(settings)
    }

    /// Rejects values that are out of range anywhere, and insecure values in production.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.validate_shared()?;
        self.jobs.validate()?;
        self.api.validate(self.app_env == AppEnv::Production)?;
        self.worker.validate()?;
        if self.worker.lost_after <= self.jobs.submit_timeout {
            return Err(ConfigError::Invalid {
                variable: "JOB_LOST_AFTER",
                value: humantime::format_duration(self.worker.lost_after).to_string(),
                reason: "must be longer than JOB_SUBMIT_TIMEOUT".into(),
            });
        }
        Ok(())
    }

    /// The database and NATS: URLs, pool size, replicas, storage budget.
    fn validate_shared(&self) -> Result<(), ConfigError> {
        positive("DATABASE_POOL_SIZE", self.database_pool_size as u64)?;
        positive("JOBS_REPLICAS", self.jobs_replicas as u64)?;
        if self.jobs_replicas > 5 {
            return Err(ConfigError::Invalid {
                variable: "JOBS_REPLICAS",
                value: self.jobs_replicas.to_string(),
                reason: "JetStream allows at most 5 replicas".into(),
            });
        }
        if self.jetstream_max_bytes < crate::nats::storage::MIN_BUDGET {
            return Err(ConfigError::Invalid {
                variable: "JETSTREAM_MAX_BYTES",
                value: self.jetstream_max_bytes.to_string(),
                reason: format!("must be at least {}", crate::nats::storage::MIN_BUDGET),
            });
        }
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
        Ok(())
    }

    /// True when `APP_ENV=development`.
    pub fn is_development(&self) -> bool {
        self.app_env == AppEnv::Development
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Duration;

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
        assert_eq!(s.api.bind_addr.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database_url.expose(), "sqlite://data/hast.db");
        assert_eq!(s.nats_url, "nats://127.0.0.1:4222");
        assert!(
            !s.api.cookie_secure,
            "development cookies are not Secure by default"
        );
        assert_eq!(s.jobs.ack_wait, Duration::from_secs(30));
        assert_eq!(s.api.max_upload_bytes, 10 * 1024 * 1024);
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
        assert_eq!(s.api.bind_addr.port(), 9000);
        assert_eq!(s.jobs.ack_wait, Duration::from_secs(45));
        assert_eq!(s.api.session_ttl, Duration::from_secs(7200));
        assert_eq!(
            s.worker.pools.iter().collect::<Vec<_>>(),
            [("analysis", 1), ("echo", 3)]
        );
        assert_eq!(
            s.api.cors_allowed_origins,
            vec!["http://a.test".to_owned(), "https://b.test".to_owned()]
        );
        assert!(s.api.cookie_secure);
        assert_eq!(s.worker.analyzer, Analyzer::OpenAi);
    }

    #[test]
    fn model_limits_have_defaults_and_are_checked() {
        let s = settings(&[]).expect("defaults");
        assert_eq!(s.worker.openai.max_concurrency, 4);
        assert_eq!(s.worker.openai.chat_context_tokens, 6000);
        let s = settings(&[
            ("OPENAI_MAX_CONCURRENCY", "2"),
            ("CHAT_CONTEXT_TOKENS", "800"),
        ])
        .expect("valid");
        assert_eq!(
            (
                s.worker.openai.max_concurrency,
                s.worker.openai.chat_context_tokens
            ),
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
        assert!(ok.api.cookie_secure, "production cookies default to Secure");
    }

    #[test]
    fn trusted_proxies_are_cidr_ranges() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.api.trusted_proxies.len(), 2, "loopback by default");
        let s = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")]).unwrap();
        let shown: Vec<String> = s
            .api
            .trusted_proxies
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"]);
        let err = settings(&[("TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")]).unwrap_err();
        assert!(err.to_string().starts_with("TRUSTED_PROXIES"), "{err}");
    }

    #[test]
    fn sign_in_limits_are_checked() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.api.limits.login_account_failures_per_hour, 100);
        assert!(s.api.limits.password_hash_concurrency >= 1);
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
        assert_eq!(defaults.jobs.max_attempts, 10);
        assert_eq!(defaults.jobs.submit_timeout, Duration::from_secs(15));
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
        assert_eq!(
            log.worker.echo_execution_log,
            Some(PathBuf::from("/tmp/x.log"))
        );
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
        let example = include_str!("../../../.env.example");
        let reference = include_str!("../../../docs/configuration.md");
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
