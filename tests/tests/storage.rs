//! Bounded storage: every JetStream store has its `max_bytes`; a full one refuses new
//! work with `507 storage_full`, loses nothing it accepted, and leaves logins working.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hast_common::db::Backend;
use hast_common::jobs::JobState;
use hast_tests::jobs::{status_store, submit, wait_for};
use hast_tests::{spawn_app, spawn_worker, test_settings, NatsServer, TestDatabase};
use serde_json::json;

/// 32 MiB: `JOBS` gets 3.3 MB, `job_status` 4 MB, `sessions` 1.3 MB.
const BUDGET: &str = "33554432";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_job_store_refuses_new_jobs_with_507_and_loses_none_it_accepted() {
    let nats = NatsServer::start();
    let db = TestDatabase::new(Backend::Sqlite).await;
    let settings = [("JETSTREAM_MAX_BYTES", BUDGET), ("JOB_ACK_WAIT", "2s")];
    let app = spawn_app(test_settings(&db.url, &nats.url(), &settings)).await;
    let statuses = status_store(&nats.url()).await;
    // 60 KiB payloads and no worker yet: `JOBS` fills after about 55.
    let filler = "x".repeat(60 * 1024);

    let mut accepted = Vec::new();
    let refusal = loop {
        assert!(accepted.len() < 200, "JOBS never filled up");
        let response = app
            .client
            .post(app.url("/api/v1/jobs"))
            .json(&json!({"kind": "echo", "payload": {"n": accepted.len(), "filler": filler}}))
            .send()
            .await
            .unwrap();
        if response.status() == 202 {
            let body: serde_json::Value = response.json().await.unwrap();
            accepted.push(body["id"].as_str().unwrap().to_owned());
            continue;
        }
        break response;
    };
    let status = refusal.status().as_u16();
    let retry_after = refusal.headers().get("retry-after").cloned();
    let body: serde_json::Value = refusal.json().await.unwrap();
    // Sessions have their own share: a full job store does not stop logins.
    let login = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&json!({"email": app.user.email, "password": app.user.password}))
        .send()
        .await
        .unwrap()
        .status();
    let (small_status, _) = submit(&app, "echo", json!({"small": true})).await;

    assert_eq!(status, 507, "{body}");
    assert_eq!(body["error"]["code"], "storage_full");
    assert!(retry_after.is_some(), "a 507 says when to retry");
    assert!(accepted.len() >= 20, "only {} accepted", accepted.len());
    assert_eq!(login, 200);
    assert!(
        small_status == 202 || small_status == 507,
        "a small job fits or is refused cleanly: {small_status}"
    );

    // Everything accepted runs once a worker comes.
    let _worker = spawn_worker(test_settings(&db.url, &nats.url(), &settings)).await;
    for id in &accepted {
        wait_for(&statuses, id, JobState::Completed).await;
    }
    let rows = db.connect().await.count_job_results().await.unwrap();
    assert!(rows >= accepted.len() as i64, "{rows} rows");
    // Drained, the store takes new work again.
    hast_tests::eventually(
        "a submission to be accepted again",
        Duration::from_millis(200),
        || async { (submit(&app, "echo", json!({"after": "drain"})).await.0 == 202).then_some(()) },
    )
    .await;
}
