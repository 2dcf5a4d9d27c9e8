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

use crate::features::{Detection, DetectionMethod, Features, LineId, QualityIssue, SideSource};
use crate::geometry::Point;
use crate::{HandSide, Measure};

use landmarks::LandmarkModel;

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

impl Measure for OfflineMeasure {
    fn measure(&self, image: &image::RgbImage, side: Option<HandSide>) -> Features {
        let (iw, ih) = (image.width(), image.height());
        if iw < 16 || ih < 16 {
            return no_hand(image, side, &[]);
        }
        let seg = segment::segment(image);

        // 1. Detection.
        let found = self
            .landmarks
            .as_ref()
            .and_then(|m| m.detect(image).ok())
            .filter(|l| l.is_confident());
        let mut detection = Detection {
            method: DetectionMethod::None,
            confidence: 0.0,
            landmarks: None,
        };
        let mut frame_and_conf = None;
        let mut model_side = None;
        let mut mask_finger = None;
        if let Some(l) = &found {
            if let Some((f, c)) =
                frame::frame_from_model_landmarks(&l.points, &frame::MODEL_FRAME_CALIBRATION)
            {
                frame_and_conf = Some((f, c));
                detection = Detection {
                    method: DetectionMethod::Landmarks,
                    confidence: l.presence.clamp(0.0, 1.0),
                    landmarks: Some(l.points.clone()),
                };
                if (l.handedness - 0.5).abs() >= HANDEDNESS_SURE {
                    model_side = Some(l.handedness_side(false));
                }
            }
        }
        let mut seg_side_conf = 0.0;
        let mut seg = seg;
        if frame_and_conf.is_none() {
            // No hand shape at the whole photo's working size: the hand may just be small;
            // look again at a crop around the skin region.
            let geometry = seg.as_ref().and_then(segment::hand_geometry);
            let geometry = match geometry {
                Some(g) => Some(g),
                None => match seg.as_ref().and_then(|s| s.bbox()) {
                    // Only when the crop is markedly smaller than the photo (finer pixels).
                    Some((x0, y0, x1, y1))
                        if 1.6 * (x1 - x0).max(y1 - y0) < 0.8 * iw.max(ih) as f32 =>
                    {
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
                            seg = crop;
                        }
                        g
                    }
                    _ => None,
                },
            };
            if let (Some(s), Some(g)) = (&seg, geometry) {
                {
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
                    if let Some((f, c)) = frame::frame_from_geometry(s, &g2, claim) {
                        seg_side_conf = if claim.is_some() { 0.0 } else { c };
                        // Segmentation confidence: how many fingers were seen, how sure
                        // the thumb side is.
                        let fingers = (g.fingers.len() as f32 / 4.0).min(1.0);
                        let conf = (0.35 + 0.35 * fingers + 0.3 * c).min(1.0) * 0.9;
                        detection = Detection {
                            method: DetectionMethod::Segmentation,
                            confidence: conf,
                            landmarks: None,
                        };
                        // Middle finger length from the outline (the second finger from
                        // the index side when the side is known).
                        if c >= SIDE_CONFIDENCE && g.fingers.len() == 4 {
                            let tip = g.fingers[1].tip;
                            let t = s.to_input(tip.0, tip.1);
                            let (_, v) = f.to_palm(Point::new(t.x, t.y));
                            if v.is_finite() && v > 1.0 {
                                mask_finger = Some((v - 1.0) * f.palm_length());
                            }
                        }
                        frame_and_conf = Some((f, c));
                    }
                }
            }
        }
        let Some((frame, _thumb_conf)) = frame_and_conf else {
            // A small, evenly coloured skin region: probably a hand too small to make out.
            let small = seg.as_ref().is_some_and(|s| {
                let fraction = s.fraction_of(iw, ih);
                (quality::SMALL_SKIN_REGION..quality::HAND_TOO_SMALL).contains(&fraction)
                    && segment::chroma_spread(s) <= segment::MAX_CHROMA_SPREAD
            });
            let extra: &[QualityIssue] = if small {
                &[QualityIssue::HandTooSmall]
            } else {
                &[]
            };
            return no_hand(image, side, extra);
        };
        // A hand is skin: a "hand" the model finds in a grey surface (cracks in stone read
        // as fingers and creases) is none.
        if segment::palm_chroma(image, &frame).is_some_and(|c| c < segment::MIN_SKIN_CHROMA) {
            return no_hand(image, side, &[]);
        }
        // The palm ends at the wrist crease, where the photo shows one.
        let luma = raster::luma_full(image);
        let frame = wrist::refine(&luma, &frame).unwrap_or(frame);

        // 2. Side.
        let geometric_side = frame::side_of_frame(&frame);
        let (side_out, side_source) = match side {
            Some(s) => (Some(s), SideSource::Uploader),
            None => match detection.method {
                DetectionMethod::Landmarks => match model_side {
                    Some(s) => (Some(s), SideSource::Model),
                    None => (Some(geometric_side), SideSource::Model),
                },
                _ if seg_side_conf >= SIDE_CONFIDENCE => (Some(geometric_side), SideSource::Model),
                _ => (None, SideSource::Unknown),
            },
        };

        // 3. Quality (before the creases: some checks stop there).
        // The mask counts only when it agrees with the frame (the palm centre on it).
        let palm_centre = frame.to_image(0.5, 0.5);
        let seg_ok = seg
            .as_ref()
            .filter(|s| s.area > 0 && s.at_input(palm_centre));
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
        let mut issues = Vec::new();
        if brightness < quality::TOO_DARK {
            issues.push(QualityIssue::TooDark);
        }
        if clipped >= quality::OVEREXPOSED {
            issues.push(QualityIssue::Overexposed);
        }
        if hand_fraction < quality::HAND_TOO_SMALL
            || frame.palm_width() < quality::MIN_PALM_WIDTH_PX
        {
            issues.push(QualityIssue::HandTooSmall);
        }
        if quality::palm_cropped(&frame, iw, ih, seg_ok) {
            issues.push(QualityIssue::HandCropped);
        }

        // 4–5. Creases and lines.
        let creases = creases::find_creases(&luma, &frame, seg_ok);
        let mut sharpness = 0.0;
        let mut lines = Vec::new();
        if let Some(c) = &creases {
            sharpness = quality::sharpness(c);
            if sharpness < quality::TOO_BLURRY {
                issues.push(QualityIssue::TooBlurry);
            }
            lines = lines::assign_lines(c);
        }
        // Back of the hand: no palm creases where the palm should be, in a photo that is
        // otherwise fine; or, with landmarks, the model's handedness contradicting the
        // palm-side geometry while hardly any crease was found.
        let principal = lines
            .iter()
            .filter(|l| matches!(l.id, LineId::Heart | LineId::Head | LineId::Life))
            .count();
        let contradiction = detection.method == DetectionMethod::Landmarks
            && model_side.is_some_and(|m| m != geometric_side);
        if issues.is_empty() && (principal == 0 || (principal <= 1 && contradiction)) {
            issues.push(QualityIssue::BackOfHand);
        }
        let quality = quality::verdict(issues, brightness, clipped, sharpness, hand_fraction);
        // An unreadable photo reports no lines (they would be guesses).
        if !quality.usable {
            lines.clear();
        }

        // 6. Shape.
        let outline = seg_ok.map(|segmentation| shape::Outline { segmentation });
        let basal = detection
            .landmarks
            .as_ref()
            .filter(|p| p.len() >= 21)
            .and_then(|p| finger_base::basal_crease(&luma, &frame, p[12]));
        let shape = shape::hand_shape(
            &frame,
            detection.landmarks.as_deref(),
            outline.as_ref(),
            basal,
            mask_finger,
        );

        Features {
            image_width: iw,
            image_height: ih,
            quality,
            detection,
            frame: Some(frame),
            side: side_out,
            side_source,
            shape,
            lines,
        }
    }
}
