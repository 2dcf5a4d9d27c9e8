//! Scoring the measure stage against synthetic palms with known lines, and the fixed,
//! seeded evaluation set behind `docs/analysis-quality.md`.
//!
//! Scoring: a true line counts as **found** when the measured line with the *same id*
//! - lies on it: the mean distance from the measured polyline (densified to 1 % of the
//!   palm length) to the true path is at most [`MAX_MEAN_DIST`] palm lengths, and
//! - covers it: at least [`MIN_COVERAGE`] of the true path's points lie within
//!   [`COVER_TOL`] palm lengths of the measured polyline.
//!
//! A true line that a measured line of *another* id matches by the same test is
//! **mislabelled**. The thresholds: 4 % of the palm length is about one crease spacing
//! of the minor wrinkles and well below the head–heart spacing (≈ 20 %), so a line
//! assigned to the wrong crease fails; 60 % coverage accepts a line whose faint, tapered
//! ends or a start shared with another line (head and life) were not traced.

use image::RgbImage;

use crate::synth::{
    generate, to_jpeg, Backdrop, FateOrigin, LineSet, Proportions, SkinTone, Subject, SynthPalm,
    SynthSpec, TrueLine,
};
use crate::synth_heldout::{self, HeldoutSpec};
use hast_palm::features::Element;
use hast_palm::features::{Features, LineId, MeasuredLine};
use hast_palm::geometry::Point;
use hast_palm::HandSide;

/// Largest mean distance (palm lengths) from a measured line to the true path.
pub const MAX_MEAN_DIST: f32 = 0.04;
/// Smallest share of the true path the measured line must cover.
pub const MIN_COVERAGE: f32 = 0.6;
/// Distance (palm lengths) within which a true point counts as covered.
pub const COVER_TOL: f32 = 0.04;

fn seg_dist(p: Point, a: Point, b: Point) -> f32 {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    p.distance(Point::new(a.x + t * dx, a.y + t * dy))
}

fn poly_dist(p: Point, poly: &[Point]) -> f32 {
    if poly.len() == 1 {
        return p.distance(poly[0]);
    }
    poly.windows(2)
        .map(|w| seg_dist(p, w[0], w[1]))
        .fold(f32::INFINITY, f32::min)
}

/// The polyline resampled so consecutive points are at most `step` apart.
pub fn densify(poly: &[Point], step: f32) -> Vec<Point> {
    let mut out = Vec::new();
    for w in poly.windows(2) {
        let d = w[0].distance(w[1]);
        let n = (d / step).ceil().max(1.0) as usize;
        for k in 0..n {
            let t = k as f32 / n as f32;
            out.push(Point::new(
                w[0].x + (w[1].x - w[0].x) * t,
                w[0].y + (w[1].y - w[0].y) * t,
            ));
        }
    }
    if let Some(&last) = poly.last() {
        out.push(last);
    }
    out
}

/// (mean distance, coverage) of a measured line against a true one, both relative to
/// the palm length.
pub fn line_error(found: &MeasuredLine, truth: &TrueLine, palm_length: f32) -> (f32, f32) {
    if found.polyline.is_empty() || truth.points.is_empty() {
        return (f32::INFINITY, 0.0);
    }
    let dense = densify(&found.polyline, 0.01 * palm_length);
    let mean = dense
        .iter()
        .map(|&p| {
            truth
                .points
                .iter()
                .map(|&q| p.distance(q))
                .fold(f32::INFINITY, f32::min)
        })
        .sum::<f32>()
        / dense.len() as f32;
    let tol = COVER_TOL * palm_length;
    let covered = truth
        .points
        .iter()
        .filter(|&&q| poly_dist(q, &found.polyline) <= tol)
        .count();
    (
        mean / palm_length,
        covered as f32 / truth.points.len() as f32,
    )
}

/// How one true line fared.
#[derive(Debug, Clone, PartialEq)]
pub struct LineScore {
    pub id: LineId,
    /// Found under its own id (see the module docs).
    pub found: bool,
    /// Mean distance of the same-id measured line, palm lengths (NaN when none).
    pub mean_error: f32,
    /// Share of the true path the same-id measured line covers (0 when none).
    pub coverage: f32,
    /// A measured line of another id that matches this true line.
    pub mislabelled_as: Option<LineId>,
}

fn matches(found: &MeasuredLine, truth: &TrueLine, palm_length: f32) -> (bool, f32, f32) {
    let (d, c) = line_error(found, truth, palm_length);
    (d <= MAX_MEAN_DIST && c >= MIN_COVERAGE, d, c)
}

/// Scores every true line of a synthetic palm against the measured features.
pub fn score(f: &Features, synth: &SynthPalm) -> Vec<LineScore> {
    let Some(frame) = synth.frame else {
        return Vec::new();
    };
    let l = frame.palm_length();
    synth
        .truth
        .iter()
        .map(|t| {
            let (found, mean_error, coverage) = match f.lines.iter().find(|m| m.id == t.id) {
                Some(m) => matches(m, t, l),
                None => (false, f32::NAN, 0.0),
            };
            let mislabelled_as = if found {
                None
            } else {
                f.lines
                    .iter()
                    .filter(|m| m.id != t.id)
                    .find(|m| matches(m, t, l).0)
                    .map(|m| m.id)
            };
            LineScore {
                id: t.id,
                found,
                mean_error,
                coverage,
                mislabelled_as,
            }
        })
        .collect()
}

/// What draws a case's photo: the tuning style ([`crate::synth`], which the engine's
/// constants are set on) or the held-out style ([`crate::synth_heldout`], which they are
/// reported on and never set on).
#[derive(Debug, Clone)]
pub enum Photo {
    Tuning(SynthSpec),
    Heldout(HeldoutSpec),
}

/// One photo of the evaluation set.
#[derive(Debug, Clone)]
pub struct Case {
    /// Its index in the set.
    pub index: usize,
    pub photo: Photo,
    /// Passed through JPEG at this quality before measuring.
    pub jpeg_quality: Option<u8>,
    /// For a negative: what it shows ("blank", "back of hand", …); `None` for a palm.
    pub negative: Option<&'static str>,
}

impl Case {
    /// The photo as the engine sees it, and the truth.
    pub fn render(&self) -> (SynthPalm, RgbImage) {
        let synth = match &self.photo {
            Photo::Tuning(spec) => generate(spec),
            Photo::Heldout(spec) => synth_heldout::generate(spec),
        };
        let image = match self.jpeg_quality {
            Some(q) => image::load_from_memory(&to_jpeg(&synth.image, q))
                .map(|i| i.to_rgb8())
                .unwrap_or_else(|_| synth.image.clone()),
            None => synth.image.clone(),
        };
        (synth, image)
    }
}

/// Number of palm photos in the set.
pub const POSITIVES: usize = 200;
/// Seeds per kind of negative photo.
pub const NEGATIVE_SEEDS: u64 = 5;

/// Turns a palm spec into another photo.
pub type SpecEdit = fn(&mut SynthSpec);

/// The negative kinds: what each shows and how it is made from a palm spec.
pub const NEGATIVE_KINDS: [(&str, SpecEdit); 9] = [
    ("blank", |s| s.subject = Subject::Blank),
    ("noise", |s| s.subject = Subject::Noise),
    ("cracked stone", |s| s.subject = Subject::Stone),
    ("non-hand shape", |s| s.subject = Subject::NonHandShape),
    ("back of the hand", |s| s.subject = Subject::BackOfHand),
    ("tiny hand", |s| s.scale = 0.3),
    ("underexposed", |s| s.exposure = 0.15),
    ("overexposed", |s| s.exposure = 2.5),
    ("blurred", |s| s.blur_sigma = 4.0),
];

/// The varied base of the `i`-th palm: both hands alternating, five skin tones, rotation
/// −30…32°, scale 0.7–1.1, noise 0/3/6, blur σ 0/0.7/1.2, every other one with all six
/// lines. (The measure tests' 40-palm table uses it as it is.)
pub fn varied_spec(i: u64) -> SynthSpec {
    let mut spec = SynthSpec::palm(1000 + i);
    spec.side = if i.is_multiple_of(2) {
        HandSide::Left
    } else {
        HandSide::Right
    };
    spec.skin = SkinTone::ALL[(i % 5) as usize];
    spec.rotation_deg = [-30.0, -15.0, 0.0, 15.0, 30.0][((i / 2) % 5) as usize] + (i % 3) as f32;
    spec.scale = 0.7 + 0.4 * ((i * 7) % 9) as f32 / 8.0;
    // Large and strongly rotated hands leave the photo (the palm is cropped): keep the
    // set readable.
    if spec.rotation_deg.abs() >= 25.0 {
        spec.scale = spec.scale.min(0.9);
    }
    spec.noise = [0.0, 3.0, 6.0][(i % 3) as usize];
    spec.blur_sigma = [0.0, 0.7, 1.2][((i / 3) % 3) as usize];
    if i % 2 == 1 {
        spec.lines = LineSet::all();
    }
    spec
}

/// The `i`-th palm of the set: [`varied_spec`] plus lighting gradients 0/0.3/0.6, and every
/// tenth with a broken life line, every tenth (offset) with a forked head line, every
/// twentieth with a fused head–heart line. Every fourth goes through JPEG quality 70.
pub fn positive_spec(i: u64) -> SynthSpec {
    let mut spec = varied_spec(i);
    spec.lighting_gradient = [0.0, 0.3, 0.6][((i / 4) % 3) as usize];
    match i % 20 {
        5 | 15 => spec.lines.life_break = true,
        7 | 17 => spec.lines.head_fork = true,
        9 => spec.lines.fused_head_heart = true,
        _ => {}
    }
    spec
}

/// The `i`-th palm photo: [`positive_spec`], every fourth through JPEG quality 70. Indices
/// from [`POSITIVES`] on are outside the evaluation set (the landmark calibration uses them).
pub fn positive_case(i: u64) -> Case {
    positive_case_with(i, |_| {})
}

/// [`positive_case`] with its spec changed by `edit` (a test's variation of the set).
pub fn positive_case_with(i: u64, edit: impl FnOnce(&mut SynthSpec)) -> Case {
    let mut spec = positive_spec(i);
    edit(&mut spec);
    Case {
        index: i as usize,
        photo: Photo::Tuning(spec),
        jpeg_quality: (i % 4 == 3).then_some(70),
        negative: None,
    }
}

/// The whole set: [`POSITIVES`] palms, then [`NEGATIVE_SEEDS`] of each negative kind.
pub fn evaluation_set() -> Vec<Case> {
    let mut cases: Vec<Case> = (0..POSITIVES as u64).map(positive_case).collect();
    for (name, edit) in NEGATIVE_KINDS {
        for seed in 1..=NEGATIVE_SEEDS {
            let mut spec = SynthSpec::palm(2000 + seed);
            spec.skin = SkinTone::ALL[(seed % 5) as usize];
            edit(&mut spec);
            cases.push(Case {
                index: cases.len(),
                photo: Photo::Tuning(spec),
                jpeg_quality: None,
                negative: Some(name),
            });
        }
    }
    cases
}

/// Number of palms in the widened tuning set.
pub const WIDENED: usize = 120;

/// The `i`-th palm of the widened tuning set (seeds disjoint from the evaluation set's and
/// the calibration's): [`varied_spec`]'s variety plus the range of hands the palmistry and
/// dermatoglyphics references describe, each variant cycling on its own period so they
/// combine: the life line hugging the thumb, classical, sweeping wide or bulging into the
/// palm's middle (six steps), short on one palm in nine, doubled on one in seven, broken on one in eight; the head
/// line separate from the life line on every third palm, straight, classical or sloping;
/// the fate line absent on every other palm, otherwise starting at the wrist, on the life
/// line or in mid-palm; a fused (simian) crease on one in fifteen; heavy minor wrinkles on
/// every fourth; palm ratio 1.0–1.45 and finger ratio 0.65–1.0 (all four elements); a
/// wooden table (skin-like) under every third hand, a sleeve over every fourth forearm,
/// the thumb held open or turned 9° or 18° towards the fingers, the wrist's bracelet creases
/// at full, 60 % or 35 % of their darkness.
pub fn widened_spec(i: u64) -> SynthSpec {
    let mut spec = varied_spec(i);
    spec.seed = 5000 + i;
    spec.lighting_gradient = [0.0, 0.3, 0.6][((i / 4) % 3) as usize];
    let l = &mut spec.lines;
    l.life_sweep = [-1.0, -0.5, 0.0, 1.0, 1.5, 2.0][(i % 6) as usize];
    l.life_end = if i % 9 == 4 { 0.55 } else { 1.0 };
    l.life_double = i % 7 == 3;
    l.life_break = i % 8 == 6;
    l.head_separate = i % 3 == 1;
    l.head_slope = [-1.0, 0.0, 1.0][((i / 3) % 3) as usize];
    l.head_fork = i % 11 == 5;
    l.fate = i.is_multiple_of(2);
    l.fate_origin =
        [FateOrigin::Wrist, FateOrigin::LifeLine, FateOrigin::MidPalm][((i / 2) % 3) as usize];
    l.fused_head_heart = i % 15 == 8;
    l.heavy_wrinkles = i % 4 == 1;
    if i % 3 == 2 {
        spec.backdrop = Backdrop::Wood;
    }
    spec.sleeve = (i % 4 == 2)
        .then_some([[40, 60, 120], [150, 40, 50], [200, 200, 195]][(i / 4 % 3) as usize]);
    spec.thumb_adduction_deg = [0.0, 9.0, 18.0][((i / 5) % 3) as usize];
    spec.wrist_creases = [1.0, 0.6, 0.35][((i / 7) % 3) as usize];
    // Proportions on a low-discrepancy walk over the ranges (golden-ratio steps).
    let a = (i as f32 * 0.618_034).fract();
    let b = (i as f32 * 0.754_878 + 0.3).fract();
    spec.proportions = Some(Proportions {
        palm_ratio: 1.0 + 0.45 * a,
        finger_ratio: 0.65 + 0.35 * b,
    });
    spec
}

/// The `i`-th palm of the widened tuning set as a case; every fourth through JPEG 70.
pub fn widened_case(i: u64) -> Case {
    Case {
        index: i as usize,
        photo: Photo::Tuning(widened_spec(i)),
        jpeg_quality: (i % 4 == 3).then_some(70),
        negative: None,
    }
}

/// The widened tuning set: [`WIDENED`] palms (no negatives: those are the evaluation
/// set's).
pub fn widened_set() -> Vec<Case> {
    (0..WIDENED as u64).map(widened_case).collect()
}

/// The held-out set: the held-out style's [`synth_heldout::HELDOUT_PALMS`] palms, then
/// five photos of each of its negative kinds. Each photo's JPEG step is part of its spec.
pub fn heldout_set() -> Vec<Case> {
    let mut cases: Vec<Case> = (0..synth_heldout::HELDOUT_PALMS)
        .map(|i| Case {
            index: i as usize,
            photo: Photo::Heldout(synth_heldout::palm_spec(i)),
            jpeg_quality: None,
            negative: None,
        })
        .collect();
    for (kind, name) in synth_heldout::NEGATIVE_KINDS.iter().enumerate() {
        for seed in 1..=NEGATIVE_SEEDS {
            cases.push(Case {
                index: cases.len(),
                photo: Photo::Heldout(synth_heldout::negative_spec(kind, seed)),
                jpeg_quality: None,
                negative: Some(name),
            });
        }
    }
    cases
}

/// Relative distance from the element's thresholds beyond which a hand's proportions count
/// as clear (5 %: a palm ratio below 1.14 or above 1.26, a finger ratio below 0.76 or above
/// 0.84).
pub const CLEAR_PROPORTIONS: f32 = 0.05;

/// What the measure stage made of one case.
#[derive(Debug, Clone)]
pub struct CaseResult {
    pub index: usize,
    pub negative: Option<&'static str>,
    pub usable: bool,
    /// The true element and the measured one, for a usable palm whose proportions are
    /// clear (see [`CLEAR_PROPORTIONS`]).
    pub element: Option<(Element, Option<Element>)>,
    /// For a usable palm: measured over true palm ratio, and finger ratio (when measured).
    pub ratio_errors: Option<(f32, Option<f32>)>,
    pub lines: Vec<LineScore>,
    /// The lines this palm was drawn without.
    pub not_drawn: Vec<LineId>,
    /// Of those, the ones the engine reported anyway (a phantom line).
    pub phantoms: Vec<LineId>,
}

/// Measures one case with `measure` (image → features) and scores it.
pub fn evaluate(case: &Case, measure: impl Fn(&RgbImage) -> Features) -> CaseResult {
    let (synth, image) = case.render();
    let f = measure(&image);
    let positive = case.negative.is_none();
    let not_drawn: Vec<LineId> = if positive {
        LineId::ALL
            .iter()
            .copied()
            .filter(|id| {
                !synth
                    .truth
                    .iter()
                    .any(|t| t.id == *id || t.fused_with == Some(*id))
            })
            .collect()
    } else {
        Vec::new()
    };
    let phantoms = not_drawn
        .iter()
        .copied()
        .filter(|id| f.lines.iter().any(|l| l.id == *id))
        .collect();
    let element = synth
        .proportions
        .filter(|p| positive && f.quality.usable && p.clear(CLEAR_PROPORTIONS))
        .map(|p| (p.element(), f.shape.as_ref().map(|s| s.element)));
    let ratio_errors = synth
        .proportions
        .filter(|_| positive && f.quality.usable)
        .zip(f.shape.as_ref())
        .map(|(t, m)| {
            (
                m.palm_ratio / t.palm_ratio,
                m.finger_ratio.map(|r| r / t.finger_ratio),
            )
        });
    CaseResult {
        index: case.index,
        negative: case.negative,
        usable: f.quality.usable,
        element,
        ratio_errors,
        lines: if positive {
            score(&f, &synth)
        } else {
            Vec::new()
        },
        not_drawn,
        phantoms,
    }
}

/// One row of the report.
#[derive(Debug, Clone, PartialEq)]
pub struct LineRow {
    pub id: LineId,
    /// Positives on which the line was drawn.
    pub drawn: usize,
    /// Found under its own id.
    pub found: usize,
    /// Found, but under another id.
    pub mislabelled: usize,
    /// Mean share of the true path covered by the same-id line (all drawn).
    pub mean_coverage: f32,
    /// Mean distance of found lines, palm lengths.
    pub mean_error: f32,
}

impl LineRow {
    /// Turns the summed coverage and error into means (over the palms the line was drawn
    /// on, and the ones it was found on).
    fn finish_means(&mut self) {
        if self.drawn > 0 {
            self.mean_coverage /= self.drawn as f32;
        }
        if self.found > 0 {
            self.mean_error /= self.found as f32;
        }
    }

    /// found / drawn (0 when never drawn).
    pub fn rate(&self) -> f32 {
        if self.drawn == 0 {
            0.0
        } else {
            self.found as f32 / self.drawn as f32
        }
    }
}

/// The aggregated results.
#[derive(Debug, Clone)]
pub struct Report {
    pub positives: usize,
    /// Palms judged unusable (a missed positive).
    pub positives_unusable: Vec<usize>,
    pub lines: Vec<LineRow>,
    /// Per negative kind: (kind, photos, judged unusable).
    pub negatives: Vec<(&'static str, usize, usize)>,
    /// Per line: (line, usable palms drawn without it, of which it was reported on).
    pub phantoms: Vec<(LineId, usize, usize)>,
    /// Usable palms with clear proportions, and of those the ones whose element was right.
    pub elements: (usize, usize),
    /// Medians over usable palms of measured / true palm ratio and finger ratio, with the
    /// share of palms within 5 % of the truth.
    pub ratio_errors: Option<RatioErrors>,
}

/// How far the measured proportions are from the drawn ones.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatioErrors {
    pub palm_median: f32,
    pub palm_within_5: f32,
    pub finger_median: f32,
    pub finger_within_5: f32,
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f32::NAN)
}

fn within_5(v: &[f32]) -> f32 {
    v.iter().filter(|r| (*r - 1.0).abs() <= 0.05).count() as f32 / v.len().max(1) as f32
}

/// Counts a negative photo of `kind` (and whether it was judged unusable) in its row,
/// adding the row when the kind is new.
fn count_negative(
    negatives: &mut Vec<(&'static str, usize, usize)>,
    kind: &'static str,
    usable: bool,
) {
    let at = match negatives.iter().position(|n| n.0 == kind) {
        Some(at) => at,
        None => {
            negatives.push((kind, 0, 0));
            negatives.len() - 1
        }
    };
    negatives[at].1 += 1;
    negatives[at].2 += usize::from(!usable);
}

/// Adds one palm's line scores to the rows (sums: [`LineRow::finish_means`] turns
/// them into means).
fn add_line_scores(lines: &mut [LineRow], scores: &[LineScore]) {
    for s in scores {
        let Some(row) = lines.iter_mut().find(|row| row.id == s.id) else {
            continue;
        };
        row.drawn += 1;
        row.mean_coverage += s.coverage;
        if s.found {
            row.found += 1;
            row.mean_error += s.mean_error;
        }
        row.mislabelled += usize::from(s.mislabelled_as.is_some());
    }
}

/// The medians and shares within 5 % of the measured / true ratios; `None` when no
/// palm had them.
fn ratio_errors(results: &[CaseResult]) -> Option<RatioErrors> {
    let palm: Vec<f32> = results
        .iter()
        .filter_map(|r| r.ratio_errors.map(|e| e.0))
        .collect();
    let finger: Vec<f32> = results
        .iter()
        .filter_map(|r| r.ratio_errors.and_then(|e| e.1))
        .collect();
    (!palm.is_empty()).then(|| RatioErrors {
        palm_within_5: within_5(&palm),
        finger_within_5: within_5(&finger),
        palm_median: median(palm),
        finger_median: median(finger),
    })
}

impl Report {
    /// Aggregates case results.
    pub fn from_results(results: &[CaseResult]) -> Self {
        let mut lines: Vec<LineRow> = LineId::ALL
            .iter()
            .map(|&id| LineRow {
                id,
                drawn: 0,
                found: 0,
                mislabelled: 0,
                mean_coverage: 0.0,
                mean_error: 0.0,
            })
            .collect();
        // Negative kinds in the order they first appear.
        let mut negatives: Vec<(&'static str, usize, usize)> = Vec::new();
        let mut phantoms: Vec<(LineId, usize, usize)> =
            LineId::ALL.iter().map(|&id| (id, 0, 0)).collect();
        let mut positives = 0;
        let mut positives_unusable = Vec::new();
        let mut elements = (0, 0);
        for r in results {
            if let Some((truth, measured)) = r.element {
                elements.0 += 1;
                elements.1 += usize::from(measured == Some(truth));
            }
            if let Some(kind) = r.negative {
                count_negative(&mut negatives, kind, r.usable);
                continue;
            }
            positives += 1;
            if !r.usable {
                positives_unusable.push(r.index);
            } else {
                for row in &mut phantoms {
                    row.1 += usize::from(r.not_drawn.contains(&row.0));
                    row.2 += usize::from(r.phantoms.contains(&row.0));
                }
            }
            add_line_scores(&mut lines, &r.lines);
        }
        for row in &mut lines {
            row.finish_means();
        }
        Self {
            ratio_errors: ratio_errors(results),
            positives,
            positives_unusable,
            lines,
            negatives,
            phantoms,
            elements,
        }
    }

    /// For `id`: (usable palms drawn without it, of which it was reported on).
    pub fn phantom(&self, id: LineId) -> (usize, usize) {
        self.phantoms
            .iter()
            .find(|p| p.0 == id)
            .map_or((0, 0), |p| (p.1, p.2))
    }

    /// The report as Markdown tables (for docs/analysis-quality.md).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "| line | drawn | found, right label | rate | mislabelled | mean coverage | mean error (palm lengths) |\n|---|---|---|---|---|---|---|\n",
        );
        for r in self.lines.iter().filter(|r| r.drawn > 0) {
            out.push_str(&format!(
                "| {} | {} | {} | {:.1} % | {} | {:.0} % | {:.4} |\n",
                r.id.code(),
                r.drawn,
                r.found,
                100.0 * r.rate(),
                r.mislabelled,
                100.0 * r.mean_coverage,
                r.mean_error
            ));
        }
        out.push_str(&format!(
            "\nPalms judged unusable: {} of {}.\n\n| negative | photos | judged unusable |\n|---|---|---|\n",
            self.positives_unusable.len(),
            self.positives
        ));
        for (kind, n, unusable) in &self.negatives {
            out.push_str(&format!("| {kind} | {n} | {unusable} |\n"));
        }
        out.push_str(
            "\n| line | usable palms drawn without it | reported anyway |\n|---|---|---|\n",
        );
        for (id, without, reported) in self.phantoms.iter().filter(|p| p.1 > 0) {
            out.push_str(&format!("| {} | {without} | {reported} |\n", id.code()));
        }
        if self.elements.0 > 0 {
            out.push_str(&format!(
                "\nElement right on {} of {} usable palms with clear proportions.\n",
                self.elements.1, self.elements.0
            ));
        }
        if let Some(e) = self.ratio_errors {
            out.push_str(&format!(
                "Measured / true palm ratio: median {:.3}, within 5 % on {:.0} % of usable palms; finger ratio: median {:.3}, within 5 % on {:.0} %.\n",
                e.palm_median,
                100.0 * e.palm_within_5,
                e.finger_median,
                100.0 * e.finger_within_5
            ));
        }
        out
    }
}
