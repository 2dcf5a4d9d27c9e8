//! The API key never shows up in Debug output, errors or logs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use crate::support::{config, ChatServer, LogCapture, Step};
use hast_openai::{ChatRequest, Client};
use secrecy::SecretString;

const KEY: &str = "sk-live-SECRET-4f9a2c7e1b";

#[tokio::test]
async fn the_key_never_appears_in_debug_errors_or_logs() {
    let (logs, _guard) = LogCapture::start();
    // A hostile (or careless) server that echoes the key back in its error messages.
    let echo = format!("Incorrect API key provided: {KEY}.");
    let server = ChatServer::start(vec![
        Step::error(500, &echo, None),
        Step::error(401, &echo, Some("invalid_api_key")),
    ])
    .await;
    let config = config(&server).with_api_key(SecretString::from(KEY));
    let config_debug = format!("{config:?}");
    let client = Client::new(config).unwrap();
    let client_debug = format!("{client:?}");

    let error = client
        .complete(
            &ChatRequest::new()
                .system("system prompt")
                .user("user prompt"),
        )
        .await
        .unwrap_err();

    assert_eq!(error.code(), "unauthorized");
    assert_eq!(error.attempts(), 2);
    let requests = server.requests();
    assert_eq!(
        requests[0].header("authorization").as_deref(),
        Some(format!("Bearer {KEY}").as_str()),
        "the key was sent"
    );
    let logs = logs.contents();
    assert!(logs.contains("retrying"), "the retry was logged: {logs}");
    assert!(
        !logs.contains("user prompt"),
        "the prompt is not logged: {logs}"
    );
    let error_display = error.to_string();
    assert!(error_display.contains("[REDACTED]"), "{error_display}");
    for (what, text) in [
        ("config Debug", config_debug),
        ("client Debug", client_debug),
        ("error Debug", format!("{error:?}")),
        ("error Display", error_display),
        ("logs", logs),
    ] {
        assert!(!text.contains(KEY), "{what} contains the key: {text}");
        assert!(
            !text.contains("SECRET"),
            "{what} contains part of the key: {text}"
        );
    }
}
