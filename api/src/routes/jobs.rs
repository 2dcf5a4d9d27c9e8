//! Jobs: submit, status, live events, cancel.
//!
//! - `POST   /api/v1/jobs`             `{"kind","payload"}` → 202 with the job status
//!   (public kinds only; `Idempotency-Key` header honoured).
//! - `GET    /api/v1/jobs/{id}`        the job status.
//! - `GET    /api/v1/jobs/{id}/events` Server-Sent Events: the current status, then one
//!   event per change; ends after a terminal state.
//! - `DELETE /api/v1/jobs/{id}`        cancel; answers the (cancelled) status.
//!
//! Every route needs a session (account or guest): anonymous callers get 401, and a job
//! owned by someone else answers 404 like an unknown one.

use std::convert::Infallible;
use std::time::Duration;

use futures::StreamExt;
use hast_common::jobs::{NewJob, StatusError};
use serde::Deserialize;
use serde_json::Value;
use warp::http::StatusCode;
use warp::sse::Event;
use warp::{Filter, Rejection, Reply};

use crate::auth::{require_user, Identity};
use crate::error::{ApiError, ApiResult};
use crate::extract::{json_body, with_state, MAX_JSON_BYTES};
use crate::request_context::CorrelationId;
use crate::state::AppState;

/// Interval of SSE keep-alive comments.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How often an event stream's forwarder checks that its client is still there.
const CLIENT_GONE_CHECK: Duration = Duration::from_secs(1);

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SubmitRequest {
    kind: String,
    #[serde(default = "empty_object")]
    payload: Value,
}

fn empty_object() -> Value {
    Value::Object(Default::default())
}

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let jobs = warp::path!("api" / "v1" / "jobs");
    let job = warp::path!("api" / "v1" / "jobs" / String);
    let events = warp::path!("api" / "v1" / "jobs" / String / "events");

    // POST /api/v1/jobs
    let submit = jobs
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .and(warp::ext::get::<CorrelationId>())
        .and(warp::header::optional::<String>("idempotency-key"))
        .and(json_body::<SubmitRequest>(MAX_JSON_BYTES))
        .then(submit)
        .boxed();
    // GET /api/v1/jobs/{id}
    let show = job
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .then(show)
        .boxed();
    // DELETE /api/v1/jobs/{id}
    let cancel = job
        .and(warp::delete())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .then(cancel)
        .boxed();
    // GET /api/v1/jobs/{id}/events
    let stream = events
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state))
        .then(events_stream)
        .boxed();
    submit.or(show).or(cancel).or(stream)
}

async fn submit(
    state: AppState,
    who: Identity,
    correlation_id: CorrelationId,
    idempotency_key: Option<String>,
    request: SubmitRequest,
) -> ApiResult<warp::reply::Response> {
    let spec = hast_common::jobs::KindSpec::submittable(&request.kind, state.settings.app_env)
        .ok_or_else(|| {
            ApiError::bad_request(
                "unknown_kind",
                format!("no public job kind named {:?}", request.kind),
            )
        })?;
    check_job_quota(&state, &who.user_id).await?;
    let submitted = state
        .submitter
        .submit(NewJob {
            kind: spec.name.to_owned(),
            payload: request.payload,
            owner_id: Some(who.user_id),
            correlation_id: Some(correlation_id.to_string()),
            idempotency_key,
            replay_of: None,
        })
        .await
        .map_err(ApiError::from)?;
    tracing::info!(
        job.id = %submitted.status.id,
        job.kind = %submitted.status.kind,
        job.created = submitted.created,
        "job accepted"
    );
    Ok(warp::reply::with_status(
        warp::reply::json(&submitted.status.public_json()),
        StatusCode::ACCEPTED,
    )
    .into_response())
}

/// Counts a submission against the user's hourly job quota (`JOBS_PER_HOUR`): every job
/// is kept for days (its status, result and any dead letter), so one user must not be able
/// to fill the shared store.
async fn check_job_quota(state: &AppState, user_id: &str) -> ApiResult<()> {
    let per_hour = state.settings.api.limits.jobs_per_hour;
    if per_hour == 0 {
        return Ok(());
    }
    let count = state
        .limiter
        .hit("jobs", user_id, Duration::from_secs(3600))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "rate-limit store unavailable");
            ApiError::unavailable("rate_limit_unavailable", "try again shortly")
        })?;
    if count.value > u64::from(per_hour) {
        return Err(ApiError::too_many_requests(
            "too many jobs this hour; try again later",
            count.resets_in,
        ));
    }
    Ok(())
}

/// The job `id` if `who` owns it; another user's job is "not found" so ids reveal
/// nothing.
pub async fn owned_status(
    state: &AppState,
    who: &Identity,
    id: &str,
) -> ApiResult<hast_common::jobs::JobStatus> {
    let (status, _) = with_timeout(state.statuses.get(id)).await?;
    if status.owner_id.as_deref() != Some(who.user_id.as_str()) {
        return Err(ApiError::not_found("no such job"));
    }
    Ok(status)
}

async fn show(id: String, state: AppState, who: Identity) -> ApiResult<warp::reply::Json> {
    let status = owned_status(&state, &who, &id).await?;
    Ok(warp::reply::json(&status.public_json()))
}

async fn cancel(id: String, state: AppState, who: Identity) -> ApiResult<warp::reply::Json> {
    owned_status(&state, &who, &id).await?;
    let result = with_timeout(async { state.statuses.cancel(&id).await }).await;
    let status = result?;
    tracing::info!(job.id = %id, "job cancelled");
    Ok(warp::reply::json(&status.public_json()))
}

async fn events_stream(
    id: String,
    state: AppState,
    who: Identity,
) -> ApiResult<warp::reply::Response> {
    owned_status(&state, &who, &id).await?;
    let slot = state
        .streams
        .try_open(&who.user_id)
        .ok_or_else(|| ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_streams",
                "too many event streams open; close one first",
            )
        })?;
    let lifetime = state.settings.api.http.sse_max_lifetime;
    let statuses = with_timeout(async { state.statuses.follow(&id).await }).await?;
    // warp needs a `Sync` stream and the KV watch is not one: forward it through a
    // channel. The forwarder ends when the client goes away or the job finishes.
    let (mut tx, rx) = futures::channel::mpsc::channel(16);
    // A job that never changes again (stuck, or purged with its analysis) sends no event
    // to notice a departed client by: look every second whether warp let go of `rx`. The
    // stream ends after `SSE_MAX_LIFETIME` in any case (the client reconnects); its slot
    // is freed when the forwarder ends.
    tokio::spawn(async move {
        let _slot = slot;
        let mut statuses = std::pin::pin!(statuses);
        let mut check = tokio::time::interval(CLIENT_GONE_CHECK);
        let end = tokio::time::sleep(lifetime);
        let mut end = std::pin::pin!(end);
        loop {
            tokio::select! {
                () = &mut end => break,
                next = statuses.next() => {
                    let Some(status) = next else { break };
                    if futures::SinkExt::send(&mut tx, status).await.is_err() {
                        break;
                    }
                }
                _ = check.tick() => {
                    if tx.is_closed() {
                        break;
                    }
                }
            }
        }
    });
    let events = rx.map(|status| {
        Ok::<_, Infallible>(
            Event::default()
                .event(status.status.as_str())
                .id(status.updated_at.timestamp_micros().to_string())
                .json_data(status.public_json())
                .unwrap_or_else(|_| Event::default().comment("unserialisable status")),
        )
    });
    Ok(
        warp::sse::reply(warp::sse::keep_alive().interval(KEEP_ALIVE).stream(events))
            .into_response(),
    )
}

/// Bounds a status-store call so a NATS outage answers 503 instead of hanging.
async fn with_timeout<T>(
    call: impl std::future::Future<Output = Result<T, StatusError>>,
) -> ApiResult<T> {
    tokio::time::timeout(Duration::from_secs(5), call)
        .await
        .map_err(|_| {
            ApiError::unavailable(
                "queue_unavailable",
                "job status is unavailable; try again shortly",
            )
        })?
        .map_err(ApiError::from)
}
