//! Object names in the `images` object store, and deleting an analysis's objects.
//!
//! Every object of an analysis lives under `analyses/<analysis id>/`: the normalised
//! photo(s), the overlay and the thumbnail. Nothing about the owner is in a name.

use std::time::Duration;

use async_nats::jetstream::object_store::{DeleteErrorKind, ObjectStore};

/// Which stored image of an analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnalysisObject {
    /// The normalised upload (JPEG); for two-hand uploads, the first hand.
    Photo,
    /// The second hand's photo of a two-hand upload (JPEG).
    SecondPhoto,
    /// The photo with the detected lines drawn (PNG).
    Overlay,
    /// A small preview for lists (JPEG).
    Thumbnail,
}

impl AnalysisObject {
    /// Every kind of object an analysis can have.
    pub const ALL: [AnalysisObject; 4] = [
        AnalysisObject::Photo,
        AnalysisObject::SecondPhoto,
        AnalysisObject::Overlay,
        AnalysisObject::Thumbnail,
    ];

    /// The object's name for analysis `id`.
    pub fn name(self, id: &str) -> String {
        let file = match self {
            AnalysisObject::Photo => "photo.jpg",
            AnalysisObject::SecondPhoto => "photo-2.jpg",
            AnalysisObject::Overlay => "overlay.png",
            AnalysisObject::Thumbnail => "thumbnail.jpg",
        };
        format!("analyses/{id}/{file}")
    }

    /// The `Content-Type` the object is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            AnalysisObject::Overlay => "image/png",
            _ => "image/jpeg",
        }
    }
}

/// Deletes every object of analysis `id`; objects that do not exist are skipped.
pub async fn delete_analysis_objects(store: &ObjectStore, id: &str) -> Result<(), String> {
    for object in AnalysisObject::ALL {
        let name = object.name(id);
        match tokio::time::timeout(Duration::from_secs(10), store.delete(&name)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) if e.kind() == DeleteErrorKind::NotFound => {}
            Ok(Err(e)) => return Err(format!("deleting {name}: {e}")),
            Err(_) => return Err(format!("deleting {name}: timed out")),
        }
    }
    Ok(())
}
