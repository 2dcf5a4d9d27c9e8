//! Small raster toolkit for the measure stage: float grey images, area downscaling,
//! separable Gaussian blur, grey morphology with a disc, the Laplacian, Otsu's
//! threshold, connected components and bilinear sampling. Everything is plain safe
//! Rust on `Vec`s; the images it works on are small (a few hundred pixels a side).

use std::collections::VecDeque;

/// A single-channel float image, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Gray {
    pub w: usize,
    pub h: usize,
    pub data: Vec<f32>,
}

impl Gray {
    pub fn new(w: usize, h: usize, value: f32) -> Self {
        Self {
            w,
            h,
            data: vec![value; w * h],
        }
    }

    #[inline]
    pub fn get(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.w + x]
    }

    #[inline]
    pub fn set(&mut self, x: usize, y: usize, v: f32) {
        self.data[y * self.w + x] = v;
    }

    /// Value at integer coordinates clamped to the image.
    #[inline]
    pub fn get_clamped(&self, x: isize, y: isize) -> f32 {
        let x = x.clamp(0, self.w as isize - 1) as usize;
        let y = y.clamp(0, self.h as isize - 1) as usize;
        self.get(x, y)
    }

    /// Bilinear sample at `(x, y)` in pixel-centre coordinates (pixel `i` covers
    /// `[i, i+1)` and its centre is `i + 0.5`); clamped at the borders.
    pub fn sample(&self, x: f32, y: f32) -> f32 {
        let fx = x - 0.5;
        let fy = y - 0.5;
        let x0 = fx.floor();
        let y0 = fy.floor();
        let ax = fx - x0;
        let ay = fy - y0;
        let (x0, y0) = (x0 as isize, y0 as isize);
        let a = self.get_clamped(x0, y0);
        let b = self.get_clamped(x0 + 1, y0);
        let c = self.get_clamped(x0, y0 + 1);
        let d = self.get_clamped(x0 + 1, y0 + 1);
        (a * (1.0 - ax) + b * ax) * (1.0 - ay) + (c * (1.0 - ax) + d * ax) * ay
    }

    /// Averages `factor × factor` blocks (a box pre-filter for downscaling).
    pub fn downscale(&self, factor: usize) -> Gray {
        if factor <= 1 {
            return self.clone();
        }
        let w = (self.w / factor).max(1);
        let h = (self.h / factor).max(1);
        let mut out = Gray::new(w, h, 0.0);
        for oy in 0..h {
            for ox in 0..w {
                let mut sum = 0.0;
                let mut n = 0.0;
                for y in oy * factor..((oy + 1) * factor).min(self.h) {
                    for x in ox * factor..((ox + 1) * factor).min(self.w) {
                        sum += self.get(x, y);
                        n += 1.0;
                    }
                }
                out.set(ox, oy, if n > 0.0 { sum / n } else { 0.0 });
            }
        }
        out
    }
}

/// An RGB float image (channels 0–1), row-major.
#[derive(Debug, Clone)]
pub struct Rgbf {
    pub w: usize,
    pub h: usize,
    pub data: Vec<[f32; 3]>,
}

impl Rgbf {
    /// Area-averaged downscale of `image` so that its longer side is at most `max_side`
    /// (an integer block factor: the result is at most `max_side`, at least half of it).
    /// Returns the image and the factor (input pixels per output pixel).
    pub fn from_image(image: &image::RgbImage, max_side: usize) -> (Rgbf, usize) {
        let (iw, ih) = (image.width() as usize, image.height() as usize);
        let longest = iw.max(ih).max(1);
        let factor = longest.div_ceil(max_side.max(1)).max(1);
        let w = (iw / factor).max(1);
        let h = (ih / factor).max(1);
        let mut data = vec![[0.0f32; 3]; w * h];
        let raw = image.as_raw();
        for oy in 0..h {
            for ox in 0..w {
                let mut acc = [0.0f32; 3];
                let mut n = 0.0f32;
                for y in oy * factor..((oy + 1) * factor).min(ih) {
                    let row = y * iw * 3;
                    for x in ox * factor..((ox + 1) * factor).min(iw) {
                        let i = row + x * 3;
                        acc[0] += raw[i] as f32;
                        acc[1] += raw[i + 1] as f32;
                        acc[2] += raw[i + 2] as f32;
                        n += 1.0;
                    }
                }
                let k = if n > 0.0 { 1.0 / (n * 255.0) } else { 0.0 };
                data[oy * w + ox] = [acc[0] * k, acc[1] * k, acc[2] * k];
            }
        }
        (Rgbf { w, h, data }, factor)
    }
}

/// Rec. 601 luma of an 8-bit RGB image at full resolution, 0–1.
pub fn luma_full(image: &image::RgbImage) -> Gray {
    let (w, h) = (image.width() as usize, image.height() as usize);
    let data = image
        .as_raw()
        .chunks_exact(3)
        .map(|p| (0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32) / 255.0)
        .collect();
    Gray { w, h, data }
}

/// Rec. 601 luma of a float RGB pixel.
#[inline]
pub fn luma(p: [f32; 3]) -> f32 {
    0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2]
}

/// Separable Gaussian blur (clamped borders). `sigma <= 0` returns a copy.
///
/// Each output is `Σ_j kernel[j] · src[clamp(x + j − radius)]`, summed in `j` order
/// from 0.0; the loops run over `j` outside and `x` inside (on rows padded with their
/// edge values) so that they vectorise, without changing any sum's order, so the result
/// is bit for bit that of the direct loops (checked by a test).
pub fn gaussian_blur(src: &Gray, sigma: f32) -> Gray {
    if sigma <= 0.0 || src.w == 0 || src.h == 0 {
        return src.clone();
    }
    let radius = (sigma * 3.0).ceil() as isize;
    let mut kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = kernel.iter().sum();
    for k in &mut kernel {
        *k /= sum;
    }
    let r = radius as usize;
    let (w, h) = (src.w, src.h);
    // Horizontal pass, one row at a time, on the row padded with its end values.
    let mut tmp = Gray::new(w, h, 0.0);
    let mut padded = vec![0.0f32; w + 2 * r];
    for (row, out) in src.data.chunks_exact(w).zip(tmp.data.chunks_exact_mut(w)) {
        padded[..r].fill(row[0]);
        padded[r..r + w].copy_from_slice(row);
        padded[r + w..].fill(row[w - 1]);
        for (j, &k) in kernel.iter().enumerate() {
            for (o, &v) in out.iter_mut().zip(&padded[j..j + w]) {
                *o += k * v;
            }
        }
    }
    // Vertical pass: whole rows, the source row index clamped.
    let mut out = Gray::new(w, h, 0.0);
    for (y, row) in out.data.chunks_exact_mut(w).enumerate() {
        for (j, &k) in kernel.iter().enumerate() {
            let yy = (y as isize + j as isize - radius).clamp(0, h as isize - 1) as usize;
            for (o, &v) in row.iter_mut().zip(&tmp.data[yy * w..(yy + 1) * w]) {
                *o += k * v;
            }
        }
    }
    out
}

/// Half-widths of the rows of a disc of `radius` pixels: `spans[dy + r]` is the
/// half-width of row `dy`.
fn disc_spans(radius: usize) -> Vec<usize> {
    let r = radius as f32 + 0.5;
    (0..=2 * radius)
        .map(|i| {
            let dy = i as f32 - radius as f32;
            (r * r - dy * dy).max(0.0).sqrt().floor() as usize
        })
        .collect()
}

/// Scratch buffers of [`row_extrema`], reused from row to row.
#[derive(Default)]
struct ExtremaScratch {
    padded: Vec<f32>,
    prefix: Vec<f32>,
    suffix: Vec<f32>,
}

/// Running 1-D min or max over `[x - k, x + k]` (clamped).
fn row_extrema(row: &[f32], k: usize, take_max: bool, out: &mut [f32], s: &mut ExtremaScratch) {
    let n = row.len();
    // Van Herk / Gil–Werman: block prefix and suffix extrema, O(n) per row.
    let win = 2 * k + 1;
    let pick = |a: f32, b: f32| if take_max { a.max(b) } else { a.min(b) };
    let pad = if take_max {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let m = n + 2 * k;
    s.padded.clear();
    s.padded.resize(m, pad);
    s.padded[k..k + n].copy_from_slice(row);
    s.prefix.clear();
    s.prefix.resize(m, pad);
    s.suffix.clear();
    s.suffix.resize(m, pad);
    let (padded, prefix, suffix) = (&s.padded, &mut s.prefix, &mut s.suffix);
    // Blocks of `win` values (the last one may be shorter): extrema from each block's
    // start (prefix) and to its end (suffix).
    for start in (0..m).step_by(win) {
        let end = (start + win).min(m);
        prefix[start] = padded[start];
        for i in start + 1..end {
            prefix[i] = pick(prefix[i - 1], padded[i]);
        }
        suffix[end - 1] = padded[end - 1];
        for i in (start..end - 1).rev() {
            suffix[i] = pick(suffix[i + 1], padded[i]);
        }
    }
    for (x, o) in out.iter_mut().enumerate().take(n) {
        // Window in padded coordinates: [x, x + 2k].
        *o = pick(suffix[x], prefix[x + 2 * k]);
    }
}

/// Grey dilation (`take_max`) or erosion with a disc of `radius` pixels; borders are
/// ignored (the disc is clipped to the image).
pub fn morph_disc(src: &Gray, radius: usize, take_max: bool) -> Gray {
    if radius == 0 || src.w == 0 || src.h == 0 {
        return src.clone();
    }
    let (w, h) = (src.w, src.h);
    let spans = disc_spans(radius);
    let mut widths: Vec<usize> = spans.clone();
    widths.sort_unstable();
    widths.dedup();
    // Row extrema for every distinct half-width.
    let mut scratch = ExtremaScratch::default();
    let mut per_width: Vec<Vec<f32>> = Vec::with_capacity(widths.len());
    for &k in &widths {
        let mut buf = vec![0.0f32; w * h];
        for (row, out) in src.data.chunks_exact(w).zip(buf.chunks_exact_mut(w)) {
            row_extrema(row, k, take_max, out, &mut scratch);
        }
        per_width.push(buf);
    }
    let index_of = |k: usize| widths.iter().position(|&x| x == k).unwrap_or(0);
    let span_idx: Vec<usize> = spans.iter().map(|&k| index_of(k)).collect();
    // Each output row: the extremum, in disc-row order, of the rows above and below at
    // their half-widths (whole rows at a time, so the loop vectorises).
    let init = if take_max {
        f32::NEG_INFINITY
    } else {
        f32::INFINITY
    };
    let mut out = Gray::new(w, h, init);
    for (y, row) in out.data.chunks_exact_mut(w).enumerate() {
        for (i, &wi) in span_idx.iter().enumerate() {
            let yy = y as isize + i as isize - radius as isize;
            if yy < 0 || yy >= h as isize {
                continue;
            }
            let yy = yy as usize;
            let src_row = &per_width[wi][yy * w..(yy + 1) * w];
            if take_max {
                for (o, &v) in row.iter_mut().zip(src_row) {
                    *o = o.max(v);
                }
            } else {
                for (o, &v) in row.iter_mut().zip(src_row) {
                    *o = o.min(v);
                }
            }
        }
    }
    out
}

/// Grey closing (dilate then erode) with a disc.
pub fn close_disc(src: &Gray, radius: usize) -> Gray {
    morph_disc(&morph_disc(src, radius, true), radius, false)
}

/// Binary dilation / erosion of a mask with a disc.
pub fn mask_morph(mask: &[bool], w: usize, h: usize, radius: usize, dilate: bool) -> Vec<bool> {
    let g = Gray {
        w,
        h,
        data: mask.iter().map(|&b| if b { 1.0 } else { 0.0 }).collect(),
    };
    morph_disc(&g, radius, dilate)
        .data
        .iter()
        .map(|&v| v > 0.5)
        .collect()
}

/// Variance of the 4-neighbour Laplacian over the pixels where `mask` is set (all
/// pixels when `mask` is `None`), skipping the image border.
pub fn laplacian_variance(src: &Gray, mask: Option<&[bool]>) -> f32 {
    let (w, h) = (src.w, src.h);
    if w < 3 || h < 3 {
        return 0.0;
    }
    let mut sum = 0.0f64;
    let mut sum2 = 0.0f64;
    let mut n = 0usize;
    for y in 1..h - 1 {
        for x in 1..w - 1 {
            let i = y * w + x;
            if let Some(m) = mask {
                if !m[i] {
                    continue;
                }
            }
            let l = src.data[i - 1] + src.data[i + 1] + src.data[i - w] + src.data[i + w]
                - 4.0 * src.data[i];
            sum += l as f64;
            sum2 += (l as f64) * (l as f64);
            n += 1;
        }
    }
    if n == 0 {
        return 0.0;
    }
    let mean = sum / n as f64;
    (sum2 / n as f64 - mean * mean).max(0.0) as f32
}

/// Otsu's threshold of `values` (assumed within `[lo, hi]`), 256 bins.
pub fn otsu(values: &[f32], lo: f32, hi: f32) -> f32 {
    if values.is_empty() || hi <= lo {
        return lo;
    }
    let bins = 256usize;
    let mut hist = vec![0usize; bins];
    let scale = (bins - 1) as f32 / (hi - lo);
    for &v in values {
        let b = (((v - lo) * scale).round().max(0.0) as usize).min(bins - 1);
        hist[b] += 1;
    }
    let total = values.len() as f64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0) = (0.0f64, 0.0f64);
    let (mut best, mut best_t) = (-1.0f64, 0usize);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c as f64;
        if w0 == 0.0 {
            continue;
        }
        let w1 = total - w0;
        if w1 == 0.0 {
            break;
        }
        sum0 += t as f64 * c as f64;
        let m0 = sum0 / w0;
        let m1 = (sum_all - sum0) / w1;
        let between = w0 * w1 * (m0 - m1) * (m0 - m1);
        if between > best {
            best = between;
            best_t = t;
        }
    }
    lo + (best_t as f32 + 0.5) / scale
}

/// The `q`-quantile (0–1) of `values` (copied and partially sorted).
pub fn quantile(values: &[f32], q: f32) -> f32 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    let k = ((v.len() - 1) as f32 * q.clamp(0.0, 1.0)).round() as usize;
    let (_, nth, _) = v.select_nth_unstable_by(k, |a, b| a.total_cmp(b));
    *nth
}

/// 8-connected components of `mask`: a label per pixel (0 = background, 1.. = component)
/// and the pixel count of each component (index 0 unused).
pub fn components(mask: &[bool], w: usize, h: usize) -> (Vec<u32>, Vec<usize>) {
    let mut labels = vec![0u32; w * h];
    let mut sizes = vec![0usize];
    let mut queue = VecDeque::new();
    for start in 0..w * h {
        if !mask[start] || labels[start] != 0 {
            continue;
        }
        let label = sizes.len() as u32;
        let mut count = 0;
        labels[start] = label;
        queue.push_back(start);
        while let Some(i) = queue.pop_front() {
            count += 1;
            let (x, y) = ((i % w) as isize, (i / w) as isize);
            for dy in -1..=1isize {
                for dx in -1..=1isize {
                    let (nx, ny) = (x + dx, y + dy);
                    if nx < 0 || ny < 0 || nx >= w as isize || ny >= h as isize {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if mask[j] && labels[j] == 0 {
                        labels[j] = label;
                        queue.push_back(j);
                    }
                }
            }
        }
        sizes.push(count);
    }
    (labels, sizes)
}

/// Keeps only the largest 8-connected component of `mask`; returns its size.
pub fn keep_largest(mask: &mut [bool], w: usize, h: usize) -> usize {
    let (labels, sizes) = components(mask, w, h);
    let Some((best, &size)) = sizes.iter().enumerate().skip(1).max_by_key(|(_, &s)| s) else {
        return 0;
    };
    for (m, &l) in mask.iter_mut().zip(&labels) {
        *m = l as usize == best;
    }
    size
}

/// Fills the holes of `mask` (background regions not connected to the border).
pub fn fill_holes(mask: &mut [bool], w: usize, h: usize) {
    let mut outside = vec![false; w * h];
    let mut queue = VecDeque::new();
    for x in 0..w {
        for y in [0, h.saturating_sub(1)] {
            let i = y * w + x;
            if !mask[i] && !outside[i] {
                outside[i] = true;
                queue.push_back(i);
            }
        }
    }
    for y in 0..h {
        for x in [0, w.saturating_sub(1)] {
            let i = y * w + x;
            if !mask[i] && !outside[i] {
                outside[i] = true;
                queue.push_back(i);
            }
        }
    }
    while let Some(i) = queue.pop_front() {
        let (x, y) = (i % w, i / w);
        let mut visit = |j: usize| {
            if !mask[j] && !outside[j] {
                outside[j] = true;
                queue.push_back(j);
            }
        };
        if x > 0 {
            visit(i - 1);
        }
        if x + 1 < w {
            visit(i + 1);
        }
        if y > 0 {
            visit(i - w);
        }
        if y + 1 < h {
            visit(i + w);
        }
    }
    for (m, o) in mask.iter_mut().zip(&outside) {
        if !*o {
            *m = true;
        }
    }
}

/// Euclidean-ish distance to the nearest background pixel (two-pass chamfer 3-4,
/// in pixels). Pixels outside the image count as background.
pub fn distance_transform(mask: &[bool], w: usize, h: usize) -> Vec<f32> {
    const INF: f32 = 1e9;
    let (a, b) = (1.0f32, std::f32::consts::SQRT_2);
    let mut d: Vec<f32> = mask.iter().map(|&m| if m { INF } else { 0.0 }).collect();
    let at = |d: &Vec<f32>, x: isize, y: isize| -> f32 {
        if x < 0 || y < 0 || x >= w as isize || y >= h as isize {
            0.0
        } else {
            d[y as usize * w + x as usize]
        }
    };
    for y in 0..h as isize {
        for x in 0..w as isize {
            let i = y as usize * w + x as usize;
            if d[i] == 0.0 {
                continue;
            }
            let v = d[i]
                .min(at(&d, x - 1, y) + a)
                .min(at(&d, x, y - 1) + a)
                .min(at(&d, x - 1, y - 1) + b)
                .min(at(&d, x + 1, y - 1) + b);
            d[i] = v;
        }
    }
    for y in (0..h as isize).rev() {
        for x in (0..w as isize).rev() {
            let i = y as usize * w + x as usize;
            if d[i] == 0.0 {
                continue;
            }
            let v = d[i]
                .min(at(&d, x + 1, y) + a)
                .min(at(&d, x, y + 1) + a)
                .min(at(&d, x + 1, y + 1) + b)
                .min(at(&d, x - 1, y + 1) + b);
            d[i] = v;
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measure_raster_morphology_matches_naive() {
        let (w, h) = (23, 17);
        let data: Vec<f32> = (0..w * h).map(|i| ((i * 7919) % 101) as f32).collect();
        let g = Gray { w, h, data };
        for (r, take_max) in [1usize, 2, 4, 6, 12]
            .into_iter()
            .flat_map(|r| [(r, false), (r, true)])
        {
            let fast = morph_disc(&g, r, take_max);
            let spans = disc_spans(r);
            for y in 0..h {
                for x in 0..w {
                    let mut m = if take_max {
                        f32::NEG_INFINITY
                    } else {
                        f32::INFINITY
                    };
                    for (i, &k) in spans.iter().enumerate() {
                        let yy = y as isize + i as isize - r as isize;
                        if yy < 0 || yy >= h as isize {
                            continue;
                        }
                        for dx in -(k as isize)..=(k as isize) {
                            let xx = x as isize + dx;
                            if xx < 0 || xx >= w as isize {
                                continue;
                            }
                            let v = g.get(xx as usize, yy as usize);
                            m = if take_max { m.max(v) } else { m.min(v) };
                        }
                    }
                    assert_eq!(fast.get(x, y), m, "r={r} max={take_max} at {x},{y}");
                }
            }
        }
    }

    /// The direct, clamped loops `gaussian_blur` was written as first.
    fn gaussian_blur_direct(src: &Gray, sigma: f32) -> Gray {
        let radius = (sigma * 3.0).ceil() as isize;
        let mut kernel: Vec<f32> = (-radius..=radius)
            .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
            .collect();
        let sum: f32 = kernel.iter().sum();
        for k in &mut kernel {
            *k /= sum;
        }
        let (w, h) = (src.w, src.h);
        let mut tmp = Gray::new(w, h, 0.0);
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (j, k) in kernel.iter().enumerate() {
                    let xx = (x as isize + j as isize - radius).clamp(0, w as isize - 1) as usize;
                    acc += k * src.data[y * w + xx];
                }
                tmp.data[y * w + x] = acc;
            }
        }
        let mut out = Gray::new(w, h, 0.0);
        for y in 0..h {
            for x in 0..w {
                let mut acc = 0.0;
                for (j, k) in kernel.iter().enumerate() {
                    let yy = (y as isize + j as isize - radius).clamp(0, h as isize - 1) as usize;
                    acc += k * tmp.data[yy * w + x];
                }
                out.data[y * w + x] = acc;
            }
        }
        out
    }

    #[test]
    fn measure_raster_blur_is_bit_identical_to_the_direct_loops() {
        for (w, h) in [(23, 17), (1, 9), (9, 1), (3, 2), (64, 40)] {
            let data: Vec<f32> = (0..w * h)
                .map(|i| ((i * 7919 + 13) % 257) as f32 / 256.0 - 0.25)
                .collect();
            let g = Gray { w, h, data };
            for sigma in [0.5f32, 1.0, 1.5, 2.0, 2.3, 3.3, 7.0] {
                let fast = gaussian_blur(&g, sigma);
                let direct = gaussian_blur_direct(&g, sigma);
                let same = fast
                    .data
                    .iter()
                    .zip(&direct.data)
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{w}x{h} sigma {sigma}");
            }
        }
    }

    #[test]
    fn measure_raster_otsu_splits_two_levels() {
        let mut v = vec![0.2f32; 100];
        v.extend(vec![0.8f32; 50]);
        let t = otsu(&v, 0.0, 1.0);
        assert!(t > 0.2 && t < 0.8, "{t}");
    }

    #[test]
    fn measure_raster_fill_and_components() {
        let (w, h) = (8, 8);
        let mut m = vec![false; w * h];
        for y in 1..6 {
            for x in 1..6 {
                m[y * w + x] = !(x == 3 && y == 3);
            }
        }
        m[7 * w + 7] = true;
        let size = keep_largest(&mut m, w, h);
        assert_eq!(size, 24);
        fill_holes(&mut m, w, h);
        assert!(m[3 * w + 3]);
        assert!(!m[7 * w + 7]);
    }
}
