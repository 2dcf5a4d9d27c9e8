//! No anonymous way to exhaust the service (issue 15): decoding, job submission, event
//! streams, metrics and conversations are bounded, and what is over a bound gets a 4xx or
//! a 503 with `Retry-After`, never a crash.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_tests::jobs::{jobs_of_kind, status_store};
use hast_tests::{palm_form, spawn_app, test_settings, ApiProcess, NatsServer, TestDatabase};
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

/// A client that starts a request and never finishes its headers is cut off after
/// `HTTP_HEADER_TIMEOUT` instead of holding its connection (and task) for ever.
#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[("HTTP_HEADER_TIMEOUT", "1s")]);
    let app = spawn_app(settings).await;
    let mut stream = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: ")
        .await
        .unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(hast_tests::WAIT, stream.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the connection is still open");
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 408"),
        "{answer}"
    );
    app.stop().await;
}

/// The status line and body of one `GET /healthz` sent on a fresh connection, which is
/// kept open (keep-alive) when the server admitted it.
async fn healthz_on_new_connection(addr: std::net::SocketAddr) -> (tokio::net::TcpStream, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(hast_tests::WAIT, stream.read(&mut buf))
        .await
        .expect("an answer")
        .unwrap();
    (stream, String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// Beyond `HTTP_MAX_CONNECTIONS` open connections a new one is answered 503 with a JSON
/// error and `Retry-After`, and closed; once connections close, new ones are served again.
#[tokio::test]
async fn connections_beyond_the_cap_are_refused_with_503() {
    const CAP: usize = 2;
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(
        &db.url,
        &nats.url(),
        &[("HTTP_MAX_CONNECTIONS", &CAP.to_string())],
    );
    let app = spawn_app(settings).await;
    let mut admitted = Vec::new();
    let mut refusal = None;
    for _ in 0..10 {
        let (stream, answer) = healthz_on_new_connection(app.addr).await;
        if answer.starts_with("HTTP/1.1 503") {
            refusal = Some(answer);
            break;
        }
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        admitted.push(stream);
    }
    let refusal = refusal.expect("a connection over the cap is refused");
    assert!(admitted.len() <= CAP, "{} admitted", admitted.len());
    assert!(
        refusal.to_ascii_lowercase().contains("retry-after: 1"),
        "{refusal}"
    );
    let body: Value = serde_json::from_str(refusal.split("\r\n\r\n").nth(1).unwrap()).unwrap();
    assert_eq!(body["error"]["code"], "server_busy");

    drop(admitted);
    hast_tests::eventually("a connection is served again", WAIT_STEP, || async {
        let (_, answer) = healthz_on_new_connection(app.addr).await;
        answer.starts_with("HTTP/1.1 200").then_some(())
    })
    .await;
    app.stop().await;
}

const WAIT_STEP: std::time::Duration = std::time::Duration::from_millis(50);

/// Opens `GET /api/v1/jobs/{job}/events` with `client`: the response, once its headers
/// are in.
async fn open_events(
    app: &hast_tests::TestApp,
    client: &reqwest::Client,
    job: &str,
) -> reqwest::Response {
    client
        .get(app.url(&format!("/api/v1/jobs/{job}/events")))
        .send()
        .await
        .unwrap()
}

/// A queued echo job of `app.user` (no worker runs, so it stays queued): its id.
async fn queued_job(app: &hast_tests::TestApp) -> String {
    let response = app
        .client
        .post(app.url("/api/v1/jobs"))
        .json(&json!({"kind": "echo", "payload": {"message": "wait"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let body: Value = response.json().await.unwrap();
    body["id"].as_str().unwrap().to_owned()
}

/// One user holds at most `SSE_STREAMS_PER_USER` event streams: one more is 429
/// `too_many_streams`, and a stream the client closes frees its slot.
#[tokio::test]
async fn event_streams_beyond_the_per_user_cap_are_refused() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[("SSE_STREAMS_PER_USER", "2")]);
    let app = spawn_app(settings).await;
    let job = queued_job(&app).await;
    // Each stream on its own client (its own connection).
    let clients: Vec<reqwest::Client> = (0..3)
        .map(|_| hast_tests::bearer_client(&app.user.token))
        .collect();
    let first = open_events(&app, &clients[0], &job).await;
    let second = open_events(&app, &clients[1], &job).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (200, 200)
    );
    let third = open_events(&app, &clients[2], &job).await;
    assert_eq!(third.status().as_u16(), 429);
    assert!(third.headers().contains_key("retry-after"));
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_streams", "{body}");

    drop(first);
    drop(clients);
    let client = hast_tests::bearer_client(&app.user.token);
    hast_tests::eventually("the closed stream's slot is free", WAIT_STEP, || async {
        let response = open_events(&app, &client, &job).await;
        (response.status().as_u16() == 200).then_some(())
    })
    .await;
    drop(second);
    app.stop().await;
}

/// An event stream ends after `SSE_MAX_LIFETIME` even if its job never changes (the
/// client reconnects), so an abandoned one does not live for ever.
#[tokio::test]
async fn an_event_stream_ends_after_its_lifetime() {
    use futures::StreamExt;
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[("SSE_MAX_LIFETIME", "1s")]);
    let app = spawn_app(settings).await;
    let job = queued_job(&app).await;
    let response = open_events(&app, &app.client, &job).await;
    assert_eq!(response.status().as_u16(), 200);
    let mut body = response.bytes_stream();
    let ended = tokio::time::timeout(hast_tests::WAIT, async {
        while let Some(chunk) = body.next().await {
            chunk.unwrap();
        }
    })
    .await;
    assert!(ended.is_ok(), "the stream is still open");
    app.stop().await;
}

/// The `(method, route)` labels of every HTTP request series `/metrics` shows. The
/// registry is the test process's, shared by the tests running beside this one.
async fn http_series(app: &hast_tests::TestApp) -> Vec<(String, String)> {
    let text = app
        .anonymous
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let label = |line: &str, name: &str| {
        let start = line.find(&format!("{name}=\"")).expect("the label") + name.len() + 2;
        let len = line[start..].find('"').expect("the label's end");
        line[start..start + len].to_owned()
    };
    text.lines()
        .filter(|l| l.starts_with("hast_http_request_duration_seconds_count{"))
        .map(|l| (label(l, "method"), label(l, "route")))
        .collect()
}

/// Anonymous requests with made-up methods and path segments add no metric series: the
/// labels are the API's route templates and the standard methods. (Labels, not a count
/// of series: the tests running beside this one add series of their own.)
#[tokio::test]
async fn made_up_methods_and_paths_add_no_metric_series() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let probe = |method: &str, path: String| {
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        app.anonymous.request(method, app.url(&path)).send()
    };
    for n in 0..30 {
        probe("GET", format!("/api/v1/jobs/j{n}")).await.unwrap();
        probe(&format!("BREW{n}"), "/api/v1/jobs".into())
            .await
            .unwrap();
        probe("GET", format!("/api/v1/conversations/c{n}/messages"))
            .await
            .unwrap();
        probe("GET", format!("/junk/{n}/x")).await.unwrap();
    }
    let series = http_series(&app).await;
    let methods = [
        "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "OTHER",
    ];
    let made_up: Vec<String> = (0..30)
        .flat_map(|n| [format!("j{n}"), format!("c{n}")])
        .chain(["junk".to_owned()])
        .collect();
    for (method, route) in &series {
        assert!(methods.contains(&method.as_str()), "method {method:?}");
        assert!(
            !route.split('/').any(|s| made_up.iter().any(|m| m == s)),
            "route {route:?}"
        );
    }
    // The requests above were counted, under the templates.
    for (method, route) in [
        ("GET", "/api/v1/jobs/{id}"),
        ("OTHER", "/api/v1/jobs"),
        ("GET", "/api/v1/conversations/{id}/messages"),
        ("GET", "(unmatched)"),
    ] {
        assert!(
            series.contains(&(method.to_owned(), route.to_owned())),
            "no series {method} {route} in {series:?}"
        );
    }
    app.stop().await;
}

/// With `METRICS_TOKEN`, `/metrics` needs it (401 JSON without), and the health check shows
/// its details (dependency errors, counts) only with it; in production without a token
/// `/metrics` does not exist.
#[tokio::test]
async fn metrics_and_health_details_are_for_the_operator() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let token = "operator-token-for-prometheus-0123456789";
    let app = spawn_app(test_settings(
        &db.url,
        &nats.url(),
        &[("METRICS_TOKEN", token)],
    ))
    .await;
    let refused = app.anonymous.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthenticated");
    let scraped = app
        .anonymous
        .get(app.url("/metrics"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status().as_u16(), 200);
    assert!(scraped.text().await.unwrap().contains("# TYPE"));

    let public: Value = app
        .anonymous
        .get(app.url("/api/v1/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        public["status"].is_string() && public.get("checks").is_none(),
        "{public}"
    );
    let operator: Value = app
        .anonymous
        .get(app.url("/api/v1/health"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(operator["checks"]["database"].is_object(), "{operator}");
    app.stop().await;

    let secret = "s".repeat(48);
    let production = spawn_app(test_settings(
        &db.url,
        &nats.url(),
        &[("APP_ENV", "production"), ("SESSION_SECRET", &secret)],
    ))
    .await;
    let hidden = production
        .anonymous
        .get(production.url("/metrics"))
        .send()
        .await
        .unwrap();
    assert_eq!(hidden.status().as_u16(), 404);
    production.stop().await;
}

/// The `name=value` of the session cookie a response sets.
fn set_cookie_pair(response: &reqwest::Response) -> String {
    let header = response.headers()["set-cookie"].to_str().unwrap();
    header.split(';').next().unwrap().to_owned()
}

/// A guest's uploads sent all at once never leave them with more analyses than
/// `GUEST_MAX_ANALYSES` (the cap was checked only before the photos were read, so every
/// parallel upload passed it).
#[tokio::test]
async fn parallel_uploads_of_one_guest_never_exceed_the_guest_cap() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[("GUEST_MAX_ANALYSES", "2")]);
    let app = spawn_app(settings).await;
    let first = app
        .anonymous
        .post(app.url("/api/v1/analyses"))
        .multipart(palm_form(1))
        .send()
        .await
        .unwrap();
    assert_eq!(first.status().as_u16(), 202);
    let cookie = set_cookie_pair(&first);
    let guest = || {
        hast_tests::plain_client()
            .post(app.url("/api/v1/analyses"))
            .header("cookie", cookie.clone())
            .header("origin", app.base())
    };
    let uploads = (0..6).map(|n| guest().multipart(palm_form(10 + n)).send());
    let mut accepted = 0;
    for response in futures::future::join_all(uploads).await {
        let response = response.unwrap();
        match response.status().as_u16() {
            202 => accepted += 1,
            403 => {
                let body: Value = response.json().await.unwrap();
                assert_eq!(body["error"]["code"], "guest_limit_reached");
            }
            other => panic!("{other}"),
        }
    }
    assert!(accepted <= 1, "{accepted} accepted beyond the first");
    let list: Value = hast_tests::plain_client()
        .get(app.url("/api/v1/analyses"))
        .header("cookie", cookie.clone())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let owned = list["analyses"].as_array().unwrap().len();
    assert!(owned <= 2, "the guest owns {owned}");
    app.stop().await;
}

/// A guest sees only the reading's summary; the analysis job's result (which the job
/// status shows its owner) says whether the photo was readable, not which lines it has.
#[tokio::test]
async fn a_guests_job_status_does_not_reveal_the_reading() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = hast_tests::spawn_worker(settings).await;
    let upload = app
        .anonymous
        .post(app.url("/api/v1/analyses"))
        .multipart(palm_form(7))
        .send()
        .await
        .unwrap();
    assert_eq!(upload.status().as_u16(), 202);
    let cookie = set_cookie_pair(&upload);
    let body: Value = upload.json().await.unwrap();
    let job = body["job"]["id"].as_str().unwrap().to_owned();
    let statuses = status_store(&nats.url()).await;
    hast_tests::jobs::wait_for(&statuses, &job, hast_common::jobs::JobState::Completed).await;
    let status: Value = hast_tests::plain_client()
        .get(app.url(&format!("/api/v1/jobs/{job}")))
        .header("cookie", cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let result = status["result"].as_object().expect("a result");
    assert_eq!(result["usable"], true, "{status}");
    for hidden in ["lines_found", "lines", "reading", "summary"] {
        assert!(!result.contains_key(hidden), "{hidden} in {status}");
    }
    worker.stop().await;
    app.stop().await;
}

/// The value of counter `name` (no labels) in an API process's `/metrics`, 0 when absent.
async fn api_counter(api: &ApiProcess, name: &str) -> u64 {
    let text = reqwest::get(api.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        .unwrap_or(0)
}

/// Registering with a taken email costs the same argon2id run as a new registration (the
/// password is hashed before the email is looked up), so the answer's timing does not
/// tell a taken email from a free one. Counted, not timed: the API's own counter of hash
/// runs, on an API process of its own.
#[tokio::test]
async fn a_taken_email_costs_a_password_hash_like_a_new_one() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let api = ApiProcess::start(&db.url, &nats.url(), &[]).await;
    let register = || {
        reqwest::Client::new()
            .post(api.url("/api/v1/auth/register"))
            .json(&json!({"email": "taken@example.com", "password": "Palm-reader-of-the-year-42"}))
            .send()
    };
    assert_eq!(register().await.unwrap().status().as_u16(), 201);
    let before = api_counter(&api, "hast_password_hashes_total").await;
    assert!(before >= 1);
    let again = register().await.unwrap();
    assert_eq!(again.status().as_u16(), 409);
    let after = api_counter(&api, "hast_password_hashes_total").await;
    assert_eq!(after, before + 1, "the taken email was hashed too");
}
