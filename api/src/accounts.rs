//! What happens to a user's data across the stores: guest claims and account deletion.

use hast_common::jobs::owner_token;
use hast_common::nats::objects::delete_analysis_objects;

use crate::auth::Identity;
use crate::error::ApiError;
use crate::state::AppState;

/// Moves a guest's analyses (rows and job statuses) to `user_id` and ends the guest
/// session. Best effort: a failure is logged and leaves the guest's data where it was.
pub async fn claim_guest(state: &AppState, guest: &Identity, user_id: &str) {
    match state.db.claim_guest(&guest.user_id, user_id).await {
        Ok(moved) => {
            tracing::info!(guest.id = %guest.user_id, user.id = %user_id, moved, "guest analyses claimed")
        }
        Err(e) => {
            tracing::warn!(error = %e, "could not move the guest's analyses");
            return;
        }
    }
    if let Err(e) = state.statuses.reassign_owner(&guest.user_id, user_id).await {
        tracing::warn!(error = %e, "could not move the guest's job statuses");
    }
    if let Err(e) = state.sessions.destroy(&guest.session).await {
        tracing::warn!(error = %e, "could not end the guest session");
    }
}

fn unavailable(what: &str, err: impl std::fmt::Display) -> ApiError {
    tracing::warn!(error = %err, what, "account deletion step failed");
    ApiError::unavailable(
        "deletion_incomplete",
        "the account could not be fully deleted yet; send the request again",
    )
}

/// Deletes `user_id` and everything they own: job statuses and idempotency records
/// (KV), photos, overlays and thumbnails (object store), rows (database, cascading),
/// abuse-limit counters of the account, and finally every session.
///
/// Every step is idempotent and the database row goes last but one, so a failure
/// answers 503 and a retried request (the session still works) finishes the job.
pub async fn delete_account(state: &AppState, user_id: &str) -> Result<(), ApiError> {
    let user = state.db.find_user(user_id).await?;
    state
        .statuses
        .purge_owned_by(user_id)
        .await
        .map_err(|e| unavailable("job statuses", e))?;
    let idempotency = &state.topology.idempotency;
    let records = format!("{}{}.>", idempotency.prefix, owner_token(Some(user_id)));
    idempotency
        .stream
        .purge()
        .filter(records)
        .await
        .map_err(|e| unavailable("idempotency records", e))?;
    let mut limit_prefixes: Vec<String> = ["uploads", "jobs", "messages"]
        .iter()
        .map(|scope| state.limiter.subject_prefix(scope, user_id))
        .collect();
    if let Some(email) = user.as_ref().and_then(|u| u.email.as_deref()) {
        limit_prefixes.push(state.limiter.subject_prefix("login_account", email));
        limit_prefixes.push(state.limiter.subject_prefix("login_pair", email));
    }
    for prefix in limit_prefixes {
        state
            .limiter
            .purge_prefix(&prefix)
            .await
            .map_err(|e| unavailable("rate-limit counters", e))?;
    }
    let analyses = state.db.all_analyses_of(user_id).await?;
    for analysis in &analyses {
        delete_analysis_objects(&state.topology.images, &analysis.id)
            .await
            .map_err(|e| unavailable("images", e))?;
    }
    state.db.delete_user(user_id).await?;
    state
        .sessions
        .destroy_all(user_id)
        .await
        .map_err(|e| unavailable("sessions", e))?;
    for analysis in &analyses {
        sweep_again(state, &analysis.id).await;
    }
    Ok(())
}

/// The second sweep of a deleted analysis's objects, after its row is gone: a job that
/// was running may have written one (an overlay, a thumbnail) since the first. A job
/// that writes later finds no row and removes its objects itself. Best effort: the
/// deletion has happened either way.
pub(crate) async fn sweep_again(state: &AppState, analysis_id: &str) {
    if let Err(e) = delete_analysis_objects(&state.topology.images, analysis_id).await {
        tracing::warn!(error = %e, analysis.id = %analysis_id, "second sweep of the analysis objects failed");
    }
}
