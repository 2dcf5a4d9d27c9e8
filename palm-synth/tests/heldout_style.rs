//! The held-out synthetic style (`hast_palm_synth::synth_heldout`): determinism, truth
//! conventions, the set's balance, and negatives without truth. Fast: the photos are
//! rendered small where only geometry is checked.
//!
//! How the engine reads this style is measured only in aggregate, by
//! `evaluation::heldout_set` (`palm/tests/analysis_quality.rs`): no engine constant is set on
//! it, and no per-photo result of it is looked at (ARCHITECTURE.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_palm::features::LineId;
use hast_palm::HandSide;
use hast_palm_synth::synth_heldout::{
    generate, negative_spec, palm_spec, FateStart, HeadCourse, HeadStart, HeartCourse, HeldoutSpec,
    LifeLine, NEGATIVE_KINDS,
};

const SET: u64 = 40;

fn small(mut spec: HeldoutSpec) -> HeldoutSpec {
    spec.width = 300;
    spec.height = 400;
    spec
}

#[test]
fn same_spec_gives_the_same_bytes() {
    for spec in [
        small(palm_spec(3)),
        small(negative_spec(3, 1)),
        small(palm_spec(17)),
    ] {
        let a = generate(&spec);
        let b = generate(&spec);
        assert_eq!(a.image.as_raw(), b.image.as_raw());
        assert_eq!(a.truth, b.truth);
        assert_eq!(a.landmarks, b.landmarks);
    }
    let a = generate(&small(palm_spec(4)));
    let b = generate(&small(palm_spec(5)));
    assert_ne!(a.image.as_raw(), b.image.as_raw());
}

#[test]
fn turning_a_line_on_does_not_move_the_others() {
    let mut spec = small(palm_spec(8));
    spec.sun = false;
    spec.fate = None;
    let without = generate(&spec).truth;
    spec.sun = true;
    spec.fate = Some(FateStart::Wrist);
    let with = generate(&spec).truth;
    let others = |t: &[hast_palm_synth::synth::TrueLine]| {
        t.iter()
            .filter(|l| l.id != LineId::Sun && l.id != LineId::Fate)
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(others(&without), others(&with));
    assert_eq!(with.len(), without.len() + 2);
}

#[test]
fn truth_lies_in_the_photo_and_follows_the_conventions() {
    for i in 0..SET {
        let spec = small(palm_spec(i));
        let synth = generate(&spec);
        let frame = synth.frame.expect("a palm has a frame");
        let (w, h) = (spec.width as f32, spec.height as f32);
        // Lines in LineId::ALL order, each once.
        let order: Vec<usize> = synth
            .truth
            .iter()
            .map(|t| LineId::ALL.iter().position(|&id| id == t.id).unwrap())
            .collect();
        assert!(order.windows(2).all(|p| p[0] < p[1]), "palm {i}: {order:?}");
        for t in &synth.truth {
            assert!(t.points.len() > 10, "palm {i}: {:?} too short", t.id);
            for p in &t.points {
                assert!(
                    p.x >= 0.0 && p.y >= 0.0 && p.x < w && p.y < h,
                    "palm {i}: {:?} leaves the photo",
                    t.id
                );
            }
            let gaps = t
                .points
                .windows(2)
                .filter(|q| q[0].distance(q[1]) > 1.5)
                .count();
            assert_eq!(gaps as u32, t.breaks, "palm {i}: {:?} spacing", t.id);
            let uv: Vec<(f32, f32)> = t.points.iter().map(|&p| frame.to_palm(p)).collect();
            let (first, last) = (uv[0], uv[uv.len() - 1]);
            match (t.id, t.fused_with) {
                (LineId::Heart, Some(LineId::Head)) => assert!(
                    first.0 < 0.1 && last.0 > 0.85,
                    "palm {i}: simian {first:?} → {last:?}"
                ),
                (LineId::Heart, _) => assert!(
                    first.0 < 0.1 && last.0 > 0.55 && last.1 > first.1,
                    "palm {i}: heart {first:?} → {last:?}"
                ),
                (LineId::Head, _) => assert!(
                    first.0 > 0.85 && last.0 < 0.25,
                    "palm {i}: head {first:?} → {last:?}"
                ),
                (LineId::Life, _) => assert!(
                    first.0 > 0.88 && first.1 > 0.55 && last.1 < first.1 - 0.2,
                    "palm {i}: life {first:?} → {last:?}"
                ),
                (LineId::Fate | LineId::Sun, _) => assert!(
                    last.1 > first.1 + 0.25,
                    "palm {i}: {:?} {first:?} → {last:?}",
                    t.id
                ),
                (LineId::Mercury, _) => assert!(
                    last.1 > first.1 + 0.4 && last.0 < first.0,
                    "palm {i}: mercury {first:?} → {last:?}"
                ),
            }
        }
        let marks = synth.landmarks.expect("a palm has landmarks");
        assert_eq!(marks.len(), 21);
        assert!(marks[0].distance(frame.to_image(0.5, 0.0)) < 0.01);
        assert!(marks[9].distance(frame.to_image(0.5, 1.0)) < 0.01);
        // The thumb is on the thumb side (u > 1 at its tip), the little finger at u ≈ 0.
        assert!(frame.to_palm(marks[4]).0 > 1.0, "palm {i}: thumb tip");
        assert!(frame.to_palm(marks[17]).0 < 0.2, "palm {i}: little finger");
        // A left palm shows its thumb (and index finger) on the left of the photo.
        let thumb_left = marks[5].x < marks[17].x;
        assert_eq!(thumb_left, spec.side == HandSide::Left, "palm {i}: side");
        let p = synth.proportions.expect("a palm has proportions");
        let chain: f32 = [9, 10, 11, 12]
            .windows(2)
            .map(|k| marks[k[0]].distance(marks[k[1]]))
            .sum();
        assert!((p.finger_ratio - chain / frame.palm_length()).abs() < 1e-3);
        assert!((p.palm_ratio - frame.palm_length() / frame.palm_width()).abs() < 1e-3);
    }
}

#[test]
fn the_set_covers_every_variant() {
    let specs: Vec<HeldoutSpec> = (0..SET).map(palm_spec).collect();
    let count = |f: &dyn Fn(&HeldoutSpec) -> bool| specs.iter().filter(|s| f(s)).count();
    assert_eq!(count(&|s| s.side == HandSide::Left), 20);
    assert_eq!(count(&|s| s.side == HandSide::Right), 20);
    for (long_palm, long_fingers) in [(false, false), (false, true), (true, false), (true, true)] {
        let n = count(&|s| {
            (s.palm_ratio >= 1.2) == long_palm && (s.finger_ratio >= 0.8) == long_fingers
        });
        assert!(n >= 8, "element ({long_palm}, {long_fingers}): {n}");
    }
    assert!(specs
        .iter()
        .all(|s| (0.98..=1.46).contains(&s.palm_ratio) && (0.64..=1.01).contains(&s.finger_ratio)));
    assert!(specs.iter().all(|s| s.rotation_deg.abs() <= 30.0));
    assert!(count(&|s| s.rotation_deg < -25.0) > 0 && count(&|s| s.rotation_deg > 25.0) > 0);
    for life in LifeLine::ALL {
        assert!(count(&|s| s.life == life) >= 5, "{life:?}");
    }
    let regular = |s: &HeldoutSpec| !s.simian;
    for start in [HeadStart::Joined, HeadStart::Separate] {
        assert!(
            count(&|s| regular(s) && s.head_start == start) >= 5,
            "{start:?}"
        );
    }
    for course in [HeadCourse::Sloping, HeadCourse::Straight] {
        assert!(
            count(&|s| regular(s) && s.head_course == course) >= 5,
            "{course:?}"
        );
    }
    for heart in [HeartCourse::Curved, HeartCourse::Straight] {
        assert!(count(&|s| regular(s) && s.heart == heart) >= 5, "{heart:?}");
    }
    assert_eq!(count(&|s| s.fate.is_none()), 20);
    for start in [FateStart::Wrist, FateStart::LifeLine, FateStart::MidPalm] {
        assert!(count(&|s| s.fate == Some(start)) >= 5, "{start:?}");
    }
    assert!((2..=3).contains(&count(&|s| s.simian)));
    assert!(count(&|s| s.sun) >= 5 && count(&|s| s.mercury) >= 5);
    assert!(count(&|s| s.wrinkles >= 0.8) >= 5);
    assert!(count(&|s| s.sleeve.is_some()) >= 5 && count(&|s| s.jpeg_quality.is_some()) >= 5);
}

#[test]
fn negatives_have_no_truth() {
    for (kind, name) in NEGATIVE_KINDS.iter().enumerate() {
        for seed in 0..2 {
            let synth = generate(&small(negative_spec(kind, seed)));
            assert!(synth.truth.is_empty(), "{name}");
            assert!(synth.landmarks.is_none() && synth.proportions.is_none());
            assert_eq!(synth.frame.is_some(), *name == "back of the hand");
        }
    }
}

#[test]
#[ignore = "prints the set's variants as a Markdown table (informational)"]
fn print_the_set() {
    println!("| # | side | rot | palm | fingers | life | head | heart | fate | sun | merc | simian | wrinkles | skin | backdrop | sleeve | blur | jpeg |");
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for i in 0..SET {
        let s = palm_spec(i);
        let blur = match s.blur {
            hast_palm_synth::synth_heldout::CameraBlur::Sharp => "-".to_string(),
            hast_palm_synth::synth_heldout::CameraBlur::Defocus { radius } => {
                format!("defocus {radius:.1}")
            }
            hast_palm_synth::synth_heldout::CameraBlur::Motion { length, .. } => {
                format!("motion {length:.1}")
            }
        };
        println!(
            "| {i} | {:?} | {:.0} | {:.2} | {:.2} | {:?} | {} | {} | {} | {} | {} | {} | {} | {:?} | {:?} | {} | {blur} | {} |",
            s.side,
            s.rotation_deg,
            s.palm_ratio,
            s.finger_ratio,
            s.life,
            if s.simian { "-".into() } else { format!("{:?} {:?}", s.head_start, s.head_course) },
            if s.simian { "-".into() } else { format!("{:?}", s.heart) },
            s.fate.map_or("-".into(), |f| format!("{f:?}")),
            if s.sun { "yes" } else { "-" },
            if s.mercury { "yes" } else { "-" },
            if s.simian { "yes" } else { "-" },
            if s.wrinkles >= 0.8 { "heavy" } else { "light" },
            s.skin,
            s.background,
            if s.sleeve.is_some() { "yes" } else { "-" },
            s.jpeg_quality.map_or("-".into(), |q| q.to_string()),
        );
    }
}
