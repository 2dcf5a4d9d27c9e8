//! Log output: every line is a bunyan record, and every line of a request carries its
//! correlation id. This file is its own process, so it can own the global subscriber.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use hast_common::telemetry::{get_subscriber, init_subscriber};
use hast_tests::{spawn_app, spawn_worker, test_settings, NatsServer, TestDatabase};
use serde_json::Value;
use tracing_subscriber_writer::Captured;

mod tracing_subscriber_writer {
    use super::*;

    /// A `MakeWriter` that appends to a shared buffer.
    #[derive(Clone, Default)]
    pub struct Captured(pub Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
        type Writer = Captured;
        fn make_writer(&'a self) -> Self::Writer {
            self.clone()
        }
    }

    impl Captured {
        pub fn lines(&self) -> Vec<Value> {
            let bytes = self.0.lock().unwrap().clone();
            String::from_utf8(bytes)
                .unwrap()
                .lines()
                .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
                .collect()
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn request_log_lines_are_bunyan_records_with_the_correlation_id() {
    let captured = Captured::default();
    init_subscriber(get_subscriber("hast-api", "info", captured.clone())).unwrap();
    let nats = NatsServer::start();
    let db = TestDatabase::postgres().await;
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;

    let response = app
        .client
        .get(app.url("/api/v1/health"))
        .header("x-correlation-id", "trace-me-123")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    // Credentials flow through the API; none of them may reach a log line.
    let user_password = "a memorable secret phrase";
    let email = format!("logs-{}@example.com", uuid::Uuid::now_v7().simple());
    let registered: Value = app
        .anonymous
        .post(app.url("/api/v1/auth/register"))
        .json(&serde_json::json!({"email": email, "password": user_password}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut tokens = vec![
        app.user.token.clone(),
        registered["token"].as_str().unwrap().to_owned(),
    ];
    for attempt in [user_password, "a wrong password"] {
        let response = app
            .anonymous
            .post(app.url("/api/v1/auth/login"))
            .json(&serde_json::json!({"email": email, "password": attempt}))
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            let body: Value = response.json().await.unwrap();
            tokens.push(body["token"].as_str().unwrap().to_owned());
        }
    }
    let cookie_call = hast_tests::plain_client()
        .get(app.url("/api/v1/auth/me"))
        .header("cookie", format!("hast_session={}", tokens[1]))
        .send()
        .await
        .unwrap();
    assert_eq!(cookie_call.status(), 200);
    let bearer_call = hast_tests::bearer_client(&tokens[2])
        .post(app.url("/api/v1/auth/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(bearer_call.status(), 204);
    // The token hashes are the session bucket's keys.
    let js = async_nats::jetstream::new(async_nats::connect(nats.url()).await.unwrap());
    let sessions = js.get_key_value("sessions").await.unwrap();
    let hashes: Vec<String> = futures::StreamExt::collect::<Vec<_>>(sessions.keys().await.unwrap())
        .await
        .into_iter()
        .map(|k| k.unwrap().split_once('.').unwrap().1.to_owned())
        .collect();
    assert!(hashes.len() >= 2, "sessions exist: {hashes:?}");

    worker.stop().await;
    app.stop().await;

    let lines = captured.lines();
    assert!(!lines.is_empty());
    for line in &lines {
        for field in ["v", "level", "name", "hostname", "pid", "time", "msg"] {
            assert!(line.get(field).is_some(), "missing {field} in {line}");
        }
        assert_eq!(line["v"], 0);
        assert_eq!(line["name"], "hast-api");
        assert!(chrono::DateTime::parse_from_rfc3339(line["time"].as_str().unwrap()).is_ok());
    }
    let request_lines: Vec<&Value> = lines
        .iter()
        .filter(|l| l["correlation_id"] == "trace-me-123")
        .collect();
    let access = request_lines
        .iter()
        .find(|l| l.get("http.status").is_some())
        .expect("an access-log line with the correlation id");
    assert_eq!(access["http.method"], "GET");
    assert_eq!(access["http.path"], "/api/v1/health");
    assert_eq!(access["http.status"], 200);
    assert!(access["latency_ms"].as_f64().unwrap() >= 0.0);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.get("http.status").is_some() && l["http.path"] == "/api/v1/health")
            .count(),
        1,
        "one access-log line per request"
    );
    let all = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let password = hast_tests::postgres_admin_url();
    let secret = password
        .split(':')
        .nth(2)
        .unwrap()
        .split('@')
        .next()
        .unwrap();
    assert!(
        !all.contains(&format!(":{secret}@")),
        "the database password never reaches the logs"
    );
    assert!(!all.contains(user_password), "a password reached the logs");
    for token in &tokens {
        let secret_part = token.split_once('.').unwrap().1;
        assert!(
            !all.contains(secret_part),
            "a session token reached the logs"
        );
    }
    for hash in &hashes {
        assert!(
            !all.contains(hash.as_str()),
            "a token hash reached the logs"
        );
    }
    assert!(
        all.contains("signed in") && all.contains("sign-in failed"),
        "the auth events were logged (so the checks above looked at real lines)"
    );
}
