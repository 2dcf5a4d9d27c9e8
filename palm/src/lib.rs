//! `hast-palm`: the offline palm-reading engine. Pure computation: no network, no
//! database, no NATS, and the same image always gives the same reading.
//!
//! Two stages behind traits:
//! - [`Measure`]: image → [`Features`] (hand landmarks or a segmentation fallback, the
//!   palm frame, the quality gate, the principal lines and their measurements, hand
//!   shape). Implemented in [`measure`].
//! - [`Interpret`]: features → [`Reading`] (a rule table in the Indian tradition).
//!   Implemented in [`interpret`].
//!
//! Layout: `geometry.rs` (points, the palm frame), `features.rs` (what measuring yields),
//! `reading.rs` (the reading JSON; its JSON Schema is `palm/reading.schema.json`),
//! `measure/` (one module per step), `interpret/` (the rule table), `overlay.rs` (lines
//! drawn on the photo) and `engine.rs` (the two stages together). The synthetic palms and
//! the evaluation sets the tests use are in `hast-palm-synth` (`palm-synth/`).

pub mod answer;
pub mod engine;
pub mod features;
pub mod geometry;
pub mod interpret;
pub mod measure;
pub mod overlay;
pub mod reading;

pub use engine::{Engine, EngineError};
pub use features::Features;
pub use reading::Reading;

/// Which hand a photo shows, when the uploader said so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HandSide {
    Left,
    Right,
}

/// Stage one: what the photo shows, measured.
pub trait Measure {
    /// Measures `image` (an upright RGB photo); `side` is the uploader's claim, if any.
    fn measure(&self, image: &image::RgbImage, side: Option<HandSide>) -> Features;
}

/// Stage two: what the measurements mean.
pub trait Interpret {
    /// Turns measurements into a reading. Never invents what was not measured.
    fn interpret(&self, features: &Features) -> Reading;
}
