//! Detection without landmarks: skin segmentation and the hand's geometry.
//!
//! 1. Skin mask at a small working size ([`SEG_SIDE`]): a YCrCb chroma box that holds
//!    for light to dark skin, minus pixels that look like the background (the median
//!    colour of the photo's border, assumed not to be skin-like everywhere), then
//!    opening/closing, the largest connected component and hole filling.
//! 2. Hand geometry: the palm centre is the maximum of the mask's distance transform
//!    (radius `R`). Circles of radius `1.5–2.7 R` around it cross the fingers as narrow
//!    runs of mask and the wrist/forearm as one wide run; the radius with the most
//!    finger-like runs gives the fingers. The four fingers are the four consecutive runs
//!    with the smallest angular span; a fifth run apart from them is the thumb. The
//!    middle finger is the longer of the two inner ones, the index is next to the
//!    thumb. The hand's principal axis (PCA of the mask) is kept as a fallback axis.

use crate::geometry::Point;

use super::raster::{self, Rgbf};

/// Longest side of the segmentation working image, in pixels.
pub const SEG_SIDE: usize = 256;

/// Longest side of the working image for a crop around a small hand.
pub const CROP_SIDE: usize = 384;

/// Classic YCrCb skin box (Chai & Ngan 1999), widened a little at both ends so very
/// light and very dark skin both pass: Cr in [CR_MIN, CR_MAX], Cb in [CB_MIN, CB_MAX]
/// (0–255 scale).
const CR_MIN: f32 = 133.0 - 6.0;
const CR_MAX: f32 = 173.0 + 8.0;
const CB_MIN: f32 = 77.0 - 8.0;
const CB_MAX: f32 = 127.0 + 6.0;
/// Below this luma chroma is mostly noise: such pixels are not called skin.
const MIN_SKIN_LUMA: f32 = 0.06;
/// A pixel within this YCrCb distance (0–255 units, luma weighted by half) of the
/// border's median colour counts as background even when its chroma is skin-like.
const BACKGROUND_DISTANCE: f32 = 14.0;

/// Largest boundary-pixels-per-√area of a hand outline (see [`hand_geometry`]).
const MAX_RAGGED: f32 = 30.0;

/// Largest standard deviation of Cr and Cb (0–255 units, root of the summed variances)
/// inside a hand mask. Lighting changes luma far more than chroma, so a real hand stays
/// well below this; a patchwork of skin-like colours does not.
pub const MAX_CHROMA_SPREAD: f32 = 10.0;

/// Root of the summed Cr and Cb variances inside the mask.
pub fn chroma_spread(seg: &Segmentation) -> f32 {
    let (mut n, mut s1, mut s2, mut q1, mut q2) = (0.0f64, 0.0f64, 0.0f64, 0.0f64, 0.0f64);
    for (p, &m) in seg.rgb.data.iter().zip(&seg.mask) {
        if !m {
            continue;
        }
        let (_, cr, cb) = ycrcb(*p);
        let (cr, cb) = (cr as f64, cb as f64);
        n += 1.0;
        s1 += cr;
        s2 += cb;
        q1 += cr * cr;
        q2 += cb * cb;
    }
    if n < 1.0 {
        return 0.0;
    }
    let v1 = (q1 / n - (s1 / n).powi(2)).max(0.0);
    let v2 = (q2 / n - (s2 / n).powi(2)).max(0.0);
    (v1 + v2).sqrt() as f32
}

/// The segmented hand at the working size.
#[derive(Debug, Clone)]
pub struct Segmentation {
    pub w: usize,
    pub h: usize,
    /// Working pixels per input pixel is `1 / scale`: input = working × `scale`.
    pub scale: f32,
    /// Input-image position of the working image's top-left corner (non-zero for a
    /// segmentation of a crop).
    pub offset: (f32, f32),
    pub mask: Vec<bool>,
    /// Mask pixels.
    pub area: usize,
    /// The working image (RGB 0–1).
    pub rgb: Rgbf,
}

impl Segmentation {
    /// Input-image position (pixel `i` centred at `i`, as [`Point`]s are) of a
    /// working-image position (pixel `i` covering `[i, i + 1)`).
    pub fn to_input(&self, x: f32, y: f32) -> Point {
        Point::new(
            x * self.scale - 0.5 + self.offset.0,
            y * self.scale - 0.5 + self.offset.1,
        )
    }

    pub fn at(&self, x: isize, y: isize) -> bool {
        x >= 0
            && y >= 0
            && (x as usize) < self.w
            && (y as usize) < self.h
            && self.mask[y as usize * self.w + x as usize]
    }

    /// The run of mask on the line through `p` along `perp` that contains (or lies nearest
    /// to, within `search`) the point `p + perp·offset`: its width and midpoint offset.
    pub fn run_near(
        &self,
        p: (f32, f32),
        perp: (f32, f32),
        offset: f32,
        search: f32,
        max: f32,
    ) -> Option<(f32, f32)> {
        let inside = |t: f32| {
            self.at(
                (p.0 + perp.0 * t).floor() as isize,
                (p.1 + perp.1 * t).floor() as isize,
            )
        };
        let mut start = None;
        let mut k = 0.0;
        while k <= search {
            if inside(offset + k) {
                start = Some(offset + k);
                break;
            }
            if inside(offset - k) {
                start = Some(offset - k);
                break;
            }
            k += 0.5;
        }
        let s = start?;
        let mut hi = s;
        while hi - s < max && inside(hi + 0.5) {
            hi += 0.5;
        }
        let mut lo = s;
        while s - lo < max && inside(lo - 0.5) {
            lo -= 0.5;
        }
        Some((hi - lo, (hi + lo) / 2.0))
    }

    /// Mask value at an input-image point.
    pub fn at_input(&self, p: Point) -> bool {
        self.at(
            ((p.x + 0.5 - self.offset.0) / self.scale).floor() as isize,
            ((p.y + 0.5 - self.offset.1) / self.scale).floor() as isize,
        )
    }
}

/// Least median skin chroma (Cr − Cb, 0–255 units) of a palm: skin of every tone is
/// reddish (Cr well above Cb; the classic skin cluster starts near Cr − Cb ≈ 10, dark
/// skin included), a grey surface sits at 0. Half that edge, so a cold white balance
/// does not turn a palm grey.
pub const MIN_SKIN_CHROMA: f32 = 5.0;

/// The median skin chroma (Cr − Cb) inside the palm (`u`, `v` in 0.25..0.75) of `frame`,
/// over pixels neither clipped nor nearly black; `None` when too few such pixels are
/// there to tell (an over- or underexposed photo, which the quality gate reports).
pub fn palm_chroma(image: &image::RgbImage, frame: &crate::geometry::PalmFrame) -> Option<f32> {
    const GRID: usize = 20;
    let mut values = Vec::with_capacity(GRID * GRID);
    for i in 0..GRID {
        for j in 0..GRID {
            let u = 0.25 + 0.5 * (i as f32 + 0.5) / GRID as f32;
            let v = 0.25 + 0.5 * (j as f32 + 0.5) / GRID as f32;
            let p = frame.to_image(u, v);
            let (x, y) = (p.x.round(), p.y.round());
            if x < 0.0 || y < 0.0 || x >= image.width() as f32 || y >= image.height() as f32 {
                continue;
            }
            let px = image.get_pixel(x as u32, y as u32).0;
            let rgb = [
                px[0] as f32 / 255.0,
                px[1] as f32 / 255.0,
                px[2] as f32 / 255.0,
            ];
            let brightest = rgb[0].max(rgb[1]).max(rgb[2]);
            if brightest >= 0.97 || raster::luma(rgb) < 0.08 {
                continue;
            }
            let (_, cr, cb) = ycrcb(rgb);
            values.push(cr - cb);
        }
    }
    if values.len() < GRID * GRID / 4 {
        return None;
    }
    values.sort_by(f32::total_cmp);
    Some(values[values.len() / 2])
}

fn ycrcb(p: [f32; 3]) -> (f32, f32, f32) {
    let y = raster::luma(p);
    let cr = 128.0 + 255.0 * 0.713 * (p[0] - y);
    let cb = 128.0 + 255.0 * 0.564 * (p[2] - y);
    (y * 255.0, cr, cb)
}

/// Skin mask of the photo (largest skin component, cleaned). `None` for an empty image.
pub fn segment(image: &image::RgbImage) -> Option<Segmentation> {
    segment_at(image, SEG_SIDE)
}

/// [`segment`] at a working size of `max_side` pixels.
fn segment_at(image: &image::RgbImage, max_side: usize) -> Option<Segmentation> {
    if image.width() == 0 || image.height() == 0 {
        return None;
    }
    let (rgb, factor) = Rgbf::from_image(image, max_side);
    let (w, h) = (rgb.w, rgb.h);
    // Background colour: per-channel median of the border pixels.
    let mut border: Vec<(f32, f32, f32)> = Vec::new();
    for x in 0..w {
        border.push(ycrcb(rgb.data[x]));
        border.push(ycrcb(rgb.data[(h - 1) * w + x]));
    }
    for y in 0..h {
        border.push(ycrcb(rgb.data[y * w]));
        border.push(ycrcb(rgb.data[y * w + w - 1]));
    }
    let med = |f: fn(&(f32, f32, f32)) -> f32| {
        let v: Vec<f32> = border.iter().map(f).collect();
        raster::quantile(&v, 0.5)
    };
    let bg = (med(|c| c.0), med(|c| c.1), med(|c| c.2));
    let mut mask: Vec<bool> = rgb
        .data
        .iter()
        .map(|&p| {
            let (y, cr, cb) = ycrcb(p);
            let skin = y >= MIN_SKIN_LUMA * 255.0
                && (CR_MIN..=CR_MAX).contains(&cr)
                && (CB_MIN..=CB_MAX).contains(&cb)
                // Skin is redder than it is blue.
                && cr > cb;
            let d = (((y - bg.0) * 0.5).powi(2) + (cr - bg.1).powi(2) + (cb - bg.2).powi(2)).sqrt();
            skin && d > BACKGROUND_DISTANCE
        })
        .collect();
    // Cleanup: opening removes speckle, closing bridges the creases, then the largest
    // component with its holes filled.
    mask = raster::mask_morph(&mask, w, h, 1, false);
    mask = raster::mask_morph(&mask, w, h, 1, true);
    mask = raster::mask_morph(&mask, w, h, 1, true);
    mask = raster::mask_morph(&mask, w, h, 1, false);
    let area = raster::keep_largest(&mut mask, w, h);
    raster::fill_holes(&mut mask, w, h);
    let area = if area == 0 {
        0
    } else {
        mask.iter().filter(|&&m| m).count()
    };
    Some(Segmentation {
        w,
        h,
        scale: factor as f32,
        offset: (0.0, 0.0),
        mask,
        area,
        rgb,
    })
}

/// Segments a crop `[x0, x1) × [y0, y1)` of the photo (for a hand too small to make out
/// at the whole photo's working size).
pub fn segment_crop(
    image: &image::RgbImage,
    x0: u32,
    y0: u32,
    x1: u32,
    y1: u32,
) -> Option<Segmentation> {
    let (x1, y1) = (x1.min(image.width()), y1.min(image.height()));
    if x1 <= x0 + 8 || y1 <= y0 + 8 {
        return None;
    }
    let crop = image::imageops::crop_imm(image, x0, y0, x1 - x0, y1 - y0).to_image();
    // A finer working size than the whole photo's: the hand is small.
    let mut s = segment_at(&crop, CROP_SIDE)?;
    s.offset = (x0 as f32, y0 as f32);
    Some(s)
}

impl Segmentation {
    /// Input-image bounding box of the mask: (x0, y0, x1, y1).
    pub fn bbox(&self) -> Option<(f32, f32, f32, f32)> {
        let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
        for (i, &m) in self.mask.iter().enumerate() {
            if m {
                let (x, y) = (i % self.w, i / self.w);
                x0 = x0.min(x);
                y0 = y0.min(y);
                x1 = x1.max(x + 1);
                y1 = y1.max(y + 1);
            }
        }
        if x0 == usize::MAX {
            return None;
        }
        let a = self.to_input(x0 as f32, y0 as f32);
        let b = self.to_input(x1 as f32, y1 as f32);
        Some((a.x, a.y, b.x, b.y))
    }

    /// Fraction of the whole photo (`iw × ih` pixels) the mask covers.
    pub fn fraction_of(&self, iw: u32, ih: u32) -> f32 {
        self.area as f32 * self.scale * self.scale / (iw as f32 * ih as f32).max(1.0)
    }
}

/// One finger as a run of mask on a circle around the palm centre.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FingerRun {
    /// Angle of the run's centre (radians, image coordinates: x right, y down).
    pub angle: f32,
    /// Angular width (radians).
    pub width: f32,
    /// Tip: the farthest mask point along the finger's direction (working pixels).
    pub tip: (f32, f32),
    /// Length from the finger's base (its valley level) to the tip, working pixels;
    /// filled in once the valleys are known.
    pub length: f32,
    /// The finger's own axis (unit vector, pointing to the tip), from midpoints of its
    /// cross-sections.
    pub axis: (f32, f32),
}

/// The hand's geometry from the mask (working pixels).
#[derive(Debug, Clone)]
pub struct HandGeometry {
    pub centre: (f32, f32),
    /// Largest inscribed circle radius.
    pub radius: f32,
    /// The four fingers ordered index, middle, ring, little when the thumb side is
    /// known, otherwise in angular order.
    pub fingers: Vec<FingerRun>,
    pub thumb: Option<FingerRun>,
    /// Valleys between adjacent fingers (index–middle, middle–ring, ring–little).
    pub valleys: Vec<(f32, f32)>,
    /// Unit vector from the palm towards the fingers.
    pub finger_dir: (f32, f32),
    /// +1 when the thumb lies on the side of `perp(finger_dir) = (-dy, dx)`, −1 on the
    /// other, 0 when unknown.
    pub thumb_sign: f32,
    /// How sure the thumb side is, 0–1.
    pub thumb_confidence: f32,
    /// Principal axis of the mask (unit vector, sign arbitrary).
    pub principal_axis: (f32, f32),
    /// Best estimate of the palm's long axis (towards the fingers) from the finger
    /// axes: the middle finger's, averaged with the mean of its two neighbours'.
    pub axis: (f32, f32),
}

/// A finger's own axis (midpoints of its cross-sections at the circle and further
/// out) and its tip (the last mask point along that axis).
fn finger_axis(
    seg: &Segmentation,
    centre: (f32, f32),
    angle: f32,
    r: f32,
    radius: f32,
) -> ((f32, f32), (f32, f32)) {
    let dir0 = (angle.cos(), angle.sin());
    let p1 = (centre.0 + dir0.0 * r, centre.1 + dir0.1 * r);
    let perp0 = (-dir0.1, dir0.0);
    let far = (seg.w + seg.h) as f32;
    let Some((_, m)) = seg.run_near(p1, perp0, 0.0, 0.3 * radius, 2.0 * radius) else {
        return (dir0, march(seg, p1, dir0, far));
    };
    let m1 = (p1.0 + perp0.0 * m, p1.1 + perp0.1 * m);
    let mut dir = dir0;
    for step in [0.35, 0.7, 1.05] {
        let q = (m1.0 + dir.0 * step * radius, m1.1 + dir.1 * step * radius);
        let perp = (-dir.1, dir.0);
        match seg.run_near(q, perp, 0.0, 0.25 * radius, radius) {
            Some((w, m2)) if w < 0.9 * radius => {
                let mid = (q.0 + perp.0 * m2, q.1 + perp.1 * m2);
                let (dx, dy) = (mid.0 - m1.0, mid.1 - m1.1);
                let n = (dx * dx + dy * dy).sqrt();
                if n > 1e-3 {
                    dir = (dx / n, dy / n);
                }
            }
            _ => break,
        }
    }
    (dir, march(seg, m1, dir, far))
}

/// Mask runs along a circle: (start index, length) over `n` samples, circular.
fn circle_runs(seg: &Segmentation, c: (f32, f32), r: f32, n: usize) -> Vec<(usize, usize)> {
    let samples: Vec<bool> = (0..n)
        .map(|i| {
            let a = i as f32 / n as f32 * std::f32::consts::TAU;
            seg.at(
                (c.0 + r * a.cos()).floor() as isize,
                (c.1 + r * a.sin()).floor() as isize,
            )
        })
        .collect();
    let Some(first_off) = samples.iter().position(|&s| !s) else {
        return vec![(0, n)];
    };
    let mut runs = Vec::new();
    let mut i = 0;
    while i < n {
        let k = (first_off + i) % n;
        if samples[k] {
            let start = k;
            let mut len = 0;
            while i < n && samples[(first_off + i) % n] {
                len += 1;
                i += 1;
            }
            runs.push((start, len));
        } else {
            i += 1;
        }
    }
    runs
}

fn angle_diff(a: f32, b: f32) -> f32 {
    let mut d = a - b;
    while d > std::f32::consts::PI {
        d -= std::f32::consts::TAU;
    }
    while d < -std::f32::consts::PI {
        d += std::f32::consts::TAU;
    }
    d
}

/// Walks from `from` along `dir` while inside the mask; returns the last inside point.
fn march(seg: &Segmentation, from: (f32, f32), dir: (f32, f32), max: f32) -> (f32, f32) {
    let mut last = from;
    let mut t = 0.0;
    while t < max {
        let p = (from.0 + dir.0 * t, from.1 + dir.1 * t);
        if !seg.at(p.0.floor() as isize, p.1.floor() as isize) {
            break;
        }
        last = p;
        t += 0.5;
    }
    last
}

/// Analyses the mask's shape. `None` when it does not look like an open hand (fewer
/// than three finger-like lobes).
pub fn hand_geometry(seg: &Segmentation) -> Option<HandGeometry> {
    let (w, h) = (seg.w, seg.h);
    if seg.area < 50 {
        return None;
    }
    let dt = raster::distance_transform(&seg.mask, w, h);
    let (mut best, mut best_i) = (0.0f32, 0usize);
    for (i, &d) in dt.iter().enumerate() {
        if d > best {
            best = d;
            best_i = i;
        }
    }
    let radius = best;
    if radius < 4.0 {
        return None;
    }
    // A hand's outline is smooth: boundary pixels per √area stays moderate (a palm with
    // five fingers is about 12–16); a ragged blob of skin-coloured noise is far above.
    let boundary = (0..w * h)
        .filter(|&i| {
            seg.mask[i] && {
                let (x, y) = ((i % w) as isize, (i / w) as isize);
                !seg.at(x - 1, y) || !seg.at(x + 1, y) || !seg.at(x, y - 1) || !seg.at(x, y + 1)
            }
        })
        .count();
    let ragged = boundary as f32 / (seg.area as f32).sqrt();
    if ragged > MAX_RAGGED {
        return None;
    }
    // Skin is one colour under shading: the chroma spread inside the mask stays small.
    if chroma_spread(seg) > MAX_CHROMA_SPREAD {
        return None;
    }
    // Palm centre candidates: the distance transform's strongest local maxima (a long
    // forearm can be as wide as the palm). Each is tried; the one with the most fingers
    // around it wins (ties: the wider).
    let _ = best_i;
    let mut order: Vec<usize> = (0..w * h).filter(|&i| dt[i] >= 0.6 * radius).collect();
    order.sort_by(|&a, &b| dt[b].total_cmp(&dt[a]).then(a.cmp(&b)));
    let mut candidates: Vec<((f32, f32), f32)> = Vec::new();
    for i in order {
        let c = ((i % w) as f32 + 0.5, (i / w) as f32 + 0.5);
        if candidates
            .iter()
            .all(|&(q, r)| (q.0 - c.0).hypot(q.1 - c.1) > 1.5 * r.max(dt[i]))
        {
            candidates.push((c, dt[i]));
            if candidates.len() == 4 {
                break;
            }
        }
    }
    let mut chosen: Option<HandGeometry> = None;
    for (c, r) in candidates {
        if let Some(g) = geometry_at(seg, c, r) {
            let better = chosen
                .as_ref()
                .is_none_or(|b| g.fingers.len() > b.fingers.len());
            if better {
                chosen = Some(g);
            }
        }
    }
    chosen
}

/// Points sampled on each circle around a palm centre candidate.
const CIRCLE_SAMPLES: usize = 720;

/// The mask's principal axis (PCA), as a unit vector.
fn principal_axis(seg: &Segmentation) -> (f32, f32) {
    let w = seg.w;
    // PCA of the mask.
    let (mut sx, mut sy, mut n) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &m) in seg.mask.iter().enumerate() {
        if m {
            sx += (i % w) as f64;
            sy += (i / w) as f64;
            n += 1.0;
        }
    }
    let (mx, my) = (sx / n, sy / n);
    let (mut cxx, mut cyy, mut cxy) = (0.0f64, 0.0f64, 0.0f64);
    for (i, &m) in seg.mask.iter().enumerate() {
        if m {
            let (dx, dy) = ((i % w) as f64 - mx, (i / w) as f64 - my);
            cxx += dx * dx;
            cyy += dy * dy;
            cxy += dx * dy;
        }
    }
    let theta = 0.5 * (2.0 * cxy).atan2(cxx - cyy);
    (theta.cos() as f32, theta.sin() as f32)
}

/// The finger-like runs (angle, angular width) around `centre` on the circle of growing
/// radius that shows the most of them, and that radius; `None` with fewer than three.
fn finger_runs(
    seg: &Segmentation,
    centre: (f32, f32),
    radius: f32,
) -> Option<(Vec<(f32, f32)>, f32)> {
    // Finger runs on circles of growing radius; keep the radius with the most.
    let step = std::f32::consts::TAU / CIRCLE_SAMPLES as f32;
    let mut best_runs: Vec<(f32, f32)> = Vec::new();
    let mut best_r = 0.0;
    let mut best_score = 0.0f32;
    for k in 0..13 {
        let r = radius * (1.5 + 0.1 * k as f32);
        let runs = circle_runs(seg, centre, r, CIRCLE_SAMPLES);
        // Finger-like: chord width between 0.12 R and 0.9 R.
        let fingers: Vec<(f32, f32)> = runs
            .iter()
            .filter(|&&(_, len)| {
                let chord = len as f32 * step * r;
                chord >= 0.12 * radius && chord <= 0.9 * radius
            })
            .map(|&(start, len)| {
                let a = (start as f32 + (len as f32 - 1.0) / 2.0) * step;
                (angle_diff(a, 0.0), len as f32 * step)
            })
            .collect();
        let count = fingers.len().min(5) as f32;
        // Prefer more runs. Exactly four runs with one gap far wider than the others
        // is likely the thumb plus three fingers (two fingers touching): worth less.
        // On ties, the larger radius (the thumb is shorter than the fingers).
        let mut score = count;
        if fingers.len() == 4 {
            let mut angles: Vec<f32> = fingers.iter().map(|f| f.0).collect();
            angles.sort_by(|a, b| a.total_cmp(b));
            let mut gaps: Vec<f32> = (0..4)
                .map(|i| {
                    angle_diff(angles[(i + 1) % 4], angles[i]).rem_euclid(std::f32::consts::TAU)
                })
                .collect();
            gaps.sort_by(|a, b| a.total_cmp(b));
            // gaps[3] is the way round through the wrist; compare the three others.
            if gaps[2] > 1.6 * gaps[1] {
                score -= 0.5;
            }
        }
        if score >= best_score {
            best_score = score;
            best_runs = fingers;
            best_r = r;
        }
    }
    if best_runs.len() < 3 {
        return None;
    }
    Some((best_runs, best_r))
}

/// Thumb-lobe evidence: finger-like runs 35–115° from the finger direction, not one of
/// the `four` fingers, on circles of growing radius; how many lie on the +perp side and
/// how many on the other.
fn thumb_lobe_runs(
    seg: &Segmentation,
    centre: (f32, f32),
    radius: f32,
    finger_dir: (f32, f32),
    four: &[FingerRun],
) -> (usize, usize) {
    let (mut plus, mut minus) = (0usize, 0usize);
    let step = std::f32::consts::TAU / CIRCLE_SAMPLES as f32;
    let perp = (-finger_dir.1, finger_dir.0);
    let finger_angle = finger_dir.1.atan2(finger_dir.0);
    for k in 0..13 {
        let r = radius * (1.2 + 0.125 * k as f32);
        for (start, len) in circle_runs(seg, centre, r, CIRCLE_SAMPLES) {
            let chord = len as f32 * step * r;
            if chord < 0.12 * radius || chord > 1.0 * radius {
                continue;
            }
            let a = angle_diff((start as f32 + (len as f32 - 1.0) / 2.0) * step, 0.0);
            let off = angle_diff(a, finger_angle);
            let deg = off.abs().to_degrees();
            if !(35.0..=115.0).contains(&deg) {
                continue;
            }
            // Not one of the four fingers.
            if four
                .iter()
                .any(|f| angle_diff(a, f.angle).abs() < 0.6 * f.width.max(0.1))
            {
                continue;
            }
            let d = (a.cos(), a.sin());
            if d.0 * perp.0 + d.1 * perp.1 > 0.0 {
                plus += 1;
            } else {
                minus += 1;
            }
        }
    }
    (plus, minus)
}

/// The hand's geometry around a palm centre candidate.
fn geometry_at(seg: &Segmentation, centre: (f32, f32), radius: f32) -> Option<HandGeometry> {
    let principal_axis = principal_axis(seg);
    let (runs, best_r) = finger_candidates(seg, centre, radius)?;
    let (four, rest) = tightest_four(&runs);
    let finger_dir = mean_direction(&four);
    let perp = (-finger_dir.1, finger_dir.0);
    let mut fingers = four.clone();
    // Order the fingers by their side coordinate (ascending).
    fingers.sort_by(|a, b| side_of(a, perp).total_cmp(&side_of(b, perp)));
    let (thumb_sign, thumb_confidence) =
        thumb_side(seg, centre, radius, finger_dir, &four, &fingers);
    let thumb = rest
        .iter()
        .copied()
        .find(|t| side_of(t, perp) * thumb_sign > 0.2);
    // Order index → little (index on the thumb side).
    if thumb_sign > 0.0 {
        fingers.reverse();
    }
    let valleys: Vec<(f32, f32)> = fingers
        .windows(2)
        .map(|p| valley(seg, centre, best_r, finger_dir, p[0].angle, p[1].angle))
        .collect();
    set_finger_lengths(&mut fingers, &valleys, finger_dir);
    let axis = palm_axis(&fingers, centre, finger_dir);
    Some(HandGeometry {
        axis,
        centre,
        radius,
        fingers,
        thumb,
        valleys,
        finger_dir,
        thumb_sign,
        thumb_confidence,
        principal_axis,
    })
}

/// The finger candidates around `centre` (sorted by angle, each with its axis and tip)
/// on the circle [`finger_runs`] picks, and that circle's radius; `None` with fewer than
/// three runs.
fn finger_candidates(
    seg: &Segmentation,
    centre: (f32, f32),
    radius: f32,
) -> Option<(Vec<FingerRun>, f32)> {
    let (mut best_runs, best_r) = finger_runs(seg, centre, radius)?;
    best_runs.sort_by(|a, b| a.0.total_cmp(&b.0));
    // Each run: tip along its direction.
    let mut runs: Vec<FingerRun> = best_runs
        .iter()
        .map(|&(angle, width)| {
            let (axis, tip) = finger_axis(seg, centre, angle, best_r, radius);
            FingerRun {
                angle,
                width,
                tip,
                length: 0.0,
                axis,
            }
        })
        .collect();
    // Choose four consecutive runs (circular order) with the smallest angular span; a
    // run outside them but close is the thumb. With more than five, keep the five with
    // the longest reach.
    if runs.len() > 5 {
        runs.sort_by(|a, b| {
            let da = (a.tip.0 - centre.0).hypot(a.tip.1 - centre.1);
            let db = (b.tip.0 - centre.0).hypot(b.tip.1 - centre.1);
            db.total_cmp(&da)
        });
        runs.truncate(5);
        runs.sort_by(|a, b| a.angle.total_cmp(&b.angle));
    }
    Some((runs, best_r))
}

/// The (up to) four consecutive runs, in circular order, with the smallest angular span,
/// and the runs left over (thumb candidates).
fn tightest_four(runs: &[FingerRun]) -> (Vec<FingerRun>, Vec<FingerRun>) {
    let m = runs.len();
    let take = m.min(4);
    let mut best_start = 0;
    let mut best_span = f32::INFINITY;
    for s in 0..m {
        let span = angle_diff(runs[(s + take - 1) % m].angle, runs[s].angle)
            .rem_euclid(std::f32::consts::TAU);
        if span < best_span {
            best_span = span;
            best_start = s;
        }
    }
    let four: Vec<FingerRun> = (0..take).map(|i| runs[(best_start + i) % m]).collect();
    let rest: Vec<FingerRun> = (take..m).map(|i| runs[(best_start + i) % m]).collect();
    (four, rest)
}

/// The fingers' angular mean, as a unit vector (from the palm towards the fingers).
fn mean_direction(four: &[FingerRun]) -> (f32, f32) {
    // Angular mean of the four.
    let (mut ax, mut ay) = (0.0, 0.0);
    for f in four {
        ax += f.angle.cos();
        ay += f.angle.sin();
    }
    let an = (ax * ax + ay * ay).sqrt().max(1e-6);
    (ax / an, ay / an)
}

/// Side of a run relative to the finger direction (its direction dotted with `perp`).
fn side_of(f: &FingerRun, perp: (f32, f32)) -> f32 {
    let d = (f.angle.cos(), f.angle.sin());
    d.0 * perp.0 + d.1 * perp.1
}

/// How far a run's tip lies from the palm centre.
fn reach(f: &FingerRun, centre: (f32, f32)) -> f32 {
    (f.tip.0 - centre.0).hypot(f.tip.1 - centre.1)
}

/// The valley between the fingers at angles `a` and `b` (working pixels; `centre` when
/// no gap is found on the circle of radius `best_r`).
fn valley(
    seg: &Segmentation,
    centre: (f32, f32),
    best_r: f32,
    finger_dir: (f32, f32),
    a: f32,
    b: f32,
) -> (f32, f32) {
    let (w, h) = (seg.w, seg.h);
    // Valleys: along the bisector between adjacent runs, from the circle inwards.
    // Valleys: the background wedge between two adjacent fingers, flooded from the gap
    // on the circle inwards (never beyond the circle, so it cannot run round a
    // fingertip); its deepest pixel towards the palm is the web.
    let span = angle_diff(b, a);
    let mut seed = None;
    for k in 0..=20 {
        // From the middle of the gap outwards in both directions.
        for sgn in [1.0, -1.0] {
            let m = a + span / 2.0 + sgn * span * 0.02 * k as f32;
            let p = (centre.0 + best_r * m.cos(), centre.1 + best_r * m.sin());
            let (x, y) = (p.0.floor() as isize, p.1.floor() as isize);
            if seed.is_none()
                && x >= 0
                && y >= 0
                && (x as usize) < w
                && (y as usize) < h
                && !seg.at(x, y)
            {
                seed = Some((x as usize, y as usize));
            }
        }
    }
    let Some((sx, sy)) = seed else { return centre };
    let r2 = (best_r + 1.0) * (best_r + 1.0);
    let mut seen = vec![false; w * h];
    let mut stack = vec![(sx, sy)];
    seen[sy * w + sx] = true;
    let mut best = (f32::INFINITY, (sx as f32 + 0.5, sy as f32 + 0.5));
    while let Some((x, y)) = stack.pop() {
        let p = (x as f32 + 0.5, y as f32 + 0.5);
        let depth = (p.0 - centre.0) * finger_dir.0 + (p.1 - centre.1) * finger_dir.1;
        if depth < best.0 {
            best = (depth, p);
        }
        for (dx, dy) in [(-1isize, 0isize), (1, 0), (0, -1), (0, 1)] {
            let (nx, ny) = (x as isize + dx, y as isize + dy);
            if nx < 0 || ny < 0 || nx as usize >= w || ny as usize >= h {
                continue;
            }
            let (nx, ny) = (nx as usize, ny as usize);
            let i = ny * w + nx;
            if seen[i] || seg.mask[i] {
                continue;
            }
            let q = (nx as f32 + 0.5 - centre.0, ny as f32 + 0.5 - centre.1);
            if q.0 * q.0 + q.1 * q.1 > r2 {
                continue;
            }
            seen[i] = true;
            stack.push((nx, ny));
        }
    }
    best.1
}

/// The thumb side by vote: (sign, confidence 0–1); the sign is +1 for the side of
/// `perp(finger_dir)`, −1 for the other, 0 when the vote is too close. `fingers` are
/// the `four` ordered by side coordinate (ascending).
fn thumb_side(
    seg: &Segmentation,
    centre: (f32, f32),
    radius: f32,
    finger_dir: (f32, f32),
    four: &[FingerRun],
    fingers: &[FingerRun],
) -> (f32, f32) {
    // The thumb side, by vote (positive = the +perp side):
    // - a thumb lobe: a finger-like run 35–115° from the finger direction on one side,
    //   at any of the circle radii (weight 2 when the runs agree);
    // - the little finger is the shortest of the four and lies away from the thumb
    //   (weight 1.5);
    // - the middle finger is the longer of the two inner ones, on the index's side
    //   (weight 1);
    // - the thenar mount and thumb add mass on the thumb side (weight up to 1).
    let (plus, minus) = thumb_lobe_runs(seg, centre, radius, finger_dir, four);
    let mut vote = 0.0f32;
    let mut weight = 0.0f32;
    if plus + minus > 0 {
        let lobe = (plus as f32 - minus as f32) / (plus + minus) as f32;
        vote += 2.0 * lobe;
        weight += 2.0;
    }
    if fingers.len() == 4 {
        let (r0, r1, r2, r3) = (
            reach(&fingers[0], centre),
            reach(&fingers[1], centre),
            reach(&fingers[2], centre),
            reach(&fingers[3], centre),
        );
        let mean = (r0 + r1 + r2 + r3) / 4.0;
        vote += 1.5 * ((r3 - r0) / (0.1 * mean)).clamp(-1.0, 1.0);
        vote += ((r2 - r1) / (0.05 * mean)).clamp(-1.0, 1.0);
        weight += 2.5;
    }
    let mass = mass_asymmetry(seg, centre, finger_dir, radius).clamp(-1.0, 1.0);
    vote += mass;
    weight += 1.0;
    if vote.abs() > 0.1 {
        (vote.signum(), (vote.abs() / weight).min(1.0))
    } else {
        (0.0, 0.0)
    }
}

/// Sets each finger's length: tip to the mean valley level along the finger direction
/// (left at 0 without valleys).
fn set_finger_lengths(fingers: &mut [FingerRun], valleys: &[(f32, f32)], finger_dir: (f32, f32)) {
    // Finger lengths: tip to the mean valley level along the finger direction.
    if !valleys.is_empty() {
        let (vx, vy) = valleys
            .iter()
            .fold((0.0, 0.0), |a, v| (a.0 + v.0, a.1 + v.1));
        let base = (vx / valleys.len() as f32, vy / valleys.len() as f32);
        for f in fingers {
            f.length =
                ((f.tip.0 - base.0) * finger_dir.0 + (f.tip.1 - base.1) * finger_dir.1).max(0.0);
        }
    }
}

/// The palm's long axis (unit vector, towards the fingers): the middle finger's axis
/// averaged with its neighbours', or `finger_dir` without four fingers.
fn palm_axis(fingers: &[FingerRun], centre: (f32, f32), finger_dir: (f32, f32)) -> (f32, f32) {
    // The palm axis from the finger axes (index → little order when the side is
    // known; either way the middle finger is the longer inner one).
    if fingers.len() == 4 {
        let mid = if reach(&fingers[1], centre) >= reach(&fingers[2], centre) {
            1
        } else {
            2
        };
        let (a, b, c) = (
            fingers[mid].axis,
            fingers[mid - 1].axis,
            fingers[mid + 1].axis,
        );
        let v = (a.0 + 0.25 * (b.0 + c.0), a.1 + 0.25 * (b.1 + c.1));
        let n = (v.0 * v.0 + v.1 * v.1).sqrt().max(1e-6);
        (v.0 / n, v.1 / n)
    } else {
        finger_dir
    }
}

/// Signed mass asymmetry across the finger axis, below the palm centre and beside the
/// palm (where the thenar eminence and thumb add mass): positive when the side of
/// `perp(finger_dir)` holds more mask. Normalised to about −1..1.
fn mass_asymmetry(seg: &Segmentation, centre: (f32, f32), dir: (f32, f32), r: f32) -> f32 {
    let perp = (-dir.1, dir.0);
    let (mut pos, mut neg) = (0.0f32, 0.0f32);
    for y in 0..seg.h {
        for x in 0..seg.w {
            if !seg.mask[y * seg.w + x] {
                continue;
            }
            let (dx, dy) = (x as f32 + 0.5 - centre.0, y as f32 + 0.5 - centre.1);
            let along = dx * dir.0 + dy * dir.1;
            let across = dx * perp.0 + dy * perp.1;
            // The band from 1.2 R below the centre to 0.8 R above it.
            if along < -1.2 * r || along > 0.8 * r {
                continue;
            }
            if across > 0.0 {
                pos += across;
            } else {
                neg -= across;
            }
        }
    }
    let total = pos + neg;
    if total <= 0.0 {
        0.0
    } else {
        (pos - neg) / total * 4.0
    }
}
