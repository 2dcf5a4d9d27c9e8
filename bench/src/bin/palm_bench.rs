//! `palm-bench`: time and peak memory of reading one palm photo, end to end as a worker
//! does it (normalise the upload → decode the stored JPEG → measure → interpret →
//! render and encode the overlay), at 1 MP, 12 MP and 12 MP with sensor noise (see
//! [`SIZES`]), on one core (this process uses one thread). Peak memory is the process's
//! `VmHWM`, reset after each synthetic photo is generated.
//!
//! Usage: `cargo run --release -p hast-bench --bin palm-bench -- [--runs N]
//! [--save-uploads DIR]` (`--save-uploads` writes each synthetic upload JPEG to `DIR`).
//! Results: one JSON line per size on stdout (median per stage, `*_ms_p50`), and a
//! readable table on stderr.
//!
//! Stages, in the order a photo goes through them:
//! - `normalise`: the API's [`normalise`] of the upload (decode, orient, scale down,
//!   re-encode);
//! - `decode`: the worker's [`decode_rgb`] of the stored, normalised JPEG;
//! - `engine`: [`Engine::read`] (measure + interpret), of which `landmarks` (the
//!   hand-landmark model's passes) is timed by a separate call to the same model, outside
//!   the total;
//! - `overlay_render` and `overlay_encode`: the overlay drawn and encoded as the worker
//!   stores it.
//!
//! `read` is decode + engine + overlay (the worker's share), `total` is normalise + read.

use std::sync::Arc;
use std::time::{Duration, Instant};

use hast_common::photo::{decode_rgb, normalise, PhotoLimits};
use hast_palm::measure::landmarks::LandmarkModel;
use hast_palm::Engine;
use hast_palm_synth::synth::{self, SynthSpec};

/// Resets the peak resident set size (`VmHWM`) to the current one (Linux: `5` written
/// to `/proc/self/clear_refs`), so that the synthetic photo's generation does not count.
/// Returns whether it worked.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Peak resident set size of this process so far, in MiB (Linux `VmHWM`).
fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

/// The photos: label, width, height and sensor noise (standard deviation in 8-bit
/// levels). The noiseless synthetic palm compresses far better than a camera photo;
/// the noisy 12 MP one has a phone photo's file size (and so its entropy-decoding cost).
const SIZES: [(&str, u32, u32, f32); 3] = [
    ("1MP", 1155, 866, 0.0),
    ("12MP", 4000, 3000, 0.0),
    ("12MPn", 4000, 3000, 4.0),
];

/// The stages timed, in order.
const STAGES: [&str; 8] = [
    "normalise",
    "decode",
    "landmarks",
    "engine",
    "overlay_render",
    "overlay_encode",
    "read",
    "total",
];

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let option = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let runs = option("--runs")
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10)
        .max(1);
    let save = option("--save-uploads").map(std::path::PathBuf::from);
    let load = Instant::now();
    let model = Arc::new(LandmarkModel::embedded()?);
    let engine = Engine::with_model(Some(model.clone()));
    eprintln!(
        "engine loaded in {:.0} ms",
        load.elapsed().as_secs_f64() * 1000.0
    );
    eprintln!(
        "{:<5}{}  {:>9} {:>9} {:>6} {:>6}",
        "size",
        STAGES
            .iter()
            .map(|s| format!("{s:>15}"))
            .collect::<Vec<_>>()
            .join(""),
        "max total",
        "overlay B",
        "lines",
        "RSS"
    );
    for (label, width, height, noise) in SIZES {
        let mut spec = SynthSpec::palm(42);
        spec.width = width;
        spec.height = height;
        spec.noise = noise;
        let upload = synth::to_jpeg(&synth::generate(&spec).image, 90);
        if let Some(dir) = &save {
            std::fs::write(dir.join(format!("upload-{label}.jpg")), &upload)?;
        }
        // Peak memory of the pipeline alone (the generator's buffers are freed by now).
        let rss_reset = reset_peak_rss();
        let rss_before = peak_rss_mib();
        let measured = measure_upload(&engine, &model, &upload, runs)?;
        let times = &measured.times;
        let mut report = serde_json::json!({
            "size": label,
            "upload_pixels": width * height,
            "upload_bytes": upload.len(),
            "working_size": [measured.working.0, measured.working.1],
            "runs": runs,
            "total_ms_max": percentile(&times[STAGES.len() - 1], 1.0),
            "peak_rss_mib": peak_rss_mib(),
            "peak_rss_mib_before": rss_before,
            "peak_rss_reset": rss_reset,
            "overlay_bytes": measured.overlay_bytes,
            "lines_found": measured.lines,
            "detection": measured.detection,
        });
        for (stage, t) in STAGES.iter().zip(times) {
            report[format!("{stage}_ms_p50")] = serde_json::json!(percentile(t, 0.5));
        }
        println!("{report}");
        eprintln!(
            "{:<5}{}  {:>9.1} {:>9} {:>6} {:>6.0}",
            label,
            times
                .iter()
                .map(|t| format!("{:>15.1}", percentile(t, 0.5)))
                .collect::<Vec<_>>()
                .join(""),
            percentile(&times[STAGES.len() - 1], 1.0),
            measured.overlay_bytes,
            measured.lines,
            peak_rss_mib()
        );
    }
    Ok(())
}

/// `runs` passes of one upload through the pipeline.
struct Measured {
    /// Each stage's durations (in the order of [`STAGES`]), sorted.
    times: Vec<Vec<Duration>>,
    lines: usize,
    detection: serde_json::Value,
    overlay_bytes: usize,
    /// The working image's width and height.
    working: (u32, u32),
}

/// Runs `upload` through normalise, decode, read, overlay and PNG `runs` times, timing
/// each stage (and the landmark passes on their own, outside the total).
fn measure_upload(
    engine: &Engine,
    model: &LandmarkModel,
    upload: &[u8],
    runs: usize,
) -> anyhow::Result<Measured> {
    let mut measured = Measured {
        times: vec![Vec::with_capacity(runs); STAGES.len()],
        lines: 0,
        detection: serde_json::Value::Null,
        overlay_bytes: 0,
        working: (0, 0),
    };
    for _ in 0..runs {
        let t0 = Instant::now();
        let stored = normalise(upload, &PhotoLimits::default())?;
        let t1 = Instant::now();
        let image = decode_rgb(&stored.jpeg)?;
        let t2 = Instant::now();
        let (features, _reading) = engine.read(&image, None);
        let t3 = Instant::now();
        let overlay = hast_palm::overlay::render(&image, &features);
        let t4 = Instant::now();
        let encoded = hast_palm::overlay::to_png(&overlay)?;
        let t5 = Instant::now();
        let l0 = Instant::now();
        let _ = model.detect(&image);
        let landmarks = l0.elapsed();

        measured.lines = features.lines.len();
        measured.detection = serde_json::json!({
            "method": features.detection.method,
            "confidence": features.detection.confidence,
        });
        measured.overlay_bytes = encoded.len();
        measured.working = (image.width(), image.height());
        let stages = [
            t1 - t0,
            t2 - t1,
            landmarks,
            t3 - t2,
            t4 - t3,
            t5 - t4,
            t5 - t1,
            t5 - t0,
        ];
        for (i, d) in stages.into_iter().enumerate() {
            measured.times[i].push(d);
        }
    }
    for v in &mut measured.times {
        v.sort();
    }
    Ok(measured)
}
