//! The overlay: the photo with each measured line drawn in its own colour (the web
//! page's legend uses [`line_colour`]), slightly dimmed so the lines stand out.

use image::{Rgb, RgbImage};

use crate::features::{Features, LineId};
use crate::geometry::Point;

/// The colour a line is drawn in (RGB).
pub fn line_colour(id: LineId) -> [u8; 3] {
    match id {
        LineId::Heart => [230, 57, 70],    // red
        LineId::Head => [69, 123, 230],    // blue
        LineId::Life => [46, 196, 102],    // green
        LineId::Fate => [244, 162, 38],    // amber
        LineId::Sun => [255, 214, 10],     // yellow
        LineId::Mercury => [170, 90, 220], // violet
    }
}

/// How much of the photo's own brightness is kept under the lines (0–1).
const DIM: f32 = 0.75;

/// Draws every line of `features` on a dimmed copy of `image`.
pub fn render(image: &RgbImage, features: &Features) -> RgbImage {
    // Dimming through a table of the 256 values (the same numbers as computing each).
    let dim: [u8; 256] = std::array::from_fn(|c| (c as f32 * DIM) as u8);
    let mut out = image.clone();
    for c in out.iter_mut() {
        *c = dim[usize::from(*c)];
    }
    let scale = image.width().max(image.height()) as f32;
    let radius = (scale / 300.0).clamp(1.5, 8.0);
    for line in &features.lines {
        let colour = line_colour(line.id);
        for pair in line.polyline.windows(2) {
            stroke(&mut out, pair[0], pair[1], radius, colour);
        }
        if line.polyline.len() == 1 {
            stroke(&mut out, line.polyline[0], line.polyline[0], radius, colour);
        }
    }
    out
}

/// Encodes an image as PNG.
pub fn to_png(image: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// A thick segment with soft edges: every pixel within `radius` of the segment is
/// blended towards `colour`.
fn stroke(img: &mut RgbImage, a: Point, b: Point, radius: f32, colour: [u8; 3]) {
    if !(a.x.is_finite() && a.y.is_finite() && b.x.is_finite() && b.y.is_finite()) {
        return;
    }
    let (w, h) = (img.width() as f32, img.height() as f32);
    let pad = radius + 1.0;
    let x0 = (a.x.min(b.x) - pad).floor().max(0.0) as u32;
    let y0 = (a.y.min(b.y) - pad).floor().max(0.0) as u32;
    let x1 = (a.x.max(b.x) + pad).ceil().min(w - 1.0).max(0.0) as u32;
    let y1 = (a.y.max(b.y) + pad).ceil().min(h - 1.0).max(0.0) as u32;
    if x0 > x1 || y0 > y1 {
        return;
    }
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    for y in y0..=y1 {
        for x in x0..=x1 {
            let (px, py) = (x as f32 + 0.5, y as f32 + 0.5);
            let t = if len2 > 0.0 {
                (((px - a.x) * dx + (py - a.y) * dy) / len2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (cx, cy) = (a.x + t * dx, a.y + t * dy);
            let d = ((px - cx).powi(2) + (py - cy).powi(2)).sqrt();
            let alpha = (radius + 0.5 - d).clamp(0.0, 1.0);
            if alpha <= 0.0 {
                continue;
            }
            let Rgb(p) = img.get_pixel(x, y);
            let blended = [0, 1, 2].map(|i| {
                (f32::from(p[i]) * (1.0 - alpha) + f32::from(colour[i]) * alpha).round() as u8
            });
            img.put_pixel(x, y, Rgb(blended));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::features::*;

    fn features_with(line: MeasuredLine) -> Features {
        Features {
            image_width: 200,
            image_height: 100,
            quality: Quality {
                usable: true,
                issues: vec![],
                brightness: 0.5,
                overexposed_fraction: 0.0,
                sharpness: 100.0,
                hand_fraction: 0.5,
            },
            detection: Detection {
                method: DetectionMethod::Segmentation,
                confidence: 0.8,
                landmarks: None,
            },
            frame: None,
            side: None,
            side_source: SideSource::Unknown,
            shape: None,
            lines: vec![line],
        }
    }

    #[test]
    fn draws_lines_in_their_colour_and_dims_the_rest() {
        let img = RgbImage::from_pixel(200, 100, Rgb([200, 200, 200]));
        let line = MeasuredLine {
            id: LineId::Heart,
            polyline: vec![Point::new(10.0, 50.0), Point::new(190.0, 50.0)],
            length: 1.0,
            curvature: 0.0,
            depth: 0.5,
            breaks: 0,
            forks: 0,
            islands: 0,
            confidence: 0.9,
            fused_with: None,
        };
        let out = render(&img, &features_with(line));
        assert_eq!(out.get_pixel(100, 50).0, line_colour(LineId::Heart));
        assert_eq!(out.get_pixel(100, 10).0, [150, 150, 150]);
        let png = to_png(&out).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn odd_points_do_not_panic() {
        let img = RgbImage::from_pixel(10, 10, Rgb([0, 0, 0]));
        for (a, b) in [
            (Point::new(-100.0, -100.0), Point::new(-50.0, -50.0)),
            (Point::new(f32::NAN, 1.0), Point::new(2.0, 2.0)),
            (Point::new(1e9, 1e9), Point::new(-1e9, 5.0)),
        ] {
            let line = MeasuredLine {
                id: LineId::Life,
                polyline: vec![a, b],
                length: 0.0,
                curvature: 0.0,
                depth: 0.0,
                breaks: 0,
                forks: 0,
                islands: 0,
                confidence: 0.0,
                fused_with: None,
            };
            let _ = render(&img, &features_with(line));
        }
    }
}
