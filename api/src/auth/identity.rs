//! The filters that say who is calling.
//!
//! [`identity`] yields `Option<Identity>` (anonymous = `None`) and enforces the CSRF
//! rule; [`require_user`] turns anonymous into 401; [`require_account`] also turns a
//! guest into 403. Routes scope every query by `Identity::user_id`.

use secrecy::{ExposeSecret, SecretString};
use warp::http::{header, HeaderMap, Method, StatusCode};
use warp::{Filter, Rejection};

use super::sessions::Session;
use super::{cookie, csrf};
use crate::error::ApiError;
use crate::extract::with_state;
use crate::state::AppState;

/// How the caller authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Cookie,
    Bearer,
}

/// An authenticated caller: an account or a guest.
#[derive(Debug, Clone)]
pub struct Identity {
    pub user_id: String,
    pub is_guest: bool,
    pub credential: Credential,
    /// The session (to end it on logout).
    pub session: Session,
}

/// The caller's identity, if any. Rejects with 403 `csrf_rejected` a
/// cookie-authenticated unsafe request from a foreign origin, and with 503 when the
/// session store is unreachable.
pub fn identity(
    state: AppState,
) -> impl Filter<Extract = (Option<Identity>,), Error = Rejection> + Clone {
    warp::method()
        .and(warp::header::headers_cloned())
        .and(with_state(state))
        .and_then(
            |method: Method, headers: HeaderMap, state: AppState| async move {
                resolve(&method, &headers, &state)
                    .await
                    .map_err(warp::reject::custom)
            },
        )
}

/// Like [`identity`], but anonymous callers get 401.
pub fn require_user(
    state: AppState,
) -> impl Filter<Extract = (Identity,), Error = Rejection> + Clone {
    identity(state).and_then(|who: Option<Identity>| async move {
        who.ok_or_else(|| warp::reject::custom(unauthenticated()))
    })
}

/// Like [`require_user`], but guests get 403 `account_required`.
pub fn require_account(
    state: AppState,
) -> impl Filter<Extract = (Identity,), Error = Rejection> + Clone {
    require_user(state).and_then(|who: Identity| async move {
        if who.is_guest {
            Err(warp::reject::custom(account_required()))
        } else {
            Ok(who)
        }
    })
}

/// 401: no (valid) session.
pub fn unauthenticated() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "unauthenticated",
        "sign in first (session cookie or Authorization: Bearer token)",
    )
}

/// 403: guests may not do this.
pub fn account_required() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "account_required",
        "create an account or sign in to do this",
    )
}

/// 403: an anonymous request from another site that would start a session.
pub fn cross_site_refused() -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "csrf_rejected",
        "a request from another site cannot start a session here",
    )
}

/// A bearer token from `Authorization`, if the header uses that scheme.
fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_owned())
        .filter(|t| !t.is_empty())
}

async fn resolve(
    method: &Method,
    headers: &HeaderMap,
    state: &AppState,
) -> Result<Option<Identity>, ApiError> {
    let (token, credential) = match (
        bearer(headers),
        cookie::read(headers, state.settings.api.cookie_secure),
    ) {
        (Some(token), _) => (SecretString::from(token), Credential::Bearer),
        (None, Some(token)) => (SecretString::from(token), Credential::Cookie),
        (None, None) => return Ok(None),
    };
    if credential == Credential::Cookie
        && csrf::is_unsafe(method)
        && !csrf::origin_allowed(headers, &state.settings.api.cors_allowed_origins)
    {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "csrf_rejected",
            "this request carries the session cookie but does not come from an allowed origin",
        ));
    }
    let session = state
        .sessions
        .lookup(token.expose_secret())
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "session store unavailable");
            ApiError::unavailable(
                "session_store_unavailable",
                "sessions are unavailable; try again shortly",
            )
        })?;
    Ok(session.map(|session| Identity {
        user_id: session.user_id.clone(),
        is_guest: session.is_guest,
        credential,
        session,
    }))
}
