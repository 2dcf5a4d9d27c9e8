//! The palm frame ([`PalmFrame`]) from the hand landmarks or from the segmented hand's
//! geometry, and which hand it is.
//!
//! Whatever the hand and the photo's rotation, `u` runs from the little-finger edge
//! (`u = 0`) to the thumb edge (`u = 1`) and `v` from the wrist (`v = 0`) to the base of
//! the middle finger (`v = 1`). Which hand follows from the frame's handedness: seen
//! palm-on (the quality gate's assumption), a right hand has its thumb on the right
//! when the fingers point up, so `cross(axis_v, axis_u) > 0` in image coordinates (y
//! down) means a right palm.

use crate::geometry::{PalmFrame, Point};
use crate::HandSide;

use super::segment::{HandGeometry, Segmentation};

/// Palm width over the distance between the index and little-finger MCP landmarks
/// measured across the palm (perpendicular to wrist → middle MCP). The MCPs sit inside
/// the palm: on the synthetic hands (built to average adult proportions) the ratio is
/// 1 / 0.689 ≈ 1.45; on real hands palm breadth over the MCP2–MCP5 span is about 1.4.
pub const LANDMARK_WIDTH_FACTOR: f32 = 1.45;

fn sub(a: Point, b: Point) -> Point {
    Point::new(a.x - b.x, a.y - b.y)
}
fn dot(a: Point, b: Point) -> f32 {
    a.x * b.x + a.y * b.y
}
fn norm(a: Point) -> f32 {
    dot(a, a).sqrt()
}

/// Which hand a frame shows, assuming the palm faces the camera.
pub fn side_of_frame(frame: &PalmFrame) -> HandSide {
    let c = frame.axis_v.x * frame.axis_u.y - frame.axis_v.y * frame.axis_u.x;
    if c > 0.0 {
        HandSide::Right
    } else {
        HandSide::Left
    }
}

/// The frame from the 21 landmarks (image pixels), and how consistent the thumb side
/// is (0–1). `None` for degenerate landmarks.
pub fn frame_from_landmarks(points: &[Point]) -> Option<(PalmFrame, f32)> {
    if points.len() < 21 || points.iter().any(|p| !p.x.is_finite() || !p.y.is_finite()) {
        return None;
    }
    let wrist = points[0];
    let index_mcp = points[5];
    let middle_mcp = points[9];
    let little_mcp = points[17];
    let to_mcp = sub(middle_mcp, wrist);
    let len = norm(to_mcp);
    if len < 2.0 {
        return None;
    }
    // v: landmark 0 (wrist) is (u, v) = (0.5, 0) and landmark 9 (middle MCP, at the
    // finger's base) is (0.5, 1).
    let axis_v = to_mcp;
    let dir = Point::new(to_mcp.x / len, to_mcp.y / len);
    let perp = Point::new(-dir.y, dir.x);
    // Thumb side: the index MCP lies towards the thumb from the little MCP, and so do
    // the thumb's own landmarks (1–4) from the wrist-middle axis.
    let by_mcps = dot(sub(index_mcp, little_mcp), perp);
    let thumb_mean = Point::new(
        (1..=4).map(|i| points[i].x).sum::<f32>() / 4.0,
        (1..=4).map(|i| points[i].y).sum::<f32>() / 4.0,
    );
    let by_thumb = dot(sub(thumb_mean, wrist), perp);
    let sign = if by_mcps != 0.0 {
        by_mcps.signum()
    } else {
        by_thumb.signum()
    };
    let agree = by_mcps.signum() == by_thumb.signum();
    let width = by_mcps.abs() * LANDMARK_WIDTH_FACTOR;
    if width < 1.0 {
        return None;
    }
    let axis_u = Point::new(perp.x * sign * width, perp.y * sign * width);
    let origin = wrist;
    Some((
        PalmFrame {
            origin,
            axis_v,
            axis_u,
        },
        if agree { 1.0 } else { 0.5 },
    ))
}

/// Where the landmark model's hand lies in the frame built from its own landmarks.
///
/// [`frame_from_landmarks`] puts `v = 1` at landmark 9 and `v = 0` at landmark 0. The
/// model, trained on real hands, places the MCP landmarks at the knuckle joints, below
/// the fingers' bases (anatomically the finger-base crease lies 1.5–2 cm beyond the
/// MCP joint on a ~10 cm palm), and the wrist landmark a little beyond the wrist
/// crease; its MCP span is also narrower than the hand's. Measured on 100 synthetic
/// palms whose true frame is known (seeds disjoint from the evaluation set; the
/// medians agree with the means to 0.002), in the uncalibrated frame:
/// the wrist crease's middle lies at `(u, v) = (0.556, 0.045)`, the middle finger's
/// base at `(0.468, 1.134)`, and the palm is 1.064 times as wide.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelFrameCalibration {
    /// The wrist crease's middle, in the uncalibrated frame.
    pub wrist: (f32, f32),
    /// The middle finger's base, in the uncalibrated frame.
    pub finger_base: (f32, f32),
    /// True palm width over the uncalibrated width.
    pub width_scale: f32,
}

/// The calibration of the embedded hand-landmark model (see [`ModelFrameCalibration`]).
pub const MODEL_FRAME_CALIBRATION: ModelFrameCalibration = ModelFrameCalibration {
    wrist: (0.556, 0.045),
    finger_base: (0.468, 1.134),
    width_scale: 1.064,
};

/// The palm frame from the landmark model's points: [`frame_from_landmarks`] corrected
/// by `calibration` for where the model puts the knuckles and the wrist.
pub fn frame_from_model_landmarks(
    points: &[Point],
    calibration: &ModelFrameCalibration,
) -> Option<(PalmFrame, f32)> {
    let (raw, conf) = frame_from_landmarks(points)?;
    let origin = raw.to_image(calibration.wrist.0, calibration.wrist.1);
    let base = raw.to_image(calibration.finger_base.0, calibration.finger_base.1);
    let axis_v = sub(base, origin);
    let length = norm(axis_v);
    if length < 2.0 {
        return None;
    }
    // u stays perpendicular to v, on the same side as before.
    let perp = Point::new(-axis_v.y / length, axis_v.x / length);
    let sign = dot(perp, raw.axis_u).signum();
    let width = raw.palm_width() * calibration.width_scale;
    Some((
        PalmFrame {
            origin,
            axis_v,
            axis_u: Point::new(perp.x * sign * width, perp.y * sign * width),
        },
        conf,
    ))
}

/// Palm length over palm width when the wrist cannot be found in the outline (the hand
/// leaves the photo, or the profile is unclear): an average adult palm.
pub const DEFAULT_PALM_RATIO: f32 = 1.2;
/// Plausible palm length / width range; outside it the default ratio is used.
pub const PALM_RATIO_RANGE: (f32, f32) = (0.95, 1.5);
/// The wrist level: going down from the palm, where the outline's width has dropped
/// this fraction of the way from the palm width to the wrist's narrowest width.
pub const WRIST_DROP: f32 = 0.85;

/// The finger valleys (webs) lie above the middle finger's base (`v = 1`, where the
/// finger's axis meets the palm): the valley level is at `v ≈ 1 + VALLEY_ABOVE_BASE`.
pub const VALLEY_ABOVE_BASE: f32 = 0.04;

/// The palm width before the axis is known: the widest cross-section between the
/// finger webs and the thumb's joining the outline (the first sudden widening more
/// than 0.45 R below the valleys).
fn plateau_width(prof: &[Section], r: f32) -> Option<f32> {
    let mut best: Option<f32> = None;
    for (i, s) in prof.iter().enumerate() {
        if s.t < 0.25 * r {
            continue;
        }
        if s.t > 1.3 * r {
            break;
        }
        if s.t > 0.45 * r && i >= 3 && s.width > prof[i - 3].width * 1.06 {
            break;
        }
        best = Some(best.map_or(s.width, |b: f32| b.max(s.width)));
    }
    best
}

/// One cross-section of the outline along the profile: distance below the finger base,
/// width, midpoint.
#[derive(Debug, Clone, Copy)]
struct Section {
    t: f32,
    width: f32,
    mid: (f32, f32),
}

/// Cross-sections of the mask perpendicular to `d`, going from `base` towards the wrist
/// (−d), following the middle of the hand as it drifts, until the mask ends.
fn profile(
    seg: &Segmentation,
    base: (f32, f32),
    d: (f32, f32),
    max_t: f32,
    search: f32,
) -> Vec<Section> {
    let perp = (-d.1, d.0);
    let max = (seg.w + seg.h) as f32;
    let mut out = Vec::new();
    let mut t = 0.0;
    let mut offset = 0.0;
    while t < max_t {
        let p = (base.0 - d.0 * t, base.1 - d.1 * t);
        match seg.run_near(p, perp, offset, search, max) {
            Some((w, m)) => {
                // A section cut by the photo's edge is not the hand's width.
                let (lo, hi) = (m - w / 2.0, m + w / 2.0);
                let at_edge = [lo, hi].iter().any(|&k| {
                    let q = (p.0 + perp.0 * k, p.1 + perp.1 * k);
                    q.0 < 1.0 || q.1 < 1.0 || q.0 > seg.w as f32 - 1.0 || q.1 > seg.h as f32 - 1.0
                });
                if at_edge {
                    break;
                }
                offset = m;
                out.push(Section {
                    t,
                    width: w,
                    mid: (p.0 + perp.0 * m, p.1 + perp.1 * m),
                });
            }
            None if !out.is_empty() => break,
            None => {}
        }
        t += 1.0;
    }
    out
}

/// The frame from the segmented hand's geometry (image pixels), and the confidence of
/// the thumb side (0–1). `None` when the geometry is too incomplete.
///
/// - `v = 1`: the middle-finger base, midway between the two valleys beside the middle
///   finger.
/// - Palm width: first the widest cross-section below the finger webs before the thumb
///   joins the outline; once the axis is known, twice the little-finger side's
///   half-width about it (the thumb side bulges with the thenar mount).
/// - Wrist (`v = 0`): going down, where the width has fallen [`WRIST_DROP`] of the
///   way to the narrowest width below the palm; its cross-section's midpoint is the
///   origin, and `axis_v` points from there to the middle-finger base.
/// - `u` runs towards the thumb side found by [`hand_geometry`](super::segment::hand_geometry)
///   (or the uploader's claimed side, assuming a palm view, when the outline gave none).
pub fn frame_from_geometry(
    seg: &Segmentation,
    g: &HandGeometry,
    claimed: Option<HandSide>,
) -> Option<(PalmFrame, f32)> {
    if g.valleys.len() < 2 {
        return None;
    }
    let (b0, b1) = (g.valleys[0], g.valleys[1]);
    let base = ((b0.0 + b1.0) / 2.0, (b0.1 + b1.1) / 2.0);
    let r = g.radius;
    let mut d = g.axis;
    let mut frame = None;
    let mut half_width: Option<f32> = None;
    // Two passes: the second uses the wrist → base direction and the palm width found
    // by the first.
    for _ in 0..2 {
        let prof = profile(seg, base, d, 8.0 * r, 0.5 * r);
        let width = match half_width {
            Some(w) => w,
            None => plateau_width(&prof, r)?,
        };
        if width < 4.0 {
            return None;
        }
        let wrist = wrist_section(&prof, width);
        let (origin, length) = palm_origin(base, d, width, wrist);
        d = ((base.0 - origin.0) / length, (base.1 - origin.1) / length);
        if let Some(w) = little_side_width(seg, origin, d, length) {
            half_width = Some(w);
        }
        frame = Some((origin, length, half_width.unwrap_or(width)));
    }
    let (origin, valley_length, width) = frame?;
    let length = valley_length / (1.0 + VALLEY_ABOVE_BASE);
    let perp = (-d.1, d.0);
    let (sign, conf) = thumb_side_about(g, perp, claimed);
    let s = seg.scale;
    Some((
        PalmFrame {
            origin: seg.to_input(origin.0, origin.1),
            axis_v: Point::new(d.0 * length * s, d.1 * length * s),
            axis_u: Point::new(perp.0 * sign * width * s, perp.1 * sign * width * s),
        },
        conf,
    ))
}

/// The wrist's cross-section: going down from the palm (`prof`, palm width `width`),
/// the first where the width has fallen [`WRIST_DROP`] of the way to the narrowest
/// width below the palm; `None` when the hand does not narrow below the palm.
fn wrist_section(prof: &[Section], width: f32) -> Option<Section> {
    // The narrowest width below the palm (the wrist or forearm).
    let lower: Vec<&Section> = prof
        .iter()
        .filter(|s| s.t >= 0.6 * width && s.t <= 2.0 * width)
        .collect();
    let narrowest = lower.iter().map(|s| s.width).fold(f32::INFINITY, f32::min);
    let mut wrist: Option<Section> = None;
    if narrowest.is_finite() && narrowest < 0.92 * width {
        let level = narrowest + (1.0 - WRIST_DROP) * (width - narrowest);
        wrist = lower.iter().find(|s| s.width <= level).map(|s| **s);
    }
    wrist
}

/// The palm's origin and its length from the valley level `base` (working pixels): the
/// wrist section's midpoint when it gives a plausible palm ratio, otherwise
/// [`DEFAULT_PALM_RATIO`] palm widths down the axis `d`.
fn palm_origin(
    base: (f32, f32),
    d: (f32, f32),
    width: f32,
    wrist: Option<Section>,
) -> ((f32, f32), f32) {
    // Distances here run from the valley level; the palm length is to the base.
    let k = 1.0 + VALLEY_ABOVE_BASE;
    let length_ok =
        |l: f32| (PALM_RATIO_RANGE.0 * width * k..=PALM_RATIO_RANGE.1 * width * k).contains(&l);
    let fallback = || {
        let l = DEFAULT_PALM_RATIO * width * k;
        ((base.0 - d.0 * l, base.1 - d.1 * l), l)
    };
    match wrist {
        Some(s) => {
            let l = ((base.0 - s.mid.0).powi(2) + (base.1 - s.mid.1).powi(2)).sqrt();
            if length_ok(l) {
                (s.mid, l)
            } else {
                fallback()
            }
        }
        None => fallback(),
    }
}

/// The palm width measured from the little-finger side about the axis `d` from
/// `origin` (`length` from the valley level); `None` with too few cross-sections.
fn little_side_width(
    seg: &Segmentation,
    origin: (f32, f32),
    d: (f32, f32),
    length: f32,
) -> Option<f32> {
    // The palm width from the little-finger side, which no thumb disturbs: twice
    // the smaller half-width about the wrist → base axis, between 45 % and 75 % of
    // the palm's length.
    let perp = (-d.1, d.0);
    let max = (seg.w + seg.h) as f32;
    let mut halves = Vec::new();
    for k in 0..=12 {
        let t = length / (1.0 + VALLEY_ABOVE_BASE) * (0.45 + 0.025 * k as f32);
        let p = (origin.0 + d.0 * t, origin.1 + d.1 * t);
        if let Some((w, m)) = seg.run_near(p, perp, 0.0, 0.0, max) {
            halves.push((w / 2.0 - m.abs()).max(0.0));
        }
    }
    if halves.len() >= 5 {
        let hw = super::raster::quantile(&halves, 0.5);
        if hw > 2.0 {
            return Some(2.0 * hw);
        }
    }
    None
}

/// The thumb side about the final axis: (+1 on the side of `perp`, −1 on the other;
/// confidence 0–1), from the outline's cue, else the uploader's claim, else a guess
/// with no confidence.
fn thumb_side_about(g: &HandGeometry, perp: (f32, f32), claimed: Option<HandSide>) -> (f32, f32) {
    // Thumb side.
    if g.thumb_sign != 0.0 {
        // The geometric cue was measured against the finger direction; re-express it
        // against the final axis (they differ by a few degrees at most).
        let fd = g.finger_dir;
        let old_perp = (-fd.1, fd.0);
        let same = old_perp.0 * perp.0 + old_perp.1 * perp.1 >= 0.0;
        (
            if same { g.thumb_sign } else { -g.thumb_sign },
            g.thumb_confidence,
        )
    } else {
        // No geometric cue: take the uploader's word (palm view), else give up.
        match claimed {
            Some(side) => {
                // Right palm: cross(axis_v, axis_u) > 0 with axis_v = d, axis_u = s·perp:
                // cross(d, perp) = d.x·perp.y − d.y·perp.x = d.x² + d.y² = 1 > 0.
                let s = if side == HandSide::Right { 1.0 } else { -1.0 };
                (s, 0.3)
            }
            None => (1.0, 0.0),
        }
    }
}
