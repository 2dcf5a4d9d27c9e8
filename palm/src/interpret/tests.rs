//! Tests of the rule table, the interpreter and the safety of every text it can produce.

use super::bands::{self, Attribute, Band, FingerBand};
use super::rules::{self, RULES};
use super::test_support::{self as ts, forbidden_hits, line, normalise, usable};
use super::{mounts, normalise_polyline, RuleInterpreter, MAX_POLYLINE_POINTS};
use crate::features::{Element, Features, LineId, QualityIssue};
use crate::geometry::Point;
use crate::reading::{LineReading, Reading, Source};
use crate::Interpret;

fn read(f: &Features) -> Reading {
    RuleInterpreter.interpret(f)
}

fn line_of(r: &Reading, id: LineId) -> &LineReading {
    r.lines
        .iter()
        .find(|l| l.id == id.code())
        .expect("every line is listed")
}

// ─────────────────────────────── safety ───────────────────────────────

fn assert_safe(what: &str, text: &str) {
    let hits = forbidden_hits(text);
    assert!(hits.is_empty(), "{what} contains {hits:?}: {text}");
}

#[test]
fn safety_scanner_catches_and_spares_the_right_words() {
    for bad in [
        "You will die young.",
        "A short life is shown.",
        "Expect an early grave.",
        "Your life-span is long.",
        "Heart disease runs here.",
        "An illness in middle age.",
        "It shows the length of life.",
        "A DEATH in the family.",
        "An accident at thirty.",
        "Your destiny is sealed.",
    ] {
        assert!(!forbidden_hits(bad).is_empty(), "not caught: {bad}");
    }
    for fine in [
        "She studied the diet of indie artists before the deadline.",
        "Skill and will, still.",
        "Fatalistic readings are avoided; this illustrates a skilful mind.",
        "Its length reflects vitality, not the length of life.",
        "The Fate line rises.",
        "A heart that gives freely.",
    ] {
        assert!(forbidden_hits(fine).is_empty(), "false positive: {fine}");
    }
}

/// Every fixed text and every text the interpreter can format, from the tables and all
/// enum values (the disclaimer is checked on its own).
fn every_static_text() -> Vec<String> {
    let mut all: Vec<String> = Vec::new();
    for r in RULES {
        all.push(r.text.to_string());
        all.extend(r.gist.map(str::to_string));
        all.extend(
            r.strength
                .map(|s| super::strength_bullet(s, r.line, r.band)),
        );
        all.extend(r.guidance.map(str::to_string));
    }
    for id in LineId::ALL {
        all.push(rules::intro(id).to_string());
        all.push(rules::not_found(id));
        all.push(rules::not_read(id));
        all.push(rules::low_confidence(id));
        all.push(id.english().to_string());
        all.push(id.hindi().to_string());
        for other in LineId::ALL {
            all.push(rules::fused_other(id, other));
        }
    }
    for band in Band::ALL {
        all.push(band.label().to_string());
    }
    for e in rules::ELEMENTS {
        all.extend(
            [
                e.name, e.english, e.hindi, e.nature, e.text, e.strength, e.guidance,
            ]
            .map(str::to_string),
        );
    }
    for band in FingerBand::ALL {
        all.push(rules::finger_text(band).to_string());
    }
    for issue in ALL_ISSUES {
        all.push(rules::issue_phrase(issue).to_string());
        all.push(issue.advice().to_string());
    }
    for m in mounts::MOUNTS {
        all.extend([m.id, m.english, m.hindi, m.text].map(str::to_string));
    }
    all.extend(
        [
            rules::FUSED_HEAD_HEART,
            rules::FUSED_GIST,
            rules::FUSED_STRENGTH,
            rules::FUSED_GUIDANCE,
            rules::SUMMARY_CLOSING,
            rules::SUMMARY_NO_SHAPE,
            rules::SUMMARY_NO_LINES,
            rules::UNUSABLE_OPENING,
            rules::UNUSABLE_CLOSING,
            rules::UNUSABLE_NO_ISSUE,
            mounts::FLAT_PHOTO,
        ]
        .map(str::to_string),
    );
    all.extend(rules::GENERAL_GUIDANCE.map(str::to_string));
    all.extend(rules::RETAKE_TIPS.map(str::to_string));
    all
}

const ALL_ISSUES: [QualityIssue; 7] = [
    QualityIssue::NoHand,
    QualityIssue::BackOfHand,
    QualityIssue::TooDark,
    QualityIssue::Overexposed,
    QualityIssue::TooBlurry,
    QualityIssue::HandTooSmall,
    QualityIssue::HandCropped,
];

#[test]
fn no_forbidden_words_in_any_table_text() {
    let texts = every_static_text();
    assert!(texts.len() > 200);
    for text in &texts {
        assert_safe("table text", text);
    }
}

/// Every string in a reading's JSON except the disclaimer.
fn strings_of(reading: &Reading) -> Vec<String> {
    fn walk(value: &serde_json::Value, key: &str, out: &mut Vec<String>) {
        match value {
            serde_json::Value::String(s) if key != "disclaimer" => out.push(s.clone()),
            serde_json::Value::Array(items) => items.iter().for_each(|v| walk(v, key, out)),
            serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| walk(v, k, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(
        &serde_json::to_value(reading).expect("serialises"),
        "",
        &mut out,
    );
    out
}

/// Features covering every band of every attribute of every line, every element and
/// finger band, low and high confidence, fused lines and missing lines.
pub(super) fn feature_grid() -> Vec<Features> {
    let mut grid = Vec::new();
    let shapes = [
        Some(Element::Earth),
        Some(Element::Air),
        Some(Element::Fire),
        Some(Element::Water),
        None,
    ];
    let ratios = [Some(0.9), Some(1.0), Some(1.1), None];
    let mut n = 0usize;
    for len in 0..3 {
        for curv in 0..3 {
            for depth in 0..3 {
                for breaks in [0, 1, 3] {
                    for forks in [0, 1, 2] {
                        for islands in [0, 1, 2] {
                            n += 1;
                            let lines = LineId::ALL
                                .iter()
                                .map(|id| {
                                    let mut l = line(
                                        *id,
                                        ts::length_in(*id, len),
                                        ts::curvature_in(*id, curv),
                                        ts::depth_in(depth),
                                        breaks,
                                        forks,
                                        islands,
                                    );
                                    l.confidence = if n.is_multiple_of(2) { 0.9 } else { 0.3 };
                                    l
                                })
                                .collect();
                            let mut f = usable(lines);
                            match shapes[n % shapes.len()] {
                                Some(element) => {
                                    if let Some(shape) = f.shape.as_mut() {
                                        shape.element = element;
                                        shape.index_to_ring = ratios[n % ratios.len()];
                                    }
                                }
                                None => f.shape = None,
                            }
                            grid.push(f);
                        }
                    }
                }
            }
        }
    }
    // Every subset of missing lines, with and without the fused crease.
    for mask in 0u32..64 {
        for fused in [false, true] {
            let mut f = ts::sample();
            let lines: Vec<_> = LineId::ALL
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) == 0)
                .map(|(_, id)| {
                    let mut l = line(*id, 0.6, 0.8, 0.5, 0, 0, 0);
                    if fused && matches!(id, LineId::Heart | LineId::Head) {
                        l.fused_with = Some(if *id == LineId::Heart {
                            LineId::Head
                        } else {
                            LineId::Heart
                        });
                    }
                    if fused && *id == LineId::Life {
                        l.fused_with = Some(LineId::Head);
                    }
                    l
                })
                .collect();
            f.lines = lines;
            if mask.is_multiple_of(3) {
                f.shape = None;
            }
            grid.push(f);
        }
    }
    // Every combination of quality issues on an unusable photo.
    for mask in 0u32..128 {
        let mut f = ts::unusable();
        f.quality.issues = ALL_ISSUES
            .iter()
            .enumerate()
            .filter(|(i, _)| mask & (1 << i) != 0)
            .map(|(_, issue)| *issue)
            .collect();
        grid.push(f);
    }
    grid
}

#[test]
fn no_forbidden_words_in_any_generated_reading() {
    let grid = feature_grid();
    assert!(grid.len() > 800);
    for f in &grid {
        let reading = read(f);
        for text in strings_of(&reading) {
            assert_safe("reading", &text);
        }
        assert_eq!(reading.disclaimer, rules::DISCLAIMER);
    }
}

#[test]
fn disclaimer_only_names_what_is_never_predicted() {
    let d = rules::DISCLAIMER;
    assert!(d.contains("reflection and entertainment"));
    assert!(d.contains("not medical"));
    assert!(d.contains("never a prediction about health, lifespan or death"));
    let mut hits = forbidden_hits(d);
    hits.sort_unstable();
    assert_eq!(hits, ["death", "health", "lifespan", "medical"]);
    // And only in the two negations.
    let without = d
        .replace("never a prediction about health, lifespan or death", "")
        .replace(
            "It is not medical, psychological, financial or legal advice",
            "",
        );
    assert!(forbidden_hits(&without).is_empty());
}

// ─────────────────────────────── the rule table ───────────────────────────────

#[test]
fn every_line_and_band_has_exactly_one_rule() {
    for id in LineId::ALL {
        for band in Band::ALL {
            let n = RULES
                .iter()
                .filter(|r| r.line == id && r.band == band)
                .count();
            assert_eq!(n, 1, "{id:?} {band:?}");
        }
    }
    assert_eq!(RULES.len(), LineId::ALL.len() * Band::ALL.len());
}

fn sentences(text: &str) -> usize {
    text.matches(". ").count() + usize::from(text.ends_with('.'))
}

#[test]
fn every_paragraph_has_two_to_four_sentences() {
    let mut paragraphs: Vec<&str> = RULES.iter().map(|r| r.text).collect();
    paragraphs.extend(LineId::ALL.map(rules::intro));
    paragraphs.extend(rules::ELEMENTS.iter().map(|e| e.text));
    paragraphs.extend(FingerBand::ALL.map(rules::finger_text));
    paragraphs.push(rules::FUSED_HEAD_HEART);
    for p in paragraphs {
        let n = sentences(p);
        assert!((2..=4).contains(&n), "{n} sentences: {p}");
        assert!(p.ends_with('.'));
    }
    for m in mounts::readings() {
        assert!((2..=4).contains(&sentences(&m.reading)), "{}", m.reading);
    }
}

#[test]
fn length_bands_have_gists_and_every_band_offers_a_strength_or_suggestion() {
    for r in RULES {
        assert_eq!(
            r.gist.is_some(),
            r.band.attribute() == Attribute::Length,
            "{:?} {:?}",
            r.line,
            r.band
        );
        assert!(r.strength.is_some() || r.guidance.is_some(), "{r:?}");
    }
}

#[test]
fn hindi_names_appear_in_texts() {
    for r in RULES {
        assert!(r.text.contains(r.line.hindi()), "{r:?}");
    }
    for id in LineId::ALL {
        assert!(rules::intro(id).contains(id.hindi()));
        assert!(rules::not_found(id).contains(id.hindi()));
    }
    for (e, hindi) in rules::ELEMENTS
        .iter()
        .zip(["Prithvi", "Vayu", "Agni", "Jal"])
    {
        assert!(e.name.contains(hindi) && e.text.contains(hindi));
    }
    for m in mounts::MOUNTS {
        assert!(m.hindi.ends_with("parvat"));
        let root = m.hindi.trim_end_matches(" parvat");
        let planet = root.rsplit(' ').next().unwrap_or(root);
        assert!(m.text.contains(planet), "{}", m.text);
    }
    let reading = read(&ts::sample());
    for l in &reading.lines {
        assert!(l.reading.contains(&l.hindi), "{}", l.reading);
    }
    assert!(reading.summary.contains("rekha"));
    assert!(reading.shape.expect("shape").name.contains("Jal"));
}

#[test]
fn band_thresholds_are_per_line_and_ordered() {
    for id in LineId::ALL {
        let (medium, long) = bands::length_thresholds(id);
        assert!(0.0 < medium && medium < long, "{id:?}");
        assert_eq!(bands::length_band(id, medium - 0.01), Some(Band::Short));
        assert_eq!(bands::length_band(id, medium), Some(Band::Medium));
        assert_eq!(bands::length_band(id, long), Some(Band::Long));
        let (gently, deeply) = bands::curvature_thresholds(id);
        assert!(0.0 < gently && gently < deeply);
        assert_eq!(bands::curvature_band(id, 0.0), Some(Band::Straight));
        assert_eq!(bands::curvature_band(id, gently), Some(Band::GentlyCurved));
        assert_eq!(bands::curvature_band(id, deeply), Some(Band::DeeplyCurved));
        assert_eq!(bands::length_band(id, f32::NAN), None);
        assert_eq!(bands::length_band(id, -1.0), None);
    }
    // A heart line and a sun line of the same length read differently.
    assert_eq!(bands::length_band(LineId::Heart, 0.45), Some(Band::Short));
    assert_eq!(bands::length_band(LineId::Sun, 0.45), Some(Band::Long));
    assert_eq!(bands::depth_band(0.29), Some(Band::Faint));
    assert_eq!(bands::depth_band(0.3), Some(Band::Clear));
    assert_eq!(bands::depth_band(0.6), Some(Band::Deep));
    assert_eq!(bands::breaks_band(0), Band::Unbroken);
    assert_eq!(bands::breaks_band(2), Band::Broken);
    assert_eq!(bands::breaks_band(3), Band::Fragmented);
    assert_eq!(bands::forks_band(0), None);
    assert_eq!(bands::forks_band(1), Some(Band::OneFork));
    assert_eq!(bands::islands_band(5), Some(Band::SeveralIslands));
    assert_eq!(bands::index_to_ring_band(0.9), Some(FingerBand::RingLonger));
    assert_eq!(bands::index_to_ring_band(1.0), Some(FingerBand::Even));
    assert_eq!(
        bands::index_to_ring_band(1.1),
        Some(FingerBand::IndexLonger)
    );
    assert_eq!(bands::index_to_ring_band(f32::NAN), None);
}

// ─────────────────────────────── readings ───────────────────────────────

#[test]
fn long_deep_unbroken_life_line_differs_from_short_faint_broken_one() {
    let strong = read(&usable(vec![line(LineId::Life, 1.0, 1.5, 0.8, 0, 0, 0)]));
    let weak = read(&usable(vec![line(LineId::Life, 0.3, 1.5, 0.15, 1, 0, 0)]));
    let strong = &line_of(&strong, LineId::Life).reading;
    let weak = &line_of(&weak, LineId::Life).reading;
    assert_ne!(strong, weak);
    let rule = |band| rules::rule_for(LineId::Life, band).expect("rule").text;
    for band in [Band::Long, Band::Deep, Band::Unbroken] {
        assert!(strong.contains(rule(band)));
        assert!(!weak.contains(rule(band)));
    }
    for band in [Band::Short, Band::Faint, Band::Broken] {
        assert!(weak.contains(rule(band)));
        assert!(!strong.contains(rule(band)));
    }
    // The break is a transition.
    assert!(weak.contains("transition"));
}

#[test]
fn short_life_line_speaks_of_vitality_not_lifespan() {
    let reading = read(&usable(vec![line(LineId::Life, 0.2, 0.5, 0.1, 4, 0, 2)]));
    let text = &line_of(&reading, LineId::Life).reading;
    assert!(text.contains("reflects vitality and how one spends energy, not the length of life"));
    assert_safe("short life line", text);
    let lower = text.to_lowercase();
    for about_lifespan in [
        "how long",
        "years",
        "live to",
        "lifespan",
        "longevity",
        "age",
    ] {
        assert!(
            !normalise(&lower).contains(&format!(" {about_lifespan} ")),
            "{about_lifespan}: {text}"
        );
    }
    assert_safe("summary", &reading.summary);
}

#[test]
fn fused_head_heart_line_gets_the_fused_text() {
    let reading = read(&ts::sample());
    for (id, other) in [(LineId::Heart, "head"), (LineId::Head, "heart")] {
        let l = line_of(&reading, id);
        assert!(l.reading.contains(rules::FUSED_HEAD_HEART), "{}", l.reading);
        assert!(l.marks.contains(&format!("fused_with_{other}")));
        // The crease's course is described by the fused text, not the separate bands.
        let long = rules::rule_for(id, Band::Long).expect("rule").text;
        assert!(!l.reading.contains(long));
        let deep = rules::rule_for(id, Band::Deep).expect("rule").text;
        assert!(l.reading.contains(deep));
    }
    assert!(
        reading.summary.contains("single crease"),
        "{}",
        reading.summary
    );
    assert!(reading.strengths.iter().any(|s| s == rules::FUSED_STRENGTH));
    // Not fused: no fused text.
    let plain = read(&usable(vec![
        line(LineId::Heart, 0.8, 0.9, 0.7, 0, 0, 0),
        line(LineId::Head, 0.8, 0.3, 0.6, 0, 0, 0),
    ]));
    assert!(plain
        .lines
        .iter()
        .all(|l| !l.reading.contains(rules::FUSED_HEAD_HEART)));
}

#[test]
fn other_fusions_get_the_general_text_and_self_fusion_is_ignored() {
    let mut life = line(LineId::Life, 0.9, 1.5, 0.6, 0, 0, 0);
    life.fused_with = Some(LineId::Head);
    let mut fate = line(LineId::Fate, 0.5, 0.3, 0.5, 0, 0, 0);
    fate.fused_with = Some(LineId::Fate);
    let reading = read(&usable(vec![life, fate]));
    let life = line_of(&reading, LineId::Life);
    assert!(life
        .reading
        .contains(&rules::fused_other(LineId::Life, LineId::Head)));
    assert!(life.reading.contains(
        rules::rule_for(LineId::Life, Band::Long)
            .expect("rule")
            .text
    ));
    assert_eq!(life.marks, ["fused_with_head"]);
    assert!(line_of(&reading, LineId::Fate).marks.is_empty());
}

#[test]
fn interpretation_is_deterministic_and_order_independent() {
    for f in [ts::sample(), ts::unusable(), usable(Vec::new())] {
        let a = read(&f);
        let b = read(&f);
        assert_eq!(a, b);
        assert_eq!(
            serde_json::to_string(&a).expect("json"),
            serde_json::to_string(&b).expect("json")
        );
        let mut reversed = f.clone();
        reversed.lines.reverse();
        assert_eq!(read(&reversed), a);
    }
}

#[test]
fn every_line_id_appears_in_order() {
    let codes: Vec<&str> = LineId::ALL.iter().map(|id| id.code()).collect();
    for f in [ts::sample(), ts::unusable(), usable(Vec::new())] {
        let reading = read(&f);
        let ids: Vec<&str> = reading.lines.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(ids, codes);
        for (l, id) in reading.lines.iter().zip(LineId::ALL) {
            assert_eq!(l.english, id.english());
            assert_eq!(l.hindi, id.hindi());
        }
    }
}

#[test]
fn lines_not_found_are_not_assessed_and_not_invented() {
    let reading = read(&ts::sample());
    for id in [LineId::Sun, LineId::Mercury] {
        let l = line_of(&reading, id);
        assert!(!l.present);
        assert_eq!(l.source, Source::NotAssessed);
        assert!(l.polyline.is_empty() && l.marks.is_empty());
        assert_eq!((l.length, l.curvature, l.depth), (None, None, None));
        assert!(l.continuity.is_none());
        assert_eq!(l.confidence, 0.0);
        assert_eq!(l.reading, rules::not_found(id));
        assert!(l
            .reading
            .contains("could not be seen clearly in this photo, so it is not interpreted"));
        // No paragraph of the rule table.
        assert!(RULES
            .iter()
            .filter(|r| r.line == id)
            .all(|r| !l.reading.contains(r.text)));
    }
    assert!(reading
        .summary
        .contains("Surya rekha and Budh rekha could not be seen"));
    let found = line_of(&reading, LineId::Life);
    assert!(found.present);
    assert_eq!(found.source, Source::Measured);
    assert_eq!(
        found.continuity.as_ref().expect("continuity").description,
        "unbroken"
    );
}

#[test]
fn the_most_confident_of_duplicate_lines_is_used() {
    let mut weak = line(LineId::Head, 0.2, 0.2, 0.2, 0, 0, 0);
    weak.confidence = 0.3;
    let strong = line(LineId::Head, 0.9, 0.2, 0.7, 0, 0, 0);
    let reading = read(&usable(vec![weak.clone(), strong.clone()]));
    assert_eq!(line_of(&reading, LineId::Head).length, Some(0.9));
    assert_eq!(read(&usable(vec![strong, weak])), reading);
}

#[test]
fn polylines_are_normalised_rounded_and_decimated() {
    let points: Vec<Point> = (0..500)
        .map(|i| Point::new(i as f32 * 1.234_567, 1000.0 - i as f32))
        .collect();
    let out = normalise_polyline(&points, 800, 1000);
    assert_eq!(out.len(), MAX_POLYLINE_POINTS);
    assert_eq!(out[0], [0.0, 1.0]);
    let last = points[499];
    let [x, y] = out[MAX_POLYLINE_POINTS - 1];
    assert!((x - last.x / 800.0).abs() <= 0.000_05 && (y - last.y / 1000.0).abs() <= 0.000_05);
    for [x, y] in &out {
        assert!((0.0..=1.0).contains(x) && (0.0..=1.0).contains(y));
        for v in [x, y] {
            let scaled = f64::from(*v) * 10_000.0;
            assert!((scaled - scaled.round()).abs() < 1e-3, "{v}");
        }
    }
    // Evenly spaced and in order.
    assert!(out.windows(2).all(|w| w[0][0] < w[1][0]));
    // Short polylines are kept whole; odd points dropped or clamped; no image, no path.
    assert_eq!(normalise_polyline(&points[..10], 800, 1000).len(), 10);
    let odd = [Point::new(f32::NAN, 1.0), Point::new(-5.0, 2000.0)];
    assert_eq!(normalise_polyline(&odd, 800, 1000), vec![[0.0, 1.0]]);
    assert!(normalise_polyline(&points, 0, 1000).is_empty());
    // In a reading.
    let reading = read(&ts::sample());
    let life = line_of(&reading, LineId::Life);
    assert_eq!(life.polyline.len(), 40);
    assert_eq!(life.polyline[0], [0.1875, 0.43]);
}

#[test]
fn odd_measurements_are_dropped_not_shown() {
    let mut l = line(LineId::Head, f32::NAN, f32::INFINITY, 1.7, 0, 0, 0);
    l.confidence = f32::NAN;
    let reading = read(&usable(vec![l]));
    let head = line_of(&reading, LineId::Head);
    assert_eq!(
        (head.length, head.curvature, head.depth),
        (None, None, Some(1.0))
    );
    assert_eq!(head.confidence, 0.0);
    for band in [Band::Short, Band::Medium, Band::Long, Band::Straight] {
        let text = rules::rule_for(LineId::Head, band).expect("rule").text;
        assert!(!head.reading.contains(text));
    }
    assert!(head.reading.contains(
        rules::rule_for(LineId::Head, Band::Deep)
            .expect("rule")
            .text
    ));
    assert!(head.reading.contains(&rules::low_confidence(LineId::Head)));
    // A shape without a real palm ratio is not interpreted.
    let mut f = ts::sample();
    if let Some(shape) = f.shape.as_mut() {
        shape.palm_ratio = f32::NAN;
    }
    let reading = read(&f);
    assert!(reading.shape.is_none() && reading.fingers.is_none());
}

#[test]
fn low_confidence_lines_are_hedged() {
    let reading = read(&ts::sample());
    let fate = line_of(&reading, LineId::Fate);
    assert_eq!(fate.confidence, 0.4);
    assert!(fate.reading.ends_with(&rules::low_confidence(LineId::Fate)));
    assert!(!line_of(&reading, LineId::Life)
        .reading
        .contains("uncertain"));
}

#[test]
fn all_ten_mounts_are_listed_and_not_assessed() {
    let ids = [
        "jupiter",
        "saturn",
        "sun",
        "mercury",
        "venus",
        "moon",
        "mars_inner",
        "mars_outer",
        "rahu",
        "ketu",
    ];
    for f in [ts::sample(), ts::unusable()] {
        let reading = read(&f);
        let got: Vec<&str> = reading.mounts.iter().map(|m| m.id.as_str()).collect();
        assert_eq!(got, ids);
        for m in &reading.mounts {
            assert_eq!(m.prominence, "not_assessed");
            assert_eq!(m.source, Source::NotAssessed);
            assert!(m.reading.ends_with(mounts::FLAT_PHOTO));
            assert!(m.hindi.contains("parvat") && m.english.contains("Mount"));
        }
    }
}

#[test]
fn unusable_photo_gets_retake_advice_and_no_interpretation() {
    let f = ts::unusable();
    let reading = read(&f);
    assert!(!reading.quality.usable);
    assert_eq!(reading.quality.issues, ["too_dark", "too_blurry"]);
    assert_eq!(
        reading.quality.advice,
        [
            QualityIssue::TooDark.advice(),
            QualityIssue::TooBlurry.advice()
        ]
    );
    assert!(reading.shape.is_none() && reading.fingers.is_none());
    for l in &reading.lines {
        assert!(!l.present);
        assert_eq!(l.source, Source::NotAssessed);
        assert!(l.polyline.is_empty());
        assert!(l.reading.contains("could not be used"));
    }
    assert!(reading.summary.starts_with(rules::UNUSABLE_OPENING));
    assert!(reading
        .summary
        .contains("too dark and the photo is blurred"));
    assert!(reading.summary.contains("Please take a new photo"));
    assert!(reading.strengths.is_empty());
    assert_eq!(reading.guidance, rules::RETAKE_TIPS);
    // No interpretation anywhere: no rule text, no shape text, no finger text.
    let json = serde_json::to_string(&reading).expect("json");
    for r in RULES {
        assert!(!json.contains(r.text));
    }
    for e in rules::ELEMENTS {
        assert!(!json.contains(e.text));
    }
    // Unusable with the lines measured anyway: still nothing read.
    let mut measured = ts::sample();
    measured.quality.usable = false;
    measured.quality.issues = vec![QualityIssue::HandCropped, QualityIssue::HandCropped];
    let reading = read(&measured);
    assert!(reading.lines.iter().all(|l| !l.present));
    assert_eq!(reading.quality.issues, ["hand_cropped"]);
    assert!(reading.shape.is_none());
    // No issue named: a generic sentence.
    measured.quality.issues.clear();
    assert!(read(&measured).summary.contains(rules::UNUSABLE_NO_ISSUE));
}

#[test]
fn summary_strengths_and_guidance_have_their_sizes() {
    for f in feature_grid().iter().filter(|f| f.quality.usable) {
        let reading = read(f);
        let n = sentences(&reading.summary);
        assert!((3..=5).contains(&n), "{n}: {}", reading.summary);
        assert!(reading.strengths.len() <= 5);
        assert!((2..=4).contains(&reading.guidance.len()));
        let mut unique = reading.guidance.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), reading.guidance.len());
        // With a shape or at least one line there are at least three strengths.
        if reading.lines.iter().any(|l| l.present) {
            assert!(reading.strengths.len() >= 3, "{:?}", reading.strengths);
        }
    }
    let reading = read(&ts::sample());
    assert!(reading
        .summary
        .starts_with("Your hand is of the Water type, Jal"));
    assert!(reading.summary.ends_with(rules::SUMMARY_CLOSING));
    assert!(reading.strengths[0].contains("Jal hand"));
    // No lines, no shape: says so, invents nothing.
    let mut bare = usable(Vec::new());
    bare.shape = None;
    let reading = read(&bare);
    assert_eq!(
        reading.summary,
        format!(
            "{} {} {}",
            rules::SUMMARY_NO_SHAPE,
            rules::SUMMARY_NO_LINES,
            rules::SUMMARY_CLOSING
        )
    );
    assert!(reading.strengths.is_empty());
    assert_eq!(reading.guidance, rules::GENERAL_GUIDANCE);
}

#[test]
fn hand_info_quality_and_shape_come_from_the_features() {
    let reading = read(&ts::sample());
    assert_eq!(reading.version, crate::reading::READING_VERSION);
    assert_eq!(reading.engine, "offline");
    assert_eq!(reading.hand.side, Some(crate::HandSide::Right));
    assert_eq!(reading.hand.side_source, "uploader");
    assert_eq!(
        reading.hand.detection,
        crate::features::DetectionMethod::Landmarks
    );
    assert_eq!(reading.hand.detection_confidence, 0.93);
    assert!(reading.quality.usable && reading.quality.issues.is_empty());
    assert_eq!(reading.quality.sharpness, 240.5);
    let shape = reading.shape.expect("shape");
    assert_eq!(shape.element, Element::Water);
    assert_eq!(shape.name, "Water hand (Jal)");
    assert_eq!((shape.palm_ratio, shape.finger_ratio), (1.18, Some(0.86)));
    let fingers = reading.fingers.expect("fingers");
    assert_eq!(fingers.index_to_ring, Some(0.95));
    assert_eq!(fingers.reading, rules::finger_text(FingerBand::RingLonger));
    assert!(fingers.reading.contains("traditional observation"));
    // Without the finger proportion, no finger reading.
    let mut f = ts::sample();
    if let Some(shape) = f.shape.as_mut() {
        shape.index_to_ring = None;
    }
    assert!(read(&f).fingers.is_none());
    let unusable = read(&ts::unusable());
    assert_eq!(unusable.hand.side_source, "unknown");
    assert_eq!(unusable.hand.side, None);
}

#[test]
fn articles_agree_with_the_words_they_introduce() {
    use super::indefinite_article;
    assert_eq!(indefinite_article("energetic, enthusiastic"), "an");
    assert_eq!(indefinite_article("grounded, practical"), "a");
    assert_eq!(indefinite_article("honest"), "an");
    assert_eq!(indefinite_article("unique"), "a");
    assert_eq!(indefinite_article("open"), "an");
    for f in feature_grid() {
        let reading = read(&f);
        let text = format!(
            "{} {} {}",
            reading.summary,
            reading.strengths.join(" "),
            reading.guidance.join(" ")
        )
        .to_lowercase();
        for wrong in [" a a", " a e", " a i", " a o"] {
            assert!(!text.contains(wrong), "{wrong:?} in: {text}");
        }
    }
}

// ─────────────────────────────── two hands ───────────────────────────────

fn hands() -> (Reading, Reading) {
    let lines = || {
        vec![
            line(LineId::Heart, 0.8, 0.9, 0.7, 0, 1, 0),
            line(LineId::Head, 0.6, 0.3, 0.5, 1, 0, 0),
            line(LineId::Life, 0.95, 2.3, 0.75, 0, 0, 1),
            line(LineId::Fate, 0.5, 0.2, 0.4, 0, 0, 0),
        ]
    };
    let right = read(&usable(lines()));
    let mut left_features = usable(lines());
    left_features.side = Some(crate::HandSide::Left);
    (right, read(&left_features))
}

#[test]
fn the_same_lines_on_both_hands_differ_nowhere() {
    use super::compare::compare_hands;
    let (right, left) = hands();
    let c = compare_hands(&right, &left).expect("both usable");
    assert!(c.lines.iter().all(|l| !l.differs), "{c:?}");
    assert!(c.summary.contains("much the same"), "{}", c.summary);
    assert_eq!(c.lines.len(), 4, "each line found on either hand");
}

#[test]
fn two_hands_are_compared_line_by_line() {
    use super::compare::{compare_hands, DEPTH_MARGIN, LENGTH_MARGIN};
    let (right, mut left) = hands();
    let heart = left
        .lines
        .iter_mut()
        .find(|l| l.id == "heart")
        .expect("heart");
    heart.length = heart.length.map(|l| l - 2.0 * LENGTH_MARGIN);
    heart.depth = heart.depth.map(|d| d + 2.0 * DEPTH_MARGIN);
    let fate = left
        .lines
        .iter_mut()
        .find(|l| l.id == "fate")
        .expect("fate");
    fate.present = false;
    let c = compare_hands(&right, &left).expect("both usable");
    let of = |id: &str| c.lines.iter().find(|l| l.id == id).expect("listed");
    assert_eq!(
        of("heart").reading,
        "Longer on your right hand and deeper on your left hand."
    );
    assert_eq!(of("fate").reading, "Found on your right hand only.");
    assert!(!of("head").differs);
    assert!(
        c.summary.contains("Hriday rekha and Bhagya rekha"),
        "{}",
        c.summary
    );
    for text in std::iter::once(&c.summary).chain(c.lines.iter().map(|l| &l.reading)) {
        assert_safe("comparison", text);
    }
    // An unusable photo is not compared.
    left.quality.usable = false;
    assert!(compare_hands(&right, &left).is_none());
}
