//! The client against a real HTTP server on 127.0.0.1 playing scripted answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use crate::support::{config, ChatServer, LogCapture, Step};
use bytes::Bytes;
use hast_openai::{AiError, ChatRequest, Client, FinishReason, InvalidReplyKind, Usage};
use secrecy::SecretString;
use serde_json::json;

fn request() -> ChatRequest {
    ChatRequest::new().system("You read palms.").user("Hello")
}

async fn run(script: Vec<Step>) -> (ChatServer, Result<hast_openai::Completion, AiError>) {
    let server = ChatServer::start(script).await;
    let client = Client::new(config(&server)).unwrap();
    let result = client.complete(&request()).await;
    (server, result)
}

#[tokio::test]
async fn a_structured_reply_and_the_request_that_asked_for_it() {
    let server = ChatServer::start(vec![Step::ok(r#"{"lines":3}"#, 120, 30)]).await;
    let client =
        Client::new(config(&server).with_api_key(SecretString::from("sk-test-key"))).unwrap();
    let schema = json!({
        "type": "object",
        "properties": {"lines": {"type": "integer"}},
        "required": ["lines"],
        "additionalProperties": false,
    });
    let jpeg = Bytes::from_static(&[0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10]);
    let request = ChatRequest::new()
        .system("You read palms.")
        .user_with_images("Read this palm.", [jpeg])
        .json_schema("reading", schema.clone())
        .max_tokens(800)
        .temperature(0.2);

    let completion = client.complete(&request).await.unwrap();

    assert_eq!(completion.content, r#"{"lines":3}"#);
    assert_eq!(completion.finish_reason, Some(FinishReason::Stop));
    assert_eq!(completion.model, "served-model");
    assert_eq!(completion.attempts, 1);
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 120,
            completion_tokens: 30,
            total_tokens: 150
        }
    );

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let sent = &requests[0];
    assert_eq!(sent.method, "POST");
    assert_eq!(sent.path, "/v1/chat/completions");
    assert_eq!(
        sent.header("authorization").as_deref(),
        Some("Bearer sk-test-key")
    );
    assert_eq!(
        sent.header("content-type").as_deref(),
        Some("application/json")
    );
    let body = sent.json();
    assert_eq!(body["model"], "test-model");
    assert_eq!(body["max_tokens"], 800);
    assert_eq!(body["temperature"], 0.2);
    assert_eq!(
        body["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "reading", "schema": schema, "strict": true}})
    );
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["messages"][0]["content"], "You read palms.");
    let parts = &body["messages"][1]["content"];
    assert_eq!(body["messages"][1]["role"], "user");
    assert_eq!(parts[0], json!({"type": "text", "text": "Read this palm."}));
    assert_eq!(parts[1]["type"], "image_url");
    let url = parts[1]["image_url"]["url"].as_str().unwrap();
    assert!(url.starts_with("data:image/jpeg;base64,/9j/"), "{url}");
}

#[tokio::test]
async fn no_authorization_header_without_a_key() {
    let (server, result) = run(vec![Step::ok("hi", 1, 1)]).await;
    assert_eq!(result.unwrap().content, "hi");
    assert_eq!(server.requests()[0].header("authorization"), None);
}

#[tokio::test]
async fn retry_after_seconds_is_honoured() {
    let (server, result) = run(vec![
        Step::error(429, "Rate limit reached", Some("rate_limit_exceeded"))
            .header("Retry-After", "1"),
        Step::ok("done", 10, 2),
    ])
    .await;
    let completion = result.unwrap();
    assert_eq!(completion.attempts, 2);
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_secs(1), "{gap:?}");
}

#[tokio::test]
async fn retry_after_ms_is_honoured_and_preferred() {
    let (logs, _guard) = LogCapture::start();
    let (server, result) = run(vec![
        Step::error(429, "slow down", Some("rate_limit_exceeded"))
            .header("retry-after-ms", "250")
            .header("Retry-After", "30"),
        Step::ok("done", 10, 2),
    ])
    .await;
    assert_eq!(result.unwrap().attempts, 2);
    let requests = server.requests();
    let gap = requests[1].at - requests[0].at;
    assert!(gap >= Duration::from_millis(250), "{gap:?}");
    // The logged delay shows which header won (30 s would be capped to 60 s, not 250 ms).
    let logs = logs.contents();
    assert!(logs.contains("delay_ms=250"), "{logs}");
    assert!(logs.contains("status=429"), "{logs}");
    assert!(logs.contains("attempt=1"), "{logs}");
}

#[tokio::test]
async fn server_errors_are_retried_until_one_succeeds() {
    let (server, result) = run(vec![
        Step::error(500, "internal", None),
        Step::raw(502, "Bad Gateway"),
        Step::error(503, "overloaded", None),
        Step::ok("finally", 5, 5),
    ])
    .await;
    let completion = result.unwrap();
    assert_eq!(completion.content, "finally");
    assert_eq!(completion.attempts, 4);
    assert_eq!(server.requests().len(), 4);
}

#[tokio::test]
async fn a_persistent_server_error_is_transient_after_max_attempts() {
    let server = ChatServer::start(vec![Step::error(500, "The server had an error", None)]).await;
    let mut config = config(&server);
    config.max_attempts = 3;
    let error = Client::new(config)
        .unwrap()
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(server.requests().len(), 3);
    assert!(error.is_transient());
    assert_eq!(error.code(), "server_error");
    assert_eq!(error.status(), Some(500));
    assert_eq!(error.attempts(), 3);
    assert!(
        error.to_string().contains("The server had an error"),
        "{error}"
    );
}

#[tokio::test]
async fn client_errors_are_permanent_and_not_retried() {
    for (status, code) in [
        (400, "bad_request"),
        (401, "unauthorized"),
        (403, "forbidden"),
        (404, "not_found"),
        (422, "unprocessable"),
    ] {
        let (server, result) = run(vec![
            Step::error(status, "Incorrect API key provided", None),
            Step::ok("never", 1, 1),
        ])
        .await;
        let error = result.unwrap_err();
        assert_eq!(server.requests().len(), 1, "{status}");
        assert!(!error.is_transient(), "{status}");
        assert_eq!(error.code(), code);
        assert_eq!(error.attempts(), 1);
        match &error {
            AiError::Http { message, .. } => assert_eq!(message, "Incorrect API key provided"),
            other => panic!("{other:?}"),
        }
    }
}

#[tokio::test]
async fn insufficient_quota_is_permanent() {
    let (server, result) = run(vec![
        Step::error(
            429,
            "You exceeded your current quota",
            Some("insufficient_quota"),
        ),
        Step::ok("never", 1, 1),
    ])
    .await;
    let error = result.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert!(!error.is_transient());
    assert_eq!(error.code(), "insufficient_quota");
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let (server, result) = run(vec![
        Step::raw(307, "").header("location", "/elsewhere"),
        Step::ok("never", 1, 1),
    ])
    .await;
    let error = result.unwrap_err();
    assert_eq!(server.requests().len(), 1);
    assert!(!error.is_transient());
    assert_eq!(error.code(), "unexpected_status");
}

async fn invalid_reply(step: Step) -> (InvalidReplyKind, String, Usage) {
    let (server, result) = run(vec![step, Step::ok("never", 1, 1)]).await;
    assert_eq!(
        server.requests().len(),
        1,
        "an invalid reply is not retried"
    );
    let error = result.unwrap_err();
    assert!(!error.is_transient());
    assert!(error.is_invalid_reply());
    assert_eq!(error.attempts(), 1);
    match error {
        AiError::InvalidReply {
            kind,
            detail,
            usage,
            ..
        } => (kind, detail, usage),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_body_is_an_invalid_reply() {
    let (kind, detail, _) = invalid_reply(Step::raw(200, "{\"choices\": [")).await;
    assert_eq!(kind, InvalidReplyKind::Malformed);
    assert!(detail.contains("{\"choices\": ["), "{detail}");
    let (kind, _, _) = invalid_reply(Step::json(200, json!({"object": "list"}))).await;
    assert_eq!(kind, InvalidReplyKind::Malformed);
}

#[tokio::test]
async fn a_refusal_is_an_invalid_reply() {
    let (kind, detail, usage) = invalid_reply(Step::json(
        200,
        json!({
            "model": "m",
            "choices": [{"message": {"role": "assistant", "content": null,
                "refusal": "I can't help with that."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 7, "completion_tokens": 6, "total_tokens": 13},
        }),
    ))
    .await;
    assert_eq!(kind, InvalidReplyKind::Refusal);
    assert_eq!(detail, "I can't help with that.");
    assert_eq!(usage.total_tokens, 13);
}

#[tokio::test]
async fn missing_content_is_an_invalid_reply() {
    let (kind, _, _) = invalid_reply(Step::json(
        200,
        json!({"choices": [{"message": {"role": "assistant", "content": null}, "finish_reason": "stop"}]}),
    ))
    .await;
    assert_eq!(kind, InvalidReplyKind::Empty);
}

#[tokio::test]
async fn a_truncated_reply_is_an_invalid_reply() {
    let (kind, _, usage) = invalid_reply(Step::json(
        200,
        json!({
            "choices": [{"message": {"role": "assistant", "content": "{\"lines\": ["},
                "finish_reason": "length"}],
            "usage": {"prompt_tokens": 100, "completion_tokens": 800},
        }),
    ))
    .await;
    assert_eq!(kind, InvalidReplyKind::Truncated);
    assert_eq!(
        usage,
        Usage {
            prompt_tokens: 100,
            completion_tokens: 800,
            total_tokens: 900
        }
    );
}

#[tokio::test]
async fn a_slow_reply_times_out_and_is_retried() {
    let server = ChatServer::start(vec![Step::Hang, Step::ok("on time", 1, 1)]).await;
    let mut config = config(&server);
    config.request_timeout = Duration::from_millis(300);
    let completion = Client::new(config)
        .unwrap()
        .complete(&request())
        .await
        .unwrap();
    assert_eq!(completion.content, "on time");
    assert_eq!(completion.attempts, 2);
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_timeout_on_every_attempt_is_a_transient_error() {
    let server = ChatServer::start(vec![Step::Hang]).await;
    let mut config = config(&server);
    config.request_timeout = Duration::from_millis(300);
    config.max_attempts = 2;
    let error = Client::new(config)
        .unwrap()
        .complete(&request())
        .await
        .unwrap_err();
    assert!(
        matches!(error, AiError::Timeout { attempts: 2 }),
        "{error:?}"
    );
    assert!(error.is_transient());
    assert_eq!(error.code(), "timeout");
    assert_eq!(server.requests().len(), 2);
}

#[tokio::test]
async fn a_refused_connection_is_transient() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let mut config = hast_openai::ClientConfig::new(format!("http://{addr}/v1"), "m");
    config.backoff_base = Duration::from_millis(1);
    config.backoff_cap = Duration::from_millis(5);
    config.max_attempts = 2;
    let error = Client::new(config)
        .unwrap()
        .complete(&request())
        .await
        .unwrap_err();
    assert_eq!(error.code(), "connection", "{error:?}");
    assert!(error.is_transient());
    assert_eq!(error.attempts(), 2);
}

#[tokio::test]
async fn usage_is_summed_over_attempts() {
    let (server, result) = run(vec![
        Step::json(
            503,
            json!({"error": {"message": "overloaded"}, "usage": {"prompt_tokens": 40, "completion_tokens": 0}}),
        ),
        Step::ok("done", 40, 9),
    ])
    .await;
    let completion = result.unwrap();
    assert_eq!(server.requests().len(), 2);
    assert_eq!(
        completion.usage,
        Usage {
            prompt_tokens: 80,
            completion_tokens: 9,
            total_tokens: 89
        }
    );
}

#[tokio::test]
async fn a_minimal_local_server_reply_is_accepted() {
    let (_server, result) = run(vec![Step::json(
        200,
        json!({"choices": [{"message": {"content": "plain"}}]}),
    )])
    .await;
    let completion = result.unwrap();
    assert_eq!(completion.content, "plain");
    assert_eq!(completion.finish_reason, None);
    assert_eq!(completion.model, "test-model");
    assert_eq!(completion.usage, Usage::default());
}
