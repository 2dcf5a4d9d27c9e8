//! The one place where failures become HTTP responses.
//!
//! Rule (as in crates.io's `util/errors.rs`): handlers return `Result<T, ApiError>`;
//! every error leaves the API as `{"error":{"code":"snake_case","message":"…"}}` with
//! the right status. Client mistakes are 4xx and are not logged as errors; anything
//! unexpected is logged once, here, and answered 500 without internal details.
//! warp's own rejections (unknown route, wrong method, bad body…) go through
//! [`handle_rejection`] so they get the same envelope.

use std::convert::Infallible;

use hast_common::db::DbError;
use hast_common::jobs::{StatusError, SubmitError};
use hast_common::photo::PhotoError;
use serde::Serialize;
use warp::http::{header, HeaderValue, StatusCode};
use warp::reply::{Reply, Response};
use warp::Rejection;

/// An error answered to the client.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {message}")]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable, snake_case; clients branch on it.
    pub code: &'static str,
    /// Human-readable explanation.
    pub message: String,
    /// Seconds for a `Retry-After` header (429, 503, 507).
    pub retry_after: Option<u64>,
}

/// Result type of handlers.
pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, message)
    }
    pub fn too_many_requests(message: impl Into<String>, retry_after: u64) -> Self {
        Self {
            retry_after: Some(retry_after.max(1)),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "rate_limited", message)
        }
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unavailable(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            retry_after: Some(1),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, code, message)
        }
    }
    /// JetStream storage is at its limit: nothing was accepted. Logged (operators act
    /// on it: docs/operations.md, "Storage full"); the client may retry later.
    pub fn storage_full(detail: &str) -> Self {
        tracing::error!(error = %detail, "JetStream storage full; refusing new work");
        metrics::counter!("hast_storage_full_total").increment(1);
        Self {
            retry_after: Some(60),
            ..Self::new(
                StatusCode::INSUFFICIENT_STORAGE,
                "storage_full",
                "the service is out of storage for new work; try again later",
            )
        }
    }

    /// A photo in multipart field `field` that cannot be taken.
    pub fn photo(field: &str, err: PhotoError) -> Self {
        let status = match err {
            PhotoError::UnsupportedType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            PhotoError::TooManyPixels { .. }
            | PhotoError::Corrupt(_)
            | PhotoError::UnsupportedPixelFormat(_) => StatusCode::UNPROCESSABLE_ENTITY,
            PhotoError::Encode(e) => return ApiError::internal("photo re-encoding", e),
        };
        let message = match &err {
            PhotoError::UnsupportedType => {
                format!("`{field}` is not a JPEG, PNG or WebP image")
            }
            other => format!("`{field}`: {other}"),
        };
        ApiError::new(status, err.code(), message)
    }

    /// An unexpected failure: logged once here, answered without details.
    pub fn internal(context: &str, err: impl std::fmt::Display) -> Self {
        tracing::error!(error = %err, context, "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_error",
            "something went wrong on our side; it has been logged",
        )
    }
}

impl From<SubmitError> for ApiError {
    fn from(err: SubmitError) -> Self {
        match err {
            SubmitError::UnknownKind(kind) => {
                ApiError::bad_request("unknown_kind", format!("no job kind named {kind:?}"))
            }
            SubmitError::InvalidPayload(msg) => ApiError::unprocessable("invalid_payload", msg),
            SubmitError::InvalidIdempotencyKey(msg) => {
                ApiError::bad_request("invalid_idempotency_key", msg)
            }
            SubmitError::IdempotencyMismatch => ApiError::unprocessable(
                "idempotency_key_reused",
                "this Idempotency-Key was used for a different request",
            ),
            SubmitError::Unavailable(msg) => {
                tracing::warn!(error = %msg, "job queue unavailable");
                ApiError::unavailable(
                    "queue_unavailable",
                    "the job queue is unavailable; try again shortly",
                )
            }
            SubmitError::StorageFull(msg) => ApiError::storage_full(&msg),
        }
    }
}

impl From<StatusError> for ApiError {
    fn from(err: StatusError) -> Self {
        match err {
            StatusError::NotFound => ApiError::not_found("no such job"),
            StatusError::Terminal(state) => ApiError::new(
                StatusCode::CONFLICT,
                "job_finished",
                format!("the job is already {state}"),
            ),
            StatusError::Unavailable(msg) => {
                tracing::warn!(error = %msg, "job status unavailable");
                ApiError::unavailable(
                    "queue_unavailable",
                    "job status is unavailable; try again shortly",
                )
            }
            other => ApiError::internal("job status", other),
        }
    }
}

impl From<DbError> for ApiError {
    fn from(err: DbError) -> Self {
        match err {
            DbError::Unavailable(msg) => {
                tracing::warn!(error = %msg, "database unavailable");
                ApiError::unavailable(
                    "database_unavailable",
                    "the database is unavailable; try again shortly",
                )
            }
            DbError::Conflict(_) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "that resource already exists",
            ),
            other => ApiError::internal("database", other),
        }
    }
}

#[derive(Serialize)]
struct Envelope<'a> {
    error: Body<'a>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl Reply for ApiError {
    fn into_response(self) -> Response {
        let envelope = Envelope {
            error: Body {
                code: self.code,
                message: &self.message,
            },
        };
        let mut response =
            warp::reply::with_status(warp::reply::json(&envelope), self.status).into_response();
        if let Some(secs) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}

/// Lets filters reject with an [`ApiError`] (for example the JSON body extractor).
impl warp::reject::Reject for ApiError {}

/// Turns every rejection into the JSON envelope; registered once with `recover`.
pub async fn handle_rejection(rejection: Rejection) -> Result<Response, Infallible> {
    Ok(rejection_to_error(&rejection).into_response())
}

fn rejection_to_error(rejection: &Rejection) -> ApiError {
    use warp::reject::*;
    if let Some(err) = rejection.find::<ApiError>() {
        return err.clone();
    }
    if rejection.is_not_found() {
        return ApiError::not_found("no such route");
    }
    if rejection.find::<MethodNotAllowed>().is_some() {
        return ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
            "this route does not accept that method",
        );
    }
    if let Some(err) = rejection.find::<warp::filters::body::BodyDeserializeError>() {
        return ApiError::bad_request("invalid_json", err.to_string());
    }
    if rejection.find::<PayloadTooLarge>().is_some() {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "the request body is too large",
        );
    }
    if rejection.find::<UnsupportedMediaType>().is_some() {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "unsupported Content-Type",
        );
    }
    if rejection.find::<LengthRequired>().is_some() {
        return ApiError::new(
            StatusCode::LENGTH_REQUIRED,
            "length_required",
            "a Content-Length header is required",
        );
    }
    if let Some(err) = rejection.find::<InvalidQuery>() {
        return ApiError::bad_request("invalid_query", err.to_string());
    }
    if let Some(err) = rejection.find::<MissingHeader>() {
        return ApiError::bad_request("missing_header", err.to_string());
    }
    if let Some(err) = rejection.find::<InvalidHeader>() {
        return ApiError::bad_request("invalid_header", err.to_string());
    }
    ApiError::internal("unhandled rejection", format!("{rejection:?}"))
}
