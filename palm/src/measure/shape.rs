//! Hand shape from proportions: the palm ratio, the finger ratio and the classical
//! element.
//!
//! The classical rule crosses two questions: is the palm square or long, are the
//! fingers short or long?
//!
//! | palm \ fingers | short | long  |
//! |----------------|-------|-------|
//! | square         | Earth | Air   |
//! | long           | Fire  | Water |
//!
//! - Long palm: palm length / palm width ≥ [`LONG_PALM`] (the frame's wrist → middle
//!   finger base over little-finger edge → thumb edge; average adult palms are about
//!   1.2, so this splits them about in half).
//! - Long fingers: middle-finger length (base to tip) / palm length ≥ [`LONG_FINGERS`]
//!   (the classical "fingers about as long as the palm" judged against the average
//!   of about 0.8).
//! - With landmarks the finger length is the middle finger's MCP → PIP → DIP → tip
//!   chain. Without them it is estimated from the segmented outline (tip of the middle
//!   finger's lobe to the frame's `v = 1` level). When neither is available the
//!   fingers count as short, so the element is decided by the palm alone (Earth or
//!   Fire), and `finger_ratio` is `None` so the reader can tell.

use crate::features::{Element, HandShape};
use crate::geometry::{PalmFrame, Point};

/// Palm ratio from which a palm counts as long.
pub const LONG_PALM: f32 = 1.2;
/// Finger ratio from which fingers count as long.
pub const LONG_FINGERS: f32 = 0.8;

fn chain(points: &[Point], idx: &[usize]) -> f32 {
    idx.windows(2)
        .map(|w| points[w[0]].distance(points[w[1]]))
        .sum()
}

/// The element of a palm ratio and (optional) finger ratio.
pub fn element(palm_ratio: f32, finger_ratio: Option<f32>) -> Element {
    let long_palm = palm_ratio >= LONG_PALM;
    let long_fingers = finger_ratio.is_some_and(|f| f >= LONG_FINGERS);
    match (long_palm, long_fingers) {
        (false, false) => Element::Earth,
        (false, true) => Element::Air,
        (true, false) => Element::Fire,
        (true, true) => Element::Water,
    }
}

/// Shape from the frame and, when present, the landmarks or a mask-based middle-finger
/// length (image pixels).
pub fn hand_shape(
    frame: &PalmFrame,
    landmarks: Option<&[Point]>,
    mask_finger: Option<f32>,
) -> Option<HandShape> {
    let (l, w) = (frame.palm_length(), frame.palm_width());
    if !(l.is_finite() && w.is_finite()) || l <= 0.0 || w <= 0.0 {
        return None;
    }
    let palm_ratio = l / w;
    let (finger_ratio, index_to_ring) = match landmarks {
        Some(p) if p.len() >= 21 => {
            let middle = chain(p, &[9, 10, 11, 12]);
            let index = chain(p, &[5, 6, 7, 8]);
            let ring = chain(p, &[13, 14, 15, 16]);
            (
                Some(middle / l),
                if ring > 0.0 { Some(index / ring) } else { None },
            )
        }
        _ => (mask_finger.map(|f| f / l), None),
    };
    Some(HandShape {
        element: element(palm_ratio, finger_ratio),
        palm_ratio,
        finger_ratio,
        index_to_ring,
    })
}
