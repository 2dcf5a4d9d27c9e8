//! Persistence: one [`Database`] handle over SQLite or PostgreSQL.
//!
//! diesel-async has no async `MultiConnection`, so [`Database`] holds an enum of two
//! deadpool pools and every repository method is written once inside [`with_conn!`],
//! which expands the same Diesel query for each backend. Callers never branch on the
//! backend. SQLite runs through `SyncConnectionWrapper` (blocking calls on tokio's
//! blocking pool) with WAL, `foreign_keys=ON` and a `busy_timeout`.
//!
//! Layout: `schema.rs` (tables), `models.rs` (rows), `migrate.rs` (embedded migrations),
//! and one file per table with its queries (`users.rs`, `analyses.rs`, …).

mod analyses;
mod chat_job;
pub use chat_job::{ChatContext, ChatLookup};
mod conversations;
mod job_results;
mod migrate;
pub mod models;
pub mod schema;
mod users;

use std::path::Path;
use std::time::Duration;

use chrono::{NaiveDateTime, SubsecRound, Utc};
use diesel::result::{ConnectionError, DatabaseErrorKind};
use diesel::sqlite::SqliteConnection;
use diesel_async::pooled_connection::deadpool::Pool;
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::sync_connection_wrapper::SyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use futures::FutureExt;

pub use migrate::MigrationError;

/// SQLite pragmas applied to every connection. `busy_timeout` comes first so that even
/// switching to WAL waits for a concurrent writer instead of failing.
pub(crate) const SQLITE_PRAGMAS: &str = "PRAGMA busy_timeout = 5000; \
     PRAGMA journal_mode = WAL; \
     PRAGMA foreign_keys = ON; \
     PRAGMA synchronous = NORMAL;";

/// Opens a SQLite file and applies [`SQLITE_PRAGMAS`]. Several processes opening a
/// brand-new file at once race to switch it to WAL, and SQLite reports that race as
/// "database is locked" without consulting the busy timeout, so it is retried briefly.
pub(crate) fn open_sqlite(path: &str) -> diesel::ConnectionResult<SqliteConnection> {
    use diesel::connection::SimpleConnection;
    use diesel::Connection;
    let mut conn = SqliteConnection::establish(path)?;
    let mut attempts = 0;
    loop {
        match conn.batch_execute(SQLITE_PRAGMAS) {
            Ok(()) => return Ok(conn),
            Err(e) if attempts < 50 && e.to_string().contains("locked") => {
                attempts += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => return Err(ConnectionError::CouldntSetupConfiguration(e)),
        }
    }
}

/// How long a caller waits for a pooled connection before giving up.
const POOL_TIMEOUT: Duration = Duration::from_secs(5);

/// The longest any one statement may run on PostgreSQL (`statement_timeout`, set on
/// every pooled connection): a statement stuck behind a lock held elsewhere fails
/// instead of hanging its caller. SQLite's counterpart is the `busy_timeout` (5 s) in
/// [`SQLITE_PRAGMAS`]: a write waits that long for another writer, then fails.
pub const STATEMENT_TIMEOUT: Duration = Duration::from_secs(15);

/// What can go wrong talking to the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No connection could be had (database down, pool exhausted, timeout).
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// A unique constraint was violated (for example a duplicate email).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A foreign key points at nothing.
    #[error("referenced row does not exist: {0}")]
    ForeignKey(String),
    /// Any other query failure.
    #[error("query failed: {0}")]
    Query(diesel::result::Error),
    /// The configured URL is not usable.
    #[error("invalid DATABASE_URL: {0}")]
    InvalidUrl(String),
}

impl From<diesel::result::Error> for DbError {
    fn from(err: diesel::result::Error) -> Self {
        match err {
            diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) => {
                DbError::Conflict(info.message().to_owned())
            }
            diesel::result::Error::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, info) => {
                DbError::ForeignKey(info.message().to_owned())
            }
            diesel::result::Error::DatabaseError(DatabaseErrorKind::ClosedConnection, info) => {
                DbError::Unavailable(info.message().to_owned())
            }
            other => DbError::Query(other),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for DbError {
    fn from(err: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        DbError::Unavailable(err.to_string())
    }
}

/// Which database a URL points at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// Chooses the backend from the URL scheme.
    pub fn from_url(url: &str) -> Result<Self, DbError> {
        if url.starts_with("sqlite://") {
            Ok(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Backend::Postgres)
        } else {
            Err(DbError::InvalidUrl(
                "expected sqlite://PATH or postgres://…".into(),
            ))
        }
    }
}

/// The file path inside a `sqlite://` URL (`sqlite://data/hast.db` → `data/hast.db`,
/// `sqlite:///var/lib/hast.db` → `/var/lib/hast.db`).
pub fn sqlite_path(url: &str) -> Result<&str, DbError> {
    url.strip_prefix("sqlite://")
        .filter(|p| !p.is_empty())
        .ok_or_else(|| DbError::InvalidUrl("sqlite:// URL without a path".into()))
}

pub(crate) enum Pools {
    Sqlite(Pool<SyncConnectionWrapper<SqliteConnection>>),
    Postgres(Pool<AsyncPgConnection>),
}

/// A pooled handle on the configured database. Cheap to clone.
#[derive(Clone)]
pub struct Database {
    pools: std::sync::Arc<Pools>,
    url: String,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("backend", &self.backend())
            .field("url", &crate::config::redact_url_password(&self.url))
            .finish()
    }
}

/// Runs `$body` with `$conn` bound to a pooled connection of whichever backend is
/// configured. The body is compiled once per backend, so ordinary Diesel DSL works.
macro_rules! with_conn {
    ($db:expr, |$conn:ident| $body:expr) => {
        match $db.pools() {
            $crate::db::Pools::Sqlite(pool) => {
                let mut pooled = pool.get().await?;
                let $conn = &mut *pooled;
                $body
            }
            $crate::db::Pools::Postgres(pool) => {
                let mut pooled = pool.get().await?;
                let $conn = &mut *pooled;
                $body
            }
        }
    };
}
pub(crate) use with_conn;

impl Database {
    /// Builds the pool for `url` (no connection is opened until first use).
    /// For SQLite the file's directory is created if missing.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, DbError> {
        let pools = match Backend::from_url(url)? {
            Backend::Sqlite => {
                let path = sqlite_path(url)?.to_owned();
                if let Some(dir) = Path::new(&path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir).map_err(|e| {
                            DbError::InvalidUrl(format!("cannot create {}: {e}", dir.display()))
                        })?;
                    }
                }
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(|path: &str| {
                    let path = path.to_owned();
                    async move {
                        let conn = tokio::task::spawn_blocking(move || open_sqlite(&path))
                            .await
                            .map_err(|e| {
                                ConnectionError::BadConnection(format!("setup task failed: {e}"))
                            })??;
                        Ok(SyncConnectionWrapper::new(conn))
                    }
                    .boxed()
                });
                let manager = AsyncDieselConnectionManager::new_with_config(path, config);
                Pools::Sqlite(build_pool(manager, pool_size)?)
            }
            Backend::Postgres => {
                let mut config = ManagerConfig::default();
                config.custom_setup = Box::new(|url: &str| {
                    let url = url.to_owned();
                    async move {
                        use diesel_async::{AsyncConnection, SimpleAsyncConnection};
                        let mut conn = AsyncPgConnection::establish(&url).await?;
                        conn.batch_execute(&format!(
                            "SET statement_timeout = {}",
                            STATEMENT_TIMEOUT.as_millis()
                        ))
                        .await
                        .map_err(ConnectionError::CouldntSetupConfiguration)?;
                        Ok(conn)
                    }
                    .boxed()
                });
                let manager =
                    AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(url, config);
                Pools::Postgres(build_pool(manager, pool_size)?)
            }
        };
        Ok(Self {
            pools: std::sync::Arc::new(pools),
            url: url.to_owned(),
        })
    }

    /// The backend this handle talks to.
    pub fn backend(&self) -> Backend {
        match *self.pools {
            Pools::Sqlite(_) => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    pub(crate) fn pools(&self) -> &Pools {
        &self.pools
    }

    /// Applies pending migrations (embedded in the binary). Safe to run from several
    /// processes at once: SQLite takes the write lock, PostgreSQL an advisory lock.
    pub async fn run_migrations(&self) -> Result<Vec<String>, MigrationError> {
        migrate::run_pending(&self.url).await
    }

    /// Round trip to the database (`SELECT 1`), bounded by `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<(), DbError> {
        let ping = async {
            with_conn!(self, |conn| {
                diesel_async::RunQueryDsl::execute(diesel::sql_query("SELECT 1"), conn).await?;
                Ok::<_, DbError>(())
            })
        };
        tokio::time::timeout(timeout, ping)
            .await
            .map_err(|_| DbError::Unavailable(format!("no answer within {timeout:?}")))?
    }
}

fn build_pool<C>(manager: AsyncDieselConnectionManager<C>, size: usize) -> Result<Pool<C>, DbError>
where
    AsyncDieselConnectionManager<C>: deadpool::managed::Manager,
{
    Pool::builder(manager)
        .max_size(size)
        .runtime(deadpool::Runtime::Tokio1)
        .wait_timeout(Some(POOL_TIMEOUT))
        .create_timeout(Some(POOL_TIMEOUT))
        .recycle_timeout(Some(POOL_TIMEOUT))
        .build()
        .map_err(|e| DbError::InvalidUrl(e.to_string()))
}

/// The current UTC time, truncated to microseconds (what PostgreSQL stores), so a value
/// read back equals the value written on both backends.
pub fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

/// `time` as stored in the database (UTC, microseconds).
pub fn now_from(time: chrono::DateTime<Utc>) -> NaiveDateTime {
    time.naive_utc().trunc_subsecs(6)
}

/// A new time-ordered id (UUIDv7) as text.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}
