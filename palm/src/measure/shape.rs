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
//! - The landmark model has a prior learned on real hands: it pulls short fingers towards
//!   the average length (on the widened tuning set a middle finger of 0.67 palm lengths
//!   came out as 0.75–0.85), its knuckle span is off by up to ±9 %, and its knuckles give
//!   the finger's root only through a calibration. So the photo is read where it shows
//!   the hand: the finger's base and the palm's end at the basal crease of the middle
//!   finger ([`super::finger_base`], where anthropometry measures from), the middle finger
//!   from there along its middle to where the outline ends ([`Outline`]), and the palm
//!   width as the outline's greatest breadth between the thenar eminence and the knuckles
//!   ([`WIDTH_LEVELS`]). An outline reading that disagrees with the model's by more than
//!   [`OUTLINE_AGREEMENT`] is a segmentation fault (a skin-coloured background, a cropped
//!   finger), and the model's is kept.
//! - With landmarks and no outline the finger length is the middle finger's MCP → PIP →
//!   DIP → tip chain. Without landmarks it is estimated from the segmented outline (tip
//!   of the middle finger's lobe to the frame's `v = 1` level). When neither is
//!   available the fingers count as short, so the element is decided by the palm alone
//!   (Earth or Fire), and `finger_ratio` is `None` so the reader can tell.

use crate::features::{Element, HandShape};
use crate::geometry::{PalmFrame, Point};

use super::segment::Segmentation;

/// Palm ratio from which a palm counts as long.
pub const LONG_PALM: f32 = 1.2;
/// Finger ratio from which fingers count as long.
pub const LONG_FINGERS: f32 = 0.8;

/// Where the palm's breadth is looked for (`v`): from the thenar eminence's widest part to
/// the knuckles, below the rounded corners under the fingers.
pub const WIDTH_LEVELS: [f32; 11] = [
    0.35, 0.40, 0.45, 0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85,
];
/// The thumb side of the palm reaches at most this much further from the middle line than
/// the little-finger side (the middle finger sits near the palm's middle); beyond it the
/// thumb lies against the palm and the outline runs round both.
pub const THUMB_SIDE_EXCESS: f32 = 1.25;
/// Largest relative disagreement between the outline's reading and the model's that is
/// still taken as the outline's (beyond it the segmentation is at fault): wider than the
/// model's own error (≈ 10 % on the finger, 9 % on the width), well short of a finger's
/// length lost to a skin-coloured background.
pub const OUTLINE_AGREEMENT: f32 = 0.3;
/// Step along the outline searches (palm lengths) and the run of outside steps that ends
/// the hand (a nail or a crease may open a one-step hole in the mask).
const OUTLINE_STEP: f32 = 0.01;
/// How far to either side of the finger's middle its edges are looked for (palm lengths):
/// beyond a middle finger's half-width (≈ 0.09), short of the next finger's far side.
const FINGER_HALF_WIDTH: f32 = 0.11;
const OUTLINE_EXIT: usize = 3;

/// The hand's outline as the skin segmentation found it.
#[derive(Debug)]
pub struct Outline<'a> {
    pub segmentation: &'a Segmentation,
}

impl Outline<'_> {
    /// Distance (image pixels) from `from` along `dir` (unit) to where the outline ends,
    /// searched up to `max` pixels; `None` when `from` is outside it.
    fn reach(&self, from: Point, dir: Point, step: f32, max: f32) -> Option<f32> {
        if !self.segmentation.at_input(from) {
            return None;
        }
        let (mut last_inside, mut outside) = (0.0, 0);
        let mut t = step;
        while t <= max {
            let p = Point::new(from.x + dir.x * t, from.y + dir.y * t);
            if self.segmentation.at_input(p) {
                last_inside = t;
                outside = 0;
            } else {
                outside += 1;
                if outside >= OUTLINE_EXIT {
                    return Some(last_inside);
                }
            }
            t += step;
        }
        None
    }

    /// The middle finger's length: from its base towards `dir` to its tip, following the
    /// finger's middle (each step re-centred between the finger's sides, so a finger
    /// slightly off the model's direction or bent is followed to its end).
    fn finger(&self, frame: &PalmFrame, base: Point, dir: Point, hint: f32) -> Option<f32> {
        let step = OUTLINE_STEP * frame.palm_length();
        let half = FINGER_HALF_WIDTH * frame.palm_length();
        let mut p = base;
        let mut d = dir;
        let (mut length, mut outside, mut tip) = (0.0, 0, None);
        while length <= 2.0 * hint {
            let next = Point::new(p.x + d.x * step, p.y + d.y * step);
            length += step;
            if !self.segmentation.at_input(next) {
                outside += 1;
                if outside >= OUTLINE_EXIT {
                    return tip.map(|t: Point| t.distance(base));
                }
                p = next;
                continue;
            }
            outside = 0;
            tip = Some(next);
            // Re-centre across the finger and turn with it, gently.
            let side = Point::new(-d.y, d.x);
            // Only where both sides are found (near its base the finger touches its
            // neighbours and the run across is wider than a finger).
            let small = step / 4.0;
            let centred = match (
                self.reach(next, side, small, half),
                self.reach(next, Point::new(-side.x, -side.y), small, half),
            ) {
                (Some(a), Some(b)) => Point::new(
                    next.x + side.x * (a - b) / 2.0,
                    next.y + side.y * (a - b) / 2.0,
                ),
                _ => next,
            };
            let turn = Point::new(centred.x - p.x, centred.y - p.y);
            let n = (turn.x * turn.x + turn.y * turn.y).sqrt();
            if n > 1e-3 {
                d = Point::new(0.7 * d.x + 0.3 * turn.x / n, 0.7 * d.y + 0.3 * turn.y / n);
                let m = (d.x * d.x + d.y * d.y).sqrt().max(1e-6);
                d = Point::new(d.x / m, d.y / m);
            }
            p = centred;
        }
        None
    }

    /// The palm's greatest breadth across the outline, over [`WIDTH_LEVELS`] (the second
    /// widest level, so one level's segmentation bump does not count). At each level the
    /// little-finger side's and the thumb side's reach from the frame's middle line, the
    /// thumb side replaced by the little-finger side's where it reaches further than
    /// [`THUMB_SIDE_EXCESS`] times as far (there the thumb lies against the palm and the
    /// outline runs round both).
    fn width(&self, frame: &PalmFrame, hint: f32) -> Option<f32> {
        let w = frame.palm_width().max(1e-3);
        let to_thumb = Point::new(frame.axis_u.x / w, frame.axis_u.y / w);
        let to_little = Point::new(-to_thumb.x, -to_thumb.y);
        let step = OUTLINE_STEP * frame.palm_length();
        let mut widths: Vec<f32> = WIDTH_LEVELS
            .iter()
            .filter_map(|&v| {
                let from = frame.to_image(0.5, v);
                let little = self.reach(from, to_little, step, hint)?;
                let thumb = self.reach(from, to_thumb, step, hint)?;
                Some(if thumb > THUMB_SIDE_EXCESS * little {
                    2.0 * little
                } else {
                    thumb + little
                })
            })
            .collect();
        if widths.len() < WIDTH_LEVELS.len() / 2 + 1 {
            return None;
        }
        widths.sort_by(f32::total_cmp);
        Some(widths[widths.len() - 2])
    }
}

/// `reading` when it lies within [`OUTLINE_AGREEMENT`] of `model`, else `model`.
fn agreeing(reading: Option<f32>, model: f32) -> f32 {
    match reading {
        Some(r) if model > 0.0 && (r / model - 1.0).abs() <= OUTLINE_AGREEMENT => r,
        _ => model,
    }
}

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

/// Shape from the frame and, when present, the landmarks, the hand's outline or a
/// mask-based middle-finger length (image pixels).
pub fn hand_shape(
    frame: &PalmFrame,
    landmarks: Option<&[Point]>,
    outline: Option<&Outline>,
    basal_crease: Option<Point>,
    mask_finger: Option<f32>,
) -> Option<HandShape> {
    let (mut l, mut w) = (frame.palm_length(), frame.palm_width());
    if !(l.is_finite() && w.is_finite()) || l <= 0.0 || w <= 0.0 {
        return None;
    }
    if landmarks.is_some() {
        w = agreeing(outline.and_then(|o| o.width(frame, w)), w);
    }
    let (finger_ratio, index_to_ring) = match landmarks {
        Some(p) if p.len() >= 21 => {
            let model = chain(p, &[9, 10, 11, 12]);
            // The finger leaves the palm at its basal crease, where the photo shows it.
            let base = match basal_crease {
                Some(b) => {
                    l *= frame.to_palm(b).1;
                    b
                }
                None => frame.to_image(0.5, 1.0),
            };
            let to_tip = Point::new(p[12].x - base.x, p[12].y - base.y);
            let n = (to_tip.x * to_tip.x + to_tip.y * to_tip.y).sqrt();
            let middle = if n > 1e-3 {
                let dir = Point::new(to_tip.x / n, to_tip.y / n);
                agreeing(
                    outline.and_then(|o| o.finger(frame, base, dir, model)),
                    model,
                )
            } else {
                model
            };
            let index = chain(p, &[5, 6, 7, 8]);
            let ring = chain(p, &[13, 14, 15, 16]);
            (
                Some(middle / l),
                if ring > 0.0 { Some(index / ring) } else { None },
            )
        }
        _ => (mask_finger.map(|f| f / l), None),
    };
    let palm_ratio = l / w;
    Some(HandShape {
        element: element(palm_ratio, finger_ratio),
        palm_ratio,
        finger_ratio,
        index_to_ring,
    })
}
