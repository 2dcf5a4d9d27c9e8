//! No anonymous way to exhaust the service (issue 15): decoding, job submission, event
//! streams, metrics and conversations are bounded, and what is over a bound gets a 4xx or
//! a 503 with `Retry-After`, never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_tests::{ApiProcess, NatsServer, TestDatabase};

/// A PNG of `side`×`side` 16-bit RGB pixels, all one colour: a few hundred kilobytes on
/// the wire for 36 megapixels.
fn sixteen_bit_png(side: u32) -> Vec<u8> {
    use image::codecs::png::{CompressionType, FilterType, PngEncoder};
    use image::{ExtendedColorType, ImageEncoder};
    let pixels = vec![0x55u8; side as usize * side as usize * 6];
    let mut out = Vec::new();
    PngEncoder::new_with_quality(&mut out, CompressionType::Best, FilterType::NoFilter)
        .write_image(&pixels, side, side, ExtendedColorType::Rgb16)
        .unwrap();
    out
}

/// Many anonymous uploads at once of 16-bit PNGs just under the pixel limit: each would
/// take hundreds of megabytes to decode and resize. Every one is answered 413, 422 or 503
/// (never accepted, never a crash), and the API's peak memory stays within 300 MB of what
/// it was before. Measured on the API running as its own process.
#[tokio::test]
async fn parallel_deep_png_uploads_keep_the_api_memory_bounded() {
    const PARALLEL: usize = 8;
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let mut api = ApiProcess::start(
        &db.url,
        &nats.url(),
        &[("UPLOADS_PER_HOUR", "1000"), ("GUEST_MAX_ANALYSES", "1000")],
    )
    .await;
    let png = sixteen_bit_png(6000);
    assert!(png.len() < 2 * 1024 * 1024, "{} bytes", png.len());
    let before = api.peak_rss();

    let client = reqwest::Client::new();
    let uploads = (0..PARALLEL).map(|_| {
        let form = reqwest::multipart::Form::new().part(
            "image",
            reqwest::multipart::Part::bytes(png.clone())
                .file_name("palm.png")
                .mime_str("image/png")
                .unwrap(),
        );
        client
            .post(api.url("/api/v1/analyses"))
            .multipart(form)
            .send()
    });
    for response in futures::future::join_all(uploads).await {
        let response = response.expect("an answer, not a dropped connection");
        let status = response.status().as_u16();
        let body: serde_json::Value = response.json().await.expect("a JSON error body");
        assert!(matches!(status, 413 | 422 | 503), "{status}: {body}");
        assert!(body["error"]["code"].is_string(), "{body}");
    }
    assert!(api.is_running(), "the API survived");
    let growth = api.peak_rss().saturating_sub(before);
    assert!(
        growth < 300 * 1024 * 1024,
        "peak RSS grew by {} MB",
        growth / (1024 * 1024)
    );
}
