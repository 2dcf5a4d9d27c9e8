//! Start-up and shutdown of a worker.
//!
//! `Worker::build` connects to the database (running migrations) and NATS, reconciles
//! the topology, and binds the metrics listener. `run_until_stopped` writes heartbeats
//! and serves `/healthz` until the shutdown future resolves, then removes its heartbeat
//! and drains the NATS connection.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hast_common::config::Settings;
use hast_common::db::{Database, DbError, MigrationError};
use hast_common::jobs::kind_names;
use hast_common::nats::bootstrap::{bootstrap, BootstrapError, Topology, TopologyConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::heartbeat::{self, WorkerIdentity};
use crate::metrics_server;

/// How long start-up waits for NATS before giving up.
pub const NATS_STARTUP_TIMEOUT: Duration = Duration::from_secs(30);

/// Why a worker could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Database(#[from] DbError),
    #[error(transparent)]
    Migration(#[from] MigrationError),
    #[error(transparent)]
    Nats(#[from] hast_common::nats::ConnectError),
    #[error(transparent)]
    Bootstrap(#[from] BootstrapError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// A connected worker, ready to run.
#[derive(Debug)]
pub struct Worker {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub nats: async_nats::Client,
    pub topology: Topology,
    pub identity: Arc<WorkerIdentity>,
    metrics_listener: TcpListener,
}

impl Worker {
    /// Connects to everything and binds `WORKER_METRICS_ADDR`.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let db = Database::connect(settings.database_url.expose(), settings.database_pool_size)?;
        db.run_migrations().await?;
        let nats =
            hast_common::nats::connect(&settings, "hast-worker", NATS_STARTUP_TIMEOUT).await?;
        let topology = bootstrap(
            nats.clone(),
            &TopologyConfig::from_settings(&settings, &kind_names()),
        )
        .await?;
        let bind = |source| StartupError::Bind {
            addr: settings.worker_metrics_addr,
            source,
        };
        let metrics_listener = TcpListener::bind(settings.worker_metrics_addr)
            .await
            .map_err(bind)?;
        let identity = Arc::new(WorkerIdentity::new(
            kind_names().iter().map(|k| (*k).to_owned()).collect(),
        ));
        tracing::info!(
            worker.id = %identity.id,
            db.backend = ?db.backend(),
            nats.url = %settings.nats_url,
            "hast-worker ready"
        );
        Ok(Self {
            settings: Arc::new(settings),
            db,
            nats,
            topology,
            identity,
            metrics_listener,
        })
    }

    /// The address of the metrics listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.local_addr().ok()
    }

    /// Runs until `shutdown` resolves, then stops cleanly.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) {
        let (stop_tx, stop_rx) = watch::channel(false);
        // The first beat is written before anything else, so the worker is visible
        // to `/api/v1/health` as soon as this returns control to the runtime.
        if let Err(err) = heartbeat::beat(&self.topology.workers, &self.identity).await {
            tracing::warn!(error = %err, "first heartbeat failed");
        }
        let heartbeats = tokio::spawn(heartbeat::run(
            self.topology.workers.clone(),
            self.identity.clone(),
            stop_rx.clone(),
        ));
        let metrics = tokio::spawn(metrics_server::serve(self.metrics_listener, stop_rx));

        shutdown.await;
        tracing::info!("hast-worker stopping");
        let _ = stop_tx.send(true);
        for task in [heartbeats, metrics] {
            if let Err(err) = task.await {
                tracing::warn!(error = %err, "background task ended abnormally");
            }
        }
        if let Err(err) = self.nats.drain().await {
            tracing::warn!(error = %err, "NATS drain failed");
        }
        tracing::info!("hast-worker stopped");
    }
}
