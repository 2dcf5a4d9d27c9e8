//! Features for the interpreter's tests.

use crate::features::{
    Detection, DetectionMethod, Element, Features, HandShape, LineId, MeasuredLine, Quality,
    QualityIssue, SideSource,
};
use crate::geometry::{PalmFrame, Point};
use crate::HandSide;

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 1000;

/// A gentle arc of `n` points across the photo.
pub fn arc(n: usize) -> Vec<Point> {
    (0..n)
        .map(|i| {
            let t = i as f32 / (n.max(2) - 1) as f32;
            Point::new(150.0 + 500.0 * t, 400.0 + 120.0 * (t - 0.5).powi(2))
        })
        .collect()
}

pub fn line(
    id: LineId,
    length: f32,
    curvature: f32,
    depth: f32,
    breaks: u32,
    forks: u32,
    islands: u32,
) -> MeasuredLine {
    MeasuredLine {
        id,
        polyline: arc(40),
        length,
        curvature,
        depth,
        breaks,
        forks,
        islands,
        confidence: 0.9,
        fused_with: None,
    }
}

/// A readable photo with these lines, a Water hand and finger proportions.
pub fn usable(lines: Vec<MeasuredLine>) -> Features {
    Features {
        image_width: WIDTH,
        image_height: HEIGHT,
        quality: Quality {
            usable: true,
            issues: Vec::new(),
            brightness: 0.55,
            overexposed_fraction: 0.01,
            sharpness: 240.5,
            hand_fraction: 0.42,
        },
        detection: Detection {
            method: DetectionMethod::Landmarks,
            confidence: 0.93,
            landmarks: Some(vec![Point::new(400.0, 900.0); 21]),
        },
        frame: Some(PalmFrame {
            origin: Point::new(400.0, 900.0),
            axis_v: Point::new(0.0, -450.0),
            axis_u: Point::new(-380.0, 0.0),
        }),
        side: Some(HandSide::Right),
        side_source: SideSource::Uploader,
        shape: Some(HandShape {
            element: Element::Water,
            palm_ratio: 1.18,
            finger_ratio: Some(0.86),
            index_to_ring: Some(0.95),
        }),
        lines,
    }
}

/// Several lines with varied attributes: a fused head-heart crease, a long deep life
/// line, a broken forked fate line; sun and mercury not found.
pub fn sample() -> Features {
    let mut heart = line(LineId::Heart, 0.8, 0.9, 0.7, 0, 1, 0);
    heart.fused_with = Some(LineId::Head);
    let mut head = line(LineId::Head, 0.8, 0.3, 0.65, 0, 0, 0);
    head.fused_with = Some(LineId::Heart);
    let life = line(LineId::Life, 0.95, 2.3, 0.75, 0, 0, 1);
    let mut fate = line(LineId::Fate, 0.5, 0.2, 0.4, 1, 1, 0);
    fate.confidence = 0.4;
    usable(vec![heart, head, life, fate])
}

/// A photo that failed the quality gate.
pub fn unusable() -> Features {
    let mut f = usable(Vec::new());
    f.quality.usable = false;
    f.quality.issues = vec![QualityIssue::TooDark, QualityIssue::TooBlurry];
    f.quality.brightness = 0.08;
    f.quality.sharpness = 3.2;
    f.shape = None;
    f.side = None;
    f.side_source = SideSource::Unknown;
    f.detection = Detection {
        method: DetectionMethod::Segmentation,
        confidence: 0.31,
        landmarks: None,
    };
    f
}

/// A value inside each band of a line's attribute, for enumerating every rule.
pub fn length_in(id: LineId, band: usize) -> f32 {
    let (medium, long) = super::bands::length_thresholds(id);
    [medium * 0.5, (medium + long) / 2.0, long * 1.3][band]
}

pub fn curvature_in(id: LineId, band: usize) -> f32 {
    let (gently, deeply) = super::bands::curvature_thresholds(id);
    [gently * 0.5, (gently + deeply) / 2.0, deeply * 1.3][band]
}

pub fn depth_in(band: usize) -> f32 {
    [0.1, 0.45, 0.8][band]
}

// ─────────────────────── safety scanner (readings and answers) ───────────────────────

/// Whole words that must never appear (matched as words, so "studied", "deadline",
/// "skill" or "diet" do not trip them).
pub const FORBIDDEN_WORDS: &[&str] = &[
    // death and lifespan
    "die",
    "dies",
    "died",
    "dying",
    "death",
    "deaths",
    "dead",
    "deadly",
    "deceased",
    "fatal",
    "fatally",
    "mortal",
    "mortality",
    "lifespan",
    "lifespans",
    "longevity",
    "lifetime",
    "funeral",
    "grave",
    "suicide",
    "kill",
    "killed",
    "widow",
    "widowed",
    "widowhood",
    // illness and medicine
    "ill",
    "illness",
    "illnesses",
    "sick",
    "sickness",
    "disease",
    "diseases",
    "diseased",
    "ailment",
    "ailments",
    "cancer",
    "tumour",
    "tumor",
    "stroke",
    "surgery",
    "hospital",
    "medical",
    "medicine",
    "medication",
    "diagnosis",
    "diagnose",
    "diagnosed",
    "symptom",
    "symptoms",
    "cure",
    "cured",
    "prognosis",
    "health",
    "healthy",
    "unhealthy",
    "infertile",
    "infertility",
    "miscarriage",
    "pregnancy",
    "depression",
    "anxiety",
    "disorder",
    // accidents and calamity
    "accident",
    "accidents",
    "accidental",
    "injury",
    "injuries",
    "injured",
    "wound",
    "wounds",
    "danger",
    "dangerous",
    "calamity",
    "calamities",
    "catastrophe",
    "disaster",
    "tragedy",
    "tragic",
    "misfortune",
    "unlucky",
    "doom",
    "doomed",
    "curse",
    "cursed",
    "bankruptcy",
    "poverty",
    // fixed fate
    "destined",
    "destiny",
    "fated",
    "predetermined",
    "preordained",
    "inevitable",
    "inevitably",
    "guaranteed",
    "guarantee",
];

/// Phrases that must never appear (matched on word boundaries, punctuation ignored, so
/// "life-span" is "life span").
pub const FORBIDDEN_PHRASES: &[&str] = &[
    "life span",
    "short life",
    "long life",
    "length of life",
    "length of your life",
    "life expectancy",
    "early grave",
    "pass away",
    "passed away",
    "passing away",
    "how long you live",
    "how long you will live",
    "years to live",
    "years of life",
    "end of life",
    "loss of life",
    "life threatening",
    "near death",
    "heart attack",
    "heart disease",
    "heart trouble",
    "heart condition",
    "nervous breakdown",
    "mental illness",
    "bad luck",
    "fixed fate",
    "your fate is",
    "you will",
    "will happen",
];

/// The one sanctioned mention of the length of life: saying what the Jeevan rekha is
/// not about.
pub const SANCTIONED: &str = " not the length of life ";

/// Lower case, every run of non-alphanumerics one space, padded with a space each side.
pub fn normalise(text: &str) -> String {
    let spaced: String = text
        .to_lowercase()
        .chars()
        .map(|c| if c.is_alphanumeric() { c } else { ' ' })
        .collect();
    format!(
        " {} ",
        spaced.split_whitespace().collect::<Vec<_>>().join(" ")
    )
}

/// Every forbidden word or phrase in `text`.
pub fn forbidden_hits(text: &str) -> Vec<&'static str> {
    let norm = normalise(text).replace(SANCTIONED, " ");
    let words: Vec<&str> = norm.split_whitespace().collect();
    let mut hits: Vec<&'static str> = FORBIDDEN_WORDS
        .iter()
        .copied()
        .filter(|w| words.contains(w))
        .collect();
    hits.extend(
        FORBIDDEN_PHRASES
            .iter()
            .copied()
            .filter(|p| norm.contains(&format!(" {p} "))),
    );
    hits
}
