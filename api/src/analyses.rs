//! Accepting an analysis across the stores: its photos (object store), its row
//! (database) and its jobs (JetStream). The route (`routes/analyses.rs`) reads and
//! checks the upload and answers; this creates everything or, on any failure (or when
//! the request is dropped half-way), nothing: a [`Rollback`] guard removes what was
//! made.

use hast_common::db::models::Analysis;
use hast_common::db::{self};
use hast_common::jobs::payloads::analysis::{AnalysisPayload, AnalysisPhoto};
use hast_common::jobs::payloads::thumbnail::ThumbnailPayload;
use hast_common::jobs::{JobState, JobStatus, NewJob};
use hast_common::nats::objects::{delete_analysis_objects, write_object, AnalysisObject};
use hast_common::photo::NormalisedPhoto;

use crate::auth::Identity;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// An accepted analysis and its job.
#[derive(Debug)]
pub struct Accepted {
    pub analysis: Analysis,
    pub job: JobStatus,
}

/// Stores `photos` (multipart field name, photo; the first is the main one) as a new
/// analysis of `who`, and queues its analysis job and its thumbnail job.
pub async fn accept(
    state: &AppState,
    who: &Identity,
    photos: Vec<(String, NormalisedPhoto)>,
    correlation_id: &str,
) -> ApiResult<Accepted> {
    let analysis_id = db::new_id();
    let mut rollback = Rollback::new(state, &analysis_id);
    let accepted = create(state, who, photos, correlation_id, &mut rollback).await;
    if accepted.is_err() {
        // Removed before the client hears of the failure.
        rollback.undo().await;
    }
    accepted
}

async fn create(
    state: &AppState,
    who: &Identity,
    photos: Vec<(String, NormalisedPhoto)>,
    correlation_id: &str,
    rollback: &mut Rollback,
) -> ApiResult<Accepted> {
    let analysis_id = rollback.analysis_id.clone();
    let hands = store_photos(state, &analysis_id, photos).await?;
    let now = db::now();
    let mut analysis = Analysis {
        id: analysis_id.clone(),
        owner_id: who.user_id.clone(),
        image_object: AnalysisObject::Photo.name(&analysis_id),
        status: JobState::Queued.as_str().to_owned(),
        job_id: None,
        reading: None,
        engine: None,
        error: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    state.db.insert_analysis(&analysis).await?;
    rollback.row_of(&who.user_id);
    if who.is_guest {
        check_guest_cap(state, who).await?;
    }
    let job = state
        .submitter
        .submit(
            NewJob::of(&AnalysisPayload {
                analysis_id: analysis_id.clone(),
                photos: hands,
            })
            .owned_by(&who.user_id)
            .correlated(correlation_id.to_owned()),
        )
        .await?
        .status;
    // Accepted: from here on the job owns the analysis (a failure below is the job's to
    // report, not a reason to remove what it will read).
    rollback.disarm();
    state.db.set_analysis_job(&analysis_id, &job.id).await?;
    analysis.job_id = Some(job.id.clone());
    // The preview has its own job kind and queue, so a slow analysis never delays it.
    // Best effort: a missing thumbnail only means the list shows no preview.
    if let Err(e) = state
        .submitter
        .submit(
            NewJob::of(&ThumbnailPayload {
                analysis_id: analysis_id.clone(),
            })
            .owned_by(&who.user_id)
            .correlated(correlation_id.to_owned()),
        )
        .await
    {
        tracing::warn!(error = %e, "could not queue the thumbnail");
    }
    tracing::info!(analysis.id = %analysis_id, job.id = %job.id, "analysis accepted");
    Ok(Accepted { analysis, job })
}

/// Writes the photos to the object store; the analysis payload's `photos`.
async fn store_photos(
    state: &AppState,
    analysis_id: &str,
    photos: Vec<(String, NormalisedPhoto)>,
) -> ApiResult<Vec<AnalysisPhoto>> {
    let mut hands = Vec::with_capacity(photos.len());
    for (index, (field, normalised)) in photos.into_iter().enumerate() {
        let object = if index == 0 {
            AnalysisObject::Photo
        } else {
            AnalysisObject::SecondPhoto
        };
        let name = object.name(analysis_id);
        if let Err(e) = write_object(&state.topology.images, &name, normalised.jpeg).await {
            if hast_common::nats::storage::is_storage_full(&e) {
                return Err(ApiError::storage_full(&e));
            }
            tracing::warn!(error = %e, "could not store the photo");
            return Err(ApiError::unavailable(
                "storage_unavailable",
                "the photo store is unavailable; try again shortly",
            ));
        }
        hands.push(AnalysisPhoto {
            object: name,
            hand: (field != "image").then_some(field),
            width: normalised.width,
            height: normalised.height,
            source_format: normalised.source_format.as_str().to_owned(),
        });
    }
    Ok(hands)
}

/// The cap was checked before the photos were read; parallel uploads of one guest all
/// passed that check. Counted again now that this one's row exists, so a guest never
/// ends up with more than the cap (a race may refuse one more than needed).
async fn check_guest_cap(state: &AppState, who: &Identity) -> ApiResult<()> {
    let analyses = state.db.count_analyses(&who.user_id).await?;
    if analyses > i64::from(state.settings.api.limits.guest_max_analyses) {
        return Err(guest_limit_reached());
    }
    Ok(())
}

/// Removes a half-made analysis (its objects, and its row once written): [`Rollback::undo`]
/// on an error, or on drop while still armed (the request was dropped half-way).
struct Rollback {
    state: AppState,
    analysis_id: String,
    /// The owner, once the row is written.
    row_owner: Option<String>,
    armed: bool,
}

impl Rollback {
    fn new(state: &AppState, analysis_id: &str) -> Self {
        Self {
            state: state.clone(),
            analysis_id: analysis_id.to_owned(),
            row_owner: None,
            armed: true,
        }
    }

    /// The row of `owner` exists: remove it too.
    fn row_of(&mut self, owner: &str) {
        self.row_owner = Some(owner.to_owned());
    }

    /// Everything was accepted: keep it.
    fn disarm(&mut self) {
        self.armed = false;
    }

    /// Removes what was made, now.
    async fn undo(&mut self) {
        if std::mem::replace(&mut self.armed, false) {
            remove(&self.state, &self.analysis_id, self.row_owner.as_deref()).await;
        }
    }
}

async fn remove(state: &AppState, analysis_id: &str, owner: Option<&str>) {
    if let Some(owner) = owner {
        if let Err(e) = state.db.delete_analysis(owner, analysis_id).await {
            tracing::warn!(error = %e, analysis.id = %analysis_id, "could not remove a half-made analysis row");
        }
    }
    if let Err(e) = delete_analysis_objects(&state.topology.images, analysis_id).await {
        tracing::warn!(error = %e, analysis.id = %analysis_id, "could not remove a half-made analysis's photos");
    }
}

impl Drop for Rollback {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        let state = self.state.clone();
        let analysis_id = std::mem::take(&mut self.analysis_id);
        let owner = self.row_owner.take();
        // Drop cannot wait: the clean-up runs as its own task, so it also happens when
        // the client went away and the request's future was dropped.
        tokio::spawn(async move { remove(&state, &analysis_id, owner.as_deref()).await });
    }
}

/// A guest at the analysis cap.
pub(crate) fn guest_limit_reached() -> ApiError {
    ApiError::new(
        warp::http::StatusCode::FORBIDDEN,
        "guest_limit_reached",
        "guests may analyse only a few photos; create an account to continue",
    )
}
