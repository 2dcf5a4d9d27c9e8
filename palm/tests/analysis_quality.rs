//! The seeded evaluation set (`hast_palm_synth::evaluation`): 200 synthetic palms and 45
//! negative photos through the whole offline engine, with the embedded landmark model.
//!
//! Every negative must be judged unusable, and heart, head and life must each be found with
//! the right label on at least [`TARGET`] of the palms that carry them. Prints the Markdown
//! tables recorded in docs/analysis-quality.md; with `HAST_QUALITY_REPORT=<file>` it also
//! writes them there.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_palm::features::LineId;
use hast_palm::Engine;
use hast_palm_synth::evaluation::{
    evaluate, evaluation_set, positive_case_with, widened_case, Case, CaseResult, Report,
};

/// The bar for heart, head and life: the share found with the right label.
const TARGET: f32 = 0.90;

/// The lines held to [`TARGET`].
const PRINCIPAL: [LineId; 3] = [LineId::Heart, LineId::Head, LineId::Life];

/// Every case through the offline engine, a few at a time, in index order.
fn run(cases: &[Case]) -> Vec<CaseResult> {
    let engine = Engine::offline().expect("embedded landmark model");
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4);
    let chunk = cases.len().div_ceil(threads);
    let mut results: Vec<CaseResult> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(chunk)
            .map(|part| {
                let engine = &engine;
                scope.spawn(move || {
                    part.iter()
                        .map(|case| evaluate(case, |image| engine.read(image, None).0))
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("evaluation thread"))
            .collect()
    });
    results.sort_by_key(|r| r.index);
    results
}

#[test]
fn evaluation_set_meets_the_detection_target() {
    let results = run(&evaluation_set());
    let report = Report::from_results(&results);
    let markdown = report.markdown();
    println!("{markdown}");
    if let Ok(path) = std::env::var("HAST_QUALITY_REPORT") {
        std::fs::write(path, &markdown).expect("write the report");
    }

    assert_eq!(report.positives, 200);
    for id in PRINCIPAL {
        let row = report
            .lines
            .iter()
            .find(|r| r.id == id)
            .expect("a row per line");
        assert!(row.drawn >= 180, "{id:?} drawn on {} palms", row.drawn);
        println!(
            "{id:?}: {:.1} % found with the right label (target {:.0} %)",
            100.0 * row.rate(),
            100.0 * TARGET
        );
        assert!(
            row.rate() >= TARGET,
            "{id:?}: {}/{} found with the right label, below the target\n{markdown}",
            row.found,
            row.drawn
        );
    }
    assert_eq!(report.negatives.iter().map(|n| n.1).sum::<usize>(), 45);
    for (kind, photos, unusable) in &report.negatives {
        assert_eq!(photos, unusable, "{kind}: judged usable\n{markdown}");
    }
}

/// A palm drawn without a fate line gets none, also when its Mercury line starts near the
/// wrist inside the fate band (twenty palms of the set's variety, each with sun and Mercury
/// lines; on this generator, the tuning style).
#[test]
fn palms_without_a_fate_line_get_none() {
    let cases: Vec<Case> = (0..20u64)
        .map(|i| {
            positive_case_with(2 * i + 1, |s| {
                s.lines.fate = false;
                assert!(s.lines.mercury, "the odd palms carry a Mercury line");
            })
        })
        .collect();
    let report = Report::from_results(&run(&cases));
    let (without, reported) = report.phantom(LineId::Fate);
    assert!(without >= 18, "{without} usable palms without a fate line");
    assert_eq!(
        reported,
        0,
        "fate reported on {reported} of {without}\n{}",
        report.markdown()
    );
}

/// Not a test: the baselines of issue 14 on this generator (the tuning style), forty palms of
/// the evaluation set's variety each: (a) life lines sweeping wide to the middle of the
/// wrist, every other palm without a fate line, no sun or Mercury line; (b) the classical
/// life line and no fate line, a Mercury and a sun line on every other palm.
/// `cargo test -p hast-palm --test analysis_quality -- --ignored
/// --nocapture`; the tables are in docs/analysis-quality.md.
#[test]
#[ignore = "a measurement: docs/analysis-quality.md, baselines of issue 14"]
fn issue_14_baselines() {
    let wide: Vec<Case> = (0..40u64)
        .map(|i| {
            positive_case_with(i, |s| {
                s.lines.life_sweep = 1.0;
                s.lines.fate = i.is_multiple_of(2);
                s.lines.sun = false;
                s.lines.mercury = false;
            })
        })
        .collect();
    println!(
        "(a) wide life lines\n\n{}",
        Report::from_results(&run(&wide)).markdown()
    );
    let no_fate: Vec<Case> = (0..40u64)
        .map(|i| {
            positive_case_with(i, |s| {
                s.lines.fate = false;
            })
        })
        .collect();
    println!(
        "(b) no fate line\n\n{}",
        Report::from_results(&run(&no_fate)).markdown()
    );
}

/// Not a test: the widened tuning set (`evaluation::widened_set`), the style the engine's
/// constants are set on. `cargo test -p hast-palm --test analysis_quality
/// widened -- --ignored --nocapture`; the table is in docs/analysis-quality.md.
#[test]
#[ignore = "a measurement: docs/analysis-quality.md, the widened tuning set"]
fn widened_tuning_set() {
    let results = run(&hast_palm_synth::evaluation::widened_set());
    if let Ok(only) = std::env::var("HAST_QUALITY_SHOW") {
        let id = LineId::ALL
            .into_iter()
            .find(|id| id.code() == only)
            .expect("a line code");
        for r in &results {
            if let Some(s) = r.lines.iter().find(|s| s.id == id && !s.found) {
                println!(
                    "palm {}: {only} missed (coverage {:.2}, error {:.3}, as {:?})",
                    r.index, s.coverage, s.mean_error, s.mislabelled_as
                );
            }
            if r.phantoms.contains(&id) {
                println!("palm {}: phantom {only}", r.index);
            }
        }
    }
    println!("{}", Report::from_results(&results).markdown());
}

/// The element follows the proportions the hand was drawn with: four hands of each element,
/// 7–9 % from the thresholds (palm ratio 1.12 or 1.29, finger ratio 0.73 or 0.87), both
/// sides, rotated, scale 0.7–1.1, on the tuning style (ratios to the basal crease, as
/// anthropometry measures them). With the palm length, width and finger read from the
/// landmark model alone (its prior pulls them to the average) 5 of 15 are right.
#[test]
fn the_element_follows_the_drawn_proportions() {
    use hast_palm_synth::synth::Proportions;
    let cases: Vec<Case> = (0..16u64)
        .map(|i| {
            positive_case_with(300 + i, |s| {
                s.proportions = Some(Proportions {
                    palm_ratio: [1.12, 1.29][(i % 2) as usize],
                    finger_ratio: [0.73, 0.87][((i / 2) % 2) as usize],
                });
            })
        })
        .collect();
    let report = Report::from_results(&run(&cases));
    let (clear, right) = report.elements;
    assert!(clear >= 15, "{clear} usable palms");
    assert!(
        right * 100 >= clear * 85,
        "element right on {right} of {clear}\n{}",
        report.markdown()
    );
}

/// A life line that bulges into the middle of the palm and runs down it to the wrist (where a
/// fate line would) is the life line, and no fate line is made of it: sixteen palms of the
/// set's variety on the tuning style, every other one without a fate line, no sister lines.
/// With the single classical life template and no anatomical relations the life line was
/// found on 8 of 16 (2 labelled fate).
#[test]
fn a_life_line_bulging_into_the_palm_is_not_a_fate_line() {
    let cases: Vec<Case> = (0..16u64)
        .map(|i| {
            positive_case_with(400 + i, |s| {
                s.lines.life_sweep = 2.0;
                s.lines.life_break = false;
                s.lines.fate = i.is_multiple_of(2);
            })
        })
        .collect();
    let report = Report::from_results(&run(&cases));
    let life = report
        .lines
        .iter()
        .find(|r| r.id == LineId::Life)
        .expect("a life row");
    let (without, phantom) = report.phantom(LineId::Fate);
    let markdown = report.markdown();
    assert!(
        life.found >= 15,
        "life found on {}/16\n{markdown}",
        life.found
    );
    assert_eq!(life.mislabelled, 0, "{markdown}");
    assert!(without >= 7, "{without} usable palms without a fate line");
    assert_eq!(
        phantom, 0,
        "fate reported on {phantom} of {without}\n{markdown}"
    );
}

/// Whether the `i`-th palm of the widened tuning set gets its life line found with the right
/// label (and, when it has one, its head line too), with the scores when it does not.
fn life_and_head_found(i: u64) -> Result<(), String> {
    let result = evaluate(&widened_case(i), |image| {
        Engine::offline().expect("model").read(image, None).0
    });
    let missed: Vec<_> = result
        .lines
        .iter()
        .filter(|s| matches!(s.id, LineId::Life | LineId::Head) && !s.found)
        .collect();
    if missed.is_empty() {
        Ok(())
    } else {
        Err(format!("palm {i}: {missed:?}"))
    }
}

/// The shading along the hand's outline on the thumb side runs where a life line close to
/// the thumb would: it is dropped as an outline, and the short, wide life line is found
/// (widened tuning palm 40; before, the outline was reported as the life line).
#[test]
fn the_hand_outline_is_not_a_life_line() {
    life_and_head_found(40).unwrap();
}

/// A life line broken at its middle is read whole, across a gap of 6 % of the palm's length
/// (widened tuning palms 6 and 110; before, the gaps were not joined: one lost its life line,
/// the other had it made up from the head and fate lines).
#[test]
fn a_broken_life_line_is_read_across_its_break() {
    life_and_head_found(110).unwrap();
    life_and_head_found(6).unwrap();
}

/// A life line joined to the head line whose crease fades a little before the thumb-side
/// edge still counts as starting there (widened tuning palm 27, a wide hand in strong light:
/// its visible crease ends at u = 0.80).
#[test]
fn a_life_line_fading_before_the_thumb_edge_is_found() {
    life_and_head_found(27).unwrap();
}

/// With the head line separate from it, a short life line is not replaced by the head line's
/// thumb-side half, which runs across the palm rather than down around the thumb's mount
/// (widened tuning palm 31).
#[test]
fn the_head_line_is_not_taken_for_a_short_life_line() {
    life_and_head_found(31).unwrap();
}

/// The held-out style (`synth_heldout`), which no engine constant is set on: its 40 palms and 40
/// negatives through the engine (docs/analysis-quality.md has the tables; print them with
/// `--nocapture`). Asserted: the issue-14 targets this style meets today (heart, head and life
/// found on at least 90 %, a fate line reported on at most 10 % of the palms without one), so a
/// change that loses them fails here; the ones it does not meet, or meets only with help from
/// its own figures (every negative refused; the element 85 %, see docs/analysis-quality.md), are
/// reported, not asserted.
#[test]
fn the_held_out_style_keeps_the_targets_it_meets() {
    let report = Report::from_results(&run(&hast_palm_synth::evaluation::heldout_set()));
    let markdown = report.markdown();
    println!("{markdown}");
    for id in PRINCIPAL {
        let row = report.lines.iter().find(|r| r.id == id).expect("a row");
        assert!(
            row.rate() >= TARGET,
            "{id:?} {}/{}\n{markdown}",
            row.found,
            row.drawn
        );
    }
    let (without, phantom) = report.phantom(LineId::Fate);
    assert!(without >= 18, "{without} usable palms without a fate line");
    assert!(
        phantom * 10 <= without,
        "fate reported on {phantom} of {without}\n{markdown}"
    );
}

/// The same held-out photo always gives the same reading (features and JSON), on a palm with
/// every kind of variation the style draws.
#[test]
fn a_held_out_photo_is_read_the_same_every_time() {
    let engine = Engine::offline().expect("embedded landmark model");
    let synth =
        hast_palm_synth::synth_heldout::generate(&hast_palm_synth::synth_heldout::palm_spec(7));
    let (a, ra) = engine.read(&synth.image, None);
    let (b, rb) = engine.read(&synth.image, None);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&ra).expect("json"),
        serde_json::to_string(&rb).expect("json")
    );
}
