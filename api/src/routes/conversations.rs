//! Conversations about a reading: follow-up questions answered by the `chat` job.
//!
//! - `POST   /api/v1/analyses/{id}/conversations` `{"title"?}` → 201 `{"conversation"}`.
//! - `GET    /api/v1/analyses/{id}/conversations?limit=&offset=` → the analysis's
//!   conversations, most recent activity first.
//! - `GET    /api/v1/conversations/{id}` → the conversation with its messages, oldest first.
//! - `PATCH  /api/v1/conversations/{id}` `{"title"}` → 200 renamed.
//! - `DELETE /api/v1/conversations/{id}` → 204; its messages go with it.
//! - `POST   /api/v1/conversations/{id}/messages` `{"content"}` → 202 `{"message","job"}`:
//!   the question is stored and a `chat` job queued; the worker stores the answer as an
//!   `assistant` message carrying the job id.
//!
//! Every route needs an account's session: anonymous callers get 401 and guests 403
//! `account_required` (both asked to sign up: a guest sees only a reading's summary).
//! Every query is scoped by owner, so another user's analysis or conversation is 404.
//! The conversation is looked up before the body is read, so a missing one is 404
//! whatever the body.

use hast_common::db::models::{Conversation, Message};
use hast_common::db::{self, DbError};
use hast_common::jobs::payloads::chat::ChatPayload;
use hast_common::jobs::NewJob;
use serde::Deserialize;
use serde_json::{json, Value};
use warp::http::{header, HeaderMap, StatusCode};
use warp::{Filter, Rejection, Reply};

use crate::auth::{identity, Identity};
use crate::error::{ApiError, ApiResult};
use crate::extract::{json_body, with_state, MAX_JSON_BYTES};
use crate::request_context::CorrelationId;
use crate::routes::pagination::{page_query, rfc3339, Page};
use crate::state::AppState;

/// Default and largest page size of the list (as for analyses).
/// Title limits, in characters after trimming.
const MAX_TITLE_CHARS: usize = 120;
const DEFAULT_TITLE: &str = "Conversation about your reading";
/// Longest question, in characters after trimming.
const MAX_CONTENT_CHARS: usize = 4000;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateRequest {
    #[serde(default)]
    title: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameRequest {
    title: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MessageRequest {
    content: String,
}

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let of_analysis = warp::path!("api" / "v1" / "analyses" / String / "conversations");
    let item = warp::path!("api" / "v1" / "conversations" / String);
    let messages = warp::path!("api" / "v1" / "conversations" / String / "messages");

    let create = of_analysis
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(signed_in(state.clone()))
        .and(optional_json_body::<CreateRequest>())
        .then(create)
        .boxed();
    let list = of_analysis
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(signed_in(state.clone()))
        .and(page_query())
        .then(list)
        .boxed();
    let show = item
        .and(warp::get())
        .and(with_state(state.clone()))
        .and(signed_in(state.clone()))
        .then(show)
        .boxed();
    let rename = item
        .and(warp::patch())
        .and(with_state(state.clone()))
        .and(signed_in(state.clone()))
        .and_then(owned_filter)
        .untuple_one()
        .and(json_body::<RenameRequest>(MAX_JSON_BYTES))
        .then(rename)
        .boxed();
    let remove = item
        .and(warp::delete())
        .and(with_state(state.clone()))
        .and(signed_in(state.clone()))
        .then(remove)
        .boxed();
    let post = messages
        .and(warp::post())
        .and(with_state(state.clone()))
        .and(signed_in(state))
        .and_then(owned_filter)
        .untuple_one()
        .and(warp::ext::get::<CorrelationId>())
        .and(json_body::<MessageRequest>(MAX_JSON_BYTES))
        .then(post_message)
        .boxed();
    create.or(list).or(show).or(rename).or(remove).or(post)
}

/// 401 for callers without a session, asking them to sign up or log in.
fn signed_in(state: AppState) -> impl Filter<Extract = (Identity,), Error = Rejection> + Clone {
    identity(state).and_then(|who: Option<Identity>| async move {
        match who {
            None => Err(warp::reject::custom(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "sign up or log in to ask about your reading \
                 (session cookie or Authorization: Bearer token)",
            ))),
            Some(who) if who.is_guest => Err(warp::reject::custom(ApiError::new(
                StatusCode::FORBIDDEN,
                "account_required",
                "create an account to ask about your reading: \
                 your analyses move to it",
            ))),
            Some(who) => Ok(who),
        }
    })
}

/// A JSON body that may be left out entirely: no body (or `Content-Length: 0`) gives
/// `T::default()`; anything else goes through [`json_body`] (415, 413, 400).
fn optional_json_body<T>() -> impl Filter<Extract = (T,), Error = Rejection> + Clone
where
    T: serde::de::DeserializeOwned + Default + Send,
{
    warp::header::headers_cloned()
        .and_then(|headers: HeaderMap| async move {
            let length = headers
                .get(header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse::<u64>().ok());
            let chunked = headers.contains_key(header::TRANSFER_ENCODING);
            match length {
                Some(0) => Ok(T::default()),
                None if !chunked => Ok(T::default()),
                // A body: let `json_body` read it (this rejection is outranked by its own).
                _ => Err(warp::reject::not_found()),
            }
        })
        .or(json_body::<T>(MAX_JSON_BYTES))
        .unify()
}

/// The public view of a conversation (without its messages).
fn conversation_json(c: &Conversation) -> Value {
    json!({
        "id": c.id,
        "analysis_id": c.analysis_id,
        "title": c.title,
        "created_at": rfc3339(c.created_at),
        "updated_at": rfc3339(c.updated_at),
        "links": {
            "self": format!("/api/v1/conversations/{}", c.id),
            "messages": format!("/api/v1/conversations/{}/messages", c.id),
            "analysis": format!("/api/v1/analyses/{}", c.analysis_id),
        },
    })
}

/// The public view of a message.
fn message_json(m: &Message) -> Value {
    json!({
        "id": m.id,
        "role": m.role,
        "content": m.content,
        "job_id": m.job_id,
        "created_at": rfc3339(m.created_at),
    })
}

/// A title trimmed and checked: 1 to [`MAX_TITLE_CHARS`] printable characters.
fn valid_title(raw: &str) -> ApiResult<String> {
    let title = raw.trim();
    let n = title.chars().count();
    if n == 0 || n > MAX_TITLE_CHARS || title.chars().any(char::is_control) {
        return Err(ApiError::unprocessable(
            "invalid_title",
            format!("the title must be 1 to {MAX_TITLE_CHARS} printable characters"),
        ));
    }
    Ok(title.to_owned())
}

/// A question trimmed and checked: 1 to [`MAX_CONTENT_CHARS`] characters, no control
/// characters other than line breaks and tabs.
fn valid_content(raw: &str) -> ApiResult<String> {
    let content = raw.trim();
    let n = content.chars().count();
    let control = content
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'));
    if n == 0 || n > MAX_CONTENT_CHARS || control {
        return Err(ApiError::unprocessable(
            "invalid_content",
            format!(
                "the message must be 1 to {MAX_CONTENT_CHARS} characters \
                 (no control characters other than line breaks and tabs)"
            ),
        ));
    }
    Ok(content.to_owned())
}

/// A foreign-key failure on insert means the parent was deleted meanwhile: 404.
fn gone_if_foreign_key(err: DbError, message: &str) -> ApiError {
    match err {
        DbError::ForeignKey(_) => ApiError::not_found(message),
        other => other.into(),
    }
}

async fn owned(state: &AppState, who: &Identity, id: &str) -> ApiResult<Conversation> {
    state
        .db
        .find_conversation(&who.user_id, id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))
}

/// The caller's conversation `id` as a filter step, so a missing one is 404 before the
/// body is read.
async fn owned_filter(
    id: String,
    state: AppState,
    who: Identity,
) -> Result<(AppState, Identity, Conversation), Rejection> {
    let conversation = owned(&state, &who, &id)
        .await
        .map_err(warp::reject::custom)?;
    Ok((state, who, conversation))
}

async fn create(
    analysis_id: String,
    state: AppState,
    who: Identity,
    request: CreateRequest,
) -> ApiResult<warp::reply::Response> {
    let analysis = state
        .db
        .find_analysis(&who.user_id, &analysis_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such analysis"))?;
    let title = match request.title.as_deref() {
        Some(raw) => valid_title(raw)?,
        None => DEFAULT_TITLE.to_owned(),
    };
    let now = db::now();
    let conversation = Conversation {
        id: db::new_id(),
        analysis_id: analysis.id,
        owner_id: who.user_id.clone(),
        title,
        created_at: now,
        updated_at: now,
    };
    state
        .db
        .insert_conversation(&conversation)
        .await
        .map_err(|e| gone_if_foreign_key(e, "no such analysis"))?;
    tracing::info!(
        conversation.id = %conversation.id,
        analysis.id = %conversation.analysis_id,
        "conversation started"
    );
    let body = json!({"conversation": conversation_json(&conversation)});
    let mut response =
        warp::reply::with_status(warp::reply::json(&body), StatusCode::CREATED).into_response();
    if let Ok(location) = format!("/api/v1/conversations/{}", conversation.id).parse() {
        response.headers_mut().insert(header::LOCATION, location);
    }
    Ok(response)
}

async fn list(
    analysis_id: String,
    state: AppState,
    who: Identity,
    page: Page,
) -> ApiResult<warp::reply::Json> {
    let Page { limit, offset } = page;
    // The analysis itself must be the caller's: another user's is 404, not an empty list.
    state
        .db
        .find_analysis(&who.user_id, &analysis_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such analysis"))?;
    let rows = state
        .db
        .list_conversations(&who.user_id, &analysis_id, limit + 1, offset)
        .await?;
    let next_offset = page.next_offset(rows.len());
    let items: Vec<Value> = rows
        .iter()
        .take(limit as usize)
        .map(conversation_json)
        .collect();
    Ok(warp::reply::json(&json!({
        "conversations": items,
        "limit": limit,
        "offset": offset,
        "next_offset": next_offset,
    })))
}

async fn show(id: String, state: AppState, who: Identity) -> ApiResult<warp::reply::Json> {
    let conversation = owned(&state, &who, &id).await?;
    let messages = state.db.list_messages(&conversation.id).await?;
    let mut body = conversation_json(&conversation);
    if let Some(map) = body.as_object_mut() {
        map.insert(
            "messages".into(),
            messages.iter().map(message_json).collect::<Vec<_>>().into(),
        );
    }
    Ok(warp::reply::json(&json!({ "conversation": body })))
}

async fn rename(
    state: AppState,
    who: Identity,
    conversation: Conversation,
    request: RenameRequest,
) -> ApiResult<warp::reply::Json> {
    let title = valid_title(&request.title)?;
    let renamed = state
        .db
        .rename_conversation(&who.user_id, &conversation.id, &title)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    Ok(warp::reply::json(
        &json!({"conversation": conversation_json(&renamed)}),
    ))
}

async fn remove(id: String, state: AppState, who: Identity) -> ApiResult<StatusCode> {
    if !state.db.delete_conversation(&who.user_id, &id).await? {
        return Err(ApiError::not_found("no such conversation"));
    }
    tracing::info!(conversation.id = %id, "conversation deleted");
    Ok(StatusCode::NO_CONTENT)
}

/// Counts a question against the user's hourly quota (`MESSAGES_PER_HOUR`): with
/// `ANALYZER=openai` each one is a paid model call, and the fleet's model slots are shared.
async fn check_message_quota(state: &AppState, user_id: &str) -> ApiResult<()> {
    let count = state
        .limiter
        .hit("messages", user_id, std::time::Duration::from_secs(3600))
        .await
        .map_err(|e| {
            tracing::warn!(error = %e, "rate-limit store unavailable");
            ApiError::unavailable("rate_limit_unavailable", "try again shortly")
        })?;
    if count.value > u64::from(state.settings.api.limits.messages_per_hour) {
        return Err(ApiError::too_many_requests(
            "too many questions this hour; try again later",
            count.resets_in,
        ));
    }
    Ok(())
}

/// A question waiting longer than this for its answer no longer counts as in flight (its
/// chat job has long failed or been abandoned: at most 10 attempts of 2 minutes, backoff
/// aside, run well within it).
const IN_FLIGHT_WINDOW: chrono::Duration = chrono::Duration::minutes(30);

/// Refuses a question while the user has `QUESTIONS_IN_FLIGHT` unanswered ones: the
/// fleet's model slots (`OPENAI_MAX_CONCURRENCY`) are shared, so one user must not be
/// able to take them all.
async fn check_questions_in_flight(state: &AppState, user_id: &str) -> ApiResult<()> {
    let since = db::now() - IN_FLIGHT_WINDOW;
    let waiting = state.db.unanswered_questions(user_id, since).await?;
    if waiting >= state.settings.api.limits.questions_in_flight as usize {
        return Err(ApiError {
            retry_after: Some(5),
            ..ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "answer_pending",
                "wait for the answers to your questions before asking more",
            )
        });
    }
    Ok(())
}

async fn post_message(
    state: AppState,
    who: Identity,
    conversation: Conversation,
    correlation_id: CorrelationId,
    request: MessageRequest,
) -> ApiResult<warp::reply::Response> {
    let content = valid_content(&request.content)?;
    check_message_quota(&state, &who.user_id).await?;
    check_questions_in_flight(&state, &who.user_id).await?;
    // The answer is about the reading, so there must be one. An unusable photo still
    // completes (with retake advice), and the answerer explains that.
    let analysis = state
        .db
        .find_analysis(&who.user_id, &conversation.analysis_id)
        .await?
        .ok_or_else(|| ApiError::not_found("no such conversation"))?;
    if analysis.status != "completed" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "analysis_not_ready",
            "the reading is not ready yet; ask once the analysis has completed",
        ));
    }
    let message = Message {
        id: db::new_id(),
        conversation_id: conversation.id.clone(),
        role: "user".into(),
        content,
        job_id: None,
        created_at: db::now(),
    };
    state
        .db
        .post_message(&message)
        .await
        .map_err(|e| gone_if_foreign_key(e, "no such conversation"))?;
    let job = NewJob::of(&ChatPayload {
        conversation_id: conversation.id.clone(),
        message_id: message.id.clone(),
    })
    .owned_by(&who.user_id)
    .correlated(correlation_id.to_string());
    let submitted = state.submitter.submit(job).await;
    let submitted = match submitted {
        Ok(s) => s,
        Err(e) => {
            // Leave no question behind that nothing will answer.
            if let Err(undo) = state
                .db
                .retract_message(&message, conversation.updated_at)
                .await
            {
                tracing::warn!(error = %undo, message.id = %message.id, "could not remove the unsubmitted message");
            }
            return Err(e.into());
        }
    };
    tracing::info!(
        conversation.id = %conversation.id,
        message.id = %message.id,
        job.id = %submitted.status.id,
        "question accepted"
    );
    let body = json!({
        "message": message_json(&message),
        "job": submitted.status.public_json(),
    });
    Ok(warp::reply::with_status(warp::reply::json(&body), StatusCode::ACCEPTED).into_response())
}
