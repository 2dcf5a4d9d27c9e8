//! Conversations about a reading (issue #6), offline engine: a synthetic palm is read by a
//! real worker, then questions about it are answered by `chat` jobs from the reading, with
//! exactly one assistant message per job however often the job runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use hast_common::db::models::{Conversation, Message};
use hast_common::db::{Backend, Database};
use hast_common::jobs::{JobState, NewJob, Submitter};
use hast_tests::jobs::{status_store, wait_for};
use hast_tests::{TestApp, TestDatabase, TestStack};
use serde_json::{json, Value};

/// What a test needs: NATS, a database, the API and one in-process worker.
struct Stack {
    base: TestStack,
    database: Database,
}

hast_tests::wraps_test_stack!(Stack, base);

impl Stack {
    async fn start(backend: Backend) -> Self {
        let base = TestStack::builder(backend).with_worker().start().await;
        let database = base.database().await;
        Self { base, database }
    }
}

/// Uploads a synthetic palm and waits for its reading; `(analysis id, reading)`.
pub async fn read_a_palm(app: &TestApp, nats_url: &str, seed: u64) -> (String, Value) {
    let (id, job) = app.upload_palm(seed).await;
    let statuses = status_store(nats_url).await;
    wait_for(&statuses, &job, JobState::Completed).await;
    let shown: Value = app
        .get(&format!("/api/v1/analyses/{id}"))
        .await
        .json()
        .await
        .unwrap();
    let reading = shown["analysis"]["reading"].clone();
    assert_eq!(reading["quality"]["usable"], true, "{reading}");
    (id, reading)
}

fn heart_line(reading: &Value) -> &Value {
    reading["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == "heart")
        .unwrap()
}

/// Asserts an answer is about the heart line: it carries the reading's own heart-line text.
fn assert_about_the_heart_line(answer: &str, reading: &Value) {
    let heart = heart_line(reading);
    let paragraph = heart["reading"].as_str().unwrap();
    assert!(
        answer.contains(paragraph),
        "the answer quotes the heart line's reading\nanswer: {answer}\nheart line: {paragraph}"
    );
    assert!(
        answer.to_lowercase().contains("heart"),
        "the answer names the heart line: {answer}"
    );
}

/// A conversation and its first user message, written straight to the database (the
/// worker's side does not depend on the API's routes).
async fn conversation_with_question(
    db: &Database,
    analysis_id: &str,
    owner_id: &str,
    question: &str,
) -> (String, String) {
    let now = hast_common::db::now();
    let conversation = Conversation {
        id: hast_common::db::new_id(),
        analysis_id: analysis_id.to_owned(),
        owner_id: owner_id.to_owned(),
        title: "test".into(),
        created_at: now,
        updated_at: now,
    };
    db.insert_conversation(&conversation).await.unwrap();
    let message = user_message(&conversation.id, question);
    db.insert_message(&message).await.unwrap();
    (conversation.id, message.id)
}

fn user_message(conversation_id: &str, content: &str) -> Message {
    Message {
        id: hast_common::db::new_id(),
        conversation_id: conversation_id.to_owned(),
        role: "user".into(),
        content: content.into(),
        job_id: None,
        created_at: hast_common::db::now(),
    }
}

async fn submitter(nats_url: &str) -> Submitter {
    let client = async_nats::connect(nats_url).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let idempotency = js.get_key_value("idempotency").await.unwrap();
    Submitter::new(js, status_store(nats_url).await, idempotency, 5)
}

async fn submit_chat(submitter: &Submitter, conversation_id: &str, message_id: &str) -> String {
    submitter
        .submit(NewJob {
            kind: "chat".into(),
            payload: json!({"conversation_id": conversation_id, "message_id": message_id}),
            owner_id: None,
            correlation_id: None,
            idempotency_key: None,
            replay_of: None,
        })
        .await
        .unwrap()
        .status
        .id
}

/// The whole flow through the API: start a conversation, ask twice, get two answers.
async fn questions_about_the_heart_line_are_answered_through_the_api(backend: Backend) {
    let stack = Stack::start(backend).await;
    let app = &stack.app;
    let (analysis_id, reading) = read_a_palm(app, &stack.nats.url(), 7).await;
    let statuses = status_store(&stack.nats.url()).await;

    let response = app
        .client
        .post(app.url(&format!("/api/v1/analyses/{analysis_id}/conversations")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
    let body: Value = response.json().await.unwrap();
    let conversation_id = body["conversation"]["id"].as_str().unwrap().to_owned();

    let mut jobs = Vec::new();
    for question in ["what does my heart line say?", "Hriday rekha"] {
        let response = app
            .client
            .post(app.url(&format!("/api/v1/conversations/{conversation_id}/messages")))
            .json(&json!({"content": question}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["message"]["role"], "user", "{body}");
        let job = body["job"]["id"].as_str().unwrap().to_owned();
        // The answer's progress is visible through the job's event stream, which ends
        // with the terminal state.
        let events = tokio::time::timeout(
            hast_tests::WAIT,
            app.get(&format!("/api/v1/jobs/{job}/events")).await.text(),
        )
        .await
        .expect("the event stream closes after the terminal state")
        .unwrap();
        let last: Value = events
            .lines()
            .filter_map(|l| l.strip_prefix("data:"))
            .next_back()
            .map(|d| serde_json::from_str(d.trim()).unwrap())
            .unwrap_or_else(|| panic!("events: {events}"));
        assert_eq!(
            (&last["kind"], &last["status"], &last["progress"]),
            (&json!("chat"), &json!("completed"), &json!(100)),
            "{events}"
        );
        let done = wait_for(&statuses, &job, JobState::Completed).await;
        let result = done.result.clone().unwrap();
        assert_eq!(result["engine"], "offline", "{result}");
        assert_eq!(result["covered"], true, "{result}");
        assert_eq!(result["topics"], json!(["heart_line"]), "{result}");
        assert_eq!(result["usage"], Value::Null);
        jobs.push((job, result["message_id"].as_str().unwrap().to_owned()));
    }

    let shown: Value = app
        .get(&format!("/api/v1/conversations/{conversation_id}"))
        .await
        .json()
        .await
        .unwrap();
    let messages = shown
        .get("messages")
        .or_else(|| shown["conversation"].get("messages"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_else(|| panic!("the conversation lists its messages: {shown}"));
    let roles: Vec<&str> = messages
        .iter()
        .map(|m| m["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    for (index, (_, message_id)) in jobs.iter().enumerate() {
        let answer = &messages[index * 2 + 1];
        assert_eq!(answer["id"].as_str(), Some(message_id.as_str()));
        assert_about_the_heart_line(answer["content"].as_str().unwrap(), &reading);
    }
    // Exactly one assistant message per job, stored with its job id.
    let stored = stack
        .database
        .list_messages(&conversation_id)
        .await
        .unwrap();
    for (job, _) in &jobs {
        let answers = stored
            .iter()
            .filter(|m| m.job_id.as_deref() == Some(job.as_str()))
            .count();
        assert_eq!(answers, 1, "one answer for job {job}");
    }
}

/// The worker side alone: both questions answered from the reading; running the same job
/// again (a redelivery) stores no second answer; a vanished conversation fails the job
/// permanently with a clear code.
async fn the_chat_job_answers_once_per_job_from_the_reading(backend: Backend) {
    let stack = Stack::start(backend).await;
    let (analysis_id, reading) = read_a_palm(&stack.app, &stack.nats.url(), 7).await;
    let statuses = status_store(&stack.nats.url()).await;
    let submitter = submitter(&stack.nats.url()).await;
    let db = &stack.database;

    let (conversation_id, first) = conversation_with_question(
        db,
        &analysis_id,
        &stack.app.user.id,
        "what does my heart line say?",
    )
    .await;
    let job1 = submit_chat(&submitter, &conversation_id, &first).await;
    let done = wait_for(&statuses, &job1, JobState::Completed).await;
    let result = done.result.unwrap();
    assert_eq!(result["engine"], "offline", "{result}");
    assert_eq!(result["topics"], json!(["heart_line"]), "{result}");

    let second = user_message(&conversation_id, "Hriday rekha");
    db.insert_message(&second).await.unwrap();
    let job2 = submit_chat(&submitter, &conversation_id, &second.id).await;
    wait_for(&statuses, &job2, JobState::Completed).await;

    let messages = db.list_messages(&conversation_id).await.unwrap();
    let roles: Vec<&str> = messages.iter().map(|m| m.role.as_str()).collect();
    assert_eq!(roles, ["user", "assistant", "user", "assistant"]);
    assert_eq!(messages[1].job_id.as_deref(), Some(job1.as_str()));
    assert_eq!(messages[3].job_id.as_deref(), Some(job2.as_str()));
    assert_about_the_heart_line(&messages[1].content, &reading);
    assert_about_the_heart_line(&messages[3].content, &reading);

    // The same job delivered again: the handler runs again, nothing new is stored.
    let handlers = hast_worker::jobs::register(
        [hast_common::jobs::Kind::Chat],
        hast_worker::jobs::Parts {
            engine: || Ok(Arc::new(hast_palm::Engine::with_model(None))),
            ai: None,
            echo: hast_worker::jobs::echo::Echo::default(),
        },
    )
    .unwrap();
    let client = async_nats::connect(stack.nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client.clone());
    let ctx = hast_worker::jobs::JobContext {
        job_id: job2.clone(),
        attempt: 2,
        max_attempts: 5,
        replay_of: None,
        db: db.clone(),
        nats: client,
        statuses: statuses.clone(),
        images: js.get_object_store("images").await.unwrap(),
        identity: Arc::new(hast_worker::heartbeat::WorkerIdentity::new(
            &hast_common::jobs::WorkerPools::parse(Some("chat"), None, 1).unwrap(),
            std::time::Duration::from_secs(30),
        )),
        cancel: hast_worker::jobs::CancelFlag::default(),
        slot: Arc::new(
            Arc::new(tokio::sync::Semaphore::new(1))
                .try_acquire_owned()
                .unwrap(),
        ),
    };
    let again = handlers["chat"]
        .run(
            ctx,
            json!({"conversation_id": conversation_id, "message_id": second.id}),
        )
        .await
        .unwrap();
    assert_eq!(again["message_id"].as_str(), Some(messages[3].id.as_str()));
    assert_eq!(db.list_messages(&conversation_id).await.unwrap().len(), 4);

    // A conversation deleted meanwhile: a permanent failure saying so.
    let gone = submit_chat(&submitter, &hast_common::db::new_id(), &second.id).await;
    let failed = wait_for(&statuses, &gone, JobState::Failed).await;
    assert_eq!(
        failed.error.map(|e| e.code).as_deref(),
        Some("conversation_not_found")
    );
    assert_eq!(failed.attempt, 1, "not retried");
}

/// `store_answer` is idempotent per job on both backends (the unique `messages.job_id`).
async fn an_answer_is_stored_once_per_job(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let database = db.connect().await;
    let now = hast_common::db::now();
    let user = hast_common::db::models::User {
        id: hast_common::db::new_id(),
        email: None,
        display_name: "guest".into(),
        password_hash: None,
        is_guest: true,
        created_at: now,
        updated_at: now,
    };
    database.insert_user(&user).await.unwrap();
    let analysis = hast_common::db::models::Analysis {
        id: hast_common::db::new_id(),
        owner_id: user.id.clone(),
        image_object: "x".into(),
        status: "completed".into(),
        job_id: None,
        reading: None,
        engine: None,
        error: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    database.insert_analysis(&analysis).await.unwrap();
    let (conversation_id, question) =
        conversation_with_question(&database, &analysis.id, &user.id, "hi").await;
    let answer = |content: &str| Message {
        id: hast_common::db::new_id(),
        conversation_id: conversation_id.clone(),
        role: "assistant".into(),
        content: content.into(),
        job_id: Some("job-1".into()),
        created_at: hast_common::db::now(),
    };
    let first = database
        .store_answer(&answer("one"))
        .await
        .unwrap()
        .unwrap();
    let second = database
        .store_answer(&answer("two"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(second, first, "the second delivery gets the first answer");
    assert_eq!(
        database
            .list_messages(&conversation_id)
            .await
            .unwrap()
            .len(),
        2
    );
    // User messages (no job id) are not constrained.
    database
        .insert_message(&user_message(&conversation_id, "again"))
        .await
        .unwrap();
    database
        .insert_message(&user_message(&conversation_id, "and again"))
        .await
        .unwrap();
    let context = database
        .chat_context(&conversation_id, &question)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        context.messages.len(),
        1,
        "up to and including the question"
    );
    let missing = database
        .chat_context(&conversation_id, "nope")
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(missing.code(), "message_not_found");
}

hast_tests::on_both_backends!(
    questions_about_the_heart_line_are_answered_through_the_api,
    the_chat_job_answers_once_per_job_from_the_reading,
    an_answer_is_stored_once_per_job,
);
