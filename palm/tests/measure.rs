//! Measure-stage tests on synthetic palms with known lines. Scoring (what "found"
//! means) is in [`hast_palm_synth::evaluation`].

use hast_palm::features::{Features, LineId, QualityIssue};
use hast_palm::{HandSide, Measure};
use hast_palm_synth::evaluation::{densify, MAX_MEAN_DIST};
use hast_palm_synth::synth::{generate, LineSet, SkinTone, Subject, SynthPalm, SynthSpec};

use hast_palm::measure::OfflineMeasure;

/// Per true line: (id, found?, mean error, coverage).
fn score(f: &Features, synth: &SynthPalm) -> Vec<(LineId, bool, f32, f32)> {
    hast_palm_synth::evaluation::score(f, synth)
        .into_iter()
        .map(|s| (s.id, s.found, s.mean_error, s.coverage))
        .collect()
}

fn measure(img: &image::RgbImage) -> Features {
    OfflineMeasure::new(None).measure(img, None)
}

#[test]
fn measure_default_palm_finds_the_main_lines() {
    let synth = generate(&SynthSpec::palm(1));
    let f = measure(&synth.image);
    let s = score(&f, &synth);
    assert!(f.quality.usable, "{:?}", f.quality);
    assert_eq!(
        f.detection.method,
        hast_palm::features::DetectionMethod::Segmentation
    );
    for (id, ok, d, c) in &s {
        assert!(ok, "{id:?}: mean {d:.3} coverage {c:.2}; {s:?}");
    }
}

/// The varied set (both hands, skin tones light → dark, ±30°, scale 0.7–1.1, noise,
/// mild blur, JPEG 70): at least 90 % of the heart, head and life lines found; the fate
/// line is reported separately (at least 75 %).
#[test]
fn measure_varied_set_finds_the_principal_lines() {
    let rows = quality_table(24);
    for (id, drawn, found, err) in &rows {
        if *drawn == 0 {
            continue;
        }
        let rate = *found as f32 / *drawn as f32;
        println!("{id:?}: {found}/{drawn} found, mean error {err:.4} palm lengths");
        match id {
            LineId::Heart | LineId::Head | LineId::Life => {
                assert!(rate >= 0.9, "{id:?} {rate}: {rows:?}")
            }
            LineId::Fate => assert!(rate >= 0.75, "fate {rate}: {rows:?}"),
            _ => {}
        }
        if *found > 0 {
            assert!(*err <= MAX_MEAN_DIST, "{id:?} mean error {err}");
        }
    }
}

fn variant(seed: u64, edit: impl Fn(&mut SynthSpec)) -> (SynthPalm, Features) {
    let mut spec = SynthSpec::palm(seed);
    spec.side = if seed.is_multiple_of(2) {
        HandSide::Left
    } else {
        HandSide::Right
    };
    spec.skin = SkinTone::ALL[(seed % 5) as usize];
    spec.rotation_deg = [-20.0, 0.0, 20.0][(seed % 3) as usize];
    spec.scale = 0.85;
    edit(&mut spec);
    let synth = generate(&spec);
    let f = measure(&synth.image);
    (synth, f)
}

#[test]
fn measure_life_break_is_reported() {
    let seeds = 1..7u64;
    let n = seeds.clone().count();
    let hits = seeds
        .filter(|&seed| {
            let (_, f) = variant(seed, |s| s.lines.life_break = true);
            f.lines
                .iter()
                .any(|l| l.id == LineId::Life && l.breaks >= 1)
        })
        .count();
    assert!(hits * 10 >= n * 8, "life break reported on {hits}/{n}");
}

#[test]
fn measure_head_fork_is_reported() {
    let seeds = 1..7u64;
    let n = seeds.clone().count();
    let hits = seeds
        .filter(|&seed| {
            let (_, f) = variant(seed, |s| s.lines.head_fork = true);
            f.lines.iter().any(|l| l.id == LineId::Head && l.forks >= 1)
        })
        .count();
    assert!(hits * 10 >= n * 8, "head fork reported on {hits}/{n}");
}

#[test]
fn measure_fused_head_heart_line_is_reported() {
    let seeds = 1..7u64;
    let n = seeds.clone().count();
    let hits = seeds
        .filter(|&seed| {
            let (synth, f) = variant(seed, |s| s.lines.fused_head_heart = true);
            let fused = f
                .lines
                .iter()
                .any(|l| l.id == LineId::Heart && l.fused_with == Some(LineId::Head));
            let no_head = !f.lines.iter().any(|l| l.id == LineId::Head);
            let on_it = score(&f, &synth)
                .iter()
                .any(|(id, ok, _, _)| *id == LineId::Heart && *ok);
            fused && no_head && on_it
        })
        .count();
    assert!(hits * 10 >= n * 8, "fused line reported on {hits}/{n}");
}

#[test]
fn measure_ordinary_palms_are_not_called_fused() {
    for seed in 1..5u64 {
        let (_, f) = variant(seed, |_| {});
        assert!(
            f.lines.iter().all(|l| l.fused_with.is_none()),
            "seed {seed}: {:?}",
            f.lines
        );
    }
}

fn assert_issue(f: &Features, issue: QualityIssue, what: &str) {
    assert!(!f.quality.usable, "{what}: usable {:?}", f.quality);
    assert!(
        f.quality.issues.contains(&issue),
        "{what}: {:?}",
        f.quality.issues
    );
    assert!(f.lines.is_empty(), "{what}: lines on an unusable photo");
}

#[test]
fn measure_negatives_are_not_usable() {
    for seed in [1u64, 2] {
        let with = |edit: &dyn Fn(&mut SynthSpec)| {
            let mut spec = SynthSpec::palm(seed);
            edit(&mut spec);
            measure(&generate(&spec).image)
        };
        assert_issue(
            &with(&|s| s.subject = Subject::Blank),
            QualityIssue::NoHand,
            "blank",
        );
        assert_issue(
            &with(&|s| s.subject = Subject::Noise),
            QualityIssue::NoHand,
            "noise",
        );
        assert_issue(
            &with(&|s| s.subject = Subject::NonHandShape),
            QualityIssue::NoHand,
            "blob",
        );
        assert_issue(
            &with(&|s| s.subject = Subject::BackOfHand),
            QualityIssue::BackOfHand,
            "back of hand",
        );
        assert_issue(
            &with(&|s| s.scale = 0.3),
            QualityIssue::HandTooSmall,
            "tiny hand",
        );
        assert_issue(
            &with(&|s| s.exposure = 0.15),
            QualityIssue::TooDark,
            "underexposed",
        );
        assert_issue(
            &with(&|s| s.exposure = 2.5),
            QualityIssue::Overexposed,
            "overexposed",
        );
        assert_issue(
            &with(&|s| s.blur_sigma = 4.0),
            QualityIssue::TooBlurry,
            "blurred",
        );
    }
}

/// Both hands, rotated ±30°: `u` runs little-finger edge → thumb edge, and the side
/// follows from the geometry when the uploader does not say.
#[test]
fn measure_frame_and_side_for_both_hands_and_rotations() {
    for side in [HandSide::Left, HandSide::Right] {
        for rot in [-30.0f32, 0.0, 30.0] {
            let mut spec = SynthSpec::palm(5);
            spec.side = side;
            spec.rotation_deg = rot;
            spec.scale = 0.85;
            let synth = generate(&spec);
            let f = measure(&synth.image);
            let what = format!("{side:?} {rot}°");
            let (mine, truth) = (f.frame.expect(&what), synth.frame.expect("frame"));
            let (u0, v0) = truth.to_palm(mine.to_image(0.0, 0.5));
            let (u1, v1) = truth.to_palm(mine.to_image(1.0, 0.5));
            let (uw, vw) = truth.to_palm(mine.to_image(0.5, 0.0));
            let (ut, vt) = truth.to_palm(mine.to_image(0.5, 1.0));
            assert!(
                u0.abs() < 0.08 && (u1 - 1.0).abs() < 0.08,
                "{what}: u {u0} {u1}"
            );
            assert!(
                (v0 - 0.5).abs() < 0.1 && (v1 - 0.5).abs() < 0.1,
                "{what}: v {v0} {v1}"
            );
            assert!(
                (uw - 0.5).abs() < 0.08 && vw.abs() < 0.1,
                "{what}: wrist {uw} {vw}"
            );
            assert!(
                (ut - 0.5).abs() < 0.08 && (vt - 1.0).abs() < 0.1,
                "{what}: top {ut} {vt}"
            );
            assert_eq!(f.side, Some(side), "{what}");
            assert_eq!(
                f.side_source,
                hast_palm::features::SideSource::Model,
                "{what}"
            );
            // The uploader's word wins and is labelled as such.
            let other = if side == HandSide::Left {
                HandSide::Right
            } else {
                HandSide::Left
            };
            let g = OfflineMeasure::new(None).measure(&synth.image, Some(other));
            assert_eq!(
                (g.side, g.side_source),
                (Some(other), hast_palm::features::SideSource::Uploader)
            );
        }
    }
}

/// The frame from landmarks follows the synthetic convention (landmark 0 at (0.5, 0),
/// landmark 9 at (0.5, 1), u towards the thumb) for both hands.
#[test]
fn measure_frame_from_landmarks_matches_truth() {
    for side in [HandSide::Left, HandSide::Right] {
        for rot in [-25.0f32, 10.0] {
            let mut spec = SynthSpec::palm(3);
            spec.side = side;
            spec.rotation_deg = rot;
            let synth = generate(&spec);
            let lm = synth.landmarks.clone().expect("landmarks");
            let (frame, _) = hast_palm::measure::frame::frame_from_landmarks(&lm).expect("frame");
            let truth = synth.frame.expect("frame");
            for (u, v) in [(0.0, 0.5), (1.0, 0.5), (0.5, 0.0), (0.5, 1.0)] {
                let (tu, tv) = truth.to_palm(frame.to_image(u, v));
                assert!(
                    (tu - u).abs() < 0.06 && (tv - v).abs() < 0.03,
                    "{side:?} {rot}: ({u},{v}) -> ({tu},{tv})"
                );
            }
            assert_eq!(hast_palm::measure::frame::side_of_frame(&frame), side);
            let shape = hast_palm::measure::shape::hand_shape(&frame, Some(&lm), None, None, None)
                .expect("shape");
            assert!(shape.finger_ratio.is_some() && shape.index_to_ring.is_some());
        }
    }
}

#[test]
fn measure_is_deterministic() {
    let (spec, jpeg) = varied_spec(7);
    let (_, img) = render(&spec, jpeg);
    let a = measure(&img);
    let b = measure(&img);
    assert_eq!(a, b);
    assert_eq!(
        serde_json::to_string(&a).expect("json"),
        serde_json::to_string(&b).expect("json")
    );
}

#[test]
fn measure_degenerate_images_do_not_panic() {
    let cases = [
        image::RgbImage::new(0, 0),
        image::RgbImage::new(1, 1),
        image::RgbImage::new(64, 64),
        image::RgbImage::from_pixel(64, 64, image::Rgb([255, 255, 255])),
        image::RgbImage::from_pixel(300, 200, image::Rgb([224, 172, 142])),
        image::RgbImage::from_pixel(4000, 10, image::Rgb([224, 172, 142])),
        image::RgbImage::from_pixel(10, 4000, image::Rgb([224, 172, 142])),
        image::RgbImage::from_pixel(4000, 10, image::Rgb([0, 0, 0])),
    ];
    for img in &cases {
        let f = measure(img);
        assert!(!f.quality.usable, "{}x{}", img.width(), img.height());
        assert!(f.lines.is_empty());
    }
}

/// A 1600 × 1200 photo measures well under a second in the dev profile (opt-level 2);
/// the measured time is printed.
#[test]
fn measure_is_fast_enough() {
    let mut spec = SynthSpec::palm(2);
    spec.width = 1600;
    spec.height = 1200;
    let synth = generate(&spec);
    let m = OfflineMeasure::new(None);
    let _ = m.measure(&synth.image, None);
    let t = std::time::Instant::now();
    let f = m.measure(&synth.image, None);
    let took = t.elapsed();
    println!("1600x1200: {took:?}");
    assert!(f.quality.usable, "{:?}", f.quality);
    assert!(took.as_secs_f32() < 1.0, "{took:?}");
}

/// Prints what one palm gives (for debugging): `cargo test -p hast-palm --test measure
/// measure_debug_one -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_debug_one() {
    let seed: u64 = std::env::var("SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1);
    let mut spec = SynthSpec::palm(seed);
    if let Ok(r) = std::env::var("ROT") {
        spec.rotation_deg = r.parse().unwrap_or(0.0);
    }
    if std::env::var("RIGHT").is_ok() {
        spec.side = HandSide::Right;
    }
    if std::env::var("ALL").is_ok() {
        spec.lines = LineSet::all();
    }
    if let Some(x) = std::env::var("EXPOSURE").ok().and_then(|s| s.parse().ok()) {
        spec.exposure = x;
    }
    if let Some(x) = std::env::var("BLUR").ok().and_then(|s| s.parse().ok()) {
        spec.blur_sigma = x;
    }
    if let Some(x) = std::env::var("SCALE").ok().and_then(|s| s.parse().ok()) {
        spec.scale = x;
    }
    spec.lines.life_break = std::env::var("BREAK").is_ok();
    spec.lines.head_fork = std::env::var("FORK").is_ok();
    spec.lines.fused_head_heart = std::env::var("FUSED").is_ok();
    if let Ok(sub) = std::env::var("SUBJECT") {
        spec.subject = match sub.as_str() {
            "back" => Subject::BackOfHand,
            "blank" => Subject::Blank,
            "noise" => Subject::Noise,
            _ => Subject::NonHandShape,
        };
    }
    let (synth, img) = match std::env::var("VARIED").ok().and_then(|s| s.parse().ok()) {
        Some(i) => {
            let (spec, jpeg) = varied_spec(i);
            println!("{spec:?} jpeg {jpeg}");
            render(&spec, jpeg)
        }
        None => render(&spec, false),
    };
    let t = std::time::Instant::now();
    let f = measure(&img);
    println!("took {:?}", t.elapsed());
    println!("quality {:?}", f.quality);
    println!(
        "detection {:?} {}",
        f.detection.method, f.detection.confidence
    );
    println!("frame {:?}\ntrue  {:?}", f.frame, synth.frame);
    if let (Some(a), Some(b)) = (f.frame, synth.frame) {
        for (u, v) in [(0.5, 0.0), (0.5, 1.0), (0.0, 0.5), (1.0, 0.5)] {
            let (tu, tv) = b.to_palm(a.to_image(u, v));
            println!("  ({u},{v}) -> true ({tu:.3},{tv:.3})");
        }
    }
    println!("side {:?} {:?}; shape {:?}", f.side, f.side_source, f.shape);
    for l in &f.lines {
        println!(
            "{:?} len {:.2} curv {:.2} depth {:.2} breaks {} forks {} islands {} conf {:.2} fused {:?} pts {}",
            l.id, l.length, l.curvature, l.depth, l.breaks, l.forks, l.islands, l.confidence, l.fused_with, l.polyline.len()
        );
    }
    for s in score(&f, &synth) {
        println!("{s:?}");
    }
    img.save("/tmp/palm_in.png").expect("save");
    dump_grid(&img, &f, &synth, "/tmp/palm_grid.png");
    let _ = (SkinTone::Dark, Subject::Palm, QualityIssue::NoHand);
}

/// Draws the palm grid with the crease map, the skeleton graph, the measured lines and
/// the true lines into `path` (debugging aid).
fn dump_grid(img: &image::RgbImage, f: &Features, synth: &SynthPalm, path: &str) {
    use hast_palm::measure::{creases, raster, segment};
    let Some(frame) = f.frame else { return };
    let seg = segment::segment(img);
    let luma = raster::luma_full(img);
    let Some(c) = creases::find_creases(&luma, &frame, seg.as_ref()) else {
        return;
    };
    if let Ok(spot) = std::env::var("SPOT") {
        let v: Vec<f32> = spot.split(',').filter_map(|x| x.parse().ok()).collect();
        for e in c.graph.alive_edges() {
            let ed = &c.graph.edges[e];
            let near = ed
                .points
                .iter()
                .any(|p| (p.0 - v[0]).abs() < 12.0 && (p.1 - v[1]).abs() < 12.0);
            if near {
                println!(
                    "edge {e} {}->{} len {:.1} gap {} a@{:?} b@{:?} deg {} {} first {:?} last {:?}",
                    ed.a,
                    ed.b,
                    ed.length(),
                    ed.gap,
                    c.graph.nodes[ed.a].pos,
                    c.graph.nodes[ed.b].pos,
                    c.graph.degree(ed.a),
                    c.graph.degree(ed.b),
                    &ed.points[..ed.points.len().min(4)],
                    &ed.points[ed.points.len().saturating_sub(4)..]
                );
            }
        }
    }
    let mut out = image::RgbImage::new(c.w as u32, c.h as u32);
    for y in 0..c.h {
        for x in 0..c.w {
            let v = (c.luma.get(x, y) * 255.0) as u8;
            let mut px = [v, v, v];
            if !c.palm[y * c.w + x] {
                px = [v / 2, v / 2, v / 2];
            }
            if c.binary[y * c.w + x] {
                px = [px[0] / 2, px[1] / 2, 200];
            }
            out.put_pixel(x as u32, y as u32, image::Rgb(px));
        }
    }
    let mut put = |x: f32, y: f32, col: [u8; 3]| {
        if x >= 0.0 && y >= 0.0 && (x as u32) < out.width() && (y as u32) < out.height() {
            out.put_pixel(x as u32, y as u32, image::Rgb(col));
        }
    };
    for e in c.graph.alive_edges() {
        let edge = &c.graph.edges[e];
        for &(x, y) in &edge.points {
            put(x, y, if edge.gap { [255, 0, 0] } else { [0, 255, 0] });
        }
    }
    let to_grid = |p: hast_palm::geometry::Point| {
        let (u, v) = frame.to_palm(p);
        c.to_grid(u, v)
    };
    for t in &synth.truth {
        for &p in &t.points {
            let (x, y) = to_grid(p);
            put(x, y, [255, 255, 0]);
        }
    }
    for l in &f.lines {
        let col = match l.id {
            LineId::Heart => [255, 0, 255],
            LineId::Head => [0, 255, 255],
            LineId::Life => [255, 128, 0],
            _ => [255, 255, 255],
        };
        for p in densify(&l.polyline, 1.0) {
            let (x, y) = to_grid(p);
            put(x, y, col);
            put(x + 1.0, y, col);
        }
    }
    out.save(path).expect("save");
}

/// The varied synthetic set ([`hast_palm_synth::evaluation::varied_spec`]); every fourth photo goes
/// through JPEG quality 70.
fn varied_spec(i: u64) -> (SynthSpec, bool) {
    (hast_palm_synth::evaluation::varied_spec(i), i % 4 == 3)
}

fn render(spec: &SynthSpec, jpeg: bool) -> (SynthPalm, image::RgbImage) {
    let synth = generate(spec);
    let img = if jpeg {
        let bytes = hast_palm_synth::synth::to_jpeg(&synth.image, 70);
        image::load_from_memory(&bytes).expect("decode").to_rgb8()
    } else {
        synth.image.clone()
    };
    (synth, img)
}

/// Detection rate and mean error per line over the varied set.
fn quality_table(n: u64) -> Vec<(LineId, usize, usize, f32)> {
    quality_table_with(n, &OfflineMeasure::new(None))
}

fn quality_table_with(n: u64, m: &OfflineMeasure) -> Vec<(LineId, usize, usize, f32)> {
    let mut rows: Vec<(LineId, usize, usize, f32)> =
        LineId::ALL.iter().map(|&id| (id, 0, 0, 0.0)).collect();
    let verbose = std::env::var("PALM_VERBOSE").is_ok();
    for i in 0..n {
        let (spec, jpeg) = varied_spec(i);
        let (synth, img) = render(&spec, jpeg);
        let f = m.measure(&img, None);
        let s = score(&f, &synth);
        if verbose {
            if let (Some(a), Some(b)) = (f.frame, synth.frame) {
                let (u0, v0) = b.to_palm(a.to_image(0.5, 0.0));
                let (u1, v1) = b.to_palm(a.to_image(0.5, 1.0));
                let (u2, v2) = b.to_palm(a.to_image(0.0, 0.5));
                println!("FRAME #{i} origin ({u0:.3},{v0:.3}) top ({u1:.3},{v1:.3}) little ({u2:.3},{v2:.3})");
            }
            println!(
                "#{i} {:?} {:?} {:?} rot {:.0} scale {:.2} noise {} blur {} jpeg {jpeg} usable {} {:?} {:?}",
                f.detection.method,
                spec.side,
                spec.skin,
                spec.rotation_deg,
                spec.scale,
                spec.noise,
                spec.blur_sigma,
                f.quality.usable,
                f.quality.issues,
                s.iter().map(|(id, ok, d, c)| format!("{}:{}:{d:.3}:{c:.2}", id.code(), if *ok { "ok" } else { "MISS" })).collect::<Vec<_>>()
            );
        }
        for (id, ok, d, _) in s {
            let row = rows.iter_mut().find(|r| r.0 == id).expect("row");
            row.1 += 1;
            if ok {
                row.2 += 1;
                row.3 += d;
            }
        }
    }
    for r in &mut rows {
        if r.2 > 0 {
            r.3 /= r.2 as f32;
        }
    }
    rows
}

/// Prints the quality table for the docs: `cargo test -p hast-palm --test measure
/// measure_quality_table -- --ignored --nocapture`.
#[test]
#[ignore]
fn measure_quality_table() {
    let n = std::env::var("PALM_N")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    let rows = quality_table(n);
    println!("| line | drawn | found | rate | mean error (palm lengths, found lines) |");
    println!("|---|---|---|---|---|");
    for (id, drawn, found, err) in rows {
        if drawn == 0 {
            continue;
        }
        println!(
            "| {} | {drawn} | {found} | {:.0} % | {err:.4} |",
            id.code(),
            100.0 * found as f32 / drawn as f32
        );
    }
}

/// With the embedded landmark model: whichever detector it ends with, the palm is read
/// and the detection method is recorded consistently.
#[test]
fn measure_with_the_landmark_model() {
    let model = hast_palm::measure::landmarks::LandmarkModel::embedded().expect("model");
    let m = OfflineMeasure::new(Some(std::sync::Arc::new(model)));
    for side in [HandSide::Left, HandSide::Right] {
        let mut spec = SynthSpec::palm(4);
        spec.side = side;
        spec.scale = 0.85;
        let synth = generate(&spec);
        let f = m.measure(&synth.image, None);
        println!(
            "{side:?}: {:?} {:.2} side {:?}",
            f.detection.method, f.detection.confidence, f.side
        );
        assert!(f.quality.usable, "{side:?}: {:?}", f.quality);
        match f.detection.method {
            hast_palm::features::DetectionMethod::Landmarks => {
                assert_eq!(f.detection.landmarks.as_ref().map(Vec::len), Some(21));
                assert!(f.shape.as_ref().is_some_and(|s| s.index_to_ring.is_some()));
            }
            other => assert_eq!(other, hast_palm::features::DetectionMethod::Segmentation),
        }
        let found = score(&f, &synth)
            .iter()
            .filter(|(id, ok, _, _)| {
                *ok && matches!(id, LineId::Heart | LineId::Head | LineId::Life)
            })
            .count();
        assert!(found >= 2, "{side:?}: {:?}", score(&f, &synth));
        assert_eq!(f.side, Some(side), "{side:?}");
    }
}

/// The wrist crease is found where the model's wrist is off by as much as it drifts (0.15
/// palm lengths towards the forearm or 0.12 into the palm): the refined frame's origin lies
/// on the drawn upper bracelet (at v = −0.015 in the true frame), its `v = 1` and width
/// unchanged.
#[test]
fn the_wrist_crease_moves_a_drifted_wrist_onto_it() {
    for (seed, side, rot) in [(11, HandSide::Left, 0.0), (12, HandSide::Right, -20.0)] {
        let mut spec = SynthSpec::palm(seed);
        spec.side = side;
        spec.rotation_deg = rot;
        let synth = generate(&spec);
        let truth = synth.frame.expect("frame");
        let luma = hast_palm::measure::raster::luma_full(&synth.image);
        for drift in [-0.15f32, 0.12] {
            let origin = truth.to_image(0.5, drift);
            let base = truth.to_image(0.5, 1.0);
            let drifted = hast_palm::geometry::PalmFrame {
                origin,
                axis_v: hast_palm::geometry::Point::new(base.x - origin.x, base.y - origin.y),
                axis_u: truth.axis_u,
            };
            let refined =
                hast_palm::measure::wrist::refine(&luma, &drifted).expect("a wrist crease");
            let (u, v) = truth.to_palm(refined.origin);
            assert!(
                (u - 0.5).abs() < 0.01 && (v + 0.015).abs() < 0.015,
                "seed {seed}, drift {drift}: origin at ({u:.3}, {v:.3})"
            );
            let (_, top) = truth.to_palm(refined.to_image(0.5, 1.0));
            assert!((top - 1.0).abs() < 1e-3, "v = 1 moved to {top}");
            assert_eq!(refined.axis_u, truth.axis_u);
        }
    }
}

/// Without a crease across the wrist (even skin) the frame is kept as it is.
#[test]
fn no_wrist_crease_keeps_the_frame() {
    let img = image::RgbImage::from_pixel(600, 800, image::Rgb([224, 172, 142]));
    let luma = hast_palm::measure::raster::luma_full(&img);
    let frame = hast_palm::geometry::PalmFrame {
        origin: hast_palm::geometry::Point::new(300.0, 600.0),
        axis_v: hast_palm::geometry::Point::new(0.0, -300.0),
        axis_u: hast_palm::geometry::Point::new(-250.0, 0.0),
    };
    assert!(hast_palm::measure::wrist::refine(&luma, &frame).is_none());
}

/// The middle finger's basal crease is found where it is drawn (a twentieth of the finger up
/// from its root) when the frame's `v = 1` is off by as much as the model's knuckles put it
/// (0.06 palm lengths either way).
#[test]
fn the_basal_crease_is_found_where_the_finger_leaves_the_palm() {
    for (seed, side, rot) in [(21, HandSide::Left, 10.0), (22, HandSide::Right, -25.0)] {
        let mut spec = SynthSpec::palm(seed);
        spec.side = side;
        spec.rotation_deg = rot;
        let synth = generate(&spec);
        let truth = synth.frame.expect("frame");
        let lm = synth.landmarks.expect("landmarks");
        let finger = lm[9].distance(lm[10]) + lm[10].distance(lm[11]) + lm[11].distance(lm[12]);
        let expected = 1.0 + 0.05 * finger / truth.palm_length();
        let luma = hast_palm::measure::raster::luma_full(&synth.image);
        for drift in [-0.06f32, 0.06] {
            let top = truth.to_image(0.5, 1.0 + drift);
            let origin = truth.origin;
            let shifted = hast_palm::geometry::PalmFrame {
                origin,
                axis_v: hast_palm::geometry::Point::new(top.x - origin.x, top.y - origin.y),
                axis_u: truth.axis_u,
            };
            let crease = hast_palm::measure::finger_base::basal_crease(&luma, &shifted, lm[12])
                .expect("a basal crease");
            let (u, v) = truth.to_palm(crease);
            assert!(
                (v - expected).abs() < 0.015 && (u - 0.5).abs() < 0.03,
                "seed {seed}, drift {drift}: crease at ({u:.3}, {v:.3}), drawn at v {expected:.3}"
            );
        }
    }
}
