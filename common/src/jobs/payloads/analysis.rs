//! `analysis`: read the palm photo(s) of one analysis. Submitted by
//! `POST /api/v1/analyses`, never by clients directly.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::jobs::{Concurrency, Job};

/// One photo of an analysis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisPhoto {
    /// Object name in the `images` store.
    pub object: String,
    /// `left`, `right`, or `null` when the uploader did not say.
    pub hand: Option<String>,
    pub width: u32,
    pub height: u32,
    pub source_format: String,
}

/// The job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnalysisPayload {
    pub analysis_id: String,
    /// One or two photos; the first is the primary hand.
    pub photos: Vec<AnalysisPhoto>,
}

impl Job for AnalysisPayload {
    const KIND: &'static str = "analysis";
    const TIMEOUT: Duration = Duration::from_secs(120);
    const CONCURRENCY: Concurrency = Concurrency::PerCore(1);

    fn validate(&self) -> Result<(), String> {
        if self.photos.is_empty() || self.photos.len() > 2 {
            return Err("an analysis has one or two photos".into());
        }
        if self
            .photos
            .iter()
            .any(|p| !matches!(p.hand.as_deref(), None | Some("left" | "right")))
        {
            return Err("hand must be left, right or null".into());
        }
        Ok(())
    }
}
