//! Object names in the `images` object store, and deleting an analysis's objects.
//!
//! Every object of an analysis lives under `analyses/<analysis id>/`: the normalised
//! photo(s), the overlay(s) and the thumbnail. Nothing about the owner is in a name.

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
    /// The second photo's overlay (PNG).
    SecondOverlay,
    /// A small preview for lists (JPEG).
    Thumbnail,
}

impl AnalysisObject {
    /// Every kind of object an analysis can have.
    pub const ALL: [AnalysisObject; 5] = [
        AnalysisObject::Photo,
        AnalysisObject::SecondPhoto,
        AnalysisObject::Overlay,
        AnalysisObject::SecondOverlay,
        AnalysisObject::Thumbnail,
    ];

    /// The object's name for analysis `id`.
    pub fn name(self, id: &str) -> String {
        let file = match self {
            AnalysisObject::Photo => "photo.jpg",
            AnalysisObject::SecondPhoto => "photo-2.jpg",
            AnalysisObject::Overlay => "overlay.png",
            AnalysisObject::SecondOverlay => "overlay-2.png",
            AnalysisObject::Thumbnail => "thumbnail.jpg",
        };
        format!("analyses/{id}/{file}")
    }

    /// The `Content-Type` the object is served with.
    pub fn content_type(self) -> &'static str {
        match self {
            AnalysisObject::Overlay | AnalysisObject::SecondOverlay => "image/png",
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

/// How long one object read or write may take.
const OBJECT_TIMEOUT: Duration = Duration::from_secs(20);

/// The bytes of object `name`, or `None` if there is no such object.
pub async fn read_object(store: &ObjectStore, name: &str) -> Result<Option<Vec<u8>>, String> {
    use async_nats::jetstream::object_store::GetErrorKind;
    use tokio::io::AsyncReadExt;
    let read = async {
        let mut object = match store.get(name).await {
            Ok(object) => object,
            Err(e) if e.kind() == GetErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("reading {name}: {e}")),
        };
        let mut bytes = Vec::new();
        object
            .read_to_end(&mut bytes)
            .await
            .map_err(|e| format!("reading {name}: {e}"))?;
        Ok(Some(bytes))
    };
    tokio::time::timeout(OBJECT_TIMEOUT, read)
        .await
        .map_err(|_| format!("reading {name}: timed out"))?
}

/// Stores `bytes` as object `name` (replacing any previous version).
pub async fn write_object(store: &ObjectStore, name: &str, bytes: Vec<u8>) -> Result<(), String> {
    let mut reader = std::io::Cursor::new(bytes);
    tokio::time::timeout(OBJECT_TIMEOUT, store.put(name, &mut reader))
        .await
        .map_err(|_| format!("writing {name}: timed out"))?
        .map(|_| ())
        .map_err(|e| format!("writing {name}: {e}"))
}
