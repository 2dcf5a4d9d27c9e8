//! `palm-bench`: time and peak memory of reading one palm photo, end to end as a worker
//! does it (normalise the upload → decode the stored JPEG → measure → interpret →
//! render the overlay), at 1 MP and 12 MP, on one core (this process uses one thread).
//!
//! Usage: `cargo run --release -p hast-bench --bin palm-bench -- [--runs N] [--quality]`
//! `--quality` also prints the detection-quality table over a fixed synthetic set.
//! Results: one JSON line per size on stdout.

use std::time::{Duration, Instant};

use hast_common::photo::{decode_rgb, normalise, PhotoLimits};
use hast_palm::synth::{self, SynthSpec};
use hast_palm::Engine;

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

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse::<usize>().ok())
        .unwrap_or(10);
    let load = Instant::now();
    let engine = Engine::offline()?;
    eprintln!(
        "engine loaded in {:.0} ms",
        load.elapsed().as_secs_f64() * 1000.0
    );
    for (label, width, height) in [("1MP", 1155u32, 866u32), ("12MP", 4000, 3000)] {
        let mut spec = SynthSpec::palm(42);
        spec.width = width;
        spec.height = height;
        let upload = synth::to_jpeg(&synth::generate(&spec).image, 90);
        let rss_before = peak_rss_mib();
        let mut normalise_t = Vec::with_capacity(runs);
        let mut read_t = Vec::with_capacity(runs);
        let mut total_t = Vec::with_capacity(runs);
        let mut lines = 0;
        for _ in 0..runs {
            let t0 = Instant::now();
            let stored = normalise(&upload, &PhotoLimits::default())?;
            let t1 = Instant::now();
            let image = decode_rgb(&stored.jpeg)?;
            let (features, _reading) = engine.read(&image, None);
            let overlay = hast_palm::overlay::render(&image, &features);
            let _png = hast_palm::overlay::to_png(&overlay)?;
            let t2 = Instant::now();
            lines = features.lines.len();
            normalise_t.push(t1 - t0);
            read_t.push(t2 - t1);
            total_t.push(t2 - t0);
        }
        for v in [&mut normalise_t, &mut read_t, &mut total_t] {
            v.sort();
        }
        println!(
            "{}",
            serde_json::json!({
                "size": label,
                "upload_pixels": width * height,
                "upload_bytes": upload.len(),
                "runs": runs,
                "normalise_ms_p50": percentile(&normalise_t, 0.5),
                "read_ms_p50": percentile(&read_t, 0.5),
                "total_ms_p50": percentile(&total_t, 0.5),
                "total_ms_max": percentile(&total_t, 1.0),
                "peak_rss_mib": peak_rss_mib(),
                "peak_rss_mib_before": rss_before,
                "lines_found": lines,
            })
        );
    }
    Ok(())
}
