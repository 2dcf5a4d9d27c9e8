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

use hast_common::config::{Analyzer, Settings};
use hast_common::db::Database;
use hast_common::jobs::Kind;
use hast_common::nats::bootstrap::{ensure_ai_slots, Topology, TopologyConfig};
use hast_common::startup::{self, Connected};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::ai::{Ai, NatsGate};
use crate::heartbeat::{self, WorkerIdentity};
use crate::jobs::{register, Parts};
use crate::metrics_server;
use crate::runner::{Runner, Signals};
use hast_common::jobs::StatusStore;

/// Why a worker could not start: the shared start-up, or what only a worker sets up.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Connect(#[from] hast_common::startup::StartupError),
    #[error("job registry: {0}")]
    Registry(String),
    #[error(transparent)]
    Engine(#[from] hast_palm::EngineError),
    #[error(transparent)]
    Ai(#[from] crate::ai::AiSetupError),
}

/// A connected worker, ready to run.
#[derive(Debug)]
pub struct Worker {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub nats: async_nats::Client,
    pub topology: Topology,
    pub identity: Arc<WorkerIdentity>,
    registry: crate::jobs::Registry,
    metrics_listener: TcpListener,
}

impl Worker {
    /// Connects to everything and binds `WORKER_METRICS_ADDR`.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        let Connected { db, nats, topology } = startup::connect(
            &settings,
            "hast-worker",
            &TopologyConfig::from_settings(&settings, &Kind::names()),
        )
        .await?;
        let identity = Arc::new(WorkerIdentity::new(
            &settings.worker.pools,
            settings.jobs.ack_wait,
        ));
        let ai = match settings.worker.analyzer {
            Analyzer::Offline => None,
            Analyzer::OpenAi => {
                // The lease of a slot: twice the deadline of one request.
                let lease = settings.worker.openai.timeout.saturating_mul(2);
                let slots =
                    ensure_ai_slots(&topology.jetstream, settings.jobs_replicas, Some(lease))
                        .await
                        .map_err(startup::StartupError::from)?;
                let gate =
                    NatsGate::new(slots, settings.worker.openai.max_concurrency, &identity.id);
                Some(Arc::new(Ai::new(&settings, Arc::new(gate))?))
            }
        };
        let echo = match &settings.worker.echo_execution_log {
            Some(path) => crate::jobs::echo::Echo::with_execution_log(path)
                .map_err(|e| StartupError::Registry(format!("ECHO_EXECUTION_LOG: {e}")))?,
            None => crate::jobs::echo::Echo::default(),
        };
        // The palm engine's model is loaded only by a worker that runs analyses.
        let parts = Parts {
            engine: hast_palm::Engine::shared,
            ai,
            echo,
        };
        let registry = register(settings.worker.pools.kinds(), parts)?;
        let (metrics_listener, _) = startup::bind(settings.worker.metrics_addr).await?;
        tracing::info!(
            worker.id = %identity.id,
            db.backend = ?db.backend(),
            nats.url = %settings.nats_url_redacted(),
            analyzer = ?settings.worker.analyzer,
            kinds = ?settings.worker.pools.iter().collect::<Vec<_>>(),
            "hast-worker ready"
        );
        Ok(Self {
            settings: Arc::new(settings),
            db,
            nats,
            topology,
            identity,
            registry,
            metrics_listener,
        })
    }

    /// The address of the metrics listener.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener.local_addr().ok()
    }

    /// Runs jobs until `shutdown` resolves, then stops cleanly: no more fetching,
    /// running jobs get `SHUTDOWN_GRACE` to finish, the rest are handed back.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) {
        let runner = Arc::new(Runner::new(
            self.settings.clone(),
            self.db.clone(),
            self.nats.clone(),
            self.topology.jetstream.clone(),
            StatusStore::of(&self.topology),
            self.topology.images.clone(),
            self.registry,
            self.identity.clone(),
            self.topology.workers.clone(),
        ));
        let (stop_tx, stop_rx) = watch::channel(false);
        let (abandon_tx, abandon_rx) = watch::channel(false);
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
        let metrics = tokio::spawn(metrics_server::serve(
            self.metrics_listener,
            metrics_server::MetricsState::new(self.topology.jetstream.clone()),
            stop_rx.clone(),
        ));
        let reconciler = tokio::spawn(
            crate::reconciler::Reconciler {
                jetstream: self.topology.jetstream.clone(),
                nats: self.nats.clone(),
                db: self.db.clone(),
                statuses: StatusStore::of(&self.topology),
                leases: self.topology.leases.clone(),
                holder: self.identity.id.clone(),
                interval: self.settings.worker.reconcile_interval,
                lost_after: self.settings.worker.lost_after,
                results_retention: self.settings.jobs.results_retention,
            }
            .run(stop_rx.clone()),
        );
        let loops = tokio::spawn(runner.clone().run(Signals {
            stop: stop_rx.clone(),
            abandon: abandon_rx,
        }));

        shutdown.await;
        tracing::info!("hast-worker stopping: no new jobs");
        let _ = stop_tx.send(true);
        match loops.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::error!(error = %err, "job loop failed"),
            Err(err) => tracing::error!(error = %err, "job loop ended abnormally"),
        }
        let grace = self.settings.worker.shutdown_grace;
        let drained = tokio::time::timeout(grace, runner.wait_idle()).await;
        if drained.is_err() {
            tracing::warn!(
                grace_s = grace.as_secs(),
                "jobs still running after the grace period; handing them back"
            );
            let _ = abandon_tx.send(true);
            let _ = tokio::time::timeout(Duration::from_secs(5), runner.wait_idle()).await;
        }
        for task in [heartbeats, metrics, reconciler] {
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
