//! `thumbnail`: a small preview of an analysis's photo for history lists. A kind of
//! its own (the seed routed image work to its own queue) so a slow analysis never
//! delays it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub const KIND: &str = "thumbnail";

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 256;

/// The job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailPayload {
    pub analysis_id: String,
}

/// Accepts a well-formed [`ThumbnailPayload`].
pub fn validate(payload: &Value) -> Result<(), String> {
    serde_json::from_value::<ThumbnailPayload>(payload.clone())
        .map(|_| ())
        .map_err(|e| format!("invalid payload: {e}"))
}
