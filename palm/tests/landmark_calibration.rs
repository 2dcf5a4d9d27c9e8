//! Re-measures [`MODEL_FRAME_CALIBRATION`]: where the landmark model's own frame puts
//! the true wrist crease and finger base of synthetic palms, on a calibration set whose
//! seeds are disjoint from the evaluation set's. Fails when the constants no longer match
//! what the model does (a new model file, a changed generator), and prints the values to
//! put in `palm/src/measure/frame.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_palm::evaluation::{positive_case, Case, POSITIVES};
use hast_palm::features::DetectionMethod;
use hast_palm::measure::frame::{frame_from_landmarks, MODEL_FRAME_CALIBRATION};
use hast_palm::Engine;

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
