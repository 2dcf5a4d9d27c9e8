//! The quality gate: can this photo be read? Each check is a named threshold on a
//! number that is also reported in [`Quality`].

use crate::features::{Quality, QualityIssue};
use crate::geometry::PalmFrame;

use super::creases::Creases;
use super::raster::{self, Gray, Rgbf};
use super::segment::Segmentation;

/// Mean luma (0–1) of the hand below which the photo is too dark. The darkest synthetic
/// skin tone in normal light is about 0.4; an exposure of 0.15 brings even the lightest
/// below 0.13.
pub const TOO_DARK: f32 = 0.16;
/// A pixel is clipped when its brightest channel is at least this (0–1).
pub const CLIPPED: f32 = 0.98;
/// Fraction of clipped hand pixels from which the photo is overexposed.
pub const OVEREXPOSED: f32 = 0.2;
/// Fraction of clipped pixels in a photo where no hand was found from which the likely
/// cause is overexposure (reported with `NoHand`): a hand usually covers a third of the
/// photo, and ordinary backgrounds are rarely clipped.
pub const OVEREXPOSED_NO_HAND: f32 = 0.25;
/// A skin region covering at least this fraction of the photo, but less than
/// [`HAND_TOO_SMALL`], where no hand could be made out, is reported as a hand too small
/// to read (with `NoHand`).
pub const SMALL_SKIN_REGION: f32 = 0.003;
/// Variance of the Laplacian of the palm (luma divided by the local skin brightness,
/// on the palm grid of 240 px per palm width, after a σ = 1 px smoothing that keeps
/// sensor noise from passing for detail) below which the palm is too blurred to read.
pub const TOO_BLURRY: f32 = 2.0e-5;
/// Fraction of the photo the hand must cover.
pub const HAND_TOO_SMALL: f32 = 0.06;
/// Palm width in image pixels below which the creases cannot be resolved (a major
/// crease is about 1 % of the palm width wide).
pub const MIN_PALM_WIDTH_PX: f32 = 150.0;
/// The palm is cropped when a point of its outline lies closer than this (pixels) to
/// the photo's edge, or outside it.
pub const CROP_MARGIN: f32 = 1.0;

/// Luma and clipping statistics over the mask (or the whole image without one).
pub fn exposure_stats(rgb: &Rgbf, mask: Option<&[bool]>) -> (f32, f32) {
    let (mut sum, mut clipped, mut n) = (0.0f64, 0usize, 0usize);
    for (i, p) in rgb.data.iter().enumerate() {
        if mask.is_some_and(|m| !m[i]) {
            continue;
        }
        sum += raster::luma(*p) as f64;
        if p[0].max(p[1]).max(p[2]) >= CLIPPED {
            clipped += 1;
        }
        n += 1;
    }
    if n == 0 {
        return (0.0, 0.0);
    }
    ((sum / n as f64) as f32, clipped as f32 / n as f32)
}

/// Sharpness of the palm on the grid (see [`TOO_BLURRY`]).
pub fn sharpness(c: &Creases) -> f32 {
    let norm = Gray {
        w: c.w,
        h: c.h,
        data: c
            .luma
            .data
            .iter()
            .zip(&c.skin.data)
            .map(|(&l, &s)| l / s.max(0.02))
            .collect(),
    };
    let smooth = raster::gaussian_blur(&norm, 1.0);
    raster::laplacian_variance(&smooth, Some(&c.palm))
}

/// Whether the palm (its outline in the frame) reaches the photo's edge.
pub fn palm_cropped(
    frame: &PalmFrame,
    width: u32,
    height: u32,
    seg: Option<&Segmentation>,
) -> bool {
    let (w, h) = (width as f32, height as f32);
    let outline = [
        (0.0, 0.1),
        (0.0, 0.5),
        (0.0, 0.9),
        (0.25, 1.0),
        (0.5, 1.0),
        (0.75, 1.0),
        (1.0, 0.9),
        (1.0, 0.5),
        (1.0, 0.1),
        (0.5, 0.0),
    ];
    let outside = outline.iter().any(|&(u, v)| {
        let p = frame.to_image(u, v);
        !(p.x >= CROP_MARGIN - 0.5
            && p.y >= CROP_MARGIN - 0.5
            && p.x <= w - 0.5 - CROP_MARGIN
            && p.y <= h - 0.5 - CROP_MARGIN)
    });
    if outside {
        return true;
    }
    // The hand mask running into the photo's edge within the palm.
    if let Some(s) = seg {
        for y in 0..s.h {
            for x in 0..s.w {
                if !(x == 0 || y == 0 || x + 1 == s.w || y + 1 == s.h) || !s.mask[y * s.w + x] {
                    continue;
                }
                let p = s.to_input(x as f32 + 0.5, y as f32 + 0.5);
                let (u, v) = frame.to_palm(p);
                if (0.05..=0.95).contains(&u) && (0.08..=0.98).contains(&v) {
                    return true;
                }
            }
        }
    }
    false
}

/// Assembles the verdict.
pub fn verdict(
    mut issues: Vec<QualityIssue>,
    brightness: f32,
    overexposed_fraction: f32,
    sharpness: f32,
    hand_fraction: f32,
) -> Quality {
    issues.dedup();
    Quality {
        usable: issues.is_empty(),
        issues,
        brightness,
        overexposed_fraction,
        sharpness,
        hand_fraction,
    }
}
