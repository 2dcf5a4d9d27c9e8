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
    // The first 503 may come before the client has noticed the lost connection (the
    // JetStream check times out first): wait for the report that names NATS.
    let down = eventually("health to report NATS down", POLL, || async {
        let (status, body) = json(app.get("/api/v1/health").await).await;
        let names_nats = body["failing"]
            .as_array()
            .is_some_and(|failing| failing.iter().any(|v| v == "nats"));
        (status == 503 && names_nats).then_some(body)
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

/// Every 405 names the methods the route does answer in `Allow` (RFC 9110), and each of
/// them is indeed not a 405 there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_method_is_told_which_methods_the_route_allows() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let id = "01a21d11-0000-7000-8000-000000000000";
    for (method, path, allow) in [
        ("PUT", "/api/v1/jobs".to_owned(), "POST"),
        ("POST", format!("/api/v1/jobs/{id}"), "GET, DELETE"),
        ("DELETE", format!("/api/v1/jobs/{id}/events"), "GET"),
        ("PATCH", "/api/v1/analyses".to_owned(), "GET, POST"),
        ("PUT", "/api/v1/auth/login".to_owned(), "POST"),
        ("DELETE", "/api/v1/health".to_owned(), "GET"),
        ("POST", "/readings".to_owned(), "GET"),
    ] {
        let response = app
            .client
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).unwrap(),
                app.url(&path),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 405, "{method} {path}");
        let header = response
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("{method} {path}: no Allow"))
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(header, allow, "{method} {path}");
        for allowed in header.split(", ") {
            let status = app
                .client
                .request(
                    reqwest::Method::from_bytes(allowed.as_bytes()).unwrap(),
                    app.url(&path),
                )
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            assert_ne!(status, 405, "{allowed} {path}");
        }
    }
    app.stop().await;
}

/// Responses that carry a session token (register and login JSON, a guest's Set-Cookie)
/// say `Cache-Control: no-store`, so no browser or proxy cache keeps the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn responses_carrying_a_session_token_are_not_cached() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let email = format!("{}@example.com", uuid::Uuid::now_v7().simple());
    let password = "Palm-lines-never-lie-4-sure!";
    let registered = app
        .anonymous
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status().as_u16(), 201);
    assert_eq!(registered.headers()["cache-control"], "no-store");
    let logged_in = app
        .anonymous
        .post(app.url("/api/v1/auth/login"))
        .json(&serde_json::json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap();
    assert_eq!(logged_in.status().as_u16(), 200);
    assert_eq!(logged_in.headers()["cache-control"], "no-store");
    let guest = app.post_palm(&app.anonymous, 3).await;
    assert_eq!(guest.status().as_u16(), 202);
    assert!(guest.headers().contains_key("set-cookie"));
    assert_eq!(guest.headers()["cache-control"], "no-store");
    app.stop().await;
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

/// Every `$ref` in `value` (where it sits, what it points at).
fn openapi_refs(value: &Value, at: &str, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (key, child) in map {
                match child {
                    Value::String(target) if key == "$ref" => {
                        out.push((at.to_owned(), target.clone()));
                    }
                    _ => openapi_refs(child, &format!("{at}/{key}"), out),
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                openapi_refs(child, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// `palm/reading.schema.json` as the document must embed it: without `$id` and
/// `$schema`, its own `#…` refs made absolute under `#/components/schemas/Reading`.
fn reading_schema_as_embedded() -> Value {
    fn rewrite(value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    match child {
                        Value::String(target) if key == "$ref" && target.starts_with('#') => {
                            *target = format!("#/components/schemas/Reading{}", &target[1..]);
                        }
                        other => rewrite(other),
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(rewrite),
            _ => {}
        }
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../palm/reading.schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let root = schema.as_object_mut().unwrap();
    root.remove("$id");
    root.remove("$schema");
    rewrite(&mut schema);
    schema
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_3_1_embeds_the_reading_schema_and_resolves() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;

    let response = app
        .anonymous
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let (status, doc) = json(response).await;

    assert_eq!(status, 200, "{doc}");
    assert_eq!(content_type, "application/json");
    let version = doc["openapi"].as_str().unwrap();
    assert!(version.starts_with("3.1."), "openapi {version}");
    assert!(doc["info"]["title"].is_string() && doc["info"]["version"].is_string());
    assert_eq!(
        doc["components"]["schemas"]["Reading"],
        reading_schema_as_embedded(),
        "components.schemas.Reading is palm/reading.schema.json (minus $id/$schema, refs made absolute)"
    );
    let schemes = &doc["components"]["securitySchemes"];
    assert_eq!(schemes["sessionCookie"]["in"], "cookie");
    assert_eq!(schemes["sessionCookie"]["name"], "hast_session");
    assert_eq!(schemes["bearerAuth"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["Error"]["properties"]["error"].is_object());

    let mut refs = Vec::new();
    openapi_refs(&doc, "", &mut refs);
    for (at, target) in &refs {
        let pointer = target
            .strip_prefix('#')
            .unwrap_or_else(|| panic!("{at}: $ref {target} is not inside the document"));
        assert!(
            doc.pointer(pointer).is_some(),
            "{at}: $ref {target} does not resolve"
        );
    }
    assert!(
        refs.iter().any(
            |(at, target)| at.starts_with("/components/schemas/Analysis/")
                && target == "#/components/schemas/Reading"
        ),
        "Analysis refers to Reading"
    );
    for (path, method, answers) in [
        ("/api/v1/analyses", "post", "Analysis"),
        ("/api/v1/analyses", "get", "Analysis"),
        ("/api/v1/analyses/{id}", "get", "Analysis"),
        (
            "/api/v1/analyses/{id}/conversations",
            "post",
            "Conversation",
        ),
        ("/api/v1/analyses/{id}/conversations", "get", "Conversation"),
        (
            "/api/v1/conversations/{id}",
            "get",
            "ConversationWithMessages",
        ),
        ("/api/v1/conversations/{id}", "patch", "Conversation"),
        ("/api/v1/conversations/{id}/messages", "post", "Message"),
        ("/api/v1/conversations/{id}/messages", "post", "JobStatus"),
    ] {
        let schema = doc["paths"][path][method]["responses"]
            .as_object()
            .unwrap()
            .iter()
            .find(|(code, _)| code.starts_with('2'))
            .map(|(_, r)| r["content"]["application/json"]["schema"]["$ref"].clone())
            .unwrap();
        let target = schema.as_str().unwrap().trim_start_matches('#');
        assert!(
            doc.pointer(target)
                .unwrap()
                .to_string()
                .contains(&format!("\"#/components/schemas/{answers}\"")),
            "{method} {path} answers {answers}"
        );
    }
}

/// The operations of the document, with every `{param}` replaced by a random UUID.
fn documented_operations(doc: &Value) -> Vec<(reqwest::Method, String, String, Value)> {
    let mut operations = Vec::new();
    for (template, item) in doc["paths"].as_object().unwrap() {
        let path = template
            .split('/')
            .map(|segment| {
                if segment.starts_with('{') && segment.ends_with('}') {
                    uuid::Uuid::now_v7().to_string()
                } else {
                    segment.to_owned()
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            let Some(operation) = item.get(method) else {
                continue;
            };
            let method = method.to_uppercase().parse::<reqwest::Method>().unwrap();
            operations.push((
                method,
                template.clone(),
                path.clone(),
                operation["responses"].clone(),
            ));
        }
    }
    // Deleting the account, then signing out, end the probing client's session: last.
    operations.sort_by_key(
        |(method, template, _, _)| match (method.as_str(), template.as_str()) {
            ("DELETE", "/api/v1/auth/me") => 1,
            (_, "/api/v1/auth/logout") => 2,
            _ => 0,
        },
    );
    operations
}

/// Sends `method path` with no body and checks that the route exists: not 405, and a
/// 404 only for a missing resource (`"no such route"` is what an unknown route gets).
/// The status must be one the document lists for the operation, with a documented
/// media type, and the JSON error envelope where the document says `Error`.
async fn probe(
    client: &reqwest::Client,
    app: &hast_tests::TestApp,
    doc: &Value,
    (method, template, path, documented): &(reqwest::Method, String, String, Value),
    who: &str,
) -> u16 {
    let response = client
        .request(method.clone(), app.url(path))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let media_type = response
        .headers()
        .get("content-type")
        .map(|v| essence(v.to_str().unwrap()));
    let body: Value = if media_type.as_deref() == Some("application/json") {
        response.json().await.unwrap()
    } else {
        Value::Null
    };
    let what = format!("{who} {method} {template} → {status} {body}");
    assert_ne!(status, 405, "{what}");
    if status == 404 {
        assert_eq!(body["error"]["code"], "not_found", "{what}");
        assert_ne!(
            body["error"]["message"], "no such route",
            "the route is missing: {what}"
        );
    }
    let mut answer = documented
        .get(status.to_string())
        .unwrap_or_else(|| panic!("undocumented status: {what}"));
    if let Some(target) = answer["$ref"].as_str() {
        answer = doc.pointer(target.trim_start_matches('#')).unwrap();
    }
    match (answer.get("content"), media_type) {
        (Some(content), Some(actual)) => assert!(
            content
                .as_object()
                .unwrap()
                .keys()
                .any(|listed| essence(listed) == actual),
            "undocumented media type {actual}: {what}"
        ),
        (Some(_), None) => panic!("no Content-Type: {what}"),
        (None, _) => assert!(status == 204 || status == 200, "{what}"),
    }
    if answer["content"]["application/json"]["schema"]["$ref"] == "#/components/schemas/Error" {
        assert!(
            body["error"]["code"].is_string() && body["error"]["message"].is_string(),
            "the error envelope: {what}"
        );
    }
    status
}

/// `text/plain; version=0.0.4` → `text/plain`.
fn essence(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_operation_exists_on_the_running_api() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let (status, doc) = json(
        app.anonymous
            .get(app.url("/api/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let operations = documented_operations(&doc);
    assert!(operations.len() >= 20, "{} operations", operations.len());

    // What an unknown route answers, which `probe` tells from a missing resource.
    let unknown = format!("/api/v1/nope/{}", uuid::Uuid::now_v7());
    let (unknown_status, unknown_body) = json(app.get(&unknown).await).await;
    assert_eq!(unknown_status, 404);
    assert_eq!(unknown_body["error"]["message"], "no such route");

    // Anonymous: public routes answer, the others say 401 (after matching the route).
    let mut anonymous = Vec::new();
    for operation in &operations {
        anonymous.push((
            probe(&app.anonymous, &app, &doc, operation, "anonymous").await,
            operation,
        ));
    }
    for (status, (method, template, _, _)) in &anonymous {
        let secured = doc["paths"][template.as_str()][method.as_str().to_lowercase()]
            .get("security")
            .is_none();
        if secured {
            assert_eq!(*status, 401, "anonymous {method} {template}");
        }
    }

    // Signed in (a user of its own, as the last probes end its session): ids that do
    // not exist give the resource's own 404.
    let user = app.new_user().await;
    let signed_in = hast_tests::bearer_client(&user.token);
    for operation in &operations {
        let status = probe(&signed_in, &app, &doc, operation, "signed in").await;
        assert_ne!(status, 401, "signed in {} {}", operation.0, operation.1);
        if operation.1.contains("{id}") {
            assert_eq!(status, 404, "signed in {} {}", operation.0, operation.1);
        }
    }
}
