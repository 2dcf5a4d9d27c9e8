//! Stage two: [`Features`] → [`Reading`], by a fixed rule table in the Indian tradition
//! (Hast Rekha Shastra).
//!
//! - [`bands`]: measured numbers → value bands (short/medium/long per line, straight /
//!   gently / deeply curved, faint / clear / deep, unbroken / broken / fragmented, forks,
//!   islands, and the index-to-ring finger proportion).
//! - [`rules`]: the table from (line, band) to a paragraph, plus the hand shapes, the
//!   finger proportion, and the fixed sentences of summaries and the disclaimer.
//! - [`mounts`]: the ten mounts, all `not_assessed` offline.
//!
//! Deterministic: the same features always give the same reading (no randomness, no
//! clock, no dependence on the order of `features.lines`). Nothing is invented: a line
//! the measure stage did not find is reported as not assessed, and a photo that failed
//! the quality gate gets retake advice and no interpretation at all.

pub mod bands;
pub mod compare;
pub mod mounts;
pub mod rules;

#[cfg(test)]
mod schema_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

use crate::features::{Features, HandShape, LineId, MeasuredLine, QualityIssue, SideSource};
use crate::geometry::Point;
use crate::reading::{
    Continuity, FingerReading, HandInfo, LineReading, QualityReport, Reading, ShapeReading, Source,
    READING_VERSION,
};
use crate::Interpret;

use bands::{Attribute, Band};
use rules::Rule;

pub use rules::DISCLAIMER;

/// The reading's `engine` field.
pub const ENGINE: &str = "offline";

/// At most this many points per line polyline in the reading (decimated evenly).
pub const MAX_POLYLINE_POINTS: usize = 64;

/// At most this many strengths.
pub const MAX_STRENGTHS: usize = 5;
/// At most this many suggestions.
pub const MAX_GUIDANCE: usize = 4;

/// The offline rule-table interpreter.
#[derive(Debug, Default, Clone, Copy)]
pub struct RuleInterpreter;

impl Interpret for RuleInterpreter {
    fn interpret(&self, features: &Features) -> Reading {
        let hand = hand_info(features);
        let quality = quality_report(features);
        if features.quality.usable {
            usable_reading(features, hand, quality)
        } else {
            unusable_reading(features, hand, quality)
        }
    }
}

/// Converts image-pixel points to 0–1 image coordinates (x right, y down), rounded to
/// 4 decimals, keeping at most [`MAX_POLYLINE_POINTS`] evenly spaced points (the first
/// and last always among them). Non-finite points are dropped; a zero-sized image gives
/// an empty polyline.
pub fn normalise_polyline(points: &[Point], width: u32, height: u32) -> Vec<[f32; 2]> {
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let (w, h) = (width as f32, height as f32);
    let finite: Vec<Point> = points
        .iter()
        .copied()
        .filter(|p| p.x.is_finite() && p.y.is_finite())
        .collect();
    decimate(&finite, MAX_POLYLINE_POINTS)
        .into_iter()
        .map(|p| {
            [
                round_to(p.x / w, 4).clamp(0.0, 1.0),
                round_to(p.y / h, 4).clamp(0.0, 1.0),
            ]
        })
        .collect()
}

/// At most `max` items, evenly spaced, first and last kept.
fn decimate<T: Copy>(items: &[T], max: usize) -> Vec<T> {
    let n = items.len();
    if n <= max {
        return items.to_vec();
    }
    if max < 2 {
        return items.iter().take(max).copied().collect();
    }
    (0..max)
        .filter_map(|i| items.get(i * (n - 1) / (max - 1)).copied())
        .collect()
}

fn round_to(x: f32, decimals: i32) -> f32 {
    let scale = 10f64.powi(decimals);
    ((f64::from(x) * scale).round() / scale) as f32
}

/// A measured quantity fit to show: finite and not negative, rounded to 3 decimals.
fn measurement(x: f32) -> Option<f32> {
    (x.is_finite() && x >= 0.0).then(|| round_to(x, 3))
}

/// A 0–1 score fit to show (NaN → 0).
fn unit(x: f32) -> f32 {
    if x.is_finite() {
        round_to(x.clamp(0.0, 1.0), 3)
    } else {
        0.0
    }
}

/// A non-negative number fit to show (NaN → 0).
fn non_negative(x: f32) -> f32 {
    if x.is_finite() {
        round_to(x.max(0.0), 3)
    } else {
        0.0
    }
}

fn hand_info(f: &Features) -> HandInfo {
    HandInfo {
        side: f.side,
        side_source: match f.side_source {
            SideSource::Uploader => "uploader",
            SideSource::Model => "model",
            SideSource::Unknown => "unknown",
        }
        .to_string(),
        detection: f.detection.method,
        detection_confidence: unit(f.detection.confidence),
    }
}

/// Issues in the order given, without repeats.
fn distinct_issues(f: &Features) -> Vec<QualityIssue> {
    let mut issues: Vec<QualityIssue> = Vec::new();
    for issue in &f.quality.issues {
        if !issues.contains(issue) {
            issues.push(*issue);
        }
    }
    issues
}

fn quality_report(f: &Features) -> QualityReport {
    let issues = distinct_issues(f);
    QualityReport {
        usable: f.quality.usable,
        issues: issues.iter().map(|i| i.code().to_string()).collect(),
        advice: issues.iter().map(|i| i.advice().to_string()).collect(),
        brightness: unit(f.quality.brightness),
        sharpness: non_negative(f.quality.sharpness),
        hand_fraction: unit(f.quality.hand_fraction),
    }
}

/// The photo failed the quality gate: retake advice, no interpretation.
fn unusable_reading(f: &Features, hand: HandInfo, quality: QualityReport) -> Reading {
    let issues = distinct_issues(f);
    let found = if issues.is_empty() {
        rules::UNUSABLE_NO_ISSUE.to_string()
    } else {
        let phrases: Vec<&str> = issues.iter().map(|i| rules::issue_phrase(*i)).collect();
        format!("The quality check found that {}.", join_and(&phrases))
    };
    let lines = LineId::ALL
        .iter()
        .map(|id| not_assessed_line(*id, rules::not_read(*id)))
        .collect();
    Reading {
        version: READING_VERSION,
        engine: ENGINE.to_string(),
        hand,
        quality,
        shape: None,
        fingers: None,
        lines,
        mounts: mounts::readings(),
        summary: format!(
            "{} {} {}",
            rules::UNUSABLE_OPENING,
            found,
            rules::UNUSABLE_CLOSING
        ),
        strengths: Vec::new(),
        guidance: rules::RETAKE_TIPS.iter().map(|s| s.to_string()).collect(),
        disclaimer: DISCLAIMER.to_string(),
        second_hand: None,
        comparison: None,
    }
}

fn not_assessed_line(id: LineId, reading: String) -> LineReading {
    LineReading {
        id: id.code().to_string(),
        english: id.english().to_string(),
        hindi: id.hindi().to_string(),
        present: false,
        polyline: Vec::new(),
        length: None,
        curvature: None,
        depth: None,
        continuity: None,
        marks: Vec::new(),
        confidence: 0.0,
        source: Source::NotAssessed,
        reading,
    }
}

/// One found line, banded.
#[derive(Debug)]
struct Analysis<'a> {
    id: LineId,
    line: &'a MeasuredLine,
    /// The line it merges with (never itself).
    fused_with: Option<LineId>,
    /// Heart and head as one crease: the fused paragraph replaces length and curvature.
    head_heart: bool,
    length: Option<Band>,
    depth: Option<Band>,
    /// The rules that apply, in paragraph order.
    rules: Vec<&'static Rule>,
    confidence: f32,
    /// Depth × confidence: how clearly the line shows, for the summary's choice.
    clarity: f32,
}

impl<'a> Analysis<'a> {
    fn new(line: &'a MeasuredLine) -> Self {
        let id = line.id;
        let fused_with = line.fused_with.filter(|other| *other != id);
        let head_heart = matches!(
            (id, fused_with),
            (LineId::Heart, Some(LineId::Head)) | (LineId::Head, Some(LineId::Heart))
        );
        let length = bands::length_band(id, line.length);
        let curvature = bands::curvature_band(id, line.curvature);
        let depth = bands::depth_band(line.depth);
        let mut order: Vec<Band> = Vec::new();
        if !head_heart {
            order.extend(length);
            order.extend(curvature);
        }
        order.extend(depth);
        order.push(bands::breaks_band(line.breaks));
        order.extend(bands::forks_band(line.forks));
        order.extend(bands::islands_band(line.islands));
        let confidence = unit(line.confidence);
        let depth_value = measurement(line.depth).map_or(0.0, |d| d.min(1.0));
        Self {
            id,
            line,
            fused_with,
            head_heart,
            length,
            depth,
            rules: order
                .iter()
                .filter_map(|band| rules::rule_for(id, *band))
                .collect(),
            confidence,
            clarity: depth_value * confidence,
        }
    }

    /// The first rule of these attributes (in this order) with the wanted field.
    fn pick(
        &self,
        attributes: &[Attribute],
        field: fn(&Rule) -> Option<&'static str>,
    ) -> Vec<(&'static str, Band)> {
        attributes
            .iter()
            .flat_map(|a| self.rules.iter().filter(move |r| r.band.attribute() == *a))
            .filter_map(|r| field(r).map(|text| (text, r.band)))
            .collect()
    }

    fn text(&self) -> String {
        let mut paragraphs: Vec<String> = vec![rules::intro(self.id).to_string()];
        if self.head_heart {
            paragraphs.push(rules::FUSED_HEAD_HEART.to_string());
        } else if let Some(other) = self.fused_with {
            paragraphs.push(rules::fused_other(self.id, other));
        }
        paragraphs.extend(self.rules.iter().map(|r| r.text.to_string()));
        if self.confidence < bands::LOW_CONFIDENCE {
            paragraphs.push(rules::low_confidence(self.id));
        }
        paragraphs.join("\n\n")
    }

    fn marks(&self) -> Vec<String> {
        let mut marks = Vec::new();
        if self.line.forks > 0 {
            marks.push("fork".to_string());
        }
        if self.line.islands > 0 {
            marks.push("island".to_string());
        }
        if let Some(other) = self.fused_with {
            marks.push(format!("fused_with_{}", other.code()));
        }
        marks
    }

    fn reading(&self, f: &Features) -> LineReading {
        LineReading {
            id: self.id.code().to_string(),
            english: self.id.english().to_string(),
            hindi: self.id.hindi().to_string(),
            present: true,
            polyline: normalise_polyline(&self.line.polyline, f.image_width, f.image_height),
            length: measurement(self.line.length),
            curvature: measurement(self.line.curvature),
            depth: measurement(self.line.depth).map(|d| d.min(1.0)),
            continuity: Some(Continuity {
                breaks: self.line.breaks,
                description: bands::continuity_description(self.line.breaks).to_string(),
            }),
            marks: self.marks(),
            confidence: self.confidence,
            source: Source::Measured,
            reading: self.text(),
        }
    }
}

/// The most confident measurement of `id` (the first on a tie).
fn best_line(f: &Features, id: LineId) -> Option<&MeasuredLine> {
    let mut best: Option<&MeasuredLine> = None;
    for line in f.lines.iter().filter(|l| l.id == id) {
        if best.is_none_or(|b| unit(line.confidence) > unit(b.confidence)) {
            best = Some(line);
        }
    }
    best
}

/// A shape fit to interpret (its palm ratio is a real number).
fn usable_shape(f: &Features) -> Option<&HandShape> {
    f.shape
        .as_ref()
        .filter(|s| s.palm_ratio.is_finite() && s.palm_ratio > 0.0)
}

fn usable_reading(f: &Features, hand: HandInfo, quality: QualityReport) -> Reading {
    let found: Vec<Option<Analysis>> = LineId::ALL
        .iter()
        .map(|id| best_line(f, *id).map(Analysis::new))
        .collect();
    let lines: Vec<LineReading> = LineId::ALL
        .iter()
        .zip(&found)
        .map(|(id, a)| match a {
            Some(a) => a.reading(f),
            None => not_assessed_line(*id, rules::not_found(*id)),
        })
        .collect();
    let missing: Vec<LineId> = LineId::ALL
        .iter()
        .zip(&found)
        .filter(|(_, a)| a.is_none())
        .map(|(id, _)| *id)
        .collect();
    // Clearest first; ties keep the LineId::ALL order (the sort is stable).
    let mut present: Vec<&Analysis> = found.iter().flatten().collect();
    present.sort_by(|a, b| b.clarity.total_cmp(&a.clarity));

    let shape = usable_shape(f);
    let element = shape.map(|s| rules::element_text(s.element));
    Reading {
        version: READING_VERSION,
        engine: ENGINE.to_string(),
        hand,
        quality,
        shape: shape.map(|s| ShapeReading {
            element: s.element,
            name: rules::element_text(s.element).name.to_string(),
            palm_ratio: round_to(s.palm_ratio, 3),
            finger_ratio: s.finger_ratio.and_then(measurement),
            reading: rules::element_text(s.element).text.to_string(),
        }),
        fingers: shape.and_then(fingers),
        lines,
        mounts: mounts::readings(),
        summary: summary(element, &present, &missing),
        strengths: strengths(element, &present),
        guidance: guidance(element, &present),
        disclaimer: DISCLAIMER.to_string(),
        second_hand: None,
        comparison: None,
    }
}

fn fingers(shape: &HandShape) -> Option<FingerReading> {
    let ratio = shape.index_to_ring?;
    let band = bands::index_to_ring_band(ratio)?;
    Some(FingerReading {
        index_to_ring: Some(round_to(ratio, 3)),
        reading: rules::finger_text(band).to_string(),
    })
}

/// "a", "a and b", "a, b and c".
pub(crate) fn join_and<S: AsRef<str>>(items: &[S]) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [rest @ .., last] => format!(
            "{} and {}",
            rest.iter()
                .map(|s| s.as_ref())
                .collect::<Vec<_>>()
                .join(", "),
            last.as_ref()
        ),
    }
}

/// The indefinite article for `word` by how it is said: "an energetic", "a grounded",
/// "an honest", "a unique".
pub(crate) fn indefinite_article(word: &str) -> &'static str {
    let lower = word.trim_start().to_lowercase();
    const VOWEL_SOUNDING: &[&str] = &["hour", "honest", "honour", "heir"];
    const CONSONANT_SOUNDING: &[&str] = &["uni", "use", "usu", "uti", "eu", "one", "once"];
    if VOWEL_SOUNDING.iter().any(|p| lower.starts_with(p)) {
        return "an";
    }
    if CONSONANT_SOUNDING.iter().any(|p| lower.starts_with(p)) {
        return "a";
    }
    match lower.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => "an",
        _ => "a",
    }
}

/// 3–5 sentences: the shape, the (up to) two clearest lines, the lines not seen, a
/// closing thought.
fn summary(
    element: Option<&rules::ElementText>,
    present: &[&Analysis],
    missing: &[LineId],
) -> String {
    let mut sentences: Vec<String> = Vec::new();
    sentences.push(match element {
        Some(e) => format!(
            "Your hand is of the {} type, {} in the tradition, which speaks of {} {} nature.",
            e.english,
            e.hindi,
            indefinite_article(e.nature),
            e.nature
        ),
        None => rules::SUMMARY_NO_SHAPE.to_string(),
    });

    // The two clearest lines; a fused head-heart crease counts once.
    let mut picked: Vec<&Analysis> = Vec::new();
    for a in present {
        if picked.len() == 2 {
            break;
        }
        let partner_taken = a.head_heart && picked.iter().any(|p| Some(p.id) == a.fused_with);
        if !partner_taken {
            picked.push(a);
        }
    }
    if picked.is_empty() {
        sentences.push(rules::SUMMARY_NO_LINES.to_string());
    }
    for (i, a) in picked.iter().enumerate() {
        sentences.push(line_sentence(i == 0, a));
    }
    if !picked.is_empty() && !missing.is_empty() {
        let names: Vec<&str> = missing.iter().map(|id| id.hindi()).collect();
        sentences.push(format!(
            "The {} could not be seen clearly in this photo and {} left unread.",
            join_and(&names),
            if names.len() == 1 { "is" } else { "are" }
        ));
    }
    sentences.push(rules::SUMMARY_CLOSING.to_string());
    sentences.join(" ")
}

fn line_sentence(first: bool, a: &Analysis) -> String {
    let name = a.id.hindi();
    if a.head_heart {
        let other = a.fused_with.map_or("", |o| o.hindi());
        return if first {
            format!(
                "The clearest line in this photo is your {name} joined with your {other} in a single crease, which the tradition reads as {}.",
                rules::FUSED_GIST
            )
        } else {
            format!(
                "Beside it, your {name} and {other} run together as a single crease, which the tradition reads as {}.",
                rules::FUSED_GIST
            )
        };
    }
    let gist = a
        .length
        .and_then(|band| rules::rule_for(a.id, band))
        .and_then(|r| r.gist);
    let described = match (a.length, a.depth) {
        (Some(l), Some(d)) => Some(format!("{} and {}", l.label(), d.label())),
        (Some(l), None) => Some(l.label().to_string()),
        (None, Some(d)) => Some(d.label().to_string()),
        (None, None) => None,
    };
    match (first, described, gist) {
        (true, Some(desc), Some(gist)) => format!(
            "Your {name} is the clearest line in this photo: {desc}, it traditionally suggests {gist}."
        ),
        (true, Some(desc), None) => {
            format!("Your {name} is the clearest line in this photo, {desc}.")
        }
        (true, None, _) => format!("Your {name} is the clearest line in this photo."),
        (false, Some(desc), Some(gist)) => {
            format!("Beside it, your {name} is {desc}, which suggests {gist}.")
        }
        (false, Some(desc), None) => format!("Beside it, your {name} is {desc}."),
        (false, None, _) => format!("Beside it, your {name} can also be traced."),
    }
}

/// Takes one item from each source in turn (the first of each, then the second of
/// each, …), skipping repeats, until `max`.
fn round_robin(sources: Vec<Vec<String>>, max: usize) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let longest = sources.iter().map(Vec::len).max().unwrap_or(0);
    for round in 0..longest {
        for source in &sources {
            if let Some(item) = source.get(round) {
                if out.len() < max && !out.contains(item) {
                    out.push(item.clone());
                }
            }
        }
    }
    out
}

/// Strength bullets from the shape and the lines, clearest lines first.
fn strengths(element: Option<&rules::ElementText>, present: &[&Analysis]) -> Vec<String> {
    const ORDER: [Attribute; 6] = [
        Attribute::Length,
        Attribute::Depth,
        Attribute::Curvature,
        Attribute::Breaks,
        Attribute::Forks,
        Attribute::Islands,
    ];
    let mut sources: Vec<Vec<String>> = Vec::new();
    if let Some(e) = element {
        sources.push(vec![e.strength.to_string()]);
    }
    for a in present {
        let mut own: Vec<String> = Vec::new();
        if a.head_heart {
            own.push(rules::FUSED_STRENGTH.to_string());
        }
        own.extend(
            a.pick(&ORDER, |r| r.strength)
                .into_iter()
                .map(|(text, band)| strength_bullet(text, a.id, band)),
        );
        sources.push(own);
    }
    round_robin(sources, MAX_STRENGTHS)
}

/// "Emotional honesty (Hriday rekha, clearly marked)".
pub(crate) fn strength_bullet(text: &str, id: LineId, band: Band) -> String {
    let label = band.label();
    let label = label.strip_prefix("of ").unwrap_or(label);
    format!("{text} ({}, {label})", id.hindi())
}

/// 2–4 reflective suggestions: the shape's, then one per line (clearest first), then
/// general ones if the lines offer fewer than two.
fn guidance(element: Option<&rules::ElementText>, present: &[&Analysis]) -> Vec<String> {
    const ORDER: [Attribute; 6] = [
        Attribute::Islands,
        Attribute::Breaks,
        Attribute::Depth,
        Attribute::Curvature,
        Attribute::Length,
        Attribute::Forks,
    ];
    let mut sources: Vec<Vec<String>> = Vec::new();
    if let Some(e) = element {
        sources.push(vec![e.guidance.to_string()]);
    }
    for a in present {
        let mut own: Vec<String> = Vec::new();
        if a.head_heart {
            own.push(rules::FUSED_GUIDANCE.to_string());
        }
        own.extend(
            a.pick(&ORDER, |r| r.guidance)
                .into_iter()
                .map(|(text, _)| text.to_string()),
        );
        sources.push(own);
    }
    let mut out = round_robin(sources, MAX_GUIDANCE);
    for general in rules::GENERAL_GUIDANCE {
        if out.len() < 2 && !out.iter().any(|g| g == general) {
            out.push(general.to_string());
        }
    }
    out
}
