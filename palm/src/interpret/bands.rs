//! Value bands: the measured numbers of a [`MeasuredLine`](crate::features::MeasuredLine)
//! turned into the words the rule table is keyed by.
//!
//! Lengths are relative to the palm length (wrist crease to the base of the middle
//! finger), so each line has its own bands: a full heart line and a full sun line have
//! very different natural lengths. Curvature is the mean absolute turning per palm
//! length (radians; `1/R` for an arc of radius `R` palm lengths); the life line is
//! naturally an arc around the thumb, so it has its own curvature bands too.
//!
//! The numbers are first estimates from typical hand proportions; they live here, in
//! one place, so they can be tuned against the measure stage without touching the text.

use crate::features::LineId;

/// What a band describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attribute {
    Length,
    Curvature,
    Depth,
    Breaks,
    Forks,
    Islands,
}

impl Attribute {
    pub const ALL: [Attribute; 6] = [
        Attribute::Length,
        Attribute::Curvature,
        Attribute::Depth,
        Attribute::Breaks,
        Attribute::Forks,
        Attribute::Islands,
    ];
}

/// One value band of one attribute. Every band of every line has a paragraph in the
/// rule table. (No forks and no islands are not bands: they have nothing to say.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Band {
    Short,
    Medium,
    Long,
    Straight,
    GentlyCurved,
    DeeplyCurved,
    Faint,
    Clear,
    Deep,
    Unbroken,
    Broken,
    Fragmented,
    OneFork,
    SeveralForks,
    OneIsland,
    SeveralIslands,
}

impl Band {
    pub const ALL: [Band; 16] = [
        Band::Short,
        Band::Medium,
        Band::Long,
        Band::Straight,
        Band::GentlyCurved,
        Band::DeeplyCurved,
        Band::Faint,
        Band::Clear,
        Band::Deep,
        Band::Unbroken,
        Band::Broken,
        Band::Fragmented,
        Band::OneFork,
        Band::SeveralForks,
        Band::OneIsland,
        Band::SeveralIslands,
    ];

    /// The attribute this band belongs to.
    pub fn attribute(self) -> Attribute {
        match self {
            Band::Short | Band::Medium | Band::Long => Attribute::Length,
            Band::Straight | Band::GentlyCurved | Band::DeeplyCurved => Attribute::Curvature,
            Band::Faint | Band::Clear | Band::Deep => Attribute::Depth,
            Band::Unbroken | Band::Broken | Band::Fragmented => Attribute::Breaks,
            Band::OneFork | Band::SeveralForks => Attribute::Forks,
            Band::OneIsland | Band::SeveralIslands => Attribute::Islands,
        }
    }

    /// A short description, as used in summaries and strengths ("deeply etched").
    pub fn label(self) -> &'static str {
        match self {
            Band::Short => "short",
            Band::Medium => "of medium length",
            Band::Long => "long",
            Band::Straight => "straight",
            Band::GentlyCurved => "gently curved",
            Band::DeeplyCurved => "deeply curved",
            Band::Faint => "faint",
            Band::Clear => "clearly marked",
            Band::Deep => "deeply etched",
            Band::Unbroken => "unbroken",
            Band::Broken => "with a break",
            Band::Fragmented => "in several segments",
            Band::OneFork => "forked",
            Band::SeveralForks => "branching",
            Band::OneIsland => "with an island",
            Band::SeveralIslands => "with several islands",
        }
    }
}

/// Length bands of a line, relative to the palm length: `(medium_from, long_from)`.
/// Shorter than `medium_from` is short; `long_from` or more is long.
pub const fn length_thresholds(line: LineId) -> (f32, f32) {
    match line {
        // Runs across the palm under the fingers; a full one reaches Guru parvat.
        LineId::Heart => (0.50, 0.75),
        // Crosses the palm from the thumb side; a long one nears the outer edge.
        LineId::Head => (0.45, 0.70),
        // An arc from between thumb and index finger down towards the wrist.
        LineId::Life => (0.60, 0.85),
        // Rises from the wrist towards Shani parvat; a full one spans most of the palm.
        LineId::Fate => (0.35, 0.65),
        // Usually a short line on Surya parvat.
        LineId::Sun => (0.20, 0.40),
        // A diagonal towards the little finger.
        LineId::Mercury => (0.30, 0.55),
    }
}

/// Curvature bands of a line (mean absolute turning per palm length):
/// `(gently_from, deeply_from)`.
pub const fn curvature_thresholds(line: LineId) -> (f32, f32) {
    match line {
        // The life line always arcs around the thumb: "straight" is one that runs close
        // to the thumb, "deeply curved" a wide sweep into the palm.
        LineId::Life => (1.0, 2.0),
        _ => (0.6, 1.5),
    }
}

/// Depth (crease contrast, 0–1): below this the line is faint.
pub const DEPTH_CLEAR_FROM: f32 = 0.30;
/// Depth at or above this is deep.
pub const DEPTH_DEEP_FROM: f32 = 0.60;
/// This many breaks or more: the line is fragmented (1 to this − 1: broken).
pub const FRAGMENTED_FROM: u32 = 3;
/// This many forks or islands or more: "several".
pub const SEVERAL_FROM: u32 = 2;
/// Index-to-ring finger ratio between these (inclusive) reads as "about equal".
pub const INDEX_TO_RING_EVEN: (f32, f32) = (0.97, 1.03);
/// Lines assigned with less confidence than this get a "hold this lightly" note.
pub const LOW_CONFIDENCE: f32 = 0.5;

fn usable(x: f32) -> bool {
    x.is_finite() && x >= 0.0
}

/// The length band, or `None` for a value that is not a measurement (NaN, negative).
pub fn length_band(line: LineId, length: f32) -> Option<Band> {
    let (medium, long) = length_thresholds(line);
    if !usable(length) {
        None
    } else if length < medium {
        Some(Band::Short)
    } else if length < long {
        Some(Band::Medium)
    } else {
        Some(Band::Long)
    }
}

/// The curvature band, or `None` for a value that is not a measurement.
pub fn curvature_band(line: LineId, curvature: f32) -> Option<Band> {
    let (gently, deeply) = curvature_thresholds(line);
    if !usable(curvature) {
        None
    } else if curvature < gently {
        Some(Band::Straight)
    } else if curvature < deeply {
        Some(Band::GentlyCurved)
    } else {
        Some(Band::DeeplyCurved)
    }
}

/// The depth band, or `None` for a value that is not a measurement.
pub fn depth_band(depth: f32) -> Option<Band> {
    if !usable(depth) {
        None
    } else if depth < DEPTH_CLEAR_FROM {
        Some(Band::Faint)
    } else if depth < DEPTH_DEEP_FROM {
        Some(Band::Clear)
    } else {
        Some(Band::Deep)
    }
}

/// The continuity band.
pub fn breaks_band(breaks: u32) -> Band {
    match breaks {
        0 => Band::Unbroken,
        n if n < FRAGMENTED_FROM => Band::Broken,
        _ => Band::Fragmented,
    }
}

/// The fork band (`None`: no forks, nothing to say).
pub fn forks_band(forks: u32) -> Option<Band> {
    match forks {
        0 => None,
        n if n < SEVERAL_FROM => Some(Band::OneFork),
        _ => Some(Band::SeveralForks),
    }
}

/// The island band (`None`: no islands, nothing to say).
pub fn islands_band(islands: u32) -> Option<Band> {
    match islands {
        0 => None,
        n if n < SEVERAL_FROM => Some(Band::OneIsland),
        _ => Some(Band::SeveralIslands),
    }
}

/// `unbroken`, `broken` or `fragmented` (the reading's `continuity.description`).
pub fn continuity_description(breaks: u32) -> &'static str {
    match breaks_band(breaks) {
        Band::Unbroken => "unbroken",
        Band::Broken => "broken",
        _ => "fragmented",
    }
}

/// Index finger against ring finger.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FingerBand {
    RingLonger,
    Even,
    IndexLonger,
}

impl FingerBand {
    pub const ALL: [FingerBand; 3] = [
        FingerBand::RingLonger,
        FingerBand::Even,
        FingerBand::IndexLonger,
    ];
}

/// The band of the index-to-ring ratio, or `None` for a value that is not a
/// measurement (NaN, zero, negative).
pub fn index_to_ring_band(ratio: f32) -> Option<FingerBand> {
    let (low, high) = INDEX_TO_RING_EVEN;
    if !(ratio.is_finite() && ratio > 0.0) {
        None
    } else if ratio < low {
        Some(FingerBand::RingLonger)
    } else if ratio <= high {
        Some(FingerBand::Even)
    } else {
        Some(FingerBand::IndexLonger)
    }
}
