//! `thumbnail`: a small preview of an analysis's photo for history lists. A kind of
//! its own (the seed routed image work to its own queue) so a slow analysis never
//! delays it.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::jobs::{Concurrency, Job};

/// Longest side of a thumbnail, in pixels.
pub const THUMBNAIL_MAX_SIDE: u32 = 256;

/// The job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThumbnailPayload {
    pub analysis_id: String,
}

impl Job for ThumbnailPayload {
    const KIND: &'static str = "thumbnail";
    const TIMEOUT: Duration = Duration::from_secs(30);
    const CONCURRENCY: Concurrency = Concurrency::PerCore(2);
}
