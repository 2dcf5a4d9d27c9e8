//! Stage one: image → [`Features`]. Deterministic: the same image always gives the
//! same features (no randomness, no threads, no clocks).
//!
//! The steps, one module each:
//! 1. Detection — [`landmarks`] (the MediaPipe hand-landmark model) when it is present
//!    and confident, otherwise skin segmentation and the hand's outline ([`segment`]).
//! 2. The palm frame and the hand side ([`frame`]).
//! 3. The quality gate ([`quality`]).
//! 4. Creases: the palm resampled onto a grid in its own frame, a ridge filter,
//!    hysteresis, thinning and the skeleton graph ([`creases`], [`skeleton`]).
//! 5. Line assignment by position in the frame and the measurements ([`lines`]).
//! 6. Hand shape ([`shape`]).
//!
//! All image work happens at reduced resolution: segmentation on a ≤ 256 px copy, the
//! creases on a grid of 240 px per palm width (a major crease is 1–3 % of the palm
//! width, so 2–7 grid pixels).

pub mod creases;
pub mod finger_base;
pub mod frame;
pub mod landmarks;
pub mod lines;
pub mod quality;
pub mod raster;
pub mod segment;
pub mod shape;
pub mod skeleton;
pub mod wrist;

use std::sync::Arc;

use crate::features::{
    Detection, DetectionMethod, Features, HandShape, LineId, MeasuredLine, QualityIssue, SideSource,
};
use crate::geometry::{PalmFrame, Point};
use crate::{HandSide, Measure};

use landmarks::LandmarkModel;
use segment::{HandGeometry, Segmentation};

/// Confidence of the thumb side (0–1) from which the segmentation's own hand side is
/// reported (`SideSource::Model`).
const SIDE_CONFIDENCE: f32 = 0.5;
/// Landmark handedness scores this far from 0.5 count as sure.
const HANDEDNESS_SURE: f32 = 0.35;

/// The offline measurer: the landmark model when available, skin segmentation otherwise.
#[derive(Debug, Default, Clone)]
pub struct OfflineMeasure {
    pub landmarks: Option<Arc<LandmarkModel>>,
}

impl OfflineMeasure {
    pub fn new(model: Option<Arc<LandmarkModel>>) -> Self {
        Self { landmarks: model }
    }
}

fn no_hand(image: &image::RgbImage, side: Option<HandSide>, extra: &[QualityIssue]) -> Features {
    let (brightness, clipped) = if image.width() > 0 && image.height() > 0 {
        let (rgb, _) = raster::Rgbf::from_image(image, segment::SEG_SIDE);
        quality::exposure_stats(&rgb, None)
    } else {
        (0.0, 0.0)
    };
    let mut issues = vec![QualityIssue::NoHand];
    issues.extend_from_slice(extra);
    if brightness < quality::TOO_DARK && image.width() > 0 && image.height() > 0 {
        issues.push(QualityIssue::TooDark);
    }
    if clipped >= quality::OVEREXPOSED_NO_HAND {
        issues.push(QualityIssue::Overexposed);
    }
    Features {
        image_width: image.width(),
        image_height: image.height(),
        quality: quality::verdict(issues, brightness, clipped, 0.0, 0.0),
        detection: Detection {
            method: DetectionMethod::None,
            confidence: 0.0,
            landmarks: None,
        },
        frame: None,
        side,
        side_source: if side.is_some() {
            SideSource::Uploader
        } else {
            SideSource::Unknown
        },
        shape: None,
        lines: Vec::new(),
    }
}

/// Features for a photo in which no palm frame was found.
fn no_frame(
    image: &image::RgbImage,
    side: Option<HandSide>,
    seg: Option<&Segmentation>,
) -> Features {
    let (iw, ih) = (image.width(), image.height());
    // A small, evenly coloured skin region: probably a hand too small to make out.
    let small = seg.is_some_and(|s| {
        let fraction = s.fraction_of(iw, ih);
        (quality::SMALL_SKIN_REGION..quality::HAND_TOO_SMALL).contains(&fraction)
            && segment::chroma_spread(s) <= segment::MAX_CHROMA_SPREAD
    });
    let extra: &[QualityIssue] = if small {
        &[QualityIssue::HandTooSmall]
    } else {
        &[]
    };
    no_hand(image, side, extra)
}

/// Where detection put the hand: the palm frame and what came with it.
struct Located {
    frame: PalmFrame,
    detection: Detection,
    /// The landmark model's handedness, when it was sure.
    model_side: Option<HandSide>,
    /// How sure the segmentation's own thumb side is (0 with landmarks, or when the
    /// uploader's claim decided the side).
    seg_side_conf: f32,
    /// The middle finger's length from the outline, image pixels.
    mask_finger: Option<f32>,
}

impl OfflineMeasure {
    /// The hand located by the landmark model, when the model is present, confident,
    /// and its landmarks give a frame.
    fn locate_by_landmarks(&self, image: &image::RgbImage) -> Option<Located> {
        let l = self
            .landmarks
            .as_ref()
            .and_then(|m| m.detect(image).ok())
            .filter(|l| l.is_confident())?;
        let (frame, _) =
            frame::frame_from_model_landmarks(&l.points, &frame::MODEL_FRAME_CALIBRATION)?;
        let model_side =
            ((l.handedness - 0.5).abs() >= HANDEDNESS_SURE).then(|| l.handedness_side(false));
        Some(Located {
            frame,
            detection: Detection {
                method: DetectionMethod::Landmarks,
                confidence: l.presence.clamp(0.0, 1.0),
                landmarks: Some(l.points),
            },
            model_side,
            seg_side_conf: 0.0,
            mask_finger: None,
        })
    }
}

/// The hand's outline geometry from the skin segmentation `seg`; when the whole photo
/// shows no hand shape, from a finer segmentation of a crop around the skin region,
/// which then replaces `seg`.
fn outline_geometry(
    image: &image::RgbImage,
    seg: &mut Option<Segmentation>,
) -> Option<HandGeometry> {
    let (iw, ih) = (image.width(), image.height());
    // No hand shape at the whole photo's working size: the hand may just be small;
    // look again at a crop around the skin region.
    if let Some(g) = seg.as_ref().and_then(segment::hand_geometry) {
        return Some(g);
    }
    match seg.as_ref().and_then(|s| s.bbox()) {
        // Only when the crop is markedly smaller than the photo (finer pixels).
        Some((x0, y0, x1, y1)) if 1.6 * (x1 - x0).max(y1 - y0) < 0.8 * iw.max(ih) as f32 => {
            let (mw, mh) = (0.3 * (x1 - x0), 0.3 * (y1 - y0));
            let crop = segment::segment_crop(
                image,
                (x0 - mw).max(0.0) as u32,
                (y0 - mh).max(0.0) as u32,
                (x1 + mw).max(0.0) as u32,
                (y1 + mh).max(0.0) as u32,
            );
            let g = crop.as_ref().and_then(segment::hand_geometry);
            if g.is_some() {
                *seg = crop;
            }
            g
        }
        _ => None,
    }
}

/// The hand located by skin segmentation (see [`outline_geometry`] for how `seg` may
/// change). A weak thumb cue gives way to the uploader's claimed `side`.
fn locate_by_segmentation(
    image: &image::RgbImage,
    seg: &mut Option<Segmentation>,
    side: Option<HandSide>,
) -> Option<Located> {
    let g = outline_geometry(image, seg)?;
    let s = seg.as_ref()?;
    // A weak geometric thumb cue gives way to the uploader's word.
    let claim = if g.thumb_confidence < SIDE_CONFIDENCE {
        side
    } else {
        None
    };
    let mut g2 = g.clone();
    if claim.is_some() {
        g2.thumb_sign = 0.0;
    }
    let (f, c) = frame::frame_from_geometry(s, &g2, claim)?;
    // Segmentation confidence: how many fingers were seen, how sure
    // the thumb side is.
    let fingers = (g.fingers.len() as f32 / 4.0).min(1.0);
    let conf = (0.35 + 0.35 * fingers + 0.3 * c).min(1.0) * 0.9;
    Some(Located {
        mask_finger: outline_finger_length(s, &g, &f, c),
        frame: f,
        detection: Detection {
            method: DetectionMethod::Segmentation,
            confidence: conf,
            landmarks: None,
        },
        model_side: None,
        seg_side_conf: if claim.is_some() { 0.0 } else { c },
    })
}

/// The middle finger's length from the outline (image pixels), when the thumb side is
/// sure (`side_conf`) and all four fingers were seen.
fn outline_finger_length(
    s: &Segmentation,
    g: &HandGeometry,
    f: &PalmFrame,
    side_conf: f32,
) -> Option<f32> {
    // Middle finger length from the outline (the second finger from
    // the index side when the side is known).
    if side_conf >= SIDE_CONFIDENCE && g.fingers.len() == 4 {
        let tip = g.fingers[1].tip;
        let t = s.to_input(tip.0, tip.1);
        let (_, v) = f.to_palm(Point::new(t.x, t.y));
        if v.is_finite() && v > 1.0 {
            return Some((v - 1.0) * f.palm_length());
        }
    }
    None
}

/// The hand side to report and where it came from: the uploader's claim, else the
/// landmark model's handedness (or the frame's geometry), else the segmentation's
/// geometry when it is sure enough.
fn reported_side(
    side: Option<HandSide>,
    located: &Located,
    geometric_side: HandSide,
) -> (Option<HandSide>, SideSource) {
    match side {
        Some(s) => (Some(s), SideSource::Uploader),
        None => match located.detection.method {
            DetectionMethod::Landmarks => match located.model_side {
                Some(s) => (Some(s), SideSource::Model),
                None => (Some(geometric_side), SideSource::Model),
            },
            _ if located.seg_side_conf >= SIDE_CONFIDENCE => {
                (Some(geometric_side), SideSource::Model)
            }
            _ => (None, SideSource::Unknown),
        },
    }
}

/// The photo's exposure, and how much of it the hand fills.
struct Exposure {
    brightness: f32,
    clipped: f32,
    hand_fraction: f32,
}

/// The exposure over the hand mask `seg_ok` (or, without one, over the palm box).
fn exposure(image: &image::RgbImage, frame: &PalmFrame, seg_ok: Option<&Segmentation>) -> Exposure {
    let (iw, ih) = (image.width(), image.height());
    let (brightness, clipped, hand_fraction) = match seg_ok {
        Some(s) => {
            let (b, c) = quality::exposure_stats(&s.rgb, Some(&s.mask));
            (b, c, s.fraction_of(iw, ih))
        }
        None => {
            // No usable mask: the palm box itself.
            let (rgb, factor) = raster::Rgbf::from_image(image, segment::SEG_SIDE);
            let f = factor as f32;
            let mask: Vec<bool> = (0..rgb.w * rgb.h)
                .map(|i| {
                    let p = Point::new(
                        (i % rgb.w) as f32 * f + f / 2.0 - 0.5,
                        (i / rgb.w) as f32 * f + f / 2.0 - 0.5,
                    );
                    let (u, v) = frame.to_palm(p);
                    (0.0..=1.0).contains(&u) && (0.0..=1.0).contains(&v)
                })
                .collect();
            let (b, c) = quality::exposure_stats(&rgb, Some(&mask));
            // The palm is about 60 % of the hand's area.
            let palm_area = frame.palm_length() * frame.palm_width();
            (b, c, (palm_area / 0.6 / (iw as f32 * ih as f32)).min(1.0))
        }
    };
    Exposure {
        brightness,
        clipped,
        hand_fraction,
    }
}

/// The quality issues found before looking at the creases: exposure, a hand too small,
/// a cropped palm.
fn photo_issues(
    e: &Exposure,
    frame: &PalmFrame,
    (iw, ih): (u32, u32),
    seg_ok: Option<&Segmentation>,
) -> Vec<QualityIssue> {
    let mut issues = Vec::new();
    if e.brightness < quality::TOO_DARK {
        issues.push(QualityIssue::TooDark);
    }
    if e.clipped >= quality::OVEREXPOSED {
        issues.push(QualityIssue::Overexposed);
    }
    if e.hand_fraction < quality::HAND_TOO_SMALL || frame.palm_width() < quality::MIN_PALM_WIDTH_PX
    {
        issues.push(QualityIssue::HandTooSmall);
    }
    if quality::palm_cropped(frame, iw, ih, seg_ok) {
        issues.push(QualityIssue::HandCropped);
    }
    issues
}

/// The creases' sharpness and the lines assigned to them (none, sharpness 0, when no
/// creases were found); a blurry photo adds [`QualityIssue::TooBlurry`] to `issues`.
fn creases_and_lines(
    luma: &raster::Gray,
    frame: &PalmFrame,
    seg_ok: Option<&Segmentation>,
    issues: &mut Vec<QualityIssue>,
) -> (f32, Vec<MeasuredLine>) {
    let creases = creases::find_creases(luma, frame, seg_ok);
    let mut sharpness = 0.0;
    let mut lines = Vec::new();
    if let Some(c) = &creases {
        sharpness = quality::sharpness(c);
        if sharpness < quality::TOO_BLURRY {
            issues.push(QualityIssue::TooBlurry);
        }
        lines = lines::assign_lines(c);
    }
    (sharpness, lines)
}

/// Whether the creases say this is the back of the hand (see the caller for when it
/// counts): no principal line at all, or at most one while the landmark model's
/// handedness contradicts the palm-side geometry (`contradiction`).
fn few_palm_creases(lines: &[MeasuredLine], contradiction: bool) -> bool {
    let principal = lines
        .iter()
        .filter(|l| matches!(l.id, LineId::Heart | LineId::Head | LineId::Life))
        .count();
    principal == 0 || (principal <= 1 && contradiction)
}

/// The hand's shape from the frame, the landmarks (and the basal crease of the middle
/// finger they point to), or the outline.
fn shape_of(
    luma: &raster::Gray,
    frame: &PalmFrame,
    located: &Located,
    seg_ok: Option<&Segmentation>,
) -> Option<HandShape> {
    let detection = &located.detection;
    let outline = seg_ok.map(|segmentation| shape::Outline { segmentation });
    let basal = detection
        .landmarks
        .as_ref()
        .filter(|p| p.len() >= 21)
        .and_then(|p| finger_base::basal_crease(luma, frame, p[12]));
    shape::hand_shape(
        frame,
        detection.landmarks.as_deref(),
        outline.as_ref(),
        basal,
        located.mask_finger,
    )
}

impl Measure for OfflineMeasure {
    fn measure(&self, image: &image::RgbImage, side: Option<HandSide>) -> Features {
        let (iw, ih) = (image.width(), image.height());
        if iw < 16 || ih < 16 {
            return no_hand(image, side, &[]);
        }
        let mut seg = segment::segment(image);

        // 1. Detection.
        let located = match self.locate_by_landmarks(image) {
            Some(l) => Some(l),
            None => locate_by_segmentation(image, &mut seg, side),
        };
        let Some(located) = located else {
            return no_frame(image, side, seg.as_ref());
        };
        // A hand is skin: a "hand" the model finds in a grey surface (cracks in stone read
        // as fingers and creases) is none.
        if segment::palm_chroma(image, &located.frame).is_some_and(|c| c < segment::MIN_SKIN_CHROMA)
        {
            return no_hand(image, side, &[]);
        }
        // The palm ends at the wrist crease, where the photo shows one.
        let luma = raster::luma_full(image);
        let frame = wrist::refine(&luma, &located.frame).unwrap_or(located.frame);

        // 2. Side.
        let geometric_side = frame::side_of_frame(&frame);
        let (side_out, side_source) = reported_side(side, &located, geometric_side);

        // 3. Quality (before the creases: some checks stop there).
        // The mask counts only when it agrees with the frame (the palm centre on it).
        let palm_centre = frame.to_image(0.5, 0.5);
        let seg_ok = seg
            .as_ref()
            .filter(|s| s.area > 0 && s.at_input(palm_centre));
        let e = exposure(image, &frame, seg_ok);
        let mut issues = photo_issues(&e, &frame, (iw, ih), seg_ok);

        // 4–5. Creases and lines.
        let (sharpness, mut lines) = creases_and_lines(&luma, &frame, seg_ok, &mut issues);
        // Back of the hand: no palm creases where the palm should be, in a photo that is
        // otherwise fine; or, with landmarks, the model's handedness contradicting the
        // palm-side geometry while hardly any crease was found.
        let contradiction = located.detection.method == DetectionMethod::Landmarks
            && located.model_side.is_some_and(|m| m != geometric_side);
        if issues.is_empty() && few_palm_creases(&lines, contradiction) {
            issues.push(QualityIssue::BackOfHand);
        }
        let quality = quality::verdict(issues, e.brightness, e.clipped, sharpness, e.hand_fraction);
        // An unreadable photo reports no lines (they would be guesses).
        if !quality.usable {
            lines.clear();
        }

        // 6. Shape.
        let shape = shape_of(&luma, &frame, &located, seg_ok);

        Features {
            image_width: iw,
            image_height: ih,
            quality,
            detection: located.detection,
            frame: Some(frame),
            side: side_out,
            side_source,
            shape,
            lines,
        }
    }
}
