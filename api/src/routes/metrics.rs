//! `GET /metrics`: Prometheus text (see `hast_common::metrics` for the names). Queue
//! and dead-letter depths, the oldest jobs' ages and the live workers per kind are read
//! from JetStream at scrape time.

//!
//! Operators only (`METRICS_TOKEN`, [`crate::auth::operator`]): 401 without the token
//! when one is set; 404 in production when none is.

use warp::http::HeaderMap;
use warp::{Filter, Rejection, Reply};

use crate::auth::operator::{access, OperatorAccess};
use crate::error::{ApiError, ApiResult};
use crate::extract::with_state;
use crate::state::AppState;

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    warp::path!("metrics")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .then(metrics)
}

async fn metrics(state: AppState, headers: HeaderMap) -> ApiResult<warp::reply::Response> {
    match access(&state.settings, &headers) {
        OperatorAccess::Full => {}
        OperatorAccess::Denied => {
            return Err(ApiError::new(
                warp::http::StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "send the metrics token as a bearer token",
            ))
        }
        OperatorAccess::Off => return Err(ApiError::not_found("no such route")),
    }
    tokio::join!(
        hast_common::metrics::refresh_queue_gauges(&state.topology.jetstream),
        hast_common::metrics::refresh_worker_gauges(&state.topology.workers),
    );
    Ok(warp::reply::with_header(
        state.metrics.render(),
        "content-type",
        "text/plain; version=0.0.4",
    )
    .into_response())
}
