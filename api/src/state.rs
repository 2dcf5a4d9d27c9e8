//! Shared state handed to every route.

use std::sync::Arc;

use hast_common::config::Settings;
use hast_common::db::Database;
use hast_common::nats::bootstrap::Topology;

/// What handlers need: settings, the database, NATS and the JetStream topology.
#[derive(Clone, Debug)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub db: Database,
    pub nats: async_nats::Client,
    pub topology: Topology,
}
