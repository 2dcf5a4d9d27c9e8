//! Embedded migrations (`migrations/sqlite`, `migrations/postgres`), applied at start-up
//! by both binaries and by `hast-api migrate`.
//!
//! Diesel's migration harness is synchronous, so it runs on tokio's blocking pool: a
//! plain `SqliteConnection` for SQLite, and diesel-async's `AsyncConnectionWrapper`
//! (pure-Rust tokio-postgres, no libpq) for PostgreSQL. Concurrent runs from several
//! processes are serialised by an `IMMEDIATE` transaction (SQLite) or a transaction-level
//! advisory lock (PostgreSQL); each migration then runs as a savepoint inside it.

use diesel::{Connection, RunQueryDsl};
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use super::{open_sqlite, sqlite_path, Backend};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");

/// Arbitrary, fixed key of the PostgreSQL advisory lock that serialises migrations.
const MIGRATION_LOCK_KEY: i64 = 0x4841_5354; // "HAST"

/// Why migrations could not be applied.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    #[error("migration failed: {0}")]
    Failed(String),
    #[error(transparent)]
    Url(#[from] super::DbError),
}

/// Applies pending migrations and returns the versions applied.
pub(crate) async fn run_pending(url: &str) -> Result<Vec<String>, MigrationError> {
    let backend = Backend::from_url(url)?;
    let url = url.to_owned();
    let task = tokio::task::spawn_blocking(move || match backend {
        Backend::Sqlite => run_sqlite(&url),
        Backend::Postgres => run_postgres(&url),
    });
    task.await
        .map_err(|e| MigrationError::Failed(format!("migration task failed: {e}")))?
}

fn run_sqlite(url: &str) -> Result<Vec<String>, MigrationError> {
    let path = sqlite_path(url)?;
    let mut conn = open_sqlite(path).map_err(|e| MigrationError::Connect(e.to_string()))?;
    conn.immediate_transaction(|conn| apply(conn, SQLITE_MIGRATIONS))
}

fn run_postgres(url: &str) -> Result<Vec<String>, MigrationError> {
    let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(url)
        .map_err(|e| MigrationError::Connect(e.to_string()))?;
    conn.transaction(|conn| {
        diesel::sql_query(format!(
            "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_KEY})"
        ))
        .execute(conn)
        .map_err(|e| MigrationError::Failed(e.to_string()))?;
        apply(conn, POSTGRES_MIGRATIONS)
    })
}

fn apply<C>(conn: &mut C, migrations: EmbeddedMigrations) -> Result<Vec<String>, MigrationError>
where
    C: MigrationHarness<C::Backend> + Connection,
{
    conn.run_pending_migrations(migrations)
        .map(|versions| versions.iter().map(ToString::to_string).collect())
        .map_err(|e| MigrationError::Failed(e.to_string()))
}

impl From<diesel::result::Error> for MigrationError {
    fn from(err: diesel::result::Error) -> Self {
        MigrationError::Failed(err.to_string())
    }
}
