//! `ANALYZER=openai` end to end (issue #6): real nats-server, API and workers (in-process,
//! and as `hast-worker` processes where their logs or the fleet matter) against a local
//! server speaking the chat-completions wire format.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::{Child, Stdio};

use base64::Engine as _;
use hast_common::db::models::{Conversation, Message};
use hast_common::db::{Backend, Database};
use hast_common::jobs::{JobState, JobStatus, NewJob, Submitter};
use hast_scripted_chat::{ChatServer, Step};
use hast_tests::jobs::{status_store, wait_for};
use hast_tests::{free_port, service_command, TestStack};
use serde_json::{json, Value};

const KEY: &str = "sk-test-9f8e7d6c5b4a-never-log-me";

/// The offline reading the worker sent with a reading request.
fn offline_reading_of(request: &Value) -> Value {
    let text = request["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_array())
        .and_then(|parts| parts.iter().find_map(|p| p["text"].as_str()))
        .expect("a user message with text and the photo")
        .to_owned();
    let json = &text[text.find('{').expect("JSON in the prompt")..];
    let context: Value = serde_json::from_str(json).expect("the prompt's JSON");
    context["offline_reading"].clone()
}

/// A valid model reply: prose for every line and mount of the offline reading (also for
/// the lines it did not find, which the worker must not take).
fn model_reading(request: &Value) -> Value {
    let reading = offline_reading_of(request);
    let lines: Vec<Value> = reading["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| {
            let id = line["id"].as_str().unwrap();
            json!({"id": id, "reading": format!("MODEL {id} line reading.")})
        })
        .collect();
    let mounts: Vec<Value> = reading["mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|mount| {
            json!({"id": mount["id"], "prominence": "well developed", "reading": "MODEL mount reading."})
        })
        .collect();
    json!({
        "lines": lines,
        "mounts": mounts,
        "summary": "MODEL SUMMARY of this palm.",
        "strengths": ["MODEL strength."],
        "guidance": ["MODEL guidance."],
    })
}

fn valid_reply() -> Step {
    Step::with(|request| Step::ok(&model_reading(request).to_string(), 1200, 800))
}

struct Stack {
    base: TestStack,
    database: Database,
}

hast_tests::wraps_test_stack!(Stack, base);

impl Stack {
    async fn start(backend: Backend) -> Self {
        let base = TestStack::builder(backend).start().await;
        let database = base.database().await;
        Self { base, database }
    }

    fn openai_settings(
        &self,
        server: &ChatServer,
        extra: &[(&str, &str)],
    ) -> Vec<(String, String)> {
        let mut vars = vec![
            ("ANALYZER".to_owned(), "openai".to_owned()),
            ("OPENAI_BASE_URL".to_owned(), server.base_url()),
            ("OPENAI_API_KEY".to_owned(), KEY.to_owned()),
            ("OPENAI_MODEL".to_owned(), "vision-test".to_owned()),
        ];
        vars.extend(
            extra
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        vars
    }

    async fn worker(&self, vars: &[(String, String)]) -> hast_tests::TestWorker {
        let vars: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.base.worker(&vars).await
    }

    /// Uploads a synthetic palm; `(analysis id, job id)`.
    async fn upload(&self, seed: u64) -> (String, String) {
        self.app.upload_palm(seed).await
    }

    async fn completed(&self, job: &str) -> JobStatus {
        wait_for(&self.statuses, job, JobState::Completed).await
    }

    async fn reading(&self, analysis: &str) -> (Value, Value) {
        let shown: Value = self
            .app
            .get(&format!("/api/v1/analyses/{analysis}"))
            .await
            .json()
            .await
            .unwrap();
        (
            shown["analysis"]["engine"].clone(),
            shown["analysis"]["reading"].clone(),
        )
    }
}

fn line<'a>(reading: &'a Value, id: &str) -> &'a Value {
    reading["lines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == id)
        .unwrap()
}

/// A valid structured reply: the reading is the model's prose on the measured facts.
async fn a_valid_reply_gives_an_openai_reading_with_measured_fields_kept(backend: Backend) {
    let stack = Stack::start(backend).await;
    let server = ChatServer::start(vec![valid_reply()]).await;
    let _worker = stack.worker(&stack.openai_settings(&server, &[])).await;
    let (analysis, job) = stack.upload(7).await;
    let done = stack.completed(&job).await;
    let result = done.result.unwrap();
    assert_eq!(result["engine"], "openai", "{result}");
    assert_eq!(result["usage"]["total_tokens"], 2000, "{result}");
    assert_eq!(result["engine_note"], Value::Null);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    assert_eq!(request.path, "/v1/chat/completions");
    assert_eq!(
        request.header("authorization").as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(request.body["model"], "vision-test");
    let format = &request.body["response_format"];
    assert_eq!(format["type"], "json_schema");
    assert_eq!(format["json_schema"]["strict"], true);
    // The prose-only schema (strict mode refuses the reading schema's keywords).
    assert_eq!(format["json_schema"]["name"], "palm_reading_prose");
    assert_eq!(
        format["json_schema"]["schema"]["required"],
        json!(["lines", "mounts", "summary", "strengths", "guidance"])
    );
    // The photo: a downscaled JPEG, sent inline.
    let urls = request.image_urls();
    assert_eq!(urls.len(), 1);
    let b64 = urls[0].strip_prefix("data:image/jpeg;base64,").unwrap();
    let jpeg = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    let photo = image::load_from_memory(&jpeg).unwrap();
    assert!(photo.width().max(photo.height()) <= 1024);
    assert!(!jpeg.windows(4).any(|w| w == b"Exif"));

    let offline = offline_reading_of(&request.body);
    let (engine, reading) = stack.reading(&analysis).await;
    assert_eq!(engine, "openai");
    assert_eq!(reading["engine"], "openai");
    assert_eq!(reading["summary"], "MODEL SUMMARY of this palm.");
    // Measured fields win over the model's.
    assert_eq!(reading["quality"], offline["quality"]);
    assert_eq!(reading["hand"], offline["hand"]);
    assert_eq!(reading["shape"], offline["shape"]);
    assert_eq!(reading["disclaimer"], offline["disclaimer"]);
    let heart = line(&reading, "heart");
    let measured = line(&offline, "heart");
    assert_eq!(heart["present"], true);
    assert_eq!(heart["length"], measured["length"]);
    assert_eq!(heart["polyline"], measured["polyline"]);
    assert_eq!(heart["source"], "measured");
    assert_eq!(heart["reading"], "MODEL heart line reading.");
    let mount = &reading["mounts"][0];
    assert_eq!(mount["source"], "llm");
    assert_eq!(mount["prominence"], "well developed");
}

/// An invalid reply, then a repaired one: the reading is the model's.
async fn an_invalid_reply_is_repaired_once(backend: Backend) {
    let stack = Stack::start(backend).await;
    let server = ChatServer::start(vec![Step::ok(r#"{"summary": 3}"#, 10, 5), valid_reply()]).await;
    let _worker = stack.worker(&stack.openai_settings(&server, &[])).await;
    let (analysis, job) = stack.upload(7).await;
    let result = stack.completed(&job).await.result.unwrap();
    assert_eq!(result["engine"], "openai", "{result}");
    let requests = server.requests();
    assert_eq!(requests.len(), 2);
    let repair = requests[1].messages();
    let (role, text) = repair.last().unwrap();
    assert_eq!(role, "user");
    assert!(text.contains("does not match the schema"), "{text}");
    assert_eq!(repair[repair.len() - 2].1, r#"{"summary": 3}"#);
    let (engine, reading) = stack.reading(&analysis).await;
    assert_eq!(
        (engine.as_str(), reading["engine"].as_str()),
        (Some("openai"), Some("openai"))
    );
}

/// Invalid twice: the offline reading stands, and the result says why.
async fn an_invalid_reply_twice_falls_back_to_the_offline_reading(backend: Backend) {
    let stack = Stack::start(backend).await;
    let server = ChatServer::start(vec![Step::ok("this is not JSON", 10, 5)]).await;
    let _worker = stack.worker(&stack.openai_settings(&server, &[])).await;
    let (analysis, job) = stack.upload(7).await;
    let result = stack.completed(&job).await.result.unwrap();
    assert_eq!(result["engine"], "offline", "{result}");
    assert_eq!(
        result["engine_note"], "openai reply invalid; offline reading",
        "{result}"
    );
    assert_eq!(server.requests().len(), 2, "one repair attempt only");
    let (engine, reading) = stack.reading(&analysis).await;
    assert_eq!(engine, "offline");
    assert_eq!(line(&reading, "heart")["source"], "measured");
}

/// A refused key: the job completes with the offline reading; the key is nowhere.
async fn unauthorized_falls_back_to_the_offline_reading(backend: Backend) {
    let stack = Stack::start(backend).await;
    let server = ChatServer::start(vec![Step::error(
        401,
        &format!("Incorrect API key provided: {KEY}."),
        Some("invalid_api_key"),
    )])
    .await;
    let _worker = stack.worker(&stack.openai_settings(&server, &[])).await;
    let (analysis, job) = stack.upload(7).await;
    let result = stack.completed(&job).await.result.unwrap();
    assert_eq!(result["engine"], "offline", "{result}");
    assert_eq!(
        result["engine_note"], "openai failed (unauthorized); offline reading",
        "{result}"
    );
    assert_eq!(server.requests().len(), 1, "a 401 is not retried");
    let (engine, _) = stack.reading(&analysis).await;
    assert_eq!(engine, "offline");
    let stored = stack.database.find_job_result(&job).await.unwrap().unwrap();
    assert!(!format!("{stored:?}").contains(KEY));
}

/// A `hast-worker` process whose stdout and stderr go to files.
struct LoggedWorker {
    child: Child,
    log: std::path::PathBuf,
}

impl LoggedWorker {
    fn start(dir: &std::path::Path, name: &str, stack: &Stack, vars: &[(String, String)]) -> Self {
        let log = dir.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let metrics = format!("127.0.0.1:{}", free_port());
        let mut env: Vec<(&str, &str)> =
            vec![("WORKER_METRICS_ADDR", &metrics), ("RUST_LOG", "debug")];
        env.extend(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        let mut command = service_command("hast-worker", &stack.db.url, &stack.nats.url(), &env);
        command
            .stdout(Stdio::from(file.try_clone().unwrap()))
            .stderr(Stdio::from(file));
        Self {
            child: command.spawn().expect("start hast-worker"),
            log,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for LoggedWorker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two worker processes, `OPENAI_MAX_CONCURRENCY=1`: never two model requests at once.
/// The server holds every request until the test releases it. The key never reaches the
/// logs (at debug level) nor any stored result.
async fn the_fleet_makes_one_model_call_at_a_time(backend: Backend) {
    let stack = Stack::start(backend).await;
    let server = ChatServer::holding(vec![valid_reply()]).await;
    let vars = stack.openai_settings(&server, &[("OPENAI_MAX_CONCURRENCY", "1")]);
    let dir = tempfile::tempdir().unwrap();
    let mut workers = [
        LoggedWorker::start(dir.path(), "a", &stack, &vars),
        LoggedWorker::start(dir.path(), "b", &stack, &vars),
    ];
    // Both compete for the model from the first job on (one may be slower to start).
    for worker in &mut workers {
        hast_tests::eventually(
            "the worker to be ready",
            std::time::Duration::from_millis(50),
            || {
                let logs = worker.logs();
                if let Ok(Some(status)) = worker.child.try_wait() {
                    panic!("the worker exited ({status}):\n{logs}");
                }
                let ready = logs.contains("hast-worker ready");
                async move { ready.then_some(()) }
            },
        )
        .await;
    }
    let mut jobs = Vec::new();
    for seed in [7, 8, 9, 10] {
        jobs.push(stack.upload(seed).await);
    }
    for answered in 0..jobs.len() {
        // One request at a time arrives; answer it, and the next may start.
        server.wait_for_requests(answered + 1).await;
        server.release(1);
    }
    for (analysis, job) in &jobs {
        let result = stack.completed(job).await.result.unwrap();
        assert_eq!(result["engine"], "openai", "{result}");
        let (engine, _) = stack.reading(analysis).await;
        assert_eq!(engine, "openai");
        let stored = stack.database.find_job_result(job).await.unwrap().unwrap();
        assert!(!format!("{stored:?}").contains(KEY));
    }
    assert_eq!(server.requests().len(), jobs.len());
    assert_eq!(server.max_in_flight(), 1, "the fleet-wide limit held");
    for worker in &workers {
        let logs = worker.logs();
        assert!(logs.contains("hast-worker ready"), "{logs}");
        assert!(!logs.contains(KEY), "the key leaked into the logs");
        assert!(!logs.contains("never-log-me"));
    }
}

/// Chat with the model: the request carries the reading and the conversation; with a
/// small `CHAT_CONTEXT_TOKENS` the oldest turns are left out.
async fn chat_sends_the_reading_and_the_newest_turns(backend: Backend) {
    let stack = Stack::start(backend).await;
    // The reading, offline.
    let offline = stack.worker(&[]).await;
    let (analysis, job) = stack.upload(7).await;
    stack.completed(&job).await;
    offline.stop().await;
    let stored = stack
        .database
        .find_analysis_by_id(&analysis)
        .await
        .unwrap()
        .unwrap();
    let reading_text = stored.reading.unwrap();
    let reading: Value = serde_json::from_str(&reading_text).unwrap();

    // A conversation of three earlier exchanges and a question.
    let now = hast_common::db::now();
    let conversation = Conversation {
        id: hast_common::db::new_id(),
        analysis_id: analysis.clone(),
        owner_id: stack.app.user.id.clone(),
        title: "t".into(),
        created_at: now,
        updated_at: now,
    };
    stack
        .database
        .insert_conversation(&conversation)
        .await
        .unwrap();
    let filler = "x".repeat(400);
    let mut contents = Vec::new();
    for (i, role) in [
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
    ]
    .iter()
    .enumerate()
    {
        let content = format!("turn-{i} {role} {filler}");
        let message = Message {
            id: hast_common::db::new_id(),
            conversation_id: conversation.id.clone(),
            role: (*role).into(),
            content: content.clone(),
            job_id: None,
            created_at: hast_common::db::now(),
        };
        stack.database.insert_message(&message).await.unwrap();
        contents.push((message.id, content));
    }
    // Room for the system message, the question and two earlier exchanges, not three.
    let system =
        hast_openai::Message::system(hast_worker::ai::answer::system_prompt(&reading_text));
    let per_message =
        hast_openai::estimate_tokens(&hast_openai::Message::user(contents[0].1.clone()));
    let budget = hast_openai::estimate_tokens(&system) + 5 * per_message + per_message / 2;
    let server = ChatServer::start(vec![Step::ok(
        "MODEL ANSWER about your heart line.",
        900,
        40,
    )])
    .await;
    let budget = budget.to_string();
    let _worker = stack
        .worker(&stack.openai_settings(&server, &[("CHAT_CONTEXT_TOKENS", budget.as_str())]))
        .await;

    let client = async_nats::connect(stack.nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let submitter = Submitter::new(
        js.clone(),
        status_store(&stack.nats.url()).await,
        js.get_key_value("idempotency").await.unwrap(),
        5,
    );
    let question = contents.last().unwrap().0.clone();
    let chat_job = submitter
        .submit(NewJob {
            kind: "chat".into(),
            payload: json!({"conversation_id": conversation.id, "message_id": question}),
            owner_id: None,
            correlation_id: None,
            idempotency_key: None,
            replay_of: None,
        })
        .await
        .unwrap()
        .status
        .id;
    let result = stack.completed(&chat_job).await.result.unwrap();
    assert_eq!(result["engine"], "openai", "{result}");
    assert_eq!(result["usage"]["prompt_tokens"], 900);

    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert!(requests[0].body.get("response_format").is_none());
    let sent = requests[0].messages();
    let (role, system_text) = &sent[0];
    assert_eq!(role, "system");
    // As JSON text: quotes and the like are escaped in the prompt.
    let heart = line(&reading, "heart")["reading"].to_string();
    let heart = heart.trim_matches('"');
    assert!(
        system_text.contains(heart),
        "the reading is in the system message"
    );
    assert!(system_text.contains("Never predict lifespan"));
    let texts: Vec<&str> = sent[1..].iter().map(|(_, t)| t.as_str()).collect();
    let expected: Vec<&str> = contents[2..].iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(
        texts, expected,
        "the oldest exchange is left out, the rest kept in order"
    );
    assert_eq!(sent.last().unwrap().0, "user");

    let messages = stack
        .database
        .list_messages(&conversation.id)
        .await
        .unwrap();
    let answer = messages.last().unwrap();
    assert_eq!(answer.role, "assistant");
    assert_eq!(answer.content, "MODEL ANSWER about your heart line.");
    assert_eq!(answer.job_id.as_deref(), Some(chat_job.as_str()));
}

mod sqlite {
    use hast_common::db::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_valid_reply_gives_an_openai_reading_with_measured_fields_kept() {
        super::a_valid_reply_gives_an_openai_reading_with_measured_fields_kept(Backend::Sqlite)
            .await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalid_reply_is_repaired_once() {
        super::an_invalid_reply_is_repaired_once(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_invalid_reply_twice_falls_back_to_the_offline_reading() {
        super::an_invalid_reply_twice_falls_back_to_the_offline_reading(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unauthorized_falls_back_to_the_offline_reading() {
        super::unauthorized_falls_back_to_the_offline_reading(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fleet_makes_one_model_call_at_a_time() {
        super::the_fleet_makes_one_model_call_at_a_time(Backend::Sqlite).await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn chat_sends_the_reading_and_the_newest_turns() {
        super::chat_sends_the_reading_and_the_newest_turns(Backend::Sqlite).await;
    }
}

mod postgres {
    use hast_common::db::Backend;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_valid_reply_gives_an_openai_reading_with_measured_fields_kept() {
        super::a_valid_reply_gives_an_openai_reading_with_measured_fields_kept(Backend::Postgres)
            .await;
    }
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_fleet_makes_one_model_call_at_a_time() {
        super::the_fleet_makes_one_model_call_at_a_time(Backend::Postgres).await;
    }
}
