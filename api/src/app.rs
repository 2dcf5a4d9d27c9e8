//! Start-up: configuration in, a running server out.
//!
//! `Application::build` connects to the database (running migrations), connects to
//! NATS and reconciles the JetStream topology, and binds the listener (port 0 picks a
//! free port, which tests use). `run_until_stopped` serves until the shutdown future
//! resolves.

use std::future::Future;
use std::net::SocketAddr;

use hast_common::config::Settings;
use hast_common::jobs::Kind;
use hast_common::nats::bootstrap::TopologyConfig;
use hast_common::startup::{self, Connected};
use tokio::net::TcpListener;

use crate::routes::routes;
use crate::server::{cors_layer, serve};
use crate::state::AppState;

pub use hast_common::startup::StartupError;

/// The tokio runtime `hast-api` runs on: multi-threaded, with 8 MiB worker stacks
/// (warp's nested filter futures need more than tokio's 2 MiB default in debug
/// builds). `workers` = 0 lets tokio pick one per core.
pub fn runtime(workers: usize) -> tokio::runtime::Builder {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.enable_all().thread_stack_size(8 * 1024 * 1024);
    if workers > 0 {
        builder.worker_threads(workers);
    }
    builder
}

/// A built, bound API ready to serve.
#[derive(Debug)]
pub struct Application {
    listener: TcpListener,
    local_addr: SocketAddr,
    state: AppState,
}

impl Application {
    /// Connects to everything and binds `settings.api.bind_addr`.
    pub async fn build(settings: Settings) -> Result<Self, StartupError> {
        // The API never updates the consumers' settings: workers own them.
        let topology =
            TopologyConfig::from_settings(&settings, &Kind::names()).without_consumer_updates();
        let Connected { db, nats, topology } =
            startup::connect(&settings, "hast-api", &topology).await?;
        let (listener, local_addr) = startup::bind(settings.api.bind_addr).await?;
        Ok(Self {
            listener,
            local_addr,
            state: AppState::new(settings, db, nats, topology),
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The state handed to routes.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` resolves, then drains connections and flushes NATS.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()> + Send) {
        let cors = cors_layer(&self.state.settings.api.cors_allowed_origins);
        tracing::info!(http.addr = %self.local_addr, "hast-api listening");
        serve(
            self.listener,
            routes(self.state.clone()),
            cors,
            &self.state.settings.api.http,
            shutdown,
        )
        .await;
        if let Err(err) = self.state.nats.flush().await {
            tracing::warn!(error = %err, "NATS flush on shutdown failed");
        }
        tracing::info!("hast-api stopped");
    }
}
