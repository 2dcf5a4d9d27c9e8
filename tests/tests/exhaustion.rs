//! No anonymous way to exhaust the service (issue 15): decoding, job submission, event
//! streams, metrics and conversations are bounded, and what is over a bound gets a 4xx or
//! a 503 with `Retry-After`, never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_tests::jobs::{jobs_of_kind, status_store};
use hast_tests::{spawn_app, test_settings, ApiProcess, NatsServer, TestDatabase};
use serde_json::{json, Value};

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

/// In production `echo` (whose payload can ask to fail, panic or sleep, and whose every
/// failure is kept for days) is not a public kind: `POST /api/v1/jobs` answers 400
/// `unknown_kind`, and nothing is queued.
#[tokio::test]
async fn echo_is_not_public_in_production() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let secret = "a".repeat(48);
    let settings = test_settings(
        &db.url,
        &nats.url(),
        &[("APP_ENV", "production"), ("SESSION_SECRET", &secret)],
    );
    let app = spawn_app(settings).await;
    let response = app
        .client
        .post(app.url("/api/v1/jobs"))
        .json(&json!({"kind": "echo", "payload": {"message": "hi"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unknown_kind", "{body}");
    let statuses = status_store(&nats.url()).await;
    assert!(jobs_of_kind(&statuses, &app.user.id, "echo")
        .await
        .is_empty());
    app.stop().await;
}

/// One user cannot fill the shared job store: beyond `JOBS_PER_HOUR` submissions in the
/// hour, `POST /api/v1/jobs` answers 429 with `Retry-After`, and the refused ones are not
/// queued. Another user is not affected.
#[tokio::test]
async fn job_submissions_beyond_the_hourly_quota_are_refused() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[("JOBS_PER_HOUR", "3")]);
    let app = spawn_app(settings).await;
    let submit = |client: reqwest::Client| {
        let url = app.url("/api/v1/jobs");
        async move {
            client
                .post(url)
                .json(&json!({"kind": "echo", "payload": {"message": "fill"}}))
                .send()
                .await
                .unwrap()
        }
    };
    for _ in 0..3 {
        assert_eq!(submit(app.client.clone()).await.status().as_u16(), 202);
    }
    let refused = submit(app.client.clone()).await;
    assert_eq!(refused.status().as_u16(), 429);
    assert!(refused.headers().contains_key("retry-after"));
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "rate_limited", "{body}");
    let statuses = status_store(&nats.url()).await;
    assert_eq!(jobs_of_kind(&statuses, &app.user.id, "echo").await.len(), 3);

    let other = app.new_user().await;
    let accepted = submit(hast_tests::bearer_client(&other.token)).await;
    assert_eq!(accepted.status().as_u16(), 202);
    app.stop().await;
}
