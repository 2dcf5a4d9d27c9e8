//! `settings.api`: what only the API reads (its HTTP server, sessions and cookies,
//! uploads, abuse limits, the operator's token).

use std::net::SocketAddr;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::parse::{
    at_least, default_cores, parse, parse_bool, parse_duration, parse_networks, positive, Get,
};
use super::{ConfigError, DEVELOPMENT_SESSION_SECRET, MIN_SECRET_LEN};

/// What only the API reads.
#[derive(Debug, Clone)]
pub struct ApiSettings {
    /// `BIND_ADDR`: the API's listening address.
    pub bind_addr: SocketAddr,
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
    /// `TRUST_FORWARDED_FOR`: take the client address from `X-Forwarded-For` when the
    /// request comes from one of [`Self::trusted_proxies`].
    pub trust_forwarded_for: bool,
    /// `TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges of the reverse
    /// proxies (default loopback): the client is the right-most `X-Forwarded-For`
    /// entry outside them.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// `METRICS_TOKEN`: the bearer token that opens the API's `/metrics` and the health
    /// check's details. Unset: open in development, off in production.
    pub metrics_token: Option<SecretString>,
    /// Abuse limits, shared by every API replica through NATS KV.
    pub limits: AbuseLimits,
    /// Bounds of the API's HTTP server.
    pub http: HttpLimits,
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

impl ApiSettings {
    /// Reads this section from `get`; cookies are `Secure` by default outside
    /// `development`.
    pub(super) fn read(get: &impl Get, development: bool) -> Result<Self, ConfigError> {
        Ok(Self {
            bind_addr: parse(get, "BIND_ADDR", SocketAddr::from(([127, 0, 0, 1], 8080)))?,
            cors_allowed_origins: get("CORS_ALLOWED_ORIGINS")
                .map(|v| {
                    v.split(',')
                        .map(|s| s.trim().trim_end_matches('/').to_owned())
                        .filter(|s| !s.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            session_ttl: parse_duration(get, "SESSION_TTL", Duration::from_secs(7 * 24 * 3600))?,
            session_secret: SecretString::from(
                get("SESSION_SECRET").unwrap_or_else(|| DEVELOPMENT_SESSION_SECRET.into()),
            ),
            cookie_secure: parse_bool(get, "COOKIE_SECURE", !development)?,
            max_upload_bytes: parse(get, "MAX_UPLOAD_BYTES", 10 * 1024 * 1024u64)?,
            trust_forwarded_for: parse_bool(get, "TRUST_FORWARDED_FOR", false)?,
            trusted_proxies: parse_networks(get, "TRUSTED_PROXIES", "127.0.0.0/8,::1/128")?,
            metrics_token: get("METRICS_TOKEN").map(SecretString::from),
            limits: AbuseLimits::read(get)?,
            http: HttpLimits::read(get)?,
        })
    }

    /// Sizes, limits and origins in range anywhere; `production` also refuses
    /// insecure values.
    pub(super) fn validate(&self, production: bool) -> Result<(), ConfigError> {
        positive("MAX_UPLOAD_BYTES", self.max_upload_bytes)?;
        at_least("SESSION_TTL", self.session_ttl, Duration::from_secs(1))?;
        for origin in &self.cors_allowed_origins {
            if !(origin.starts_with("http://") || origin.starts_with("https://")) {
                return Err(ConfigError::Invalid {
                    variable: "CORS_ALLOWED_ORIGINS",
                    value: origin.clone(),
                    reason: "each origin must start with http:// or https://".into(),
                });
            }
        }
        self.limits.validate()?;
        self.http.validate()?;
        if production {
            self.validate_production()?;
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
}

impl AbuseLimits {
    /// Reads this section from `get`.
    fn read(get: &impl Get) -> Result<Self, ConfigError> {
        Ok(Self {
            login_max_failures: parse(get, "LOGIN_MAX_FAILURES", 5u32)?,
            login_backoff_base: parse_duration(get, "LOGIN_BACKOFF_BASE", Duration::from_secs(1))?,
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
            registrations_per_hour: parse(get, "REGISTRATIONS_PER_HOUR", 10u32)?,
            password_hash_concurrency: parse(&get, "PASSWORD_HASH_CONCURRENCY", default_cores())?,
            uploads_per_hour: parse(get, "UPLOADS_PER_HOUR", 30u32)?,
            guest_max_analyses: parse(get, "GUEST_MAX_ANALYSES", 3u32)?,
            jobs_per_hour: parse(get, "JOBS_PER_HOUR", 1000u32)?,
            messages_per_hour: parse(get, "MESSAGES_PER_HOUR", 60u32)?,
            questions_in_flight: parse(get, "QUESTIONS_IN_FLIGHT", 2u32)?,
            photo_decode_slots: parse(get, "PHOTO_DECODE_SLOTS", default_cores())?,
            photo_decode_wait: parse_duration(get, "PHOTO_DECODE_WAIT", Duration::from_secs(2))?,
        })
    }

    /// Counts in range, then the sign-in throttle.
    fn validate(&self) -> Result<(), ConfigError> {
        positive("LOGIN_MAX_FAILURES", u64::from(self.login_max_failures))?;
        positive("UPLOADS_PER_HOUR", u64::from(self.uploads_per_hour))?;
        positive("PHOTO_DECODE_SLOTS", self.photo_decode_slots as u64)?;
        positive("MESSAGES_PER_HOUR", u64::from(self.messages_per_hour))?;
        positive("QUESTIONS_IN_FLIGHT", u64::from(self.questions_in_flight))?;
        positive(
            "REGISTRATIONS_PER_HOUR",
            u64::from(self.registrations_per_hour),
        )?;
        positive(
            "PASSWORD_HASH_CONCURRENCY",
            self.password_hash_concurrency as u64,
        )?;
        self.validate_login()
    }

    /// The sign-in throttle.
    fn validate_login(&self) -> Result<(), ConfigError> {
        for (variable, value) in [
            ("LOGIN_BACKOFF_BASE", self.login_backoff_base),
            ("LOGIN_BACKOFF_CAP", self.login_backoff_cap),
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
        if self.login_backoff_cap < self.login_backoff_base {
            return Err(ConfigError::Invalid {
                variable: "LOGIN_BACKOFF_CAP",
                value: humantime::format_duration(self.login_backoff_cap).to_string(),
                reason: "must be at least LOGIN_BACKOFF_BASE".into(),
            });
        }
        let per_account = self.login_account_failures_per_hour;
        if !(1..=100).contains(&per_account) {
            return Err(ConfigError::Invalid {
                variable: "LOGIN_ACCOUNT_FAILURES_PER_HOUR",
                value: per_account.to_string(),
                reason: "must be between 1 and 100 (ASVS V2.2.1)".into(),
            });
        }
        positive(
            "LOGIN_ADDRESS_FAILURES_PER_HOUR",
            u64::from(self.login_address_failures_per_hour),
        )?;
        Ok(())
    }
}

impl HttpLimits {
    /// Reads this section from `get`.
    fn read(get: &impl Get) -> Result<Self, ConfigError> {
        Ok(Self {
            header_timeout: parse_duration(get, "HTTP_HEADER_TIMEOUT", Duration::from_secs(10))?,
            max_connections: parse(get, "HTTP_MAX_CONNECTIONS", 1000usize)?,
            sse_streams_per_user: parse(get, "SSE_STREAMS_PER_USER", 8usize)?,
            sse_max_lifetime: parse_duration(
                &get,
                "SSE_MAX_LIFETIME",
                Duration::from_secs(30 * 60),
            )?,
        })
    }

    fn validate(&self) -> Result<(), ConfigError> {
        positive("HTTP_MAX_CONNECTIONS", self.max_connections as u64)?;
        positive("SSE_STREAMS_PER_USER", self.sse_streams_per_user as u64)?;
        at_least(
            "HTTP_HEADER_TIMEOUT",
            self.header_timeout,
            Duration::from_secs(1),
        )?;
        at_least(
            "SSE_MAX_LIFETIME",
            self.sse_max_lifetime,
            Duration::from_secs(1),
        )
    }
}
