//! `GET /metrics`: Prometheus text (see `hast_common::metrics` for the names). Queue
//! and dead-letter depths are read from JetStream at scrape time.

use warp::{Filter, Rejection, Reply};

use crate::extract::with_state;
use crate::state::AppState;

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(with_state(state))
        .then(|state: AppState| async move {
            hast_common::metrics::refresh_queue_gauges(&state.topology.jetstream).await;
            warp::reply::with_header(
                state.metrics.render(),
                "content-type",
                "text/plain; version=0.0.4",
            )
        })
}
