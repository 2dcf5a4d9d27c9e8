//! The middle finger's base, found in the photo: its basal crease.
//!
//! Anthropometry measures a finger from its basal crease (the most proximal flexion crease,
//! where the finger leaves the palm on the palmar side) to its tip, and the palm from the
//! wrist crease to the same crease. The landmark model gives the knuckle (MCP joint) under
//! the skin instead, and the frame's `v = 1` is that knuckle moved by a calibration measured
//! on one style of drawn hand; on another style it was 6 % of a palm length off (median).
//! [`basal_crease`] looks for a crease running across the middle finger near `v = 1` (within
//! [`SEARCH`]) with the wrist's crease search, and takes the deepest.

use crate::geometry::{PalmFrame, Point};

use super::raster::Gray;
use super::wrist::creases_across;

/// Where the basal crease is looked for, around the frame's `v = 1` along the finger (palm
/// lengths): the crease lies a little beyond the finger's root, and the knuckle-based root is
/// within about 0.06 of the true one; the next crease up the finger (the PIP joint's) lies
/// 0.25 or more beyond, and the heart line at least 0.14 below the root.
pub const SEARCH: (f32, f32) = (-0.07, 0.14);
/// The stretch across the finger that is read, in finger widths from its middle: the
/// finger's middle half (its sides are skin folds and the gaps between the fingers).
pub const ACROSS: (f32, f32) = (0.25, 0.75);
/// A middle finger's width, in palm widths (about a fifth: four fingers span the palm).
pub const FINGER_WIDTH: f32 = 0.21;

/// The basal crease of the middle finger, as an image point on the finger's middle, or
/// `None` when no crease runs across the finger near `v = 1`. `tip` gives the finger's
/// direction (the model's fingertip).
pub fn basal_crease(luma: &Gray, frame: &PalmFrame, tip: Point) -> Option<Point> {
    let base = frame.to_image(0.5, 1.0);
    let (dx, dy) = (tip.x - base.x, tip.y - base.y);
    let n = (dx * dx + dy * dy).sqrt();
    if n < 1e-3 {
        return None;
    }
    // A frame along the finger: `v` in palm lengths from the knuckle-based base, `u` across
    // the finger's width.
    let (l, w) = (frame.palm_length(), frame.palm_width() * FINGER_WIDTH);
    let along = Point::new(dx / n, dy / n);
    let side = frame.axis_u;
    let sn = (side.x * side.x + side.y * side.y).sqrt().max(1e-6);
    let finger = PalmFrame {
        origin: base,
        axis_v: Point::new(along.x * l, along.y * l),
        axis_u: Point::new(side.x / sn * w, side.y / sn * w),
    };
    let deepest = creases_across(luma, &finger, SEARCH, ACROSS)
        .into_iter()
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    Some(finger.to_image(0.5, deepest.0))
}
