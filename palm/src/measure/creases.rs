//! Creases: the palm resampled into its own frame, crease enhancement, binarisation,
//! thinning and the skeleton graph.
//!
//! The palm is resampled ("rectified") onto a grid aligned with the palm frame at a
//! fixed [`PX_PER_WIDTH`] pixels per palm width, rows running from the fingers (top) to
//! the wrist and columns from the little-finger edge (left) to the thumb edge. Every
//! later step therefore works at one scale and one orientation whatever the photo's
//! size, rotation or hand side. Source pixels are box-averaged first when the palm is
//! larger than the grid, so nothing aliases.
//!
//! Enhancement is a multi-scale Hessian ridge filter on luma divided by the local skin
//! brightness (so light and dark skin give comparable numbers): at scales σ in
//! [`SIGMAS`] (about 0.6–1.5% of the palm width, i.e. creases 1–3% wide), the larger
//! Hessian eigenvalue λ₁ (positive across a dark valley) minus |λ₂| (suppresses blobs),
//! σ²-normalised, the maximum over scales. The response is thresholded with hysteresis
//! at levels set from its robust spread inside the palm, thinned (Zhang–Suen), turned
//! into a graph, pruned, and collinear ends are joined across small gaps.

use crate::geometry::{PalmFrame, Point};

use super::raster::{self, Gray};
use super::segment::Segmentation;
use super::skeleton::{self, Graph};

/// Grid pixels per palm width.
pub const PX_PER_WIDTH: f32 = 240.0;
/// Extent of the grid in palm coordinates (a margin around the palm).
pub const U_RANGE: (f32, f32) = (-0.1, 1.1);
pub const V_RANGE: (f32, f32) = (-0.06, 1.08);
/// The palm region searched for creases, in palm coordinates.
pub const PALM_U: (f32, f32) = (-0.02, 1.02);
pub const PALM_V: (f32, f32) = (0.0, 0.99);
/// Hessian scales in grid pixels.
pub const SIGMAS: [f32; 3] = [1.5, 2.3, 3.3];
/// Margin kept from the hand's outline (grid pixels): the outline itself is a strong
/// edge, not a crease.
pub const OUTLINE_MARGIN: usize = 3;
/// A crease whose skeleton runs mostly ([`OUTLINE_SHARE`] of its points) within this much
/// of the hand's outline (palm widths, beyond [`OUTLINE_MARGIN`]) is the shading of the
/// outline, not a crease: the palm's lines cross the palm and only end at its edge.
pub const OUTLINE_NEAR: f32 = 0.03;
/// See [`OUTLINE_NEAR`].
pub const OUTLINE_SHARE: f32 = 0.6;
/// Hysteresis thresholds: the robust spread (1.4826 × MAD) of the ridge response in
/// the palm, times these, above the median. Pixels above `HIGH` seed creases, which
/// grow through pixels above `LOW`.
pub const HIGH_SPREADS: f32 = 5.0;
pub const LOW_SPREADS: f32 = 2.5;
/// Absolute floors for the thresholds (relative contrast units): a flat, crease-free
/// palm must not have its noise promoted to creases.
pub const HIGH_FLOOR: f32 = 0.012;
pub const LOW_FLOOR: f32 = 0.006;
/// Crease components smaller than this (grid pixels) are dropped before thinning.
pub const MIN_COMPONENT: usize = 40;
/// Spurs shorter than this (fraction of palm width) are pruned.
pub const SPUR: f32 = 0.035;
/// Isolated fragments shorter than this (fraction of palm width) are dropped.
pub const MIN_FRAGMENT: f32 = 0.05;
/// Gaps up to this (fraction of palm width) between collinear ends are joined...
pub const MAX_GAP: f32 = 0.13;
/// ...when both ends point at each other within this angle (radians)...
pub const GAP_ANGLE: f32 = 0.55;
/// ...each end's direction taken over this much of its crease (fraction of palm width):
/// long enough to see past the hook a wrinkle crossing near a crease's end leaves in its
/// skeleton.
pub const GAP_REACH: f32 = 0.07;

/// The rectified palm and its crease graph.
#[derive(Debug, Clone)]
pub struct Creases {
    pub frame: PalmFrame,
    pub w: usize,
    pub h: usize,
    /// Luma on the grid, 0–1.
    pub luma: Gray,
    /// Local skin brightness on the grid (grey closing of luma).
    pub skin: Gray,
    /// Ridge response (relative contrast units).
    pub ridge: Gray,
    /// The palm region on the grid.
    pub palm: Vec<bool>,
    /// The binary crease map after hysteresis.
    pub binary: Vec<bool>,
    pub graph: Graph,
    /// Number of gap joins.
    pub joins: usize,
    /// Thresholds used.
    pub high: f32,
    pub low: f32,
    /// Grid pixels per palm length.
    pub px_per_length: f32,
    /// Fraction of the palm region covered by the grid's hand mask (1 without a mask).
    pub palm_coverage: f32,
}

impl Creases {
    /// Palm coordinates of a grid point (pixel-centre coordinates).
    pub fn to_palm(&self, x: f32, y: f32) -> (f32, f32) {
        let u = U_RANGE.0 + x / PX_PER_WIDTH;
        let v = V_RANGE.1 - y / self.px_per_length;
        (u, v)
    }

    /// Grid position of palm coordinates.
    pub fn to_grid(&self, u: f32, v: f32) -> (f32, f32) {
        (
            (u - U_RANGE.0) * PX_PER_WIDTH,
            (V_RANGE.1 - v) * self.px_per_length,
        )
    }

    /// Image position of a grid point.
    pub fn to_image(&self, x: f32, y: f32) -> Point {
        let (u, v) = self.to_palm(x, y);
        self.frame.to_image(u, v)
    }
}

/// Resamples the palm onto the grid; returns luma and, when a segmentation is given,
/// the hand mask on the grid.
fn rectify(
    luma_full: &Gray,
    frame: &PalmFrame,
    seg: Option<&Segmentation>,
) -> (Gray, Option<Vec<bool>>, f32) {
    let width = frame.palm_width();
    let length = frame.palm_length();
    let px_per_length = PX_PER_WIDTH * length / width;
    let w = ((U_RANGE.1 - U_RANGE.0) * PX_PER_WIDTH).round() as usize;
    let h = ((V_RANGE.1 - V_RANGE.0) * px_per_length)
        .round()
        .clamp(8.0, 4000.0) as usize;
    // Source pixels per grid pixel; pre-average by that integer factor.
    let step = width / PX_PER_WIDTH;
    let factor = (step.floor() as usize).max(1);
    let src = if factor >= 2 {
        luma_full.downscale(factor)
    } else {
        luma_full.clone()
    };
    let f = factor as f32;
    let mut out = Gray::new(w, h, 0.0);
    let mut mask = seg.map(|_| vec![false; w * h]);
    for y in 0..h {
        for x in 0..w {
            let u = U_RANGE.0 + (x as f32 + 0.5) / PX_PER_WIDTH;
            let v = V_RANGE.1 - (y as f32 + 0.5) / px_per_length;
            let p = frame.to_image(u, v);
            out.set(x, y, src.sample((p.x + 0.5) / f, (p.y + 0.5) / f));
            if let (Some(m), Some(s)) = (mask.as_mut(), seg) {
                m[y * w + x] = s.at_input(p);
            }
        }
    }
    (out, mask, px_per_length)
}

/// Hessian ridge response for dark lines (max over scales of σ²(λ₁ − |λ₂|), λ₁ ≥ λ₂).
fn ridge_response(norm: &Gray) -> Gray {
    let (w, h) = (norm.w, norm.h);
    let mut best = Gray::new(w, h, 0.0);
    for &sigma in &SIGMAS {
        let g = raster::gaussian_blur(norm, sigma);
        let s2 = sigma * sigma;
        for y in 0..h {
            for x in 0..w {
                let (xi, yi) = (x as isize, y as isize);
                let c = g.get(x, y);
                let dxx = g.get_clamped(xi + 1, yi) + g.get_clamped(xi - 1, yi) - 2.0 * c;
                let dyy = g.get_clamped(xi, yi + 1) + g.get_clamped(xi, yi - 1) - 2.0 * c;
                let dxy = (g.get_clamped(xi + 1, yi + 1) + g.get_clamped(xi - 1, yi - 1)
                    - g.get_clamped(xi + 1, yi - 1)
                    - g.get_clamped(xi - 1, yi + 1))
                    / 4.0;
                let tr = dxx + dyy;
                let disc = ((dxx - dyy) * (dxx - dyy) / 4.0 + dxy * dxy).sqrt();
                let l1 = tr / 2.0 + disc;
                let l2 = tr / 2.0 - disc;
                let r = s2 * (l1 - l2.abs());
                if r > best.data[y * w + x] {
                    best.data[y * w + x] = r;
                }
            }
        }
    }
    best
}

/// Finds the creases of the palm described by `frame`.
pub fn find_creases(
    luma_full: &Gray,
    frame: &PalmFrame,
    seg: Option<&Segmentation>,
) -> Option<Creases> {
    let width = frame.palm_width();
    let length = frame.palm_length();
    if !(width.is_finite() && length.is_finite()) || width < 8.0 || length < 8.0 {
        return None;
    }
    let (luma, hand, px_per_length) = rectify(luma_full, frame, seg);
    let (w, h) = (luma.w, luma.h);
    let region = palm_region(hand.as_deref(), w, h, px_per_length);
    let palm = region.palm;
    let (skin, norm) = skin_normalised(&luma);
    let ridge = ridge_response(&norm);
    let (high, low) = hysteresis_thresholds(&ridge, &palm)?;
    let mut binary = hysteresis(&ridge, &palm, w, h, high, low);
    let binary_copy = binary.clone();
    let (graph, joins) = crease_graph(&mut binary, w, h, region.near_outline.as_deref());
    Some(Creases {
        frame: *frame,
        w,
        h,
        luma,
        skin,
        ridge,
        palm,
        binary: binary_copy,
        graph,
        joins,
        high,
        low,
        px_per_length,
        palm_coverage: region.coverage,
    })
}

/// Where on the grid creases are looked for.
struct PalmRegion {
    /// The palm box, within the shrunk hand mask when the mask is trusted.
    palm: Vec<bool>,
    /// Fraction of the palm box the hand mask covers (1 without a mask).
    coverage: f32,
    /// Grid pixels near the hand's outline, when the mask is trusted.
    near_outline: Option<Vec<bool>>,
}

/// The palm region on the `w`×`h` grid, from the palm box and the grid's hand mask.
fn palm_region(hand: Option<&[bool]>, w: usize, h: usize, px_per_length: f32) -> PalmRegion {
    // The palm region: the palm box in frame coordinates, within the hand mask shrunk
    // away from the outline.
    let mut palm = vec![false; w * h];
    for y in 0..h {
        for x in 0..w {
            let u = U_RANGE.0 + (x as f32 + 0.5) / PX_PER_WIDTH;
            let v = V_RANGE.1 - (y as f32 + 0.5) / px_per_length;
            palm[y * w + x] =
                (PALM_U.0..=PALM_U.1).contains(&u) && (PALM_V.0..=PALM_V.1).contains(&v);
        }
    }
    let box_area = palm.iter().filter(|&&p| p).count().max(1);
    let mut palm_coverage = 1.0;
    let mut near_outline = None;
    if let Some(m) = hand {
        let shrunk = raster::mask_morph(m, w, h, OUTLINE_MARGIN, false);
        let covered = palm.iter().zip(m).filter(|(&p, &m)| p && m).count();
        palm_coverage = covered as f32 / box_area as f32;
        // Only trust the mask when it covers the palm reasonably (a wrong mask would
        // hide the creases).
        if palm_coverage > 0.5 {
            for (p, s) in palm.iter_mut().zip(&shrunk) {
                *p = *p && *s;
            }
            let reach = OUTLINE_MARGIN as f32 + OUTLINE_NEAR * PX_PER_WIDTH;
            let distance = raster::distance_transform(m, w, h);
            near_outline = Some(distance.iter().map(|&d| d <= reach).collect::<Vec<bool>>());
        }
    }
    PalmRegion {
        palm,
        coverage: palm_coverage,
        near_outline,
    }
}

/// The local skin brightness (the creases filled in), and luma divided by it.
fn skin_normalised(luma: &Gray) -> (Gray, Gray) {
    // Local skin brightness: grey closing (fills the creases) then a light blur.
    let close_r = (0.025 * PX_PER_WIDTH).round() as usize;
    let skin = raster::gaussian_blur(&raster::close_disc(luma, close_r), 2.0);
    let norm = Gray {
        w: luma.w,
        h: luma.h,
        data: luma
            .data
            .iter()
            .zip(&skin.data)
            .map(|(&l, &s)| l / s.max(0.02))
            .collect(),
    };
    (skin, norm)
}

/// The hysteresis thresholds (high, low) from the ridge response's median and spread
/// over the palm; `None` when the palm region is too small.
fn hysteresis_thresholds(ridge: &Gray, palm: &[bool]) -> Option<(f32, f32)> {
    let vals: Vec<f32> = ridge
        .data
        .iter()
        .zip(palm)
        .filter(|(_, &p)| p)
        .map(|(&r, _)| r)
        .collect();
    if vals.len() < 100 {
        return None;
    }
    let med = raster::quantile(&vals, 0.5);
    let dev: Vec<f32> = vals.iter().map(|&v| (v - med).abs()).collect();
    let spread = 1.4826 * raster::quantile(&dev, 0.5);
    let high = (med + HIGH_SPREADS * spread).max(HIGH_FLOOR);
    let low = (med + LOW_SPREADS * spread).max(LOW_FLOOR).min(high);
    Some((high, low))
}

/// The binary crease map: the palm's ridge components above `low` that reach `high`
/// somewhere and are at least [`MIN_COMPONENT`] pixels.
fn hysteresis(ridge: &Gray, palm: &[bool], w: usize, h: usize, high: f32, low: f32) -> Vec<bool> {
    // Hysteresis.
    let weak: Vec<bool> = ridge
        .data
        .iter()
        .zip(palm)
        .map(|(&r, &p)| p && r >= low)
        .collect();
    let (labels, sizes) = raster::components(&weak, w, h);
    let mut strong_label = vec![false; sizes.len()];
    for (i, &l) in labels.iter().enumerate() {
        if l != 0 && ridge.data[i] >= high {
            strong_label[l as usize] = true;
        }
    }
    labels
        .iter()
        .map(|&l| l != 0 && strong_label[l as usize] && sizes[l as usize] >= MIN_COMPONENT)
        .collect()
}

/// The crease graph: `binary` thinned (in place) to a skeleton, its graph cleaned
/// (short edges, spurs, fragments, runs along the outline dropped) and its gaps
/// joined; and the number of joins.
fn crease_graph(
    binary: &mut [bool],
    w: usize,
    h: usize,
    near_outline: Option<&[bool]>,
) -> (Graph, usize) {
    skeleton::zhang_suen(binary, w, h);
    skeleton::remove_staircase(binary, w, h);
    let mut graph = skeleton::build_graph(binary, w, h);
    graph.merge_degree_two();
    graph.contract_short(0.02 * PX_PER_WIDTH);
    graph.prune(SPUR * PX_PER_WIDTH, MIN_FRAGMENT * PX_PER_WIDTH);
    if let Some(near) = near_outline {
        graph.drop_along(near, w, OUTLINE_SHARE);
    }
    let joins = graph.join_gaps(MAX_GAP * PX_PER_WIDTH, GAP_ANGLE, GAP_REACH * PX_PER_WIDTH);
    (graph, joins)
}
