//! The router: one module per resource (and `web` for the page), combined here with the
//! JSON rejection handler.
//!
//! Each module exposes `routes(state) -> impl Filter` with path filters *before*
//! method filters, so an unknown path is 404 and a known path with the wrong method 405.

mod analyses;
mod auth;
mod conversations;
mod health;
pub mod jobs;
mod metrics;
pub mod openapi;
mod pagination;
pub mod web;

use warp::{Filter, Rejection, Reply};

use crate::error::handle_rejection;
use crate::state::AppState;

/// Every route of the API, with rejections turned into the JSON error envelope.
pub fn routes(
    state: AppState,
) -> impl Filter<Extract = (impl Reply,), Error = std::convert::Infallible> + Clone {
    api(state).recover(handle_rejection)
}

fn api(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    health::routes(state.clone())
        .or(auth::routes(state.clone()))
        .or(analyses::routes(state.clone()))
        .or(conversations::routes(state.clone()))
        .or(jobs::routes(state.clone()))
        .or(metrics::routes(state.clone()))
        .or(openapi::routes())
        .or(web::routes(state))
        .boxed()
}
