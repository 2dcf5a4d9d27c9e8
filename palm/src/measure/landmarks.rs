//! The 21 hand landmarks, found by MediaPipe's hand-landmark "lite" model run in pure
//! Rust with `tract-onnx`.
//!
//! The model (`palm/models/hand_landmark_lite.onnx`, Apache-2.0 by Google; provenance,
//! licence and how to reproduce it are in `palm/models/`) is embedded in the binary with
//! `include_bytes!`, so nothing is loaded from disk or the network at run time.
//!
//! Model contract: input `[1, 3, 224, 224]` float RGB in 0..1 (NCHW); outputs
//! `Identity` `[1, 63]` = 21 × (x, y, z) with x, y in pixels of the 224 × 224 input,
//! `Identity_1` `[1, 1]` hand presence, `Identity_2` `[1, 1]` handedness,
//! `Identity_3` `[1, 63]` world coordinates (unused here). Both scores already pass
//! through a sigmoid inside the model, so they are probabilities in 0..1.
//!
//! The model was trained on crops around one hand (MediaPipe first runs a palm detector
//! and rotates the crop so the hand is upright). We have no palm detector: [`detect`]
//! looks at the whole photo first, then again at a square around what it found. The
//! crop is not rotated, so a hand lying sideways is found less reliably than an upright
//! one (fingers up), which is how palm photos are usually taken.
//!
//! [`detect`]: LandmarkModel::detect

use std::fmt;
use std::sync::Arc;

use image::imageops::{self, FilterType};
use image::{Rgb, RgbImage};
use tract_onnx::prelude::{
    tvec, DatumType, Framework, InferenceFact, InferenceModelExt, IntoRunnable, Tensor,
    TypedRunnableModel,
};

use crate::engine::EngineError;
use crate::geometry::Point;
use crate::HandSide;

/// The ONNX model, embedded.
const MODEL_BYTES: &[u8] = include_bytes!("../../models/hand_landmark_lite.onnx");

/// Side of the model's square input, in pixels.
pub const INPUT_SIZE: u32 = 224;

/// Number of landmarks the model gives.
pub const LANDMARK_COUNT: usize = 21;

/// Presence score from which a result counts as a hand ([`HandLandmarks::is_confident`]).
/// 0.5 is the threshold MediaPipe's own hand-landmark graph applies to this score.
pub const PRESENCE_THRESHOLD: f32 = 0.5;

/// How much larger than the first pass's landmark bounding box the second pass's square
/// is (the box's longer side times this).
pub const REFINE_SCALE: f32 = 1.6;

/// The second pass is skipped after a confident first pass when its square would be at
/// least this share of the photo's longer side (it would barely zoom in). On the
/// evaluation set this halves the model time on large hands and costs 2 of 200 heart and
/// 2 of 190 head lines, no life line (thresholds 0.6 and 0.75 skip the same photos).
pub const SKIP_REFINE_ZOOM: f32 = 0.75;

/// The colour of the letterbox padding (and of anything of a region outside the photo):
/// black, as in MediaPipe's own letterboxing.
pub const PAD_COLOUR: Rgb<u8> = Rgb([0, 0, 0]);

/// The expected model outputs, in order.
const OUTPUT_NAMES: [&str; 4] = ["Identity", "Identity_1", "Identity_2", "Identity_3"];

/// The hand-landmark model as an optimised, runnable plan.
///
/// Built once (it takes a few tens of milliseconds) and then shared: the type is
/// `Send + Sync` and cheap to clone (the plan is behind an [`Arc`]), and every call
/// runs in its own state, so one model can serve several threads at once.
#[derive(Clone)]
pub struct LandmarkModel {
    plan: Arc<TypedRunnableModel>,
}

impl fmt::Debug for LandmarkModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LandmarkModel")
            .field("model", &"hand_landmark_lite.onnx")
            .field("input", &[1, 3, INPUT_SIZE, INPUT_SIZE])
            .finish()
    }
}

/// A square region of the photo, in image pixels: top-left corner `(x, y)` and side
/// `side`. It may reach outside the photo; what lies outside is padded with
/// [`PAD_COLOUR`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Region {
    pub x: f32,
    pub y: f32,
    pub side: f32,
}

impl Region {
    /// The smallest square centred on the photo that holds all of it (the letterbox of
    /// the whole photo).
    pub fn whole(image: &RgbImage) -> Self {
        let (w, h) = (image.width() as f32, image.height() as f32);
        let side = w.max(h);
        Region {
            x: (w - side) / 2.0,
            y: (h - side) / 2.0,
            side,
        }
    }

    /// The square of side `scale` × the longer side of the points' bounding box, centred
    /// on that box. `None` without points or with a non-finite one.
    pub fn around(points: &[Point], scale: f32) -> Option<Self> {
        if points.is_empty() || points.iter().any(|p| !p.x.is_finite() || !p.y.is_finite()) {
            return None;
        }
        let (mut x0, mut y0) = (f32::INFINITY, f32::INFINITY);
        let (mut x1, mut y1) = (f32::NEG_INFINITY, f32::NEG_INFINITY);
        for p in points {
            x0 = x0.min(p.x);
            y0 = y0.min(p.y);
            x1 = x1.max(p.x);
            y1 = y1.max(p.y);
        }
        let side = (x1 - x0).max(y1 - y0).max(1.0) * scale;
        let (cx, cy) = ((x0 + x1) / 2.0, (y0 + y1) / 2.0);
        Some(Region {
            x: cx - side / 2.0,
            y: cy - side / 2.0,
            side,
        })
    }

    /// Whether `p` lies inside the square, give or take `margin` pixels.
    pub fn contains(&self, p: Point, margin: f32) -> bool {
        p.x >= self.x - margin
            && p.x <= self.x + self.side + margin
            && p.y >= self.y - margin
            && p.y <= self.y + self.side + margin
    }
}

/// What the model found.
#[derive(Debug, Clone, PartialEq)]
pub struct HandLandmarks {
    /// The 21 landmarks in image pixels: 0 wrist; 1–4 thumb; 5–8 index; 9–12 middle;
    /// 13–16 ring; 17–20 little (MCP, PIP, DIP, tip). Always 21 points, but they mean
    /// nothing unless [`is_confident`](Self::is_confident).
    pub points: Vec<Point>,
    /// Hand-presence probability, 0–1.
    pub presence: f32,
    /// The model's raw handedness score, 0–1, as it gives it: the probability of a
    /// *left* hand in a mirrored (selfie-style) image. See
    /// [`handedness_side`](Self::handedness_side).
    pub handedness: f32,
}

impl HandLandmarks {
    /// Whether the model is sure enough that there is a hand:
    /// `presence >= PRESENCE_THRESHOLD` (0.5). False for a NaN score.
    pub fn is_confident(&self) -> bool {
        self.presence >= PRESENCE_THRESHOLD
    }

    /// Which hand the model thinks this is.
    ///
    /// The model was trained on mirrored, selfie-style images, and its score is the
    /// probability of the label "Left" (MediaPipe's label map is `Left`, `Right`, with
    /// the score belonging to the first). So:
    /// - `mirrored_input = true` (a selfie-camera image flipped horizontally, as the
    ///   model assumes): score ≥ 0.5 → [`HandSide::Left`], else [`HandSide::Right`];
    /// - `mirrored_input = false` (an ordinary, unmirrored photo, as an uploaded palm
    ///   photo usually is): the label flips, score ≥ 0.5 → [`HandSide::Right`], else
    ///   [`HandSide::Left`].
    ///
    /// Only meaningful when [`is_confident`](Self::is_confident); a score near 0.5 is a
    /// guess either way.
    pub fn handedness_side(&self, mirrored_input: bool) -> HandSide {
        let model_says_left = self.handedness >= 0.5;
        match (model_says_left, mirrored_input) {
            (true, true) | (false, false) => HandSide::Left,
            (false, true) | (true, false) => HandSide::Right,
        }
    }
}

impl LandmarkModel {
    /// Loads the embedded model and builds its optimised plan. Do it once and share the
    /// result.
    pub fn embedded() -> Result<Self, EngineError> {
        Self::from_onnx_bytes(MODEL_BYTES)
    }

    /// Loads a hand-landmark model with the same contract from ONNX bytes.
    fn from_onnx_bytes(bytes: &[u8]) -> Result<Self, EngineError> {
        let err = |what: &str, e: tract_onnx::prelude::TractError| {
            EngineError::Model(format!("{what}: {e:#}"))
        };
        let mut reader = bytes;
        let model = tract_onnx::onnx()
            .model_for_read(&mut reader)
            .map_err(|e| err("parsing the ONNX model", e))?;
        // Check the outputs are the ones (and in the order) the decoding below expects.
        let outputs = model
            .output_outlets()
            .map_err(|e| err("reading the model outputs", e))?;
        let names: Vec<&str> = outputs
            .iter()
            .map(|o| model.node(o.node).name.as_str())
            .collect();
        if names != OUTPUT_NAMES {
            return Err(EngineError::Model(format!(
                "unexpected model outputs {names:?}, expected {OUTPUT_NAMES:?}"
            )));
        }
        let s = INPUT_SIZE as usize;
        let plan = model
            .with_input_fact(0, InferenceFact::dt_shape(DatumType::F32, [1, 3, s, s]))
            .map_err(|e| err("setting the input shape", e))?
            .into_optimized()
            .map_err(|e| err("optimising the model", e))?
            .into_runnable()
            .map_err(|e| err("building the plan", e))?;
        Ok(LandmarkModel { plan })
    }

    /// One pass on a letterboxed square of `image` around `region` (image pixels; the
    /// whole image, [`Region::whole`], for the first pass).
    ///
    /// The part of `region` inside the photo is resized (triangle filter) to its place
    /// in a 224 × 224 square, the rest is [`PAD_COLOUR`]; the landmarks are mapped back
    /// to image pixels. An empty or non-finite region is an error.
    pub fn detect_in(
        &self,
        image: &RgbImage,
        region: Region,
    ) -> Result<HandLandmarks, EngineError> {
        let letterbox = Letterbox::new(image.width(), image.height(), region)?;
        let input = letterbox.render(image);
        self.run(&input, &letterbox)
    }

    /// Finds the hand in the whole photo: a first pass on the whole photo (letterboxed
    /// to a square), then a second pass on a square around the first pass's landmarks
    /// ([`REFINE_SCALE`] × their bounding box, padded where it leaves the photo),
    /// keeping the more confident of the two (the second on a tie, as it sees the hand
    /// at a higher resolution).
    ///
    /// The second pass is skipped when the first is confident and the second square would
    /// cover nearly the whole photo ([`SKIP_REFINE_ZOOM`]).
    pub fn detect(&self, image: &RgbImage) -> Result<HandLandmarks, EngineError> {
        let first = self.detect_in(image, Region::whole(image))?;
        let Some(region) = Region::around(&first.points, REFINE_SCALE) else {
            return Ok(first);
        };
        // A degenerate box (e.g. every point in one place), or one entirely outside the
        // photo (unconfident points in the letterbox padding), is not worth a second pass.
        if region.side < 8.0 || Letterbox::new(image.width(), image.height(), region).is_err() {
            return Ok(first);
        }
        // A confident first pass whose refined square would be nearly the whole photo: the
        // second pass would see almost the same pixels at almost the same scale.
        if first.is_confident()
            && region.side >= SKIP_REFINE_ZOOM * image.width().max(image.height()) as f32
        {
            return Ok(first);
        }
        let second = self.detect_in(image, region)?;
        if second.presence >= first.presence || first.presence.is_nan() {
            Ok(second)
        } else {
            Ok(first)
        }
    }

    /// Runs the model on a prepared 224 × 224 input and decodes the outputs.
    fn run(&self, input: &RgbImage, letterbox: &Letterbox) -> Result<HandLandmarks, EngineError> {
        let tensor = to_nchw(input)?;
        let outputs = self
            .plan
            .run(tvec!(tensor.into()))
            .map_err(|e| EngineError::Model(format!("running the model: {e:#}")))?;
        let read = |i: usize, len: usize| -> Result<Vec<f32>, EngineError> {
            let t = outputs
                .get(i)
                .ok_or_else(|| EngineError::Model(format!("model output {i} missing")))?;
            let v: Vec<f32> = t
                .to_plain_array_view::<f32>()
                .map_err(|e| EngineError::Model(format!("reading model output {i}: {e:#}")))?
                .iter()
                .copied()
                .collect();
            if v.len() != len {
                return Err(EngineError::Model(format!(
                    "model output {i} has {} values, expected {len}",
                    v.len()
                )));
            }
            Ok(v)
        };
        let raw = read(0, LANDMARK_COUNT * 3)?;
        let presence = read(1, 1)?[0];
        let handedness = read(2, 1)?[0];
        let points = raw
            .chunks_exact(3)
            .map(|c| letterbox.image_point(c[0], c[1]))
            .collect();
        Ok(HandLandmarks {
            points,
            presence,
            handedness,
        })
    }
}

/// Where a region of the photo goes in the model's input, and back.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Letterbox {
    /// The part of the region inside the photo, in whole image pixels: `[x0, x1) × [y0, y1)`.
    crop: (u32, u32, u32, u32),
    /// Where that part goes in the 224 square: top-left and size, in input pixels.
    dest: (i64, i64, u32, u32),
}

impl Letterbox {
    fn new(width: u32, height: u32, region: Region) -> Result<Self, EngineError> {
        let Region { x, y, side } = region;
        if !(x.is_finite() && y.is_finite() && side.is_finite()) || side < 1.0 {
            return Err(EngineError::Model(format!("invalid region {region:?}")));
        }
        let clamp = |v: f32, max: u32| v.clamp(0.0, max as f32) as u32;
        let (x0, x1) = (clamp(x.floor(), width), clamp((x + side).ceil(), width));
        let (y0, y1) = (clamp(y.floor(), height), clamp((y + side).ceil(), height));
        if x0 >= x1 || y0 >= y1 {
            return Err(EngineError::Model(format!(
                "region {region:?} lies outside the {width}x{height} image"
            )));
        }
        let k = INPUT_SIZE as f32 / side;
        let place = |lo: u32, hi: u32, origin: f32| {
            let d0 = ((lo as f32 - origin) * k).round() as i64;
            let d1 = ((hi as f32 - origin) * k).round() as i64;
            (d0, (d1 - d0).max(1) as u32)
        };
        let (dx, dw) = place(x0, x1, x);
        let (dy, dh) = place(y0, y1, y);
        Ok(Letterbox {
            crop: (x0, y0, x1, y1),
            dest: (dx, dy, dw, dh),
        })
    }

    /// The 224 × 224 model input.
    fn render(&self, image: &RgbImage) -> RgbImage {
        let (x0, y0, x1, y1) = self.crop;
        let (dx, dy, dw, dh) = self.dest;
        let scaled = resize_crop(image, (x0, y0, x1 - x0, y1 - y0), dw, dh);
        let mut input = RgbImage::from_pixel(INPUT_SIZE, INPUT_SIZE, PAD_COLOUR);
        imageops::replace(&mut input, &scaled, dx, dy);
        input
    }

    /// Image pixels of a point in input pixels (continuous coordinates, so the input's
    /// corners map to the region's corners).
    fn image_point(&self, px: f32, py: f32) -> Point {
        let (x0, y0, x1, y1) = self.crop;
        let (dx, dy, dw, dh) = self.dest;
        let sx = (x1 - x0) as f32 / dw as f32;
        let sy = (y1 - y0) as f32 / dh as f32;
        Point::new(
            x0 as f32 + (px - dx as f32) * sx,
            y0 as f32 + (py - dy as f32) * sy,
        )
    }
}

/// The `(x, y, width, height)` crop of `image` scaled to `width`×`height` with a
/// triangle (bilinear) filter: by the SIMD resizer of `fast_image_resize`, which reads
/// the crop in place (no copy of it is made), or, should it refuse, by `image`'s.
///
/// The resizer is called for 8-bit RGB only (`resize_typed`): its untyped `resize`
/// would compile its kernels for all thirteen pixel types into this crate, which was
/// 60 % of the crate's code and a minute and a half of every build.
fn resize_crop(image: &RgbImage, crop: (u32, u32, u32, u32), width: u32, height: u32) -> RgbImage {
    use fast_image_resize::images::{TypedImage, TypedImageRef};
    use fast_image_resize::pixels::U8x3;
    use fast_image_resize::{FilterType as Filter, ResizeAlg, ResizeOptions, Resizer};
    let (x, y, w, h) = crop;
    let fast = || {
        let src = TypedImageRef::<U8x3>::from_buffer(image.width(), image.height(), image.as_raw())
            .ok()?;
        let mut pixels = vec![0_u8; width as usize * height as usize * 3];
        let mut dst = TypedImage::<U8x3>::from_buffer(width, height, &mut pixels).ok()?;
        let options = ResizeOptions::new()
            .crop(f64::from(x), f64::from(y), f64::from(w), f64::from(h))
            .resize_alg(ResizeAlg::Convolution(Filter::Bilinear));
        Resizer::new().resize_typed(&src, &mut dst, &options).ok()?;
        RgbImage::from_raw(width, height, pixels)
    };
    fast().unwrap_or_else(|| {
        let crop = imageops::crop_imm(image, x, y, w, h).to_image();
        imageops::resize(&crop, width, height, FilterType::Triangle)
    })
}

/// `[1, 3, 224, 224]` float RGB in 0..1.
fn to_nchw(input: &RgbImage) -> Result<Tensor, EngineError> {
    let (w, h) = (input.width() as usize, input.height() as usize);
    let plane = w * h;
    let mut data = vec![0f32; 3 * plane];
    for (i, px) in input.pixels().enumerate() {
        for c in 0..3 {
            data[c * plane + i] = f32::from(px[c]) / 255.0;
        }
    }
    Tensor::from_shape(&[1, 3, h, w], &data)
        .map_err(|e| EngineError::Model(format!("building the input tensor: {e:#}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::OnceLock;
    use std::time::Instant;

    /// One model for all tests (building the plan is the slow part).
    fn model() -> &'static LandmarkModel {
        static MODEL: OnceLock<LandmarkModel> = OnceLock::new();
        MODEL.get_or_init(|| LandmarkModel::embedded().expect("the embedded model loads"))
    }

    fn grey(w: u32, h: u32) -> RgbImage {
        RgbImage::from_pixel(w, h, Rgb([128, 128, 128]))
    }

    /// A deterministic, textured test picture (no hand in it).
    fn pattern(w: u32, h: u32) -> RgbImage {
        RgbImage::from_fn(w, h, |x, y| {
            let v = (x * 7 + y * 13) ^ (x * y / 5);
            Rgb([
                (v % 251) as u8,
                (v / 3 % 241) as u8,
                ((x + 2 * y) % 255) as u8,
            ])
        })
    }

    #[test]
    fn landmarks_model_is_embedded_and_loads() {
        assert_eq!(MODEL_BYTES.len(), 4_133_921);
        let m = model();
        assert!(format!("{m:?}").contains("hand_landmark_lite"));
    }

    #[test]
    fn landmarks_model_is_send_sync_and_clone() {
        fn check<T: Send + Sync + Clone + 'static>() {}
        check::<LandmarkModel>();
    }

    #[test]
    fn landmarks_blank_grey_image_has_low_presence() {
        let out = model().detect(&grey(320, 240)).expect("runs");
        assert_eq!(out.points.len(), LANDMARK_COUNT);
        assert!(out.presence < 0.1, "presence {}", out.presence);
        assert!(!out.is_confident());
        assert!((0.0..=1.0).contains(&out.handedness));
    }

    #[test]
    fn landmarks_are_deterministic() {
        let img = pattern(300, 400);
        let a = model().detect(&img).expect("runs");
        let b = model().detect(&img).expect("runs");
        assert_eq!(a, b);
    }

    #[test]
    fn landmarks_same_result_from_several_threads() {
        let img = pattern(256, 256);
        let expected = model().detect(&img).expect("runs");
        let shared = Arc::new(model().clone());
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..3)
                .map(|_| {
                    let m = Arc::clone(&shared);
                    let img = &img;
                    s.spawn(move || m.detect(img).expect("runs"))
                })
                .collect();
            for h in handles {
                assert_eq!(h.join().expect("thread"), expected);
            }
        });
    }

    #[test]
    fn landmarks_map_back_inside_the_region() {
        let img = pattern(400, 300);
        let regions = [
            Region::whole(&img),
            Region {
                x: 100.0,
                y: 50.0,
                side: 150.0,
            },
            // Partly outside the photo.
            Region {
                x: 300.0,
                y: -40.0,
                side: 180.0,
            },
        ];
        for region in regions {
            let out = model().detect_in(&img, region).expect("runs");
            assert_eq!(out.points.len(), LANDMARK_COUNT);
            // The model's outputs stay near its 224 square; allow a tenth of the side.
            for p in &out.points {
                assert!(
                    region.contains(*p, region.side * 0.1),
                    "{p:?} outside {region:?}"
                );
            }
        }
    }

    #[test]
    fn landmarks_letterbox_maps_corners_and_pixels() {
        // A wide image: the whole-image square has padding above and below.
        let (w, h) = (448, 224);
        let region = Region::whole(&RgbImage::new(w, h));
        assert_eq!(
            region,
            Region {
                x: 0.0,
                y: -112.0,
                side: 448.0
            }
        );
        let lb = Letterbox::new(w, h, region).expect("valid");
        assert_eq!(lb.crop, (0, 0, 448, 224));
        assert_eq!(lb.dest, (0, 56, 224, 112));
        let p = lb.image_point(0.0, 0.0);
        assert!((p.x - region.x).abs() < 1e-3 && (p.y - region.y).abs() < 1e-3);
        let p = lb.image_point(224.0, 224.0);
        assert!((p.x - 448.0).abs() < 1e-3 && (p.y - 336.0).abs() < 1e-3);
        let p = lb.image_point(112.0, 112.0);
        assert!((p.x - 224.0).abs() < 1e-3 && (p.y - 112.0).abs() < 1e-3);

        // A bright pixel block lands where the mapping says, and the padding is black.
        let mut img = RgbImage::from_pixel(w, h, Rgb([0, 0, 0]));
        for y in 100..110 {
            for x in 300..310 {
                img.put_pixel(x, y, Rgb([255, 255, 255]));
            }
        }
        let input = lb.render(&img);
        // Image (305, 105) is input (152.5, 108.5).
        let q = lb.image_point(152.5, 108.5);
        assert!((q.x - 305.0).abs() < 1e-3 && (q.y - 105.0).abs() < 1e-3);
        assert!(input.get_pixel(152, 108)[0] > 200);
        assert_eq!(input.get_pixel(10, 10), &PAD_COLOUR);

        // Regions outside the photo, or degenerate, are errors.
        assert!(Letterbox::new(
            w,
            h,
            Region {
                x: 500.0,
                y: 0.0,
                side: 50.0
            }
        )
        .is_err());
        assert!(Letterbox::new(
            w,
            h,
            Region {
                x: 0.0,
                y: 0.0,
                side: f32::NAN
            }
        )
        .is_err());
        assert!(Letterbox::new(
            w,
            h,
            Region {
                x: 0.0,
                y: 0.0,
                side: 0.0
            }
        )
        .is_err());
    }

    #[test]
    fn landmarks_region_around_points() {
        let pts = [Point::new(10.0, 20.0), Point::new(30.0, 60.0)];
        let r = Region::around(&pts, 1.5).expect("some");
        assert_eq!(
            r,
            Region {
                x: 20.0 - 30.0,
                y: 40.0 - 30.0,
                side: 60.0
            }
        );
        assert!(Region::around(&[], 1.5).is_none());
        assert!(Region::around(&[Point::new(f32::NAN, 0.0)], 1.5).is_none());
    }

    #[test]
    fn landmarks_handedness_mapping() {
        let mut l = HandLandmarks {
            points: vec![Point::default(); LANDMARK_COUNT],
            presence: 0.9,
            handedness: 0.8,
        };
        assert!(l.is_confident());
        assert_eq!(l.handedness_side(true), HandSide::Left);
        assert_eq!(l.handedness_side(false), HandSide::Right);
        l.handedness = 0.2;
        assert_eq!(l.handedness_side(true), HandSide::Right);
        assert_eq!(l.handedness_side(false), HandSide::Left);
        l.presence = f32::NAN;
        assert!(!l.is_confident());
    }

    /// Smoke test without timing assertions: a typical phone-photo size runs, and the
    /// time per `detect` (two passes) is printed for `--nocapture`.
    #[test]
    fn landmarks_smoke_detect_on_photo_sized_image() {
        let start = Instant::now();
        let fresh = LandmarkModel::embedded().expect("loads");
        let load = start.elapsed();
        drop(fresh);
        let img = pattern(1200, 1600);
        let m = model();
        let start = Instant::now();
        let out = m.detect(&img).expect("runs");
        let first = start.elapsed();
        let n = 3;
        let start = Instant::now();
        for _ in 0..n {
            m.detect(&img).expect("runs");
        }
        let per = start.elapsed() / n;
        let small = grey(224, 224);
        let start = Instant::now();
        for _ in 0..n {
            m.detect_in(&small, Region::whole(&small)).expect("runs");
        }
        let per_pass = start.elapsed() / n;
        println!(
            "landmarks timing: embedded() {load:?}; detect(1200x1600) first {first:?}, \
             then {per:?} each; one pass on 224x224 {per_pass:?}; presence {:.4}",
            out.presence
        );
    }
}
