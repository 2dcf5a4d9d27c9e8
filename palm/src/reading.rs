//! The reading: what a person sees, and what is stored in `analyses.reading`.
//! Its JSON Schema is `palm/reading.schema.json` (kept in step by a test).

use serde::{Deserialize, Serialize};

use crate::features::{DetectionMethod, Element};
use crate::HandSide;

/// Version of the reading format.
pub const READING_VERSION: u32 = 1;

/// A palm reading.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reading {
    pub version: u32,
    /// Which engine produced it: `offline` (or `openai` later).
    pub engine: String,
    pub hand: HandInfo,
    pub quality: QualityReport,
    /// Hand shape; `None` when the photo is not usable.
    pub shape: Option<ShapeReading>,
    /// Finger proportions; `None` without landmarks.
    pub fingers: Option<FingerReading>,
    /// Every principal line, found or not (`present = false`, `source = not_assessed`).
    pub lines: Vec<LineReading>,
    /// The mounts; offline they are all `not_assessed`.
    pub mounts: Vec<MountReading>,
    pub summary: String,
    pub strengths: Vec<String>,
    pub guidance: Vec<String>,
    pub disclaimer: String,
    /// The other hand's reading, when both hands were uploaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_hand: Option<Box<Reading>>,
    /// How the two hands differ, line by line, when both were read and usable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparison: Option<HandComparison>,
}

/// The two hands side by side, as the tradition reads them: the hand one uses less for
/// what one was born with, the hand one uses most for what one has made of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandComparison {
    /// A sentence or two: how much the hands differ, and how the tradition reads that.
    pub summary: String,
    /// Each principal line found on either hand.
    pub lines: Vec<LineComparison>,
}

/// One line on both hands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineComparison {
    /// `heart`, `head`, `life`, `fate`, `sun`, `mercury`.
    pub id: String,
    pub english: String,
    pub hindi: String,
    /// Whether it differs in what was measured (presence, length, depth, breaks).
    pub differs: bool,
    /// What differs, in words ("longer and deeper on your right hand").
    pub reading: String,
}

/// Which hand and how it was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandInfo {
    pub side: Option<HandSide>,
    /// `uploader`, `model` or `unknown`.
    pub side_source: String,
    pub detection: DetectionMethod,
    pub detection_confidence: f32,
}

/// The quality gate, as shown to the person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QualityReport {
    pub usable: bool,
    /// Issue codes (`too_dark`, `no_hand`, …).
    pub issues: Vec<String>,
    /// What to do about each issue.
    pub advice: Vec<String>,
    pub brightness: f32,
    pub sharpness: f32,
    pub hand_fraction: f32,
}

/// Hand shape and its meaning.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShapeReading {
    pub element: Element,
    /// e.g. "Earth hand (Prithvi)".
    pub name: String,
    pub palm_ratio: f32,
    pub finger_ratio: Option<f32>,
    pub reading: String,
}

/// Finger proportions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FingerReading {
    pub index_to_ring: Option<f32>,
    pub reading: String,
}

/// Where a field's content comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Measured,
    Llm,
    NotAssessed,
}

/// One line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineReading {
    /// `heart`, `head`, `life`, `fate`, `sun`, `mercury`.
    pub id: String,
    pub english: String,
    pub hindi: String,
    pub present: bool,
    /// The traced path in 0–1 image coordinates (x right, y down); empty if absent.
    pub polyline: Vec<[f32; 2]>,
    /// Length relative to the palm length.
    pub length: Option<f32>,
    pub curvature: Option<f32>,
    /// Crease contrast 0–1.
    pub depth: Option<f32>,
    pub continuity: Option<Continuity>,
    pub marks: Vec<String>,
    pub confidence: f32,
    pub source: Source,
    pub reading: String,
}

/// Breaks in a line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuity {
    pub breaks: u32,
    /// `unbroken`, `broken` or `fragmented`.
    pub description: String,
}

/// One mount.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MountReading {
    /// e.g. `jupiter`.
    pub id: String,
    /// e.g. "Mount of Jupiter".
    pub english: String,
    /// e.g. "Guru parvat".
    pub hindi: String,
    /// `not_assessed` offline: a flat photo cannot show how raised a mount is.
    pub prominence: String,
    pub source: Source,
    pub reading: String,
}
