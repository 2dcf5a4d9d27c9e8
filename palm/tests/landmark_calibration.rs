//! Re-measures [`MODEL_FRAME_CALIBRATION`]: where the landmark model's own frame puts
//! the true wrist crease and finger base of synthetic palms, on a calibration set whose
//! seeds are disjoint from the evaluation set's. Fails when the constants no longer match
//! what the model does (a new model file, a changed generator), and prints the values to
//! put in `palm/src/measure/frame.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_palm::features::DetectionMethod;
use hast_palm::geometry::Point;
use hast_palm::measure::frame::{frame_from_landmarks, MODEL_FRAME_CALIBRATION};
use hast_palm::measure::landmarks::{LandmarkModel, Region, REFINE_SCALE};
use hast_palm::{Engine, HandSide};
use hast_palm_synth::evaluation::{positive_case, Case, POSITIVES};
use hast_palm_synth::synth::{generate, SynthSpec};
use image::Rgb;

/// Palms in the calibration set (indices after the evaluation set's).
const CALIBRATION_PALMS: u64 = 40;
/// How far a constant may drift from the re-measured median.
const TOLERANCE: f32 = 0.015;

fn median(mut values: Vec<f32>) -> f32 {
    values.sort_by(f32::total_cmp);
    values[values.len() / 2]
}

#[test]
fn model_frame_calibration_matches_the_calibration_set() {
    let engine = Engine::offline().expect("embedded landmark model");
    let start = POSITIVES as u64 + 100;
    let cases: Vec<Case> = (start..start + CALIBRATION_PALMS)
        .map(positive_case)
        .collect();
    // [wrist u, wrist v, base u, base v, width scale] per palm.
    let samples: Vec<[f32; 5]> = std::thread::scope(|scope| {
        let handles: Vec<_> = cases
            .chunks(cases.len().div_ceil(2))
            .map(|part| {
                let engine = &engine;
                scope.spawn(move || {
                    part.iter()
                        .filter_map(|case| {
                            let (synth, image) = case.render();
                            let features = engine.read(&image, None).0;
                            if features.detection.method != DetectionMethod::Landmarks {
                                return None;
                            }
                            let points = features.detection.landmarks?;
                            let (raw, _) = frame_from_landmarks(&points)?;
                            let truth = synth.frame?;
                            let (wu, wv) = raw.to_palm(truth.to_image(0.5, 0.0));
                            let (bu, bv) = raw.to_palm(truth.to_image(0.5, 1.0));
                            let (u0, _) = raw.to_palm(truth.to_image(0.0, 0.5));
                            let (u1, _) = raw.to_palm(truth.to_image(1.0, 0.5));
                            Some([wu, wv, bu, bv, u1 - u0])
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("calibration thread"))
            .collect()
    });
    assert!(
        samples.len() as u64 >= CALIBRATION_PALMS * 9 / 10,
        "the model found only {} of {CALIBRATION_PALMS} hands",
        samples.len()
    );
    let m: Vec<f32> = (0..5)
        .map(|k| median(samples.iter().map(|s| s[k]).collect()))
        .collect();
    println!(
        "measured on {} palms: wrist ({:.3}, {:.3}), finger base ({:.3}, {:.3}), width scale {:.3}",
        samples.len(),
        m[0],
        m[1],
        m[2],
        m[3],
        m[4]
    );
    let c = MODEL_FRAME_CALIBRATION;
    let constants = [
        c.wrist.0,
        c.wrist.1,
        c.finger_base.0,
        c.finger_base.1,
        c.width_scale,
    ];
    for (k, (measured, constant)) in m.iter().zip(constants).enumerate() {
        assert!(
            (measured - constant).abs() <= TOLERANCE,
            "calibration value {k}: constant {constant}, measured {measured:.3}"
        );
    }
}

/// Experiment, not an assertion: does the model find the drawn hands of
/// `hast_palm_synth::synth`? Prints presence, handedness and how far the landmarks are
/// from the drawn ones (`cargo test -p hast-palm --test landmark_calibration --
/// --nocapture`). With `LANDMARKS_DUMP_DIR` set, also writes each photo with the found
/// (red) and true (green) landmarks drawn on it.
#[test]
fn landmarks_experiment_on_synthetic_palms() {
    let dump = std::env::var_os("LANDMARKS_DUMP_DIR").map(std::path::PathBuf::from);
    let m = LandmarkModel::embedded().expect("the embedded model loads");
    let mut specs = Vec::new();
    for seed in 1..=4 {
        specs.push((format!("seed {seed} left"), SynthSpec::palm(seed)));
    }
    let mut right = SynthSpec::palm(1);
    right.side = HandSide::Right;
    specs.push(("seed 1 right".into(), right));
    let mut tilted = SynthSpec::palm(2);
    tilted.rotation_deg = 20.0;
    specs.push(("seed 2 left, 20 deg".into(), tilted));
    let mut small = SynthSpec::palm(3);
    small.scale = 0.6;
    specs.push(("seed 3 left, scale 0.6".into(), small));
    for (name, spec) in specs {
        let palm = generate(&spec);
        let Some(truth) = palm.landmarks.clone() else {
            continue;
        };
        let first = m
            .detect_in(&palm.image, Region::whole(&palm.image))
            .expect("runs");
        let out = m.detect(&palm.image).expect("runs");
        let palm_len = truth[0].distance(truth[9]);
        let err: Vec<f32> = out
            .points
            .iter()
            .zip(&truth)
            .map(|(a, b)| a.distance(*b) / palm_len)
            .collect();
        let mean = err.iter().sum::<f32>() / err.len() as f32;
        let first_mean = first
            .points
            .iter()
            .zip(&truth)
            .map(|(a, b)| a.distance(*b) / palm_len)
            .sum::<f32>()
            / truth.len() as f32;
        let tips: Vec<String> = [4, 8, 12, 16, 20]
            .iter()
            .map(|&i| format!("{:.2}", err[i]))
            .collect();
        let around = Region::around(&first.points, REFINE_SCALE);
        let zoom = around.map_or(f32::NAN, |r| Region::whole(&palm.image).side / r.side);
        // The second pass on its own, whether or not `detect` runs it.
        let second_mean = around
            .and_then(|r| m.detect_in(&palm.image, r).ok())
            .map_or(f32::NAN, |s| {
                s.points
                    .iter()
                    .zip(&truth)
                    .map(|(a, b)| a.distance(*b) / palm_len)
                    .sum::<f32>()
                    / truth.len() as f32
            });
        println!(
            "synthetic {name}: first pass presence {:.3} (mean error {first_mean:.3}; \
             a second pass: zoom {zoom:.2}, mean error {second_mean:.3}); \
             detect presence {:.3} handedness {:.3} (unmirrored → {:?}, truth {:?}); \
             landmark error / palm length: mean {mean:.3}, wrist {:.2}, middle MCP {:.2}, \
             tips {}",
            first.presence,
            out.presence,
            out.handedness,
            out.handedness_side(false),
            spec.side,
            err[0],
            err[9],
            tips.join(" "),
        );
        if let Some(dir) = &dump {
            let mut img = palm.image.clone();
            let mut dot = |p: Point, c: [u8; 3]| {
                for dy in -4i32..=4 {
                    for dx in -4i32..=4 {
                        let (x, y) = (p.x as i32 + dx, p.y as i32 + dy);
                        if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height()
                        {
                            img.put_pixel(x as u32, y as u32, Rgb(c));
                        }
                    }
                }
            };
            for p in &truth {
                dot(*p, [0, 220, 0]);
            }
            for p in &out.points {
                dot(*p, [230, 0, 0]);
            }
            let file = dir.join(format!("{}.png", name.replace([' ', ','], "_")));
            img.save(&file).expect("writes the dump");
        }
    }
}
