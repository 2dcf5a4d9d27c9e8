//! Palm analyses end to end (issue #5): a synthetic palm uploaded through the API is
//! read by a real worker (real nats-server, object store, both databases), and every
//! 4xx path of the upload answers with the envelope.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use hast_common::db::Backend;
use hast_common::jobs::JobState;
use hast_palm::HandSide;
use hast_palm_synth::synth::{self, Subject, SynthSpec};
use hast_tests::jobs::{jobs_of_kind, status_store, wait_for};
use hast_tests::{
    eventually, spawn_app, spawn_worker, test_settings, NatsServer, TestApp, TestDatabase,
};
use serde_json::Value;

fn jpeg_form(field: &str, bytes: Vec<u8>) -> reqwest::multipart::Form {
    reqwest::multipart::Form::new().part(
        field.to_owned(),
        reqwest::multipart::Part::bytes(bytes)
            .file_name("palm.jpg")
            .mime_str("image/jpeg")
            .unwrap(),
    )
}

async fn upload(app: &TestApp, form: reqwest::multipart::Form) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/analyses"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn get_json(app: &TestApp, path: &str) -> (u16, Value) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn a_synthetic_palm_is_read_end_to_end(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;

    let palm = synth::generate(&SynthSpec::palm(7));
    let (status, body) = upload(&app, jpeg_form("image", synth::to_jpeg(&palm.image, 90))).await;
    assert_eq!(status, 202, "{body}");
    let id = body["analysis"]["id"].as_str().unwrap().to_owned();
    let job = body["job"]["id"].as_str().unwrap().to_owned();
    let statuses = status_store(&nats.url()).await;
    let done = wait_for(&statuses, &job, JobState::Completed).await;
    assert_eq!(done.progress, 100);

    let (status, body) = get_json(&app, &format!("/api/v1/analyses/{id}")).await;
    assert_eq!(status, 200);
    let analysis = &body["analysis"];
    assert_eq!(analysis["status"], "completed", "{analysis}");
    assert_eq!(analysis["engine"], "offline");
    let reading = &analysis["reading"];
    assert_eq!(reading["quality"]["usable"], true, "{reading}");
    let lines = reading["lines"].as_array().unwrap();
    for id in ["heart", "head", "life"] {
        let line = lines.iter().find(|l| l["id"] == id).unwrap();
        assert_eq!(line["present"], true, "{id}: {line}");
        assert_eq!(line["source"], "measured");
        assert!(line["polyline"].as_array().unwrap().len() >= 2);
        assert!(!line["reading"].as_str().unwrap().is_empty());
    }
    assert!(reading["disclaimer"].as_str().unwrap().len() > 20);

    // The overlay is a PNG of the photo's size; the thumbnail arrives through its own job.
    let overlay = app
        .client
        .get(app.url(&format!("/api/v1/analyses/{id}/overlay")))
        .send()
        .await
        .unwrap();
    assert_eq!(overlay.status().as_u16(), 200);
    assert_eq!(overlay.headers()["content-type"], "image/png");
    let png = image::load_from_memory(&overlay.bytes().await.unwrap()).unwrap();
    let photo = app
        .client
        .get(app.url(&format!("/api/v1/analyses/{id}/image")))
        .send()
        .await
        .unwrap();
    let photo = image::load_from_memory(&photo.bytes().await.unwrap()).unwrap();
    assert_eq!((png.width(), png.height()), (photo.width(), photo.height()));
    let thumbnail = eventually("the thumbnail", Duration::from_millis(100), || async {
        let response = app
            .client
            .get(app.url(&format!("/api/v1/analyses/{id}/thumbnail")))
            .send()
            .await
            .ok()?;
        (response.status() == 200).then_some(response.bytes().await.ok()?)
    })
    .await;
    let thumbnail = image::load_from_memory(&thumbnail).unwrap();
    assert!(thumbnail.width().max(thumbnail.height()) <= 256);

    // The same photo always gives the same reading.
    let (_, again) = upload(&app, jpeg_form("image", synth::to_jpeg(&palm.image, 90))).await;
    let job2 = again["job"]["id"].as_str().unwrap();
    wait_for(&statuses, job2, JobState::Completed).await;
    let (_, second) = get_json(
        &app,
        &format!(
            "/api/v1/analyses/{}",
            again["analysis"]["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(
        second["analysis"]["reading"], *reading,
        "deterministic reading"
    );
    worker.stop().await;
}

async fn an_unusable_photo_completes_with_retake_advice(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;
    let statuses = status_store(&nats.url()).await;

    let mut dark = SynthSpec::palm(3);
    dark.exposure = 0.15;
    let mut blank = SynthSpec::palm(4);
    blank.subject = Subject::Blank;
    for (spec, issue) in [(dark, "too_dark"), (blank, "no_hand")] {
        let image = synth::generate(&spec).image;
        let (status, body) = upload(&app, jpeg_form("image", synth::to_jpeg(&image, 90))).await;
        assert_eq!(status, 202, "{body}");
        wait_for(
            &statuses,
            body["job"]["id"].as_str().unwrap(),
            JobState::Completed,
        )
        .await;
        let (_, shown) = get_json(
            &app,
            &format!(
                "/api/v1/analyses/{}",
                body["analysis"]["id"].as_str().unwrap()
            ),
        )
        .await;
        let reading = &shown["analysis"]["reading"];
        assert_eq!(reading["quality"]["usable"], false, "{reading}");
        let issues: Vec<&str> = reading["quality"]["issues"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        assert!(issues.contains(&issue), "{issue} in {issues:?}");
        assert!(!reading["quality"]["advice"].as_array().unwrap().is_empty());
        assert!(
            reading["lines"]
                .as_array()
                .unwrap()
                .iter()
                .all(|l| l["present"] == false),
            "no invented lines"
        );
    }
    worker.stop().await;
}

async fn both_hands_are_read_and_a_guest_sees_only_the_summary(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;
    let statuses = status_store(&nats.url()).await;

    let left = synth::generate(&SynthSpec::palm(11));
    let mut right_spec = SynthSpec::palm(12);
    right_spec.side = HandSide::Right;
    let right = synth::generate(&right_spec);
    let form = jpeg_form("left", synth::to_jpeg(&left.image, 90)).part(
        "right",
        reqwest::multipart::Part::bytes(synth::to_jpeg(&right.image, 90)).file_name("r.jpg"),
    );
    // As a guest (no credentials): the cookie comes back with the 202.
    let guest = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = guest
        .post(app.url("/api/v1/analyses"))
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.unwrap();
    wait_for(
        &statuses,
        body["job"]["id"].as_str().unwrap(),
        JobState::Completed,
    )
    .await;
    let id = body["analysis"]["id"].as_str().unwrap();
    let shown: Value = guest
        .get(app.url(&format!("/api/v1/analyses/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let reading = &shown["analysis"]["reading"];
    assert!(reading["summary"].as_str().is_some(), "{reading}");
    assert!(
        reading.get("lines").is_none(),
        "a guest does not get the full reading"
    );
    let overlay2 = guest
        .get(app.url(&format!("/api/v1/analyses/{id}/overlay?hand=2")))
        .send()
        .await
        .unwrap();
    assert_eq!(
        overlay2.status().as_u16(),
        200,
        "the second hand has its overlay"
    );
    worker.stop().await;
}

async fn a_stored_photo_carries_no_exif_and_bombs_are_refused(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;

    // A JPEG with an EXIF segment carrying a GPS-like marker.
    let palm = synth::generate(&SynthSpec::palm(5));
    let jpeg = synth::to_jpeg(&palm.image, 85);
    let marker = b"GPSLatitude=12.9716N;GPSLongitude=77.5946E";
    let mut app1 = b"Exif\0\0II*\0\x08\0\0\0\0\0".to_vec();
    app1.extend_from_slice(marker);
    let mut with_exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
    with_exif.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    with_exif.extend_from_slice(&app1);
    with_exif.extend_from_slice(&jpeg[2..]);
    let (status, body) = upload(&app, jpeg_form("image", with_exif)).await;
    assert_eq!(status, 202, "{body}");
    let id = body["analysis"]["id"].as_str().unwrap();
    let stored = app
        .client
        .get(app.url(&format!("/api/v1/analyses/{id}/image")))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let contains = |needle: &[u8]| stored.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(b"Exif"), "no EXIF segment survives");
    assert!(!contains(b"GPSLatitude"), "no GPS data survives");

    // A PNG whose header claims 100000 x 100000 pixels (a decompression bomb).
    let mut png = Vec::new();
    image::RgbImage::new(8, 8)
        .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
        .unwrap();
    png[16..20].copy_from_slice(&100_000u32.to_be_bytes());
    png[20..24].copy_from_slice(&100_000u32.to_be_bytes());
    let crc = crc32(&png[12..29]);
    png[29..33].copy_from_slice(&crc.to_be_bytes());
    let (status, body) = upload(&app, jpeg_form("image", png)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("image_too_large")),
        "{body}"
    );
    // No photo at all, and `image` together with `left`.
    let (status, body) = upload(&app, reqwest::multipart::Form::new().text("note", "hi")).await;
    assert_eq!(status, 400, "{body}");
    let both = jpeg_form("image", jpeg.clone())
        .part("left", reqwest::multipart::Part::bytes(jpeg.clone()));
    let (status, body) = upload(&app, both).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("missing_image")),
        "{body}"
    );
    let (_, list) = get_json(&app, "/api/v1/analyses").await;
    assert_eq!(
        list["analyses"].as_array().unwrap().len(),
        1,
        "refused uploads left nothing"
    );
    // A malformed, unknown or out-of-range list parameter is the client's mistake: 400.
    for query in ["page=2", "limit=x", "limit=0", "limit=101", "offset=-1"] {
        let (status, body) = get_json(&app, &format!("/api/v1/analyses?{query}")).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_query")),
            "?{query}: {body}"
        );
    }
}

/// A deletion can sweep an analysis's objects while one of its jobs is still to write
/// one (the overlay, the thumbnail). Here the deletion has already happened when a job
/// runs: the row is gone, the photo still stored (as when the API's sweep came before
/// a job's write). Each job must notice and remove what is left. One upload is left to
/// its analysis job, the other to its thumbnail job (the other job of each is cancelled
/// before any worker runs), so each job's own check is what is tested.
async fn jobs_of_a_deleted_analysis_leave_no_objects_behind(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let statuses = status_store(&nats.url()).await;
    let conn = db.connect().await;
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let images = js.get_object_store("images").await.unwrap();

    let mut runs = Vec::new();
    let mut thumbnails_seen = Vec::new();
    for kind in ["analysis", "thumbnail"] {
        let (id, analysis_job) = app.upload_palm(11).await;
        let thumbnail_job = jobs_of_kind(&statuses, &app.user.id, "thumbnail")
            .await
            .into_iter()
            .find(|job| !thumbnails_seen.contains(job))
            .expect("the upload queued a thumbnail job");
        thumbnails_seen.push(thumbnail_job.clone());
        let (runs_job, cancelled) = if kind == "analysis" {
            (analysis_job, thumbnail_job)
        } else {
            (thumbnail_job, analysis_job)
        };
        let response = app
            .client
            .delete(app.url(&format!("/api/v1/jobs/{cancelled}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 200, "{cancelled} is cancelled");
        assert!(conn
            .delete_analysis(&app.user.id, &id)
            .await
            .unwrap()
            .is_some());
        assert!(
            images.get(format!("analyses/{id}/photo.jpg")).await.is_ok(),
            "the photo is stored"
        );
        runs.push((kind, id, runs_job));
    }

    let worker = spawn_worker(settings).await;
    for (kind, id, job) in &runs {
        let done = wait_for(&statuses, job, JobState::Completed).await;
        assert_eq!(
            done.result.as_ref().unwrap()["skipped"],
            "analysis deleted",
            "the {kind} job"
        );
        for name in ["photo.jpg", "overlay.png", "thumbnail.jpg"] {
            assert!(
                images.get(format!("analyses/{id}/{name}")).await.is_err(),
                "the {kind} job left {name}"
            );
        }
    }
    worker.stop().await;
    app.stop().await;
}

/// A cancelled analysis ends failed (`cancelled`) with no reading, whether its job was
/// cancelled while queued (here), while running or as it finished (the worker's undo
/// runs on each path).
async fn a_cancelled_analysis_ends_cancelled_without_a_reading(backend: Backend) {
    let nats = NatsServer::start();
    let db = TestDatabase::new(backend).await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let conn = db.connect().await;
    let (id, job) = app.upload_palm(12).await;
    let response = app
        .client
        .delete(app.url(&format!("/api/v1/jobs/{job}")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);

    let _worker = spawn_worker(settings).await;
    let row = hast_tests::eventually("the analysis to end", Duration::from_millis(50), || async {
        conn.find_analysis_by_id(&id)
            .await
            .unwrap()
            .filter(|a| a.status == "failed")
    })
    .await;

    assert!(row.reading.is_none());
    assert!(row.error.unwrap().contains("cancelled"));
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

hast_tests::on_both_backends!(
    a_synthetic_palm_is_read_end_to_end,
    an_unusable_photo_completes_with_retake_advice,
    both_hands_are_read_and_a_guest_sees_only_the_summary,
    a_stored_photo_carries_no_exif_and_bombs_are_refused,
    jobs_of_a_deleted_analysis_leave_no_objects_behind,
    a_cancelled_analysis_ends_cancelled_without_a_reading,
);
