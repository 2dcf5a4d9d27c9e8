//! The start-up both binaries share: the database (migrations applied), then NATS, then
//! the JetStream topology; and binding a listener. Either binary can start first.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::config::Settings;
use crate::db::{Database, DbError, MigrationError};
use crate::nats::bootstrap::{bootstrap, BootstrapError, Topology, TopologyConfig};

/// How long start-up waits for NATS before giving up.
pub const NATS_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a process could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error(transparent)]
    Nats(#[from] crate::nats::ConnectError),
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// What a started process is connected to.
#[derive(Debug)]
pub struct Connected {
    pub db: Database,
    pub nats: async_nats::Client,
    pub topology: Topology,
}

/// Connects to the database and applies pending migrations, connects to NATS as
/// `client_name` (waiting up to [`NATS_STARTUP_TIMEOUT`]), and reconciles `topology`.
pub async fn connect(
    settings: &Settings,
    client_name: &str,
    topology: &TopologyConfig,
) -> Result<Connected, StartupError> {
    let db = Database::connect(settings.database_url.expose(), settings.database_pool_size)?;
    let applied = db.run_migrations().await?;
    tracing::info!(
        db.backend = ?db.backend(),
        migrations.applied = applied.len(),
        "database ready"
    );
    let nats = crate::nats::connect(settings, client_name, NATS_STARTUP_TIMEOUT).await?;
    let topology = bootstrap(nats.clone(), topology).await?;
    tracing::info!(nats.url = %settings.nats_url_redacted(), "NATS topology ready");
    Ok(Connected { db, nats, topology })
}

/// Binds `addr` (port 0 picks a free port); the listener and the address it got.
pub async fn bind(addr: SocketAddr) -> Result<(TcpListener, SocketAddr), StartupError> {
    let bind_error = |source| StartupError::Bind { addr, source };
    let listener = TcpListener::bind(addr).await.map_err(bind_error)?;
    let local = listener.local_addr().map_err(bind_error)?;
    Ok((listener, local))
}
