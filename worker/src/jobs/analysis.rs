//! `analysis`: reads the palm photo(s) of one analysis with the offline engine,
//! stores the reading in `analyses.reading` and the overlay(s) in the object store,
//! reporting progress through the job status as it goes.
//!
//! Idempotent: a redelivered job recomputes the same reading (the engine is
//! deterministic) and overwrites the same objects and row.

use std::sync::Arc;

use futures::future::BoxFuture;
use hast_common::jobs::payloads::analysis::{AnalysisPayload, AnalysisPhoto};
use hast_common::jobs::Kind;
use hast_common::nats::objects::{read_object, write_object, AnalysisObject};
use hast_palm::{Engine, HandSide};
use serde_json::{json, Value};

use super::{JobContext, JobError, JobHandler};
use crate::ai::Ai;

/// The `analysis` handler.
#[derive(Debug)]
pub struct Analysis {
    engine: Arc<Engine>,
    /// The model (`ANALYZER=openai`), which rewrites the offline reading's prose.
    ai: Option<Arc<Ai>>,
}

impl Analysis {
    pub fn new(engine: Arc<Engine>, ai: Option<Arc<Ai>>) -> Self {
        Self { engine, ai }
    }
}

impl JobHandler for Analysis {
    type Job = AnalysisPayload;

    fn run(
        &self,
        ctx: JobContext,
        job: AnalysisPayload,
    ) -> BoxFuture<'static, Result<Value, JobError>> {
        let engine = self.engine.clone();
        let ai = self.ai.clone();
        Box::pin(async move {
            let id = job.analysis_id.clone();
            let db = ctx.db.clone();
            let outcome = run(engine, ai, ctx, job).await;
            // A permanent failure ends the analysis too (a transient one is retried; if
            // its attempts run out, the API shows the job's failure).
            if let Err(err @ JobError::Permanent { .. }) = &outcome {
                let error = json!({"code": err.code(), "message": err.message()}).to_string();
                if let Err(e) = db.fail_analysis(&id, &error).await {
                    tracing::warn!(error = %e, "could not mark the analysis failed");
                }
            }
            outcome
        })
    }

    fn cancelled(
        &self,
        db: hast_common::db::Database,
        job: AnalysisPayload,
    ) -> BoxFuture<'static, Result<(), hast_common::db::DbError>> {
        Box::pin(async move { db.cancel_analysis(&job.analysis_id).await })
    }
}

/// Deletes every object of analysis `id`, whose row is gone: the user deleted it while
/// a job of it ran (`analysis` or `thumbnail`), and the job may have written an object
/// after the API's sweep (the API sweeps before and after deleting the row; a job checks
/// the row after its last write). A failure is transient: the retry finds no row and
/// comes back here.
pub(super) async fn discard_deleted_analysis(ctx: &JobContext, id: &str) -> Result<(), JobError> {
    hast_common::nats::objects::delete_analysis_objects(&ctx.images, id)
        .await
        .map_err(|e| JobError::transient("object_store", e))?;
    tracing::info!(analysis.id = %id, "analysis deleted meanwhile: its objects are removed");
    Ok(())
}

async fn run(
    engine: Arc<Engine>,
    ai: Option<Arc<Ai>>,
    ctx: JobContext,
    payload: AnalysisPayload,
) -> Result<Value, JobError> {
    let id = payload.analysis_id.clone();
    let Some(_analysis) = ctx.db.find_analysis_by_id(&id).await? else {
        // Deleted meanwhile (rows are inserted before their job is queued): nothing to
        // read, and nothing of it may stay behind, such as an earlier attempt's overlay.
        discard_deleted_analysis(&ctx, &id).await?;
        return Ok(json!({"analysis_id": id, "skipped": "analysis deleted"}));
    };
    ctx.db.set_analysis_status(&id, "running").await?;
    ctx.progress(5).await;

    // The model's share of this attempt's time, for every photo together.
    let deadline = Ai::deadline(Kind::Analysis);
    let mut readings = Vec::with_capacity(payload.photos.len());
    let mut notes = Vec::new();
    let mut usage = hast_openai::Usage::default();
    let count = payload.photos.len().max(1);
    for (index, photo) in payload.photos.iter().enumerate() {
        let share = 90 / count as u8;
        let base = 5 + share * index as u8;
        let (features, reading, jpeg) =
            read_one(&engine, ai.is_some(), &ctx, &id, index, photo, base, share).await?;
        let reading = match (&ai, jpeg) {
            (Some(ai), Some(jpeg)) => {
                let refined = ai.refine(&ctx, &features, reading, jpeg, deadline).await?;
                usage += refined.usage;
                notes.extend(refined.note);
                refined.reading
            }
            _ => reading,
        };
        readings.push(reading);
    }
    let mut readings = readings.into_iter();
    let Some(mut primary) = readings.next() else {
        return Err(JobError::permanent("invalid_payload", "no photos"));
    };
    if let Some(second) = readings.next() {
        primary.comparison = hast_palm::interpret::compare::compare_hands(&primary, &second);
        primary.second_hand = Some(Box::new(second));
    }
    let usable = primary.quality.usable;
    let lines: Vec<&str> = primary
        .lines
        .iter()
        .filter(|l| l.present)
        .map(|l| l.id.as_str())
        .collect();
    // The job's result is shown to its owner, guests too, through the job status: it says
    // only whether the photo was readable, never what the reading found (a guest sees
    // the reading's summary alone, `analysis_json`).
    let summary = json!({
        "analysis_id": id,
        "engine": primary.engine,
        "usable": usable,
        "issues": primary.quality.issues,
        "usage": crate::ai::reading::usage_value(usage),
        "engine_note": if notes.is_empty() { Value::Null } else { Value::String(notes.join("; ")) },
    });
    let text = serde_json::to_string(&primary)
        .map_err(|e| JobError::permanent("serialise", e.to_string()))?;
    let stored = ctx
        .db
        .complete_analysis(&id, &text, &primary.engine)
        .await?;
    if !stored {
        // Deleted while it was read: the overlay written above may postdate the API's
        // sweep of the analysis's objects.
        discard_deleted_analysis(&ctx, &id).await?;
        return Ok(json!({"analysis_id": id, "skipped": "analysis deleted"}));
    }
    ctx.progress(100).await;
    tracing::info!(analysis.id = %id, usable, lines = ?lines, "palm read");
    Ok(summary)
}

/// Reads one photo offline and writes its overlay; with `for_model`, also returns the
/// photo downscaled for the model.
#[allow(clippy::too_many_arguments)]
async fn read_one(
    engine: &Arc<Engine>,
    for_model: bool,
    ctx: &JobContext,
    analysis_id: &str,
    index: usize,
    photo: &AnalysisPhoto,
    base: u8,
    share: u8,
) -> Result<
    (
        hast_palm::Features,
        hast_palm::Reading,
        Option<bytes::Bytes>,
    ),
    JobError,
> {
    let bytes = read_object(&ctx.images, &photo.object)
        .await
        .map_err(|e| JobError::transient("object_store", e))?
        .ok_or_else(|| JobError::permanent("photo_missing", format!("{} is gone", photo.object)))?;
    ctx.progress(base.saturating_add(share / 5)).await;
    let side = match photo.hand.as_deref() {
        Some("left") => Some(HandSide::Left),
        Some("right") => Some(HandSide::Right),
        _ => None,
    };
    let engine = engine.clone();
    // The slot stays taken while this runs, even if the runner gives up on the attempt;
    // the work stops at its next check of the flag.
    let (slot, cancel) = (ctx.slot.clone(), ctx.cancel.clone());
    let (features, reading, overlay, jpeg) = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let stopped = || JobError::transient("stopped", "the attempt was given up");
        let stop = || cancel.is_cancelled();
        let image = hast_common::photo::decode_rgb(&bytes)
            .map_err(|e| JobError::permanent("corrupt_photo", e.to_string()))?;
        let (features, reading) = engine
            .read_unless(&image, side, &stop)
            .ok_or_else(stopped)?;
        if stop() {
            return Err(stopped());
        }
        let overlay = hast_palm::overlay::render(&image, &features);
        let png = hast_palm::overlay::to_png(&overlay)
            .map_err(|e| JobError::permanent("overlay", e.to_string()))?;
        // An unusable photo never goes to the model.
        let jpeg = if for_model && reading.quality.usable && !stop() {
            crate::ai::reading::model_jpeg(&image)
                .map_err(|e| JobError::permanent("model_image", e))
                .map(Some)?
        } else {
            None
        };
        Ok::<_, JobError>((features, reading, png, jpeg))
    })
    .await
    .map_err(|e| JobError::permanent("engine_panicked", e.to_string()))??;
    ctx.progress(base.saturating_add(((u16::from(share) * 4) / 5) as u8))
        .await;
    let object = if index == 0 {
        AnalysisObject::Overlay
    } else {
        AnalysisObject::SecondOverlay
    };
    write_object(&ctx.images, &object.name(analysis_id), overlay)
        .await
        .map_err(|e| JobError::transient("object_store", e))?;
    ctx.progress(base.saturating_add(share)).await;
    Ok((features, reading, jpeg))
}
