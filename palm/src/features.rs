//! What the measure stage yields: everything the interpreter may use, in image pixels
//! and palm-relative units. Nothing here is guessed: a line that was not found is
//! absent, not invented.

use serde::{Deserialize, Serialize};

use crate::geometry::{PalmFrame, Point};
use crate::HandSide;

/// Measurements of one photo.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Features {
    pub image_width: u32,
    pub image_height: u32,
    pub quality: Quality,
    pub detection: Detection,
    /// The palm frame; `None` when no hand was found.
    pub frame: Option<PalmFrame>,
    /// Which hand, and who said so.
    pub side: Option<HandSide>,
    pub side_source: SideSource,
    /// Hand shape; `None` when the hand could not be measured.
    pub shape: Option<HandShape>,
    /// The principal lines found (only those found).
    pub lines: Vec<MeasuredLine>,
}

/// Where [`Features::side`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SideSource {
    /// The upload named the hand (`left`/`right` fields).
    Uploader,
    /// The landmark model's handedness score.
    Model,
    /// Unknown.
    Unknown,
}

/// The quality gate's verdict and the numbers behind it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quality {
    /// False: the photo cannot be read; the reading gives retake advice instead.
    pub usable: bool,
    pub issues: Vec<QualityIssue>,
    /// Mean luma of the hand region (or the whole photo without a hand), 0–1.
    pub brightness: f32,
    /// Fraction of clipped-white pixels in the hand region, 0–1.
    pub overexposed_fraction: f32,
    /// Variance of the Laplacian of the palm region (higher is sharper).
    pub sharpness: f32,
    /// Fraction of the photo covered by the hand, 0–1.
    pub hand_fraction: f32,
}

/// Why a photo cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityIssue {
    NoHand,
    BackOfHand,
    TooDark,
    Overexposed,
    TooBlurry,
    HandTooSmall,
    HandCropped,
}

impl QualityIssue {
    /// Stable snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            QualityIssue::NoHand => "no_hand",
            QualityIssue::BackOfHand => "back_of_hand",
            QualityIssue::TooDark => "too_dark",
            QualityIssue::Overexposed => "overexposed",
            QualityIssue::TooBlurry => "too_blurry",
            QualityIssue::HandTooSmall => "hand_too_small",
            QualityIssue::HandCropped => "hand_cropped",
        }
    }

    /// What to do about it, for the person retaking the photo.
    pub fn advice(self) -> &'static str {
        match self {
            QualityIssue::NoHand => "We could not find a hand. Photograph your open palm in colour, filling most of the frame.",
            QualityIssue::BackOfHand => "This looks like the back of the hand. Turn your hand over and photograph the open palm.",
            QualityIssue::TooDark => "The photo is too dark. Move to daylight or a bright, even light and try again.",
            QualityIssue::Overexposed => "The photo is too bright and the lines are washed out. Avoid direct flash or sunlight on the palm.",
            QualityIssue::TooBlurry => "The photo is blurred. Hold the camera steady, let it focus on the palm, and try again.",
            QualityIssue::HandTooSmall => "The hand is too small in the photo. Bring the camera closer so the palm fills most of the frame.",
            QualityIssue::HandCropped => "Part of the palm is outside the photo. Include the whole palm, from the wrist to the base of the fingers.",
        }
    }
}

/// How the hand was found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Detection {
    pub method: DetectionMethod,
    /// 0–1: the landmark model's presence score, or the segmentation's own confidence.
    pub confidence: f32,
    /// The 21 MediaPipe hand landmarks in image pixels (only with
    /// [`DetectionMethod::Landmarks`]): 0 wrist; 1–4 thumb; 5–8 index; 9–12 middle;
    /// 13–16 ring; 17–20 little (MCP, PIP, DIP, tip).
    pub landmarks: Option<Vec<Point>>,
}

/// Which detector produced the palm frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DetectionMethod {
    /// The MediaPipe hand-landmark model.
    Landmarks,
    /// Skin segmentation and the hand's principal axis (the model was unsure).
    Segmentation,
    /// No hand found.
    None,
}

/// The principal lines of palmistry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineId {
    /// Heart line (Hriday rekha).
    Heart,
    /// Head line (Mastishk rekha).
    Head,
    /// Life line (Jeevan rekha).
    Life,
    /// Fate line (Bhagya rekha).
    Fate,
    /// Sun line (Surya rekha).
    Sun,
    /// Mercury line (Budh rekha).
    Mercury,
}

impl LineId {
    pub const ALL: [LineId; 6] = [
        LineId::Heart,
        LineId::Head,
        LineId::Life,
        LineId::Fate,
        LineId::Sun,
        LineId::Mercury,
    ];

    /// snake_case id used in JSON.
    pub fn code(self) -> &'static str {
        match self {
            LineId::Heart => "heart",
            LineId::Head => "head",
            LineId::Life => "life",
            LineId::Fate => "fate",
            LineId::Sun => "sun",
            LineId::Mercury => "mercury",
        }
    }

    /// English name.
    pub fn english(self) -> &'static str {
        match self {
            LineId::Heart => "Heart line",
            LineId::Head => "Head line",
            LineId::Life => "Life line",
            LineId::Fate => "Fate line",
            LineId::Sun => "Sun line",
            LineId::Mercury => "Mercury line",
        }
    }

    /// Hindi/Sanskrit name.
    pub fn hindi(self) -> &'static str {
        match self {
            LineId::Heart => "Hriday rekha",
            LineId::Head => "Mastishk rekha",
            LineId::Life => "Jeevan rekha",
            LineId::Fate => "Bhagya rekha",
            LineId::Sun => "Surya rekha",
            LineId::Mercury => "Budh rekha",
        }
    }
}

/// One line as measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasuredLine {
    pub id: LineId,
    /// The traced path in image pixels, ordered from the line's conventional start.
    pub polyline: Vec<Point>,
    /// Length relative to the palm length (the frame's `v` axis).
    pub length: f32,
    /// Mean absolute turning per palm length (0 = straight).
    pub curvature: f32,
    /// Crease contrast, 0–1 (deeper creases are darker against the skin).
    pub depth: f32,
    /// Gaps along the line.
    pub breaks: u32,
    /// Branches leaving the line.
    pub forks: u32,
    /// Places where the line splits and rejoins.
    pub islands: u32,
    /// 0–1: how sure the assignment of this path to this line is.
    pub confidence: f32,
    /// For a fused head-heart line (the "simian" line): the other line it merges with.
    pub fused_with: Option<LineId>,
}

/// Hand shape from proportions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandShape {
    pub element: Element,
    /// Palm length / palm width.
    pub palm_ratio: f32,
    /// Middle-finger length / palm length (only with landmarks).
    pub finger_ratio: Option<f32>,
    /// Index-finger length / ring-finger length (only with landmarks).
    pub index_to_ring: Option<f32>,
}

/// The four classical hand types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Element {
    /// Square palm, short fingers.
    Earth,
    /// Square palm, long fingers.
    Air,
    /// Long palm, short fingers.
    Fire,
    /// Long palm, long fingers.
    Water,
}
