//! Palm analyses: upload, list, read, photos and delete.
//!
//! - `POST   /api/v1/analyses` multipart, field `image` (one photo) or `left` and/or
//!   `right` → 202 `{"analysis","job"}`. An anonymous caller becomes a guest (cookie).
//! - `GET    /api/v1/analyses?limit=&offset=` → the caller's analyses, newest first.
//! - `GET    /api/v1/analyses/{id}` → status and reading (a guest sees the summary).
//! - `GET    /api/v1/analyses/{id}/image` → the normalised photo (JPEG); `?hand=2` the
//!   second photo of a two-hand upload.
//! - `GET    /api/v1/analyses/{id}/overlay` → the photo with the lines drawn (PNG);
//!   `?hand=2` the second photo's.
//! - `GET    /api/v1/analyses/{id}/thumbnail` → a small JPEG preview (its own job).
//! - `DELETE /api/v1/analyses/{id}` → 204; photos, overlay, reading, conversations gone.
//!
//! Every read is scoped by owner: another user's analysis is 404.

use bytes::Buf;
use futures::TryStreamExt;
use hast_common::db::models::{Analysis, User};
use hast_common::db::{self};
use hast_common::jobs::JobState;
use hast_common::nats::objects::{delete_analysis_objects, read_object, AnalysisObject};
use hast_common::photo::{self, NormalisedPhoto, PhotoLimits};
use serde::Deserialize;
use serde_json::{json, Value};
use warp::http::{header, HeaderMap, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::auth::limits::client_address;
use crate::auth::{identity, require_user, Identity};
use crate::error::{ApiError, ApiResult};
use crate::extract::with_state;
use crate::request_context::{ClientAddr, CorrelationId};
use crate::routes::pagination::{page_query, rfc3339, Page};
use crate::state::AppState;

/// Room for multipart framing on top of the photo bytes.
const MULTIPART_OVERHEAD: u64 = 64 * 1024;
/// Default and largest page size of the list.

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ImageQuery {
    hand: Option<u8>,
}

impl ImageQuery {
    /// `first` for `?hand=1` (or none), `second` for `?hand=2`.
    fn pick(&self, first: AnalysisObject, second: AnalysisObject) -> ApiResult<AnalysisObject> {
        match self.hand {
            None | Some(1) => Ok(first),
            Some(2) => Ok(second),
            Some(_) => Err(ApiError::bad_request(
                "invalid_query",
                "hand must be 1 or 2",
            )),
        }
    }
}

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let collection = warp::path!("api" / "v1" / "analyses");
    let item = warp::path!("api" / "v1" / "analyses" / String);
    let image = warp::path!("api" / "v1" / "analyses" / String / "image");
    let overlay = warp::path!("api" / "v1" / "analyses" / String / "overlay");
    let thumbnail = warp::path!("api" / "v1" / "analyses" / String / "thumbnail");
    let max_body = state.settings.api.max_upload_bytes + MULTIPART_OVERHEAD;

    let upload = collection
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(identity(state.clone()))
        .and(warp::ext::get::<CorrelationId>())
        .and(warp::ext::get::<ClientAddr>())
        .and(warp::header::headers_cloned())
        .and(multipart_content_type())
        .and(declared_length_at_most(max_body))
        .and(warp::multipart::form().max_length(max_body))
        .then(upload)
        .boxed();
    let list = collection
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .and(page_query())
        .then(list)
        .boxed();
    let show = item
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .then(show)
        .boxed();
    let remove = item
        .and(warp::delete())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .then(remove)
        .boxed();
    let photo = image
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .and(warp::query::<ImageQuery>())
        .then(|id, state, who, query: ImageQuery| async move {
            let object = query.pick(AnalysisObject::Photo, AnalysisObject::SecondPhoto)?;
            serve_object(id, state, who, object).await
        })
        .boxed();
    let drawn = overlay
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .and(warp::query::<ImageQuery>())
        .then(|id, state, who, query: ImageQuery| async move {
            let object = query.pick(AnalysisObject::Overlay, AnalysisObject::SecondOverlay)?;
            serve_object(id, state, who, object).await
        })
        .boxed();
    let preview = thumbnail
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state))
        .then(|id, state, who| serve_object(id, state, who, AnalysisObject::Thumbnail))
        .boxed();
    upload
        .or(list)
        .or(show)
        .or(remove)
        .or(photo)
        .or(drawn)
        .or(preview)
}

/// 411 without a `Content-Length`, 413 above `limit`: answered as our own errors so
/// they are not outranked by other routes' 405 when warp combines rejections.
fn declared_length_at_most(limit: u64) -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::optional::<u64>("content-length")
        .and_then(move |length: Option<u64>| async move {
            match length {
                None => Err(warp::reject::custom(ApiError::new(
                    StatusCode::LENGTH_REQUIRED,
                    "length_required",
                    "a Content-Length header is required for uploads",
                ))),
                Some(n) if n > limit => Err(warp::reject::custom(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("the upload may be at most {limit} bytes"),
                ))),
                Some(_) => Ok(()),
            }
        })
        .untuple_one()
}

/// 415 unless the body is `multipart/form-data`.
fn multipart_content_type() -> impl Filter<Extract = (), Error = Rejection> + Clone {
    warp::header::headers_cloned()
        .and_then(|headers: HeaderMap| async move {
            let is_multipart = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.to_ascii_lowercase().starts_with("multipart/form-data"));
            if is_multipart {
                Ok(())
            } else {
                Err(warp::reject::custom(ApiError::new(
                    StatusCode::UNSUPPORTED_MEDIA_TYPE,
                    "unsupported_media_type",
                    "upload the photo as multipart/form-data (field `image`, or `left`/`right`)",
                )))
            }
        })
        .untuple_one()
}

/// The photos of one upload, in field order: (`image`|`left`|`right`, bytes).
async fn read_parts(
    form: warp::multipart::FormData,
    limit: u64,
) -> ApiResult<Vec<(String, Vec<u8>)>> {
    let malformed = |e: warp::Error| {
        ApiError::bad_request(
            "invalid_multipart",
            format!("malformed multipart body: {e}"),
        )
    };
    let mut parts = Vec::new();
    let mut form = std::pin::pin!(form);
    while let Some(part) = form.try_next().await.map_err(malformed)? {
        let name = part.name().to_owned();
        if !matches!(name.as_str(), "image" | "left" | "right") {
            return Err(ApiError::bad_request(
                "unexpected_field",
                format!("unexpected form field {name:?}; send `image`, or `left` and/or `right`"),
            ));
        }
        if parts.iter().any(|(n, _)| *n == name) {
            return Err(ApiError::bad_request(
                "duplicate_field",
                format!("the field {name:?} was sent twice"),
            ));
        }
        let mut bytes = Vec::new();
        let mut stream = std::pin::pin!(part.stream());
        while let Some(chunk) = stream.try_next().await.map_err(malformed)? {
            if bytes.len() as u64 + chunk.remaining() as u64 > limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "payload_too_large",
                    format!("a photo may be at most {limit} bytes"),
                ));
            }
            bytes.extend_from_slice(chunk.chunk());
        }
        parts.push((name, bytes));
    }
    let has_image = parts.iter().any(|(n, _)| n == "image");
    if parts.is_empty() || (has_image && parts.len() > 1) {
        return Err(ApiError::bad_request(
            "missing_image",
            "send one photo in the field `image`, or one or both hands in `left` and `right`",
        ));
    }
    Ok(parts)
}

/// A decode slot: decoding is CPU- and memory-bound, so an upload beyond the slots waits
/// up to `wait` for one, then is told to come back (503 `server_busy`, `Retry-After`).
async fn photo_slot(
    slots: &std::sync::Arc<tokio::sync::Semaphore>,
    wait: std::time::Duration,
) -> ApiResult<tokio::sync::OwnedSemaphorePermit> {
    tokio::time::timeout(wait, slots.clone().acquire_owned())
        .await
        .ok()
        .and_then(Result::ok)
        .ok_or_else(|| {
            metrics::counter!("hast_photo_decode_busy_total").increment(1);
            ApiError::unavailable(
                "server_busy",
                "too many photos are being processed; try again shortly",
            )
        })
}

/// Creates a guest account and session for an anonymous uploader.
async fn new_guest(state: &AppState) -> ApiResult<(Identity, secrecy::SecretString)> {
    let now = db::now();
    let guest = User {
        id: db::new_id(),
        email: None,
        display_name: "Guest".into(),
        password_hash: None,
        is_guest: true,
        created_at: now,
        updated_at: now,
    };
    state.db.insert_user(&guest).await?;
    let (token, session) = state.sessions.start(&guest.id, true).await.map_err(|e| {
        tracing::warn!(error = %e, "session store unavailable");
        ApiError::unavailable("session_store_unavailable", "try again shortly")
    })?;
    tracing::info!(user.id = %guest.id, "guest session started");
    Ok((
        Identity {
            user_id: guest.id,
            is_guest: true,
            credential: crate::auth::identity::Credential::Cookie,
            session,
        },
        token,
    ))
}

/// Enforces the upload limits before the body is read: a guest's analysis cap and the
/// hourly upload quota per user; an anonymous caller (who would become a new guest) is
/// counted per client address instead, so dropping the cookie does not reset the quota.
async fn check_upload_limits(
    state: &AppState,
    who: Option<&Identity>,
    address: &str,
) -> ApiResult<()> {
    let limits = &state.settings.api.limits;
    let hour = std::time::Duration::from_secs(3600);
    let unavailable = |e: crate::auth::limits::LimitsUnavailable| {
        tracing::warn!(error = %e, "rate-limit store unavailable");
        ApiError::unavailable("rate_limit_unavailable", "try again shortly")
    };
    let count = match who {
        None if limits.guest_max_analyses == 0 => {
            return Err(crate::auth::identity::unauthenticated());
        }
        None => state
            .limiter
            .hit("guest_uploads", address, hour)
            .await
            .map_err(unavailable)?,
        Some(who) => {
            if who.is_guest
                && state.db.count_analyses(&who.user_id).await?
                    >= i64::from(limits.guest_max_analyses)
            {
                return Err(crate::analyses::guest_limit_reached());
            }
            state
                .limiter
                .hit("uploads", &who.user_id, hour)
                .await
                .map_err(unavailable)?
        }
    };
    if count.value > u64::from(limits.uploads_per_hour) {
        return Err(ApiError::too_many_requests(
            "too many uploads this hour; try again later",
            count.resets_in,
        ));
    }
    Ok(())
}

async fn upload(
    state: AppState,
    who: Option<Identity>,
    correlation_id: CorrelationId,
    client: ClientAddr,
    headers: HeaderMap,
    form: warp::multipart::FormData,
) -> ApiResult<warp::reply::Response> {
    // Without a session this upload would set a new guest's cookie: not for a page
    // of another site, which would replace its visitor's session.
    if who.is_none()
        && crate::auth::csrf::cross_site_anonymous(
            &headers,
            &state.settings.api.cors_allowed_origins,
        )
    {
        return Err(crate::auth::identity::cross_site_refused());
    }
    let address = client_address(&state.settings, client, &headers);
    check_upload_limits(&state, who.as_ref(), &address).await?;
    // Read and check the photos before creating anything.
    let parts = read_parts(form, state.settings.api.max_upload_bytes).await?;
    let mut photos: Vec<(String, NormalisedPhoto)> = Vec::with_capacity(parts.len());
    for (field, bytes) in parts {
        let _slot = photo_slot(
            &state.photo_slots,
            state.settings.api.limits.photo_decode_wait,
        )
        .await?;
        let normalised =
            tokio::task::spawn_blocking(move || photo::normalise(&bytes, &PhotoLimits::default()))
                .await
                .map_err(|e| ApiError::internal("photo task", e))?
                .map_err(|e| ApiError::photo(&field, e))?;
        photos.push((field, normalised));
    }

    let (who, new_token) = match who {
        Some(who) => (who, None),
        None => {
            let (who, token) = new_guest(&state).await?;
            (who, Some(token))
        }
    };

    let accepted =
        crate::analyses::accept(&state, &who, photos, &correlation_id.to_string()).await?;
    let body = json!({
        "analysis": analysis_json(&accepted.analysis, who.is_guest),
        "job": accepted.job.public_json(),
    });
    let mut response =
        warp::reply::with_status(warp::reply::json(&body), StatusCode::ACCEPTED).into_response();
    if let Some(token) = new_token {
        if let Ok(value) =
            crate::auth::cookie::set(&token, state.settings.api.cookie_secure).parse()
        {
            response.headers_mut().insert(header::SET_COOKIE, value);
        }
    }
    Ok(response)
}

/// The public view of an analysis. A guest sees only the reading's summary, quality
/// and disclaimer; the full reading needs an account.
pub fn analysis_json(a: &Analysis, guest: bool) -> Value {
    let reading = a
        .reading
        .as_deref()
        .and_then(|r| serde_json::from_str::<Value>(r).ok());
    let reading = match (reading, guest) {
        (Some(r), true) => Some(json!({
            "summary": r.get("summary"),
            "quality": r.get("quality"),
            "disclaimer": r.get("disclaimer"),
            "full_reading": "create an account to see the full reading",
        })),
        (r, _) => r,
    };
    json!({
        "id": a.id,
        "status": a.status,
        "job_id": a.job_id,
        "engine": a.engine,
        "error": a.error.as_deref().and_then(|e| serde_json::from_str::<Value>(e).ok()),
        "reading": reading,
        "created_at": rfc3339(a.created_at),
        "updated_at": rfc3339(a.updated_at),
        "completed_at": a.completed_at.map(rfc3339),
        "links": {
            "self": format!("/api/v1/analyses/{}", a.id),
            "image": format!("/api/v1/analyses/{}/image", a.id),
            "overlay": format!("/api/v1/analyses/{}/overlay", a.id),
            "thumbnail": format!("/api/v1/analyses/{}/thumbnail", a.id),
            "job": a.job_id.as_ref().map(|j| format!("/api/v1/jobs/{j}")),
        },
    })
}

async fn list(state: AppState, who: Identity, page: Page) -> ApiResult<warp::reply::Json> {
    let Page { limit, offset } = page;
    let rows = state
        .db
        .list_analyses(&who.user_id, limit + 1, offset)
        .await?;
    let next_offset = page.next_offset(rows.len());
    let mut items: Vec<Value> = Vec::with_capacity(rows.len());
    for row in rows.into_iter().take(limit as usize) {
        let analysis = with_job_status(&state, row).await;
        items.push(analysis_json(&analysis, who.is_guest));
    }
    Ok(warp::reply::json(&json!({
        "analyses": items,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    })))
}

async fn owned(state: &AppState, who: &Identity, id: &str) -> ApiResult<Analysis> {
    state
        .db
        .find_analysis(&who.user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such analysis"))
}

/// An analysis whose row is not final yet takes its status (and a failure) from its
/// job, so a job that failed for good shows as a failed analysis, never as forever
/// queued.
async fn with_job_status(state: &AppState, mut analysis: Analysis) -> Analysis {
    if matches!(analysis.status.as_str(), "completed" | "failed") {
        return analysis;
    }
    let Some(job_id) = analysis.job_id.clone() else {
        return analysis;
    };
    let Ok(Ok((status, _))) = tokio::time::timeout(
        std::time::Duration::from_secs(2),
        state.statuses.get(&job_id),
    )
    .await
    else {
        return analysis;
    };
    match status.status {
        JobState::Failed | JobState::Cancelled => {
            analysis.status = "failed".into();
            analysis.error = status
                .error
                .as_ref()
                .and_then(|e| serde_json::to_string(e).ok())
                .or_else(|| {
                    Some(r#"{"code":"cancelled","message":"the analysis was cancelled"}"#.into())
                });
        }
        JobState::Running | JobState::Retrying => analysis.status = "running".into(),
        JobState::Queued | JobState::Completed => {}
    }
    analysis
}

async fn show(id: String, state: AppState, who: Identity) -> ApiResult<warp::reply::Json> {
    let analysis = with_job_status(&state, owned(&state, &who, &id).await?).await;
    Ok(warp::reply::json(&json!({
        "analysis": analysis_json(&analysis, who.is_guest)
    })))
}

async fn remove(id: String, state: AppState, who: Identity) -> ApiResult<StatusCode> {
    let analysis = owned(&state, &who, &id).await?;
    // Objects first: if the store is down the row stays and the request can be repeated.
    delete_analysis_objects(&state.topology.images, &analysis.id)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not delete analysis objects");
            ApiError::unavailable("storage_unavailable", "try again shortly")
        })?;
    state.db.delete_analysis(&who.user_id, &analysis.id).await?;
    if let Some(job_id) = &analysis.job_id {
        // Cancel first (a worker holding the job abandons it), then remove the status,
        // which may carry the reading, and the job's result row.
        let _ = state
            .statuses
            .transition(job_id, |s| {
                s.status = JobState::Cancelled;
                s.finished_at = Some(chrono::Utc::now());
                s.next_attempt_at = None;
                true
            })
            .await;
        if let Err(e) = state.statuses.purge(job_id).await {
            tracing::warn!(error = %e, "could not remove the analysis job's status");
        }
        state.db.delete_job_result(&who.user_id, job_id).await?;
    }
    crate::accounts::sweep_again(&state, &analysis.id).await;
    tracing::info!(analysis.id = %analysis.id, "analysis deleted");
    Ok(StatusCode::NO_CONTENT)
}

async fn serve_object(
    id: String,
    state: AppState,
    who: Identity,
    object: AnalysisObject,
) -> ApiResult<warp::reply::Response> {
    let analysis = owned(&state, &who, &id).await?;
    let name = object.name(&analysis.id);
    let not_there = || match object {
        AnalysisObject::Overlay | AnalysisObject::SecondOverlay => {
            ApiError::not_found("the overlay is not ready yet")
        }
        AnalysisObject::Thumbnail => ApiError::not_found("the thumbnail is not ready yet"),
        _ => ApiError::not_found("no such image"),
    };
    let bytes = read_object(&state.topology.images, &name)
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "could not read an object");
            ApiError::unavailable("storage_unavailable", "try again shortly")
        })?
        .ok_or_else(not_there)?;
    let mut response = warp::reply::Response::new(bytes.into());
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(object.content_type()),
    );
    headers.insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("private, max-age=3600"),
    );
    headers.insert(
        "x-content-type-options",
        header::HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// With every decode slot taken, an upload waits its allowance, then gets 503 with
    /// `Retry-After`; once a slot is free it gets it.
    #[tokio::test]
    async fn an_upload_beyond_the_decode_slots_is_told_to_come_back() {
        let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(1));
        let wait = std::time::Duration::from_millis(20);
        let held = photo_slot(&slots, wait).await.expect("the free slot");
        let busy = photo_slot(&slots, wait).await.expect_err("no slot free");
        assert_eq!(busy.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(busy.code, "server_busy");
        assert!(busy.retry_after.is_some());
        drop(held);
        assert!(photo_slot(&slots, wait).await.is_ok());
    }
}
