//! `thumbnail`: a small JPEG preview of an analysis's (first) photo for history lists.

use futures::future::BoxFuture;
use hast_common::jobs::payloads::thumbnail::{ThumbnailPayload, THUMBNAIL_MAX_SIDE};
use hast_common::nats::objects::{read_object, write_object, AnalysisObject};
use serde_json::{json, Value};

use super::analysis::discard_deleted_analysis;
use super::{JobContext, JobError, JobHandler};

/// The `thumbnail` handler.
#[derive(Debug)]
pub struct Thumbnail;

impl JobHandler for Thumbnail {
    type Job = ThumbnailPayload;

    fn run(
        &self,
        ctx: JobContext,
        job: ThumbnailPayload,
    ) -> BoxFuture<'static, Result<Value, JobError>> {
        Box::pin(run(ctx, job))
    }
}

async fn run(ctx: JobContext, job: ThumbnailPayload) -> Result<Value, JobError> {
    let id = job.analysis_id;
    let Some(bytes) = read_object(&ctx.images, &AnalysisObject::Photo.name(&id))
        .await
        .map_err(|e| JobError::transient("object_store", e))?
    else {
        // The analysis is being deleted: an earlier attempt's thumbnail must not stay.
        discard_deleted_analysis(&ctx, &id).await?;
        return Ok(json!({"analysis_id": id, "skipped": "photo deleted"}));
    };
    // The slot stays taken while this runs; the work stops at its next check.
    let (slot, cancel) = (ctx.slot.clone(), ctx.cancel.clone());
    let thumbnail = tokio::task::spawn_blocking(move || {
        let _slot = slot;
        let image = hast_common::photo::decode_rgb(&bytes)
            .map_err(|e| JobError::permanent("corrupt_photo", e.to_string()))?;
        if cancel.is_cancelled() {
            return Err(JobError::transient("stopped", "the attempt was given up"));
        }
        let small =
            image::DynamicImage::ImageRgb8(image).thumbnail(THUMBNAIL_MAX_SIDE, THUMBNAIL_MAX_SIDE);
        let mut out = std::io::Cursor::new(Vec::new());
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 80)
            .encode_image(&small.to_rgb8())
            .map_err(|e| JobError::permanent("encode", e.to_string()))?;
        Ok::<_, JobError>((out.into_inner(), small.width(), small.height()))
    })
    .await
    .map_err(|e| JobError::permanent("thumbnail_panicked", e.to_string()))??;
    let (jpeg, width, height) = thumbnail;
    write_object(&ctx.images, &AnalysisObject::Thumbnail.name(&id), jpeg)
        .await
        .map_err(|e| JobError::transient("object_store", e))?;
    // Checked after the write: a deletion that swept the objects before it is seen here.
    let exists = ctx
        .db
        .find_analysis_by_id(&id)
        .await
        .map_err(|e| JobError::transient("database", e.to_string()))?
        .is_some();
    if !exists {
        discard_deleted_analysis(&ctx, &id).await?;
        return Ok(json!({"analysis_id": id, "skipped": "analysis deleted"}));
    }
    Ok(json!({"analysis_id": id, "width": width, "height": height}))
}
