//! The wrist crease: where the palm ends, found in the photo rather than taken from the
//! landmark model.
//!
//! The model places its wrist landmark from a prior learned on real hands, and that prior
//! drifts with how much of the forearm the photo shows (measured on the widened tuning
//! set: up to 0.2 palm lengths below the crease on small hands, 0.17 above it on large
//! ones), which skews the palm ratio and every line's position. The wrist crease itself
//! (the upper bracelet, where palmistry measures the palm from) is visible: a dark crease
//! running across the whole wrist. [`refine`] looks for it near the model's wrist and
//! moves the frame's origin onto it, keeping the middle finger's base (`v = 1`) and the
//! palm width.
//!
//! The search reads a brightness profile across the wrist: for each level `v` the mean
//! brightness in [`BINS`] short stretches across the middle of the wrist; a crease is a
//! level darker than both its flanks ([`FLANK`] above and below, so a sleeve's edge, dark on
//! one side only, is not one) in at least half the stretches (the median, so a short
//! wrinkle is not one either). Of the creases at least [`TOPMOST_SHARE`] as deep as the
//! deepest, the topmost is the wrist crease (the bracelets below it are the lower ones).
//! The constants are set from the geometry of a crease and a wrist, not fitted to photos.

use crate::geometry::{PalmFrame, Point};

use super::raster::Gray;

/// Where to look, in the model's frame: from this far below its wrist to this far above
/// it (palm lengths), wider than the model's drift.
pub const SEARCH: (f32, f32) = (-0.30, 0.22);
/// The stretch across the wrist that is read (`u`), its middle: the wrist is about 0.7
/// palm widths wide and the life and fate lines end near its sides and middle only.
pub const ACROSS: (f32, f32) = (0.28, 0.72);
/// Stretches across the wrist; a crease must darken at least half of them.
pub const BINS: usize = 12;
/// Samples per stretch.
pub const SAMPLES: usize = 6;
/// Profile step (palm lengths): finer than a crease's width (≈ 0.006–0.015).
pub const STEP: f32 = 0.004;
/// Distance of the flanks a crease is compared with (palm lengths): beyond a crease's
/// half-width, within the skin's shading scale.
pub const FLANK: f32 = 0.024;
/// Least relative darkening of a crease against the darker of its two flanks (1.5 %:
/// above sensor noise averaged over a stretch).
pub const MIN_DIP: f32 = 0.015;
/// A crease at least this share of the deepest one's depth counts as a bracelet.
pub const TOPMOST_SHARE: f32 = 0.5;

/// The frame with its origin moved onto the wrist crease, or `None` when no crease runs
/// across the wrist near the model's (the frame is then kept as it is).
pub fn refine(luma: &Gray, frame: &PalmFrame) -> Option<PalmFrame> {
    let v_at = crease_level(luma, frame)?;
    let origin = frame.to_image(0.5, v_at);
    let base = frame.to_image(0.5, 1.0);
    let axis_v = Point::new(base.x - origin.x, base.y - origin.y);
    if (axis_v.x * axis_v.x + axis_v.y * axis_v.y).sqrt() < 2.0 {
        return None;
    }
    Some(PalmFrame {
        origin,
        axis_v,
        axis_u: frame.axis_u,
    })
}

/// The wrist crease's level `v` in `frame`, if one is found.
fn crease_level(luma: &Gray, frame: &PalmFrame) -> Option<f32> {
    let creases = creases_across(luma, frame, SEARCH, ACROSS);
    let deepest = creases.iter().map(|c| c.1).fold(0.0f32, f32::max);
    creases
        .iter()
        .filter(|c| c.1 >= TOPMOST_SHARE * deepest)
        .map(|c| c.0)
        .fold(None, |top: Option<f32>, v| {
            Some(top.map_or(v, |t| t.max(v)))
        })
}

/// The creases running across `frame`'s `v` axis between levels `search` over the stretch
/// `across` (`u`): each as (level `v`, median relative depth), in order of level. Shared by
/// the wrist crease and the finger's basal crease (`finger_base`).
pub(super) fn creases_across(
    luma: &Gray,
    frame: &PalmFrame,
    search: (f32, f32),
    across: (f32, f32),
) -> Vec<(f32, f32)> {
    let levels = ((search.1 - search.0 + 2.0 * FLANK) / STEP).ceil() as usize + 1;
    let level_v = |k: usize| search.0 - FLANK + k as f32 * STEP;
    // Mean brightness per stretch and level (None outside the photo).
    let profile: Vec<Option<[f32; BINS]>> = (0..levels)
        .map(|k| stretches(luma, frame, level_v(k), across))
        .collect();
    let flank = (FLANK / STEP).round() as usize;
    let mut dips: Vec<(f32, f32)> = Vec::new();
    for k in flank..levels.saturating_sub(flank) {
        let (Some(below), Some(here), Some(above)) =
            (profile[k - flank], profile[k], profile[k + flank])
        else {
            continue;
        };
        let mut d: Vec<f32> = (0..BINS)
            .map(|b| {
                let skin = below[b].min(above[b]);
                if skin > 1e-3 {
                    (skin - here[b]) / skin
                } else {
                    0.0
                }
            })
            .collect();
        d.sort_by(f32::total_cmp);
        dips.push((level_v(k), d[BINS / 2]));
    }
    // Local maxima of the median dip.
    (1..dips.len().saturating_sub(1))
        .filter(|&i| {
            dips[i].1 >= MIN_DIP && dips[i].1 >= dips[i - 1].1 && dips[i].1 > dips[i + 1].1
        })
        .map(|i| dips[i])
        .collect()
}

/// Mean brightness of each stretch across the wrist at level `v`; `None` when any sample
/// falls outside the photo.
fn stretches(luma: &Gray, frame: &PalmFrame, v: f32, across: (f32, f32)) -> Option<[f32; BINS]> {
    let mut out = [0.0; BINS];
    let n = (BINS * SAMPLES) as f32;
    for (b, slot) in out.iter_mut().enumerate() {
        let mut sum = 0.0;
        for s in 0..SAMPLES {
            let t = (b * SAMPLES + s) as f32 + 0.5;
            let u = across.0 + (across.1 - across.0) * t / n;
            let p = frame.to_image(u, v);
            if p.x < 0.0 || p.y < 0.0 || p.x >= luma.w as f32 || p.y >= luma.h as f32 {
                return None;
            }
            sum += luma.sample(p.x + 0.5, p.y + 0.5);
        }
        *slot = sum / SAMPLES as f32;
    }
    Some(out)
}
