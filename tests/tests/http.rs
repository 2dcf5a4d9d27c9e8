//! The API's HTTP behaviour: health and its recovery, correlation ids, the JSON error
//! envelope for warp's own rejections, CORS.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hast_tests::{eventually, spawn_app, spawn_worker, test_settings, NatsServer, TestDatabase};
use serde_json::Value;

const POLL: Duration = Duration::from_millis(100);

async fn json(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    (status, response.json().await.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_ok_with_every_dependency_and_a_live_worker() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;

    let (status, body) = json(app.get("/api/v1/health").await).await;

    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ok");
    assert_eq!(body["checks"]["workers"]["count"], 1);
    for check in ["database", "nats", "jetstream", "kv", "workers"] {
        assert_eq!(body["checks"][check]["status"], "ok", "{check}: {body}");
    }
    assert_eq!(body["checks"]["database"]["backend"], "sqlite");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_is_degraded_without_workers_and_liveness_still_ok() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;

    let (status, body) = json(app.get("/api/v1/health").await).await;
    let (live, live_body) = json(app.get("/healthz").await).await;

    assert_eq!(status, 503);
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["failing"], serde_json::json!(["workers"]));
    assert_eq!(body["checks"]["workers"]["count"], 0);
    assert_eq!(
        (live, live_body),
        (200, serde_json::json!({"status": "ok"}))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_503_when_nats_stops_and_recovers_when_it_returns() {
    let mut nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;
    assert_eq!(app.get("/api/v1/health").await.status(), 200);

    nats.stop();
    let down = eventually("health to report NATS down", POLL, || async {
        let (status, body) = json(app.get("/api/v1/health").await).await;
        (status == 503).then_some(body)
    })
    .await;
    nats.restart();
    let up = eventually("health to recover", POLL, || async {
        let (status, body) = json(app.get("/api/v1/health").await).await;
        (status == 200).then_some(body)
    })
    .await;

    let failing: Vec<&str> = down["failing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(failing.contains(&"nats"), "{down}");
    assert!(failing.contains(&"jetstream"), "{down}");
    assert!(!failing.contains(&"database"), "{down}");
    assert_eq!(up["status"], "ok");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_503_when_the_database_is_unreachable_and_recovers() {
    let nats = NatsServer::start();
    let db = TestDatabase::postgres().await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;
    assert_eq!(app.get("/api/v1/health").await.status(), 200);

    db.block_connections().await;
    let down = eventually("health to report the database down", POLL, || async {
        let (status, body) = json(app.get("/api/v1/health").await).await;
        (status == 503).then_some(body)
    })
    .await;
    db.allow_connections().await;
    let up = eventually("health to recover", POLL, || async {
        let (status, body) = json(app.get("/api/v1/health").await).await;
        (status == 200).then_some(body)
    })
    .await;

    assert_eq!(down["failing"], serde_json::json!(["database"]), "{down}");
    assert_eq!(down["checks"]["database"]["status"], "error");
    assert_eq!(up["checks"]["database"]["backend"], "postgres");
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_routes_and_wrong_methods_get_the_json_envelope() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;

    let (not_found, nf_body) = json(app.get("/api/v1/no-such-thing").await).await;
    let wrong = app
        .client
        .delete(app.url("/api/v1/health"))
        .send()
        .await
        .unwrap();
    let content_type = wrong.headers()["content-type"].to_str().unwrap().to_owned();
    let (wrong_method, wm_body) = json(wrong).await;

    assert_eq!(not_found, 404);
    assert_eq!(nf_body["error"]["code"], "not_found");
    assert!(nf_body["error"]["message"].is_string());
    assert_eq!(wrong_method, 405);
    assert_eq!(wm_body["error"]["code"], "method_not_allowed");
    assert_eq!(content_type, "application/json");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_correlation_id_is_echoed_or_generated() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let header =
        |r: &reqwest::Response| r.headers()["x-correlation-id"].to_str().unwrap().to_owned();

    let given = app
        .client
        .get(app.url("/healthz"))
        .header("x-correlation-id", "req-42.a:b_c")
        .send()
        .await
        .unwrap();
    let from_request_id = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "abc-123")
        .send()
        .await
        .unwrap();
    let generated = app.get("/healthz").await;
    let hostile = app
        .client
        .get(app.url("/nope"))
        .header("x-correlation-id", "bad id\"{}")
        .send()
        .await
        .unwrap();

    assert_eq!(header(&given), "req-42.a:b_c");
    assert_eq!(header(&from_request_id), "abc-123");
    assert!(
        uuid::Uuid::parse_str(&header(&generated)).is_ok(),
        "a UUID is generated"
    );
    let replaced = header(&hostile);
    assert_ne!(replaced, "bad id\"{}", "malformed ids are not echoed");
    assert!(uuid::Uuid::parse_str(&replaced).is_ok());
    assert_eq!(hostile.status(), 404, "errors carry the header too");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_allows_only_configured_origins() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(
        &db.url,
        &nats.url(),
        &[("CORS_ALLOWED_ORIGINS", "https://palm.example")],
    ))
    .await;

    let allowed = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://palm.example")
        .send()
        .await
        .unwrap();
    let foreign = app
        .client
        .get(app.url("/healthz"))
        .header("origin", "https://evil.example")
        .send()
        .await
        .unwrap();
    let preflight = app
        .client
        .request(reqwest::Method::OPTIONS, app.url("/api/v1/health"))
        .header("origin", "https://palm.example")
        .header("access-control-request-method", "POST")
        .send()
        .await
        .unwrap();

    assert_eq!(
        allowed.headers()["access-control-allow-origin"],
        "https://palm.example"
    );
    assert_eq!(
        allowed.headers()["access-control-allow-credentials"],
        "true"
    );
    assert!(foreign
        .headers()
        .get("access-control-allow-origin")
        .is_none());
    assert!(preflight.status().is_success());
    assert!(preflight.headers()["access-control-allow-methods"]
        .to_str()
        .unwrap()
        .contains("POST"));
}
