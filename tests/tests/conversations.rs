//! Conversations (issue #6): the HTTP API on a real nats-server and both databases.
//! A real worker reads a synthetic palm first (a question needs a completed reading),
//! then stops, so the `chat` jobs the questions queue stay in the stream to be looked
//! at (the answerer is the worker's business, not the API's).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use hast_common::db::Backend;
use hast_common::jobs::payloads::chat::ChatPayload;
use hast_common::jobs::{JobEnvelope, JobState};
use hast_tests::jobs::{status_store, wait_for};
use hast_tests::{bearer_client, TestApp, TestStack};
use reqwest::Method;
use serde_json::{json, Value};

/// An API with one completed analysis of `app.user`, and no worker running.
struct Stack {
    base: TestStack,
    analysis: String,
}

hast_tests::wraps_test_stack!(Stack, base);

impl Stack {
    async fn start(backend: Backend) -> Self {
        Self::start_with(backend, &[]).await
    }

    /// [`Stack::start`] with settings overridden; the stack's analysis is read by a
    /// worker that then stops.
    async fn start_with(backend: Backend, overrides: &[(&str, &str)]) -> Self {
        let base = TestStack::builder(backend).shared(overrides).start().await;
        let worker = base.worker(&[]).await;
        let (analysis, job) = base.app.upload_palm(7).await;
        wait_for(&base.statuses, &job, JobState::Completed).await;
        worker.stop().await;
        Self { base, analysis }
    }

    /// `method path` as the signed-in user.
    async fn send(&self, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
        send(&self.app.client, &self.app, method, path, body).await
    }

    /// Starts a conversation on the stack's analysis and returns it.
    async fn conversation(&self, title: Option<&str>) -> Value {
        let body = title.map(|t| json!({ "title": t }));
        let (status, body) = self
            .send(
                Method::POST,
                &format!("/api/v1/analyses/{}/conversations", self.analysis),
                body,
            )
            .await;
        assert_eq!(status, 201, "{body}");
        body["conversation"].clone()
    }

    async fn messages(&self, conversation: &str) -> Vec<Value> {
        let (status, body) = self
            .send(
                Method::GET,
                &format!("/api/v1/conversations/{conversation}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
        body["conversation"]["messages"].as_array().unwrap().clone()
    }
}

async fn send(
    client: &reqwest::Client,
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = client.request(method, app.url(path));
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// `(status, error code)` of an answer, for compact assertions.
fn error_of(status: u16, body: &Value) -> (u16, &str) {
    assert!(
        body["error"]["message"].is_string(),
        "the error envelope: {body}"
    );
    (status, body["error"]["code"].as_str().unwrap_or_default())
}

fn str_of<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} in {value}"))
}

fn titles(list: &Value) -> Vec<&str> {
    list["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| str_of(c, "title"))
        .collect()
}

async fn conversations_are_created_listed_read_renamed_and_deleted(backend: Backend) {
    let stack = Stack::start(backend).await;
    let list_path = format!("/api/v1/analyses/{}/conversations", stack.analysis);

    // No body at all: the default title.
    let response = stack
        .app
        .client
        .post(stack.app.url(&list_path))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let first: Value = response.json().await.unwrap();
    let first = &first["conversation"];
    assert_eq!(first["title"], "Conversation about your reading");
    assert_eq!(first["analysis_id"], stack.analysis.as_str());
    assert_eq!(
        location,
        format!("/api/v1/conversations/{}", str_of(first, "id"))
    );
    assert_eq!(first["created_at"], first["updated_at"]);
    let second = stack.conversation(Some("  Heart line \n")).await;
    assert_eq!(second["title"], "Heart line", "trimmed");
    let third = stack.conversation(Some("Third")).await;

    let (status, list) = stack.send(Method::GET, &list_path, None).await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(
        titles(&list),
        ["Third", "Heart line", "Conversation about your reading"],
        "most recent activity first"
    );
    assert_eq!(
        (list["limit"].clone(), list["offset"].clone()),
        (json!(20), json!(0))
    );
    assert_eq!(list["next_offset"], Value::Null);

    // Pagination as for analyses.
    let (_, page1) = stack
        .send(Method::GET, &format!("{list_path}?limit=2"), None)
        .await;
    assert_eq!(titles(&page1), ["Third", "Heart line"]);
    assert_eq!(page1["next_offset"], 2);
    let (_, page2) = stack
        .send(Method::GET, &format!("{list_path}?limit=2&offset=2"), None)
        .await;
    assert_eq!(titles(&page2), ["Conversation about your reading"]);
    assert_eq!(page2["next_offset"], Value::Null);
    for query in ["limit=0", "limit=101", "offset=-1", "page=2", "limit=x"] {
        let (status, body) = stack
            .send(Method::GET, &format!("{list_path}?{query}"), None)
            .await;
        assert_eq!(error_of(status, &body), (400, "invalid_query"), "{query}");
    }

    // Renaming counts as activity: the renamed one comes first.
    let first_path = format!("/api/v1/conversations/{}", str_of(first, "id"));
    let (status, renamed) = stack
        .send(
            Method::PATCH,
            &first_path,
            Some(json!({"title": " Life line "})),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(renamed["conversation"]["title"], "Life line");
    assert_eq!(renamed["conversation"]["created_at"], first["created_at"]);
    assert!(str_of(&renamed["conversation"], "updated_at") > str_of(first, "updated_at"));
    let (_, list) = stack.send(Method::GET, &list_path, None).await;
    assert_eq!(titles(&list), ["Life line", "Third", "Heart line"]);

    let (status, shown) = stack.send(Method::GET, &first_path, None).await;
    assert_eq!(status, 200, "{shown}");
    let shown = &shown["conversation"];
    assert_eq!(shown["title"], "Life line");
    assert_eq!(shown["id"], first["id"]);
    assert_eq!(shown["messages"], json!([]));

    // Delete one: gone for every verb, and from the list.
    let third_path = format!("/api/v1/conversations/{}", str_of(&third, "id"));
    let (status, _) = stack.send(Method::DELETE, &third_path, None).await;
    assert_eq!(status, 204);
    for (method, body) in [
        (Method::GET, None),
        (Method::DELETE, None),
        (Method::PATCH, Some(json!({"title": "x"}))),
    ] {
        let (status, answer) = stack.send(method.clone(), &third_path, body).await;
        assert_eq!(error_of(status, &answer), (404, "not_found"), "{method}");
    }
    let (_, list) = stack.send(Method::GET, &list_path, None).await;
    assert_eq!(titles(&list), ["Life line", "Heart line"]);
    assert_eq!(list["conversations"][1]["id"], second["id"]);
}

async fn a_question_queues_a_chat_job_for_the_stored_message(backend: Backend) {
    let stack = Stack::start(backend).await;
    let asked = stack.conversation(Some("Asked")).await;
    let other = stack.conversation(Some("Other")).await;
    let asked_id = str_of(&asked, "id").to_owned();

    let response = stack
        .app
        .client
        .post(
            stack
                .app
                .url(&format!("/api/v1/conversations/{asked_id}/messages")),
        )
        .header("x-correlation-id", "chat-question-1")
        .json(&json!({"content": "  What does my heart line say?\n"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let accepted: Value = response.json().await.unwrap();
    let message = &accepted["message"];
    let job = &accepted["job"];
    assert_eq!(message["role"], "user");
    assert_eq!(
        message["content"], "What does my heart line say?",
        "trimmed"
    );
    assert_eq!(message["job_id"], Value::Null);
    assert_eq!(job["kind"], "chat");
    assert_eq!(job["status"], "queued");
    let job_id = str_of(job, "id");
    let message_id = str_of(message, "id");

    // The job is the caller's, like any other job.
    let (status, shown) = stack
        .send(Method::GET, &format!("/api/v1/jobs/{job_id}"), None)
        .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(
        (shown["kind"].clone(), shown["status"].clone()),
        (json!("chat"), json!("queued"))
    );
    let stranger = bearer_client(&stack.app.new_user().await.token);
    let (status, body) = send(
        &stranger,
        &stack.app,
        Method::GET,
        &format!("/api/v1/jobs/{job_id}"),
        None,
    )
    .await;
    assert_eq!(error_of(status, &body), (404, "not_found"));

    // What was published: the payload points at the stored message.
    let js = async_nats::jetstream::new(async_nats::connect(stack.nats.url()).await.unwrap());
    let published = js
        .get_stream("JOBS")
        .await
        .unwrap()
        .get_last_raw_message_by_subject("jobs.chat")
        .await
        .unwrap();
    let envelope: JobEnvelope = serde_json::from_slice(&published.payload).unwrap();
    assert_eq!(envelope.id, job_id);
    assert_eq!(envelope.kind, "chat");
    assert_eq!(
        envelope.owner_id.as_deref(),
        Some(stack.app.user.id.as_str())
    );
    let payload: ChatPayload = serde_json::from_value(envelope.payload).unwrap();
    assert_eq!(
        payload,
        ChatPayload {
            conversation_id: asked_id.clone(),
            message_id: message_id.to_owned(),
        }
    );
    assert_eq!(
        published
            .headers
            .get("X-Correlation-Id")
            .map(|v| v.as_str().to_owned())
            .as_deref(),
        Some("chat-question-1")
    );

    // The message is stored, and the question made its conversation the most recent.
    let messages = stack.messages(&asked_id).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0], *message);
    let list_path = format!("/api/v1/analyses/{}/conversations", stack.analysis);
    let (_, list) = stack.send(Method::GET, &list_path, None).await;
    assert_eq!(titles(&list), ["Asked", "Other"]);
    assert_eq!(
        list["conversations"][0]["updated_at"],
        message["created_at"]
    );

    // A second question is stored after the first.
    let (status, again) = stack
        .send(
            Method::POST,
            &format!("/api/v1/conversations/{asked_id}/messages"),
            Some(json!({"content": "And my head line?"})),
        )
        .await;
    assert_eq!(status, 202, "{again}");
    let messages = stack.messages(&asked_id).await;
    let contents: Vec<&str> = messages.iter().map(|m| str_of(m, "content")).collect();
    assert_eq!(
        contents,
        ["What does my heart line say?", "And my head line?"]
    );

    // Deleting the conversation deletes its messages.
    let database = stack.database().await;
    assert_eq!(database.count_messages(&asked_id).await.unwrap(), 2);
    let (status, _) = stack
        .send(
            Method::DELETE,
            &format!("/api/v1/conversations/{asked_id}"),
            None,
        )
        .await;
    assert_eq!(status, 204);
    assert_eq!(database.count_messages(&asked_id).await.unwrap(), 0);

    // Deleting the analysis deletes its conversations.
    let other_id = str_of(&other, "id").to_owned();
    let (status, _) = stack
        .send(
            Method::DELETE,
            &format!("/api/v1/analyses/{}", stack.analysis),
            None,
        )
        .await;
    assert_eq!(status, 204);
    let (status, body) = stack
        .send(
            Method::GET,
            &format!("/api/v1/conversations/{other_id}"),
            None,
        )
        .await;
    assert_eq!(error_of(status, &body), (404, "not_found"));
    let (status, body) = stack.send(Method::GET, &list_path, None).await;
    assert_eq!(error_of(status, &body), (404, "not_found"));
    assert!(database
        .find_conversation(&stack.app.user.id, &other_id)
        .await
        .unwrap()
        .is_none());
}

/// Every conversation operation on `conversation` (of `analysis`), with a valid body.
fn operations(analysis: &str, conversation: &str) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            format!("/api/v1/analyses/{analysis}/conversations"),
            Some(json!({"title": "Mine now"})),
        ),
        (
            Method::GET,
            format!("/api/v1/analyses/{analysis}/conversations"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/conversations/{conversation}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/conversations/{conversation}"),
            Some(json!({"title": "Taken"})),
        ),
        (
            Method::POST,
            format!("/api/v1/conversations/{conversation}/messages"),
            Some(json!({"content": "Whose palm is this?"})),
        ),
        (
            Method::DELETE,
            format!("/api/v1/conversations/{conversation}"),
            None,
        ),
    ]
}

async fn other_users_get_404_guests_403_and_anonymous_callers_401(backend: Backend) {
    let stack = Stack::start(backend).await;
    let conversation = stack.conversation(Some("Private")).await;
    let id = str_of(&conversation, "id");
    let database = stack.database().await;

    let stranger = bearer_client(&stack.app.new_user().await.token);
    for (method, path, body) in operations(&stack.analysis, id) {
        let (status, answer) = send(&stranger, &stack.app, method.clone(), &path, body).await;
        assert_eq!(
            error_of(status, &answer),
            (404, "not_found"),
            "another user: {method} {path}"
        );
    }
    for (method, path, body) in operations(&stack.analysis, id) {
        let (status, answer) = send(
            &stack.app.anonymous,
            &stack.app,
            method.clone(),
            &path,
            body,
        )
        .await;
        assert_eq!(
            error_of(status, &answer),
            (401, "unauthenticated"),
            "anonymous: {method} {path}"
        );
        assert!(
            str_of(&answer["error"], "message").contains("sign up or log in"),
            "{answer}"
        );
    }
    // A guest (a session made by an anonymous upload) is asked to create an account, on
    // its own analysis as on anyone's.
    let response = stack.app.post_palm(&stack.app.anonymous, 8).await;
    assert_eq!(response.status().as_u16(), 202);
    let token = response
        .headers()
        .get_all(reqwest::header::SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find_map(|v| v.strip_prefix("hast_session="))
        .and_then(|v| v.split(';').next())
        .expect("a guest session cookie")
        .to_owned();
    let guest_upload: Value = response.json().await.unwrap();
    let guest_analysis = str_of(&guest_upload["analysis"], "id").to_owned();
    let guest = bearer_client(&token);
    for analysis in [guest_analysis.as_str(), stack.analysis.as_str()] {
        for (method, path, body) in operations(analysis, id) {
            let (status, answer) = send(&guest, &stack.app, method.clone(), &path, body).await;
            assert_eq!(
                error_of(status, &answer),
                (403, "account_required"),
                "guest: {method} {path}"
            );
        }
    }

    // A cookie session without an allowed Origin is refused (the CSRF rule) first.
    let cookies = reqwest::Client::builder()
        .cookie_store(true)
        .build()
        .unwrap();
    let response = cookies
        .post(stack.app.url("/api/v1/auth/register"))
        .json(&json!({
            "email": format!("cookie-{}@example.com", uuid::Uuid::now_v7().simple()),
            "password": "a long test password",
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let (status, answer) = send(
        &cookies,
        &stack.app,
        Method::POST,
        &format!("/api/v1/conversations/{id}/messages"),
        Some(json!({"content": "hi"})),
    )
    .await;
    assert_eq!(error_of(status, &answer), (403, "csrf_rejected"));

    // Nothing changed for the owner.
    let (status, shown) = stack
        .send(Method::GET, &format!("/api/v1/conversations/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(shown["conversation"]["title"], "Private");
    assert_eq!(shown["conversation"]["messages"], json!([]));
    assert_eq!(database.count_messages(id).await.unwrap(), 0);
    let (_, list) = stack
        .send(
            Method::GET,
            &format!("/api/v1/analyses/{}/conversations", stack.analysis),
            None,
        )
        .await;
    assert_eq!(titles(&list), ["Private"]);
}

async fn invalid_requests_answer_json_errors_and_store_nothing(backend: Backend) {
    let stack = Stack::start(backend).await;
    let conversation = stack.conversation(Some("Checked")).await;
    let id = str_of(&conversation, "id").to_owned();
    let messages_url = stack
        .app
        .url(&format!("/api/v1/conversations/{id}/messages"));
    let item_url = stack.app.url(&format!("/api/v1/conversations/{id}"));
    let create_url = stack.app.url(&format!(
        "/api/v1/analyses/{}/conversations",
        stack.analysis
    ));
    let client = &stack.app.client;
    let database = stack.database().await;

    let raw = |url: &str, method: Method, content_type: &str, body: String| {
        client
            .request(method, url)
            .header("content-type", content_type)
            .body(body)
    };
    let json_ct = "application/json";
    let cases: Vec<(reqwest::RequestBuilder, u16, &str)> = vec![
        // Questions.
        (
            raw(
                &messages_url,
                Method::POST,
                json_ct,
                r#"{"content":""}"#.into(),
            ),
            422,
            "invalid_content",
        ),
        (
            raw(
                &messages_url,
                Method::POST,
                json_ct,
                r#"{"content":" \n\t "}"#.into(),
            ),
            422,
            "invalid_content",
        ),
        (
            raw(
                &messages_url,
                Method::POST,
                json_ct,
                json!({"content": "a".repeat(4001)}).to_string(),
            ),
            422,
            "invalid_content",
        ),
        (
            raw(
                &messages_url,
                Method::POST,
                json_ct,
                r#"{"content":"bell\u0007"}"#.into(),
            ),
            422,
            "invalid_content",
        ),
        (
            raw(
                &messages_url,
                Method::POST,
                json_ct,
                r#"{"content": "#.into(),
            ),
            400,
            "invalid_json",
        ),
        (
            raw(&messages_url, Method::POST, json_ct, "{}".into()),
            400,
            "invalid_json",
        ),
        (
            raw(
                &messages_url,
                Method::POST,
                json_ct,
                r#"{"content":"hi","role":"assistant"}"#.into(),
            ),
            400,
            "invalid_json",
        ),
        (
            raw(&messages_url, Method::POST, json_ct, String::new()),
            400,
            "invalid_json",
        ),
        (
            raw(
                &messages_url,
                Method::POST,
                "text/plain",
                r#"{"content":"hi"}"#.into(),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            // On a connection of its own: the server answers before reading the body
            // and then closes the connection, which a pooled client could reuse.
            bearer_client(&stack.app.user.token)
                .post(&messages_url)
                .header("content-type", json_ct)
                .body(json!({"content": "a".repeat(70_000)}).to_string()),
            413,
            "payload_too_large",
        ),
        // Titles.
        (
            raw(
                &create_url,
                Method::POST,
                json_ct,
                r#"{"title":"   "}"#.into(),
            ),
            422,
            "invalid_title",
        ),
        (
            raw(
                &create_url,
                Method::POST,
                json_ct,
                json!({"title": "t".repeat(121)}).to_string(),
            ),
            422,
            "invalid_title",
        ),
        (
            raw(&create_url, Method::POST, json_ct, r#"{"title": 5}"#.into()),
            400,
            "invalid_json",
        ),
        (
            raw(&create_url, Method::POST, json_ct, r#"{"title""#.into()),
            400,
            "invalid_json",
        ),
        (
            raw(
                &create_url,
                Method::POST,
                "text/plain",
                r#"{"title":"x"}"#.into(),
            ),
            415,
            "unsupported_media_type",
        ),
        (
            raw(&item_url, Method::PATCH, json_ct, r#"{"title":""}"#.into()),
            422,
            "invalid_title",
        ),
        (
            raw(
                &item_url,
                Method::PATCH,
                json_ct,
                r#"{"title":"line\nbreak"}"#.into(),
            ),
            422,
            "invalid_title",
        ),
        (
            raw(&item_url, Method::PATCH, json_ct, "{}".into()),
            400,
            "invalid_json",
        ),
        (
            raw(&item_url, Method::PATCH, json_ct, "not json".into()),
            400,
            "invalid_json",
        ),
    ];
    for (i, (request, want_status, want_code)) in cases.into_iter().enumerate() {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap();
        assert_eq!(
            error_of(status, &body),
            (want_status, want_code),
            "case {i}: {body}"
        );
    }
    assert_eq!(
        database.count_messages(&id).await.unwrap(),
        0,
        "no message stored"
    );
    let (_, shown) = stack
        .send(Method::GET, &format!("/api/v1/conversations/{id}"), None)
        .await;
    assert_eq!(shown["conversation"]["title"], "Checked");
    assert_eq!(
        shown["conversation"]["updated_at"],
        conversation["updated_at"]
    );
    let (_, list) = stack
        .send(
            Method::GET,
            &format!("/api/v1/analyses/{}/conversations", stack.analysis),
            None,
        )
        .await;
    assert_eq!(titles(&list), ["Checked"], "no conversation created");

    // Limits are in characters: 4000 two-byte characters and 120-character titles pass.
    let (status, accepted) = stack
        .send(
            Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            Some(json!({"content": "é".repeat(4000)})),
        )
        .await;
    assert_eq!(status, 202, "{accepted}");
    let (status, renamed) = stack
        .send(
            Method::PATCH,
            &format!("/api/v1/conversations/{id}"),
            Some(json!({"title": "é".repeat(120)})),
        )
        .await;
    assert_eq!(status, 200, "{renamed}");
    assert_eq!(database.count_messages(&id).await.unwrap(), 1);

    // An analysis without a completed reading (no worker runs now): 409, nothing stored.
    let (pending, _) = stack.app.upload_palm(7).await;
    let (status, created) = stack
        .send(
            Method::POST,
            &format!("/api/v1/analyses/{pending}/conversations"),
            None,
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let pending_conversation = str_of(&created["conversation"], "id").to_owned();
    let (status, body) = stack
        .send(
            Method::POST,
            &format!("/api/v1/conversations/{pending_conversation}/messages"),
            Some(json!({"content": "Too early?"})),
        )
        .await;
    assert_eq!(error_of(status, &body), (409, "analysis_not_ready"));
    assert_eq!(
        database
            .count_messages(&pending_conversation)
            .await
            .unwrap(),
        0
    );

    // The job cannot be queued (the JOBS stream is gone): 503, and the question is
    // removed again, with the conversation's activity time restored.
    let (_, before) = stack
        .send(Method::GET, &format!("/api/v1/conversations/{id}"), None)
        .await;
    let js = async_nats::jetstream::new(async_nats::connect(stack.nats.url()).await.unwrap());
    js.delete_stream("JOBS").await.unwrap();
    let (status, body) = stack
        .send(
            Method::POST,
            &format!("/api/v1/conversations/{id}/messages"),
            Some(json!({"content": "Will this be lost?"})),
        )
        .await;
    assert_eq!(error_of(status, &body), (503, "queue_unavailable"));
    assert_eq!(database.count_messages(&id).await.unwrap(), 1);
    let (_, after) = stack
        .send(Method::GET, &format!("/api/v1/conversations/{id}"), None)
        .await;
    assert_eq!(after, before, "nothing half-written");
}

/// Each question is a model call with `ANALYZER=openai`: beyond `MESSAGES_PER_HOUR`
/// questions in the hour a user gets 429 with `Retry-After`, and the refused question is
/// neither stored nor queued.
#[tokio::test]
async fn questions_beyond_the_hourly_quota_are_refused() {
    let stack = Stack::start_with(Backend::Sqlite, &[("MESSAGES_PER_HOUR", "2")]).await;
    let conversation = stack.conversation(None).await;
    let id = str_of(&conversation, "id").to_owned();
    let path = format!("/api/v1/conversations/{id}/messages");
    for n in 0..2 {
        let (status, body) = stack
            .send(
                Method::POST,
                &path,
                Some(json!({"content": format!("Question {n}?")})),
            )
            .await;
        assert_eq!(status, 202, "{body}");
    }
    let response = stack
        .app
        .client
        .post(stack.app.url(&path))
        .json(&json!({"content": "One too many?"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(error_of(status, &body), (429, "rate_limited"));
    let database = stack.database().await;
    assert_eq!(database.count_messages(&id).await.unwrap(), 2);
    let statuses = status_store(&stack.nats.url()).await;
    assert_eq!(
        hast_tests::jobs::jobs_of_kind(&statuses, &stack.app.user.id, "chat")
            .await
            .len(),
        2
    );
}

/// The fleet's model slots are shared: with `QUESTIONS_IN_FLIGHT` questions waiting for
/// their answers, one more is 429 `answer_pending` (nothing stored); once an answer is
/// stored, the next question is taken.
async fn questions_waiting_for_answers_are_capped(backend: Backend) {
    let stack = Stack::start_with(backend, &[("QUESTIONS_IN_FLIGHT", "2")]).await;
    let conversation = stack.conversation(None).await;
    let id = str_of(&conversation, "id").to_owned();
    let path = format!("/api/v1/conversations/{id}/messages");
    let mut jobs = Vec::new();
    for n in 0..2 {
        let (status, body) = stack
            .send(
                Method::POST,
                &path,
                Some(json!({"content": format!("Question {n}?")})),
            )
            .await;
        assert_eq!(status, 202, "{body}");
        jobs.push(str_of(&body["job"], "id").to_owned());
    }
    let (status, body) = stack
        .send(
            Method::POST,
            &path,
            Some(json!({"content": "And a third?"})),
        )
        .await;
    assert_eq!(error_of(status, &body), (429, "answer_pending"));
    let database = stack.database().await;
    assert_eq!(database.count_messages(&id).await.unwrap(), 2);

    // An answer arrives (as the chat job stores it): both questions before it count as
    // answered, and a new one is taken.
    database
        .store_answer(&hast_common::db::models::Message {
            id: hast_common::db::new_id(),
            conversation_id: id.clone(),
            role: "assistant".into(),
            content: "An answer.".into(),
            job_id: Some(jobs[1].clone()),
            created_at: hast_common::db::now(),
        })
        .await
        .unwrap();
    let (status, body) = stack
        .send(
            Method::POST,
            &path,
            Some(json!({"content": "Now a third?"})),
        )
        .await;
    assert_eq!(status, 202, "{body}");
}

hast_tests::on_both_backends!(
    questions_waiting_for_answers_are_capped,
    conversations_are_created_listed_read_renamed_and_deleted,
    a_question_queues_a_chat_job_for_the_stored_message,
    other_users_get_404_guests_403_and_anonymous_callers_401,
    invalid_requests_answer_json_errors_and_store_nothing,
);
