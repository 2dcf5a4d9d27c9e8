//! Accounts and sessions.
//!
//! - `POST   /api/v1/auth/register` `{"email","password","display_name"?}` → 201
//!   `{"user","token"}` and the session cookie; a guest's analyses move to the account.
//! - `POST   /api/v1/auth/login`    `{"email","password"}` → 200 `{"user","token"}` and a
//!   new session cookie (never the old token: no session fixation). Failures are
//!   throttled (`auth::throttle`: 429 with `Retry-After`).
//! - `POST   /api/v1/auth/logout`   → 204; the session is destroyed, the cookie cleared.
//! - `GET    /api/v1/auth/me`       → 200 `{"user"}` (guests included) or 401.
//! - `GET    /api/v1/auth/session`  → 200 `{"user"}`, `null` without a session.
//! - `DELETE /api/v1/auth/me` `{"password"}` (accounts; guests send no body) → 204; the
//!   account and everything it owns is gone.

use email_address::EmailAddress;
use hast_common::db::models::User;
use hast_common::db::{self, DbError};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use warp::http::{header, HeaderMap, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::accounts;
use crate::auth::limits::{client_address, LimitsUnavailable};
use crate::auth::throttle::{Reservation, Throttle, Verdict};
use crate::auth::{cookie, identity, password, require_user, Identity};
use crate::error::{ApiError, ApiResult};
use crate::extract::{json_body, optional_json_body, with_state};
use crate::request_context::ClientAddr;
use crate::state::AppState;

/// Largest auth request body.
const MAX_AUTH_BODY: u64 = 4 * 1024;
/// Longest accepted email address (RFC 5321 path limit).
const MAX_EMAIL_LEN: usize = 254;
/// The window of `REGISTRATIONS_PER_HOUR`.
const REGISTRATION_WINDOW: std::time::Duration = std::time::Duration::from_secs(3600);
/// Longest display name, in characters.
const MAX_DISPLAY_NAME_CHARS: usize = 80;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterRequest {
    email: String,
    password: String,
    #[serde(default)]
    display_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LoginRequest {
    email: String,
    password: String,
}

/// `DELETE /api/v1/auth/me`: an account re-authenticates with its current password
/// (a stolen session alone cannot erase it); a guest has none and sends no body.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DeleteRequest {
    password: String,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let register = warp::path!("api" / "v1" / "auth" / "register")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(identity(state.clone()))
        .and(warp::ext::get::<ClientAddr>())
        .and(warp::header::headers_cloned())
        .and(json_body::<RegisterRequest>(MAX_AUTH_BODY))
        .then(register)
        .boxed();
    let login = warp::path!("api" / "v1" / "auth" / "login")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(identity(state.clone()))
        .and(warp::ext::get::<ClientAddr>())
        .and(warp::header::headers_cloned())
        .and(json_body::<LoginRequest>(MAX_AUTH_BODY))
        .then(login)
        .boxed();
    let logout = warp::path!("api" / "v1" / "auth" / "logout")
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(identity(state.clone()))
        .then(logout)
        .boxed();
    let session = warp::path!("api" / "v1" / "auth" / "session")
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(identity(state.clone()))
        .then(show_session)
        .boxed();
    let me = warp::path!("api" / "v1" / "auth" / "me");
    let show_me = me
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(require_user(state.clone()))
        .then(show_me)
        .boxed();
    let delete_me = me
        .and(warp::delete())
        .and(with_state(state.clone()))
        .and(require_user(state))
        .and(warp::ext::get::<ClientAddr>())
        .and(warp::header::headers_cloned())
        .and(optional_json_body::<DeleteRequest>(MAX_AUTH_BODY))
        .then(delete_me)
        .boxed();
    register
        .or(login)
        .or(logout)
        .or(session)
        .or(show_me)
        .or(delete_me)
}

/// The public view of a user (never the password hash).
pub fn user_json(user: &User) -> Value {
    json!({
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        "is_guest": user.is_guest,
        "created_at": user.created_at.and_utc().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    })
}

/// The answer to a sign-in: body with the token, and the cookie.
fn signed_in(
    state: &AppState,
    status: StatusCode,
    user: &User,
    token: &SecretString,
) -> warp::reply::Response {
    let body = json!({"user": user_json(user), "token": token.expose_secret()});
    let mut response = warp::reply::with_status(warp::reply::json(&body), status).into_response();
    if let Ok(value) = cookie::set(token, state.settings.api.cookie_secure).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    response
}

fn normalise_email(raw: &str) -> Result<String, ApiError> {
    let email = raw.trim().to_lowercase();
    if email.len() > MAX_EMAIL_LEN || !EmailAddress::is_valid(&email) || !email.contains('.') {
        return Err(ApiError::unprocessable(
            "invalid_email",
            "that is not a valid email address",
        ));
    }
    Ok(email)
}

fn display_name(raw: Option<&str>, email: &str) -> Result<String, ApiError> {
    let name = raw
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| email.split('@').next().unwrap_or(email))
        .to_owned();
    if name.chars().count() > MAX_DISPLAY_NAME_CHARS || name.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "invalid_display_name",
            format!("the display name must be 1 to {MAX_DISPLAY_NAME_CHARS} printable characters"),
        ));
    }
    Ok(name)
}

fn session_unavailable(err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, "session store unavailable");
    ApiError::unavailable(
        "session_store_unavailable",
        "sessions are unavailable; try again shortly",
    )
}

async fn register(
    state: AppState,
    who: Option<Identity>,
    client: ClientAddr,
    headers: HeaderMap,
    request: RegisterRequest,
) -> ApiResult<warp::reply::Response> {
    // Counted first, whatever the outcome: the limit bounds how fast one address can
    // try emails (a taken one answers 409).
    let address = client_address(&state.settings, client, &headers);
    let count = state
        .limiter
        .hit("register_address", &address, REGISTRATION_WINDOW)
        .await
        .map_err(limits_unavailable)?;
    if count.value > u64::from(state.settings.api.limits.registrations_per_hour) {
        tracing::warn!("registration refused: too many from one address");
        return Err(ApiError::too_many_requests(
            "too many registrations from this address; try again later",
            count.resets_in,
        ));
    }
    let email = normalise_email(&request.email)?;
    let display_name = display_name(request.display_name.as_deref(), &email)?;
    password::validate_new(&request.password, &[&email, &display_name])?;
    // Hashed before the email is looked at, so a taken email costs as much as a new
    // one and timing does not tell them apart.
    let password_hash = state.hasher.admit()?.hash(request.password).await?;
    let now = db::now();
    let user = User {
        id: db::new_id(),
        email: Some(email),
        display_name,
        password_hash: Some(password_hash),
        is_guest: false,
        created_at: now,
        updated_at: now,
    };
    match state.db.insert_user(&user).await {
        Ok(()) => {}
        Err(DbError::Conflict(_)) => return Err(email_taken()),
        Err(err) => return Err(err.into()),
    }
    let token = state
        .sessions
        .create(&user.id, false)
        .await
        .map_err(session_unavailable)?;
    tracing::info!(user.id = %user.id, "account registered");
    if let Some(guest) = who.filter(|w| w.is_guest) {
        accounts::claim_guest(&state, &guest, &user.id).await;
    }
    Ok(signed_in(&state, StatusCode::CREATED, &user, &token))
}

/// Reserves a failed password check for `email` from `address` before the password is
/// checked (sign-in and re-authentication share the throttle); a throttled attempt is
/// logged as `log` and answered 429 with `refusal` and the seconds to wait.
async fn reserve_attempt(
    throttle: &Throttle<'_>,
    email: &str,
    address: &str,
    (log, refusal): (&'static str, &'static str),
) -> ApiResult<Reservation> {
    match throttle
        .reserve(email, address)
        .await
        .map_err(limits_unavailable)?
    {
        Verdict::Go(reservation) => Ok(reservation),
        Verdict::Wait { seconds, limit } => {
            tracing::warn!(limit, "{log}");
            Err(ApiError::too_many_requests(refusal, seconds))
        }
    }
}

fn limits_unavailable(err: LimitsUnavailable) -> ApiError {
    tracing::warn!(error = %err, "rate-limit store unavailable");
    ApiError::unavailable("rate_limit_unavailable", "try again shortly")
}

fn email_taken() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "email_taken",
        "an account with that email already exists",
    )
}

fn invalid_credentials() -> ApiError {
    ApiError::new(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "wrong email or password",
    )
}

async fn login(
    state: AppState,
    who: Option<Identity>,
    client: ClientAddr,
    headers: HeaderMap,
    request: LoginRequest,
) -> ApiResult<warp::reply::Response> {
    let email = request.email.trim().to_lowercase();
    let address = client_address(&state.settings, client, &headers);
    // A place in the hashing queue first: a busy server (503) counts no failure.
    let admitted = state.hasher.admit()?;
    // Reserve a failure before checking, so parallel guesses cannot all slip past a
    // limit; a successful sign-in gives the reservation back.
    let throttle = Throttle::new(&state.limiter, &state.settings.api.limits);
    let reservation = reserve_attempt(
        &throttle,
        &email,
        &address,
        (
            "sign-in refused: too many failures",
            "too many failed sign-ins; wait before trying again",
        ),
    )
    .await?;
    let user = state.db.find_user_by_email(&email).await?;
    let phc = user.as_ref().and_then(|u| u.password_hash.clone());
    let ok = admitted.verify(request.password, phc).await?;
    let Some(user) = user.filter(|_| ok) else {
        tracing::info!("sign-in failed");
        return Err(invalid_credentials());
    };
    if let Err(e) = throttle.release(reservation).await {
        tracing::warn!(error = %e, "could not release a sign-in reservation");
    }
    let token = state
        .sessions
        .create(&user.id, false)
        .await
        .map_err(session_unavailable)?;
    tracing::info!(user.id = %user.id, "signed in");
    if let Some(previous) = who {
        if previous.is_guest {
            accounts::claim_guest(&state, &previous, &user.id).await;
        } else if let Err(e) = state.sessions.destroy(&previous.session).await {
            tracing::warn!(error = %e, "could not end the previous session");
        }
    }
    Ok(signed_in(&state, StatusCode::OK, &user, &token))
}

async fn logout(state: AppState, who: Option<Identity>) -> ApiResult<warp::reply::Response> {
    if let Some(who) = who {
        state
            .sessions
            .destroy(&who.session)
            .await
            .map_err(session_unavailable)?;
        tracing::info!(user.id = %who.user_id, "signed out");
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = cookie::clear(state.settings.api.cookie_secure).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

async fn show_me(state: AppState, who: Identity) -> ApiResult<warp::reply::Json> {
    let user = state
        .db
        .find_user(&who.user_id)
        .await?
        .ok_or_else(crate::auth::identity::unauthenticated)?;
    Ok(warp::reply::json(&json!({"user": user_json(&user)})))
}

/// `GET /api/v1/auth/session`: who the caller is, `null` when nobody (200 either way, so
/// a page that only wants to know does not log a failed request).
async fn show_session(state: AppState, who: Option<Identity>) -> ApiResult<warp::reply::Json> {
    let user = match who {
        Some(who) => state.db.find_user(&who.user_id).await?,
        None => None,
    };
    Ok(warp::reply::json(
        &json!({"user": user.as_ref().map(user_json)}),
    ))
}

async fn delete_me(
    state: AppState,
    who: Identity,
    client: ClientAddr,
    headers: HeaderMap,
    request: Option<DeleteRequest>,
) -> ApiResult<warp::reply::Response> {
    if !who.is_guest {
        let address = client_address(&state.settings, client, &headers);
        reauthenticate(&state, &who, &address, request).await?;
    }
    accounts::delete_account(&state, &who.user_id).await?;
    tracing::info!(user.id = %who.user_id, "account deleted");
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = cookie::clear(state.settings.api.cookie_secure).parse() {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
    Ok(response)
}

/// Checks an account's current password, throttled like a sign-in (a wrong one counts
/// as a failed sign-in of that account from that address).
async fn reauthenticate(
    state: &AppState,
    who: &Identity,
    address: &str,
    request: Option<DeleteRequest>,
) -> ApiResult<()> {
    let Some(request) = request else {
        return Err(ApiError::unprocessable(
            "password_required",
            "send your current password ({\"password\": \"…\"}) to delete the account",
        ));
    };
    let user = state
        .db
        .find_user(&who.user_id)
        .await?
        .ok_or_else(crate::auth::identity::unauthenticated)?;
    let email = user.email.clone().unwrap_or_default();
    let admitted = state.hasher.admit()?;
    let throttle = Throttle::new(&state.limiter, &state.settings.api.limits);
    let reservation = reserve_attempt(
        &throttle,
        &email,
        address,
        (
            "re-authentication refused: too many failures",
            "too many wrong passwords; wait before trying again",
        ),
    )
    .await?;
    if !admitted
        .verify(request.password, user.password_hash.clone())
        .await?
    {
        tracing::info!(user.id = %who.user_id, "re-authentication failed");
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "wrong_password",
            "that is not your current password",
        ));
    }
    if let Err(e) = throttle.release(reservation).await {
        tracing::warn!(error = %e, "could not release a sign-in reservation");
    }
    Ok(())
}
