//! The job platform end to end: real nats-server, real databases, the real API and
//! workers. Statuses are observed through KV watches (events), never sleeps.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hast_common::db::Backend;
use hast_common::jobs::{dlq, JobState, Submitter};
use hast_tests::jobs::{history, status_store, submit, submit_ok, submit_with, wait_for};
use hast_tests::{eventually, ExecutionLog, TestStack, WorkerProcess};
use serde_json::json;

const POLL: Duration = Duration::from_millis(50);

/// Fast retries for tests.
const FAST: &[(&str, &str)] = hast_tests::FAST_JOBS;

struct Stack(TestStack);

hast_tests::wraps_test_stack!(Stack, 0);

impl Stack {
    /// The API with `extra`; workers get [`FAST`] and their own settings.
    async fn start(backend: Backend, extra: &[(&str, &str)]) -> Self {
        Self(
            TestStack::builder(backend)
                .shared(FAST)
                .api(extra)
                .start()
                .await,
        )
    }

    /// `DELETE /api/v1/jobs/{id}`.
    async fn cancel(&self, id: &str) -> reqwest::Response {
        self.app
            .client
            .delete(self.app.url(&format!("/api/v1/jobs/{id}")))
            .send()
            .await
            .unwrap()
    }

    /// Waits until no message is left in `JOBS` (every delivery was settled).
    async fn wait_queue_empty(&self) {
        eventually("the JOBS stream to empty", POLL, || async {
            let mut stream = self.js.get_stream("JOBS").await.unwrap();
            (stream.info().await.unwrap().state.messages == 0).then_some(())
        })
        .await;
    }

    async fn results(&self) -> i64 {
        self.database().await.count_job_results().await.unwrap()
    }
}

async fn happy_path(backend: Backend) {
    let stack = Stack::start(backend, &[]).await;
    let _worker = stack.worker(&[]).await;

    let (status, body) = submit(&stack.app, "echo", json!({"palm": "right"})).await;
    let id = body["id"].as_str().unwrap().to_owned();
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;

    assert_eq!(status, 202);
    assert_eq!(body["status"], "queued");
    assert_eq!(body["kind"], "echo");
    assert!(
        uuid::Uuid::parse_str(&id).unwrap().get_version_num() == 7,
        "UUIDv7 ids"
    );
    assert_eq!(done.result, Some(json!({"palm": "right"})));
    assert_eq!((done.attempt, done.progress), (1, 100));
    let row = stack
        .db
        .connect()
        .await
        .find_job_result(&id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.outcome, "completed");
    assert_eq!(row.result.as_deref(), Some(r#"{"palm":"right"}"#));
    let shown: serde_json::Value = stack
        .app
        .get(&format!("/api/v1/jobs/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(shown["status"], "completed");
    assert!(shown.get("owner_id").is_none());
}

async fn idempotent_submit_runs_once(backend: Backend) {
    let stack = Stack::start(backend, &[]).await;
    let executions = ExecutionLog::default();
    let _worker = stack.worker(&[executions.setting()]).await;

    let (s1, first) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("key-1")).await;
    let (s2, second) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("key-1")).await;
    let id = first["id"].as_str().unwrap();
    wait_for(&stack.statuses, id, JobState::Completed).await;
    let (s3, third) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("key-1")).await;
    let (s4, other) = submit_with(&stack.app, "echo", json!({"n": 2}), Some("key-1")).await;

    assert_eq!((s1, s2, s3), (202, 202, 202));
    assert_eq!(second["id"], first["id"]);
    assert_eq!(third["id"], first["id"]);
    assert_eq!(
        third["status"], "completed",
        "a repeat after completion returns the finished job"
    );
    assert_eq!(
        s4, 422,
        "a reused key with another payload is refused: {other}"
    );
    assert_eq!(executions.count(id), 1, "the handler ran once");
    assert_eq!(executions.counts().len(), 1, "no other job was created");
    assert_eq!(stack.results().await, 1, "one row");
}

async fn transient_failures_back_off_then_complete(backend: Backend) {
    let stack = Stack::start(backend, &[]).await;
    let _worker = stack.worker(&[]).await;

    let id = submit_ok(&stack.app, "echo", json!({"fail_times": 2})).await;
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;
    let revisions = history(&stack.nats.url(), &id).await;

    assert_eq!(done.attempt, 3);
    let retries: Vec<_> = revisions
        .iter()
        .filter(|s| s.status == JobState::Retrying)
        .collect();
    assert_eq!(retries.len(), 2, "{revisions:?}");
    assert!(retries
        .iter()
        .all(|r| r.error.as_ref().unwrap().code == "echo_transient"));
    // The planned delays grow, and each next attempt started no earlier than planned.
    let planned: Vec<i64> = retries
        .iter()
        .map(|r| (r.next_attempt_at.unwrap() - r.updated_at).num_milliseconds())
        .collect();
    assert!(planned[0] >= 90 && planned[0] <= 210, "{planned:?}");
    assert!(planned[1] >= 190 && planned[1] <= 410, "{planned:?}");
    assert!(planned[1] > planned[0], "gaps grow: {planned:?}");
    let starts: Vec<_> = revisions
        .iter()
        .filter(|s| s.status == JobState::Running)
        .map(|s| (s.attempt, s.started_at.unwrap()))
        .collect();
    assert_eq!(
        starts.iter().map(|s| s.0).collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    for (retry, next_start) in retries.iter().zip(starts.iter().skip(1)) {
        let early = (retry.next_attempt_at.unwrap() - next_start.1).num_milliseconds();
        assert!(
            early <= 50,
            "attempt {} started {early} ms before its planned time",
            next_start.0
        );
    }
    assert_eq!(stack.results().await, 1);
}

async fn permanent_failure_is_dead_lettered_and_replay_completes(backend: Backend) {
    let stack = Stack::start(backend, &[]).await;
    let _worker = stack.worker(&[]).await;

    let id = submit_ok(&stack.app, "echo", json!({"fail_unless_replayed": true})).await;
    let failed = wait_for(&stack.statuses, &id, JobState::Failed).await;
    let (js, submitter) = ops(&stack).await;
    let letters = dlq::list(&js, 10).await.unwrap();
    let replayed = dlq::replay(
        &js,
        &submitter,
        letters[0].sequence,
        dlq::Replay::UnlessCompleted,
        false,
    )
    .await
    .unwrap();
    let done = wait_for(&stack.statuses, &replayed.status.id, JobState::Completed).await;

    assert_eq!(failed.attempt, 1, "a permanent failure is not retried");
    assert_eq!(failed.error.as_ref().unwrap().code, "echo_failed");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].job_id, id);
    assert_eq!(letters[0].error_code, "echo_failed");
    assert_eq!(letters[0].original_subject, "jobs.echo");
    assert_eq!(done.replay_of.as_deref(), Some(id.as_str()));
    assert!(
        dlq::list(&js, 10).await.unwrap().is_empty(),
        "a replayed letter leaves the DLQ"
    );
    let db = stack.db.connect().await;
    assert_eq!(
        db.find_job_result(&id).await.unwrap().unwrap().outcome,
        "failed"
    );
    assert_eq!(
        db.find_job_result(&done.id).await.unwrap().unwrap().outcome,
        "completed"
    );
}

async fn ops(stack: &Stack) -> (async_nats::jetstream::Context, Submitter) {
    let client = async_nats::connect(stack.nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let idempotency = js.get_key_value("idempotency").await.unwrap();
    let submitter = Submitter::new(js.clone(), stack.statuses.clone(), idempotency, 5);
    (js, submitter)
}

async fn exhausted_attempts_fail_and_dead_letter(backend: Backend) {
    let stack = Stack::start(backend, &[("JOB_MAX_ATTEMPTS", "2")]).await;
    let _worker = stack.worker(&[("JOB_MAX_ATTEMPTS", "2")]).await;

    let id = submit_ok(&stack.app, "echo", json!({"fail_times": 10})).await;
    let failed = wait_for(&stack.statuses, &id, JobState::Failed).await;
    let (js, _) = ops(&stack).await;
    let letters = dlq::list(&js, 10).await.unwrap();

    assert_eq!((failed.attempt, failed.max_attempts), (2, 2));
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].attempts, 2);
    assert_eq!(letters[0].error_code, "echo_transient");
}

/// An `Idempotency-Key` that is empty, longer than 255 characters or not printable ASCII
/// (a tab) is 400 `invalid_idempotency_key`, and nothing is queued; a key with an inner
/// space is fine.
#[tokio::test]
async fn malformed_idempotency_keys_are_refused() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "tab\there"] {
        let (status, body) = submit_with(&stack.app, "echo", json!({}), Some(key)).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (400, Some("invalid_idempotency_key")),
            "{key:?}: {body}"
        );
    }
    let (status, _) = submit_with(&stack.app, "echo", json!({}), Some("a fine key")).await;
    assert_eq!(status, 202);
}

hast_tests::on_both_backends!(
    happy_path,
    idempotent_submit_runs_once,
    transient_failures_back_off_then_complete,
    permanent_failure_is_dead_lettered_and_replay_completes,
    exhausted_attempts_fail_and_dead_letter,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_get_clear_errors_and_create_nothing() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;

    let (unknown, unknown_body) = submit(&stack.app, "teleport", json!({})).await;
    let (private, _) = submit(&stack.app, "health", json!({})).await;
    let (bad_payload, bad_body) = submit(&stack.app, "echo", json!({"sleep_ms": "soon"})).await;
    let (not_object, _) = submit(&stack.app, "echo", json!([1, 2])).await;
    let malformed = stack
        .app
        .client
        .post(stack.app.url("/api/v1/jobs"))
        .header("content-type", "application/json")
        .body("{\"kind\":")
        .send()
        .await
        .unwrap();
    let missing = stack
        .app
        .get("/api/v1/jobs/0192f0c4-7d1e-7cc3-8a35-2f3b9b0d6a11")
        .await;
    let garbage_id = stack.app.get("/api/v1/jobs/..%2F..").await;

    assert_eq!(unknown, 400);
    assert_eq!(unknown_body["error"]["code"], "unknown_kind");
    assert_eq!(
        private, 400,
        "non-public kinds cannot be submitted over HTTP"
    );
    assert_eq!(bad_payload, 422);
    assert_eq!(bad_body["error"]["code"], "invalid_payload");
    assert_eq!(not_object, 422);
    assert_eq!(malformed.status(), 400);
    assert_eq!(missing.status(), 404);
    assert_eq!(garbage_id.status(), 404);
    let keys = stack.statuses.bucket().status().await.unwrap().values();
    assert_eq!(keys, 0, "nothing was queued");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_job_is_cancelled_at_once_and_never_runs() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let id = submit_ok(&stack.app, "echo", json!({})).await;

    let cancelled = stack.cancel(&id).await;
    let body: serde_json::Value = cancelled.json().await.unwrap();
    let worker = stack.worker(&[]).await;
    // The worker must receive and drop the message: the consumer empties.
    stack.wait_queue_empty().await;
    let again = stack.cancel(&id).await;

    assert_eq!(body["status"], "cancelled");
    assert_eq!(
        stack.statuses.get(&id).await.unwrap().0.status,
        JobState::Cancelled
    );
    assert_eq!(stack.results().await, 0, "a cancelled job never runs");
    assert_eq!(
        again.status(),
        409,
        "a finished job cannot be cancelled again"
    );
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_job_is_abandoned_when_cancelled() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let _worker = stack.worker(&[]).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 30000})).await;
    wait_for(&stack.statuses, &id, JobState::Running).await;

    let response = stack.cancel(&id).await;
    stack.wait_queue_empty().await;

    assert_eq!(response.status(), 200);
    assert_eq!(
        stack.statuses.get(&id).await.unwrap().0.status,
        JobState::Cancelled
    );
    assert_eq!(stack.results().await, 0);
}

/// A job cancelled while it runs, but which finishes before the worker's next
/// cancellation check (heartbeats every 10 s here): the worker stores its result, finds
/// the status cancelled when it marks it completed, and withdraws the result.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_cancelled_as_it_finishes_keeps_no_result() {
    let slow_heartbeats = [("JOB_ACK_WAIT", "30s")];
    let stack = Stack::start(Backend::Sqlite, &slow_heartbeats).await;
    let _worker = stack.worker(&slow_heartbeats).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 1500})).await;
    wait_for(&stack.statuses, &id, JobState::Running).await;

    let response = stack.cancel(&id).await;
    assert_eq!(response.status(), 200);
    stack.wait_queue_empty().await;

    assert_eq!(
        stack.statuses.get(&id).await.unwrap().0.status,
        JobState::Cancelled
    );
    assert_eq!(
        stack.results().await,
        0,
        "the cancelled job's result is withdrawn"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_stream_shows_queued_running_completed_then_closes() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 100})).await;

    let response = stack.app.get(&format!("/api/v1/jobs/{id}/events")).await;
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    let mut body = response.bytes_stream();
    let first = futures::StreamExt::next(&mut body).await.unwrap().unwrap();
    let worker = stack.worker(&[]).await;
    let mut text = String::from_utf8(first.to_vec()).unwrap();
    let rest = tokio::time::timeout(hast_tests::WAIT, async {
        while let Some(chunk) = futures::StreamExt::next(&mut body).await {
            text.push_str(std::str::from_utf8(&chunk.unwrap()).unwrap());
        }
    })
    .await;

    assert!(rest.is_ok(), "the stream closes after the terminal state");
    assert_eq!(content_type, "text/event-stream");
    let events: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event:"))
        .collect();
    assert_eq!(events, vec!["queued", "running", "completed"], "{text}");
    let last_data = text
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .next_back()
        .unwrap();
    let last: serde_json::Value = serde_json::from_str(last_data).unwrap();
    assert_eq!(last["status"], "completed");
    assert_eq!(last["result"], json!({"sleep_ms": 100}));
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_event_stream_on_a_job_that_never_changes_lets_go_of_its_watch() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    // No worker: the job stays queued, so its stream never sends another event.
    let id = submit_ok(&stack.app, "echo", json!({})).await;
    let client = async_nats::connect(stack.nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let watches = || {
        let js = js.clone();
        async move {
            let mut stream = js.get_stream("KV_job_status").await.unwrap();
            stream.info().await.unwrap().state.consumer_count
        }
    };
    let before = watches().await;

    let mut response = stack.app.get(&format!("/api/v1/jobs/{id}/events")).await;
    let first = response.chunk().await.unwrap().unwrap();
    let while_open = watches().await;
    drop(response);

    assert!(String::from_utf8_lossy(&first).contains("queued"));
    assert_eq!(while_open, before + 1, "the stream watches the job");
    // The server notices the departed client at its next keep-alive (15 s).
    hast_tests::eventually_within(
        "the stream's watch to go",
        Duration::from_secs(45),
        Duration::from_millis(200),
        || async { (watches().await == before).then_some(()) },
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicking_handler_fails_only_its_job() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let _worker = stack.worker(&[]).await;

    let bad = submit_ok(&stack.app, "echo", json!({"panic": true})).await;
    let good = submit_ok(&stack.app, "echo", json!({"ok": true})).await;
    let failed = wait_for(&stack.statuses, &bad, JobState::Failed).await;
    let done = wait_for(&stack.statuses, &good, JobState::Completed).await;

    assert_eq!(failed.error.unwrap().code, "panicked");
    assert_eq!(done.result, Some(json!({"ok": true})));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_share_500_jobs_and_each_completes_exactly_once() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let executions = ExecutionLog::default();
    let a = stack.worker(&[executions.setting()]).await;
    let b = stack.worker(&[executions.setting()]).await;

    let submits = (0..500).map(|n| {
        let app = &stack.app;
        async move { submit_ok(app, "echo", json!({ "n": n })).await }
    });
    let ids: Vec<String> = futures::future::join_all(submits).await;
    for id in &ids {
        wait_for(&stack.statuses, id, JobState::Completed).await;
    }

    let counts = executions.counts();
    let ran_twice: Vec<_> = counts.iter().filter(|(_, n)| **n != 1).collect();
    assert_eq!(counts.len(), 500, "every job ran");
    assert!(
        ran_twice.is_empty(),
        "jobs not run exactly once: {ran_twice:?}"
    );
    assert_eq!(stack.results().await, 500);
    let db = stack.db.connect().await;
    for (n, id) in ids.iter().enumerate().step_by(97) {
        let row = db.find_job_result(id).await.unwrap().unwrap();
        assert_eq!(row.result.unwrap(), json!({ "n": n }).to_string());
        assert_eq!(row.attempts, 1);
    }
    a.stop().await;
    b.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_worker_s_job_is_redelivered_and_completes_once() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let executions = ExecutionLog::default();
    let mut doomed = WorkerProcess::start(
        &stack.db.url,
        &stack.nats.url(),
        &[("JOB_ACK_WAIT", "2s"), executions.setting()],
    );
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 2000})).await;
    let running = wait_for(&stack.statuses, &id, JobState::Running).await;
    // Killed once its handler runs (the attempt is claimed just before).
    eventually("the handler to start", POLL, || async {
        (executions.count(&id) == 1).then_some(())
    })
    .await;

    doomed.kill();
    let _survivor = stack.worker(&[executions.setting()]).await;
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;
    let completions = history(&stack.nats.url(), &id)
        .await
        .iter()
        .filter(|s| s.status == JobState::Completed)
        .count();

    assert_eq!(running.attempt, 1);
    // Redelivered after ack_wait (a second redelivery is allowed if a starved heartbeat
    // was late); each attempt is one run of the handler, and one of them completes.
    assert!(done.attempt >= 2, "redelivered after ack_wait: {done:?}");
    assert_eq!(
        executions.count(&id),
        done.attempt as usize,
        "one run per attempt, the killed one included"
    );
    assert_eq!(completions, 1, "completed once");
    assert_eq!(stack.results().await, 1, "no duplicate row");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_worker_dies_on_its_last_attempt_fails_visibly() {
    let one = [("JOB_MAX_ATTEMPTS", "1")];
    let stack = Stack::start(Backend::Sqlite, &one).await;
    let executions = ExecutionLog::default();
    let mut doomed = WorkerProcess::start(
        &stack.db.url,
        &stack.nats.url(),
        &[
            ("JOB_ACK_WAIT", "2s"),
            ("JOB_MAX_ATTEMPTS", "1"),
            executions.setting(),
        ],
    );
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 10000})).await;
    eventually("the handler to start", POLL, || async {
        (executions.count(&id) == 1).then_some(())
    })
    .await;

    doomed.kill();
    let _next = stack
        .worker(&[("JOB_MAX_ATTEMPTS", "1"), executions.setting()])
        .await;
    let failed = wait_for(&stack.statuses, &id, JobState::Failed).await;
    let (js, _) = ops(&stack).await;
    let letters = dlq::list(&js, 10).await.unwrap();

    assert_eq!(failed.error.unwrap().code, "attempts_exhausted");
    assert_eq!(failed.attempt, 1);
    assert_eq!(
        executions.count(&id),
        1,
        "not run again after its last attempt"
    );
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].error_code, "attempts_exhausted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_shutdown_leaves_no_job_running() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let worker = stack.worker(&[]).await;
    let quick = submit_ok(&stack.app, "echo", json!({"sleep_ms": 50})).await;
    let slow = submit_ok(&stack.app, "echo", json!({"sleep_ms": 20000})).await;
    wait_for(&stack.statuses, &quick, JobState::Completed).await;
    wait_for(&stack.statuses, &slow, JobState::Running).await;

    worker.stop().await;
    let after_stop = stack.statuses.get(&slow).await.unwrap().0;
    let _next = stack.worker(&[]).await;
    let running_again = wait_for(&stack.statuses, &slow, JobState::Running).await;

    assert_eq!(
        after_stop.status,
        JobState::Retrying,
        "handed back, not left running"
    );
    assert_eq!(after_stop.error.unwrap().code, "worker_shutdown");
    assert_eq!(
        running_again.attempt, 2,
        "redelivered at once to the next worker"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_accepted_job_is_lost_when_nats_restarts() {
    let mut stack = Stack::start(Backend::Sqlite, &[]).await;
    let _worker = stack.worker(&[]).await;
    let mut ids = Vec::new();
    for n in 0..20 {
        ids.push(submit_ok(&stack.app, "echo", json!({"n": n, "sleep_ms": 100})).await);
    }

    stack.nats.stop();
    let (down_status, down_body) = submit(&stack.app, "echo", json!({"during": "outage"})).await;
    stack.nats.restart();
    let recovered = eventually(
        "submissions to be accepted again",
        Duration::from_millis(200),
        || async {
            let (status, body) = submit(&stack.app, "echo", json!({"after": "outage"})).await;
            (status == 202).then_some(body["id"].as_str().unwrap().to_owned())
        },
    )
    .await;
    ids.push(recovered);
    let statuses = status_store(&stack.nats.url()).await;
    for id in &ids {
        wait_for(&statuses, id, JobState::Completed).await;
    }

    assert_eq!(down_status, 503, "{down_body}");
    // Sessions live in NATS KV too, so the caller's session is the first thing that
    // cannot be checked while NATS is down.
    assert_eq!(down_body["error"]["code"], "session_store_unavailable");
    assert_eq!(stack.results().await, ids.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_complete_after_a_database_outage() {
    let stack = Stack::start(Backend::Postgres, &[]).await;
    let executions = ExecutionLog::default();
    let _worker = stack.worker(&[executions.setting()]).await;
    stack.db.block_connections().await;

    let ids = vec![
        submit_ok(&stack.app, "echo", json!({"n": 1})).await,
        submit_ok(&stack.app, "echo", json!({"n": 2})).await,
    ];
    for id in &ids {
        wait_for(&stack.statuses, id, JobState::Running).await;
    }
    stack.db.allow_connections().await;
    let mut done = Vec::new();
    for id in &ids {
        done.push(wait_for(&stack.statuses, id, JobState::Completed).await);
    }

    for (id, status) in ids.iter().zip(&done) {
        assert_eq!(executions.count(id), 1, "the outage did not run {id} again");
        assert_eq!(status.attempt, 1, "the outage used no attempt");
    }
    assert_eq!(stack.results().await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_jobs_and_requests() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let worker = stack.worker(&[]).await;
    let id = submit_ok(&stack.app, "echo", json!({})).await;
    wait_for(&stack.statuses, &id, JobState::Completed).await;

    let api = stack.app.get("/metrics").await.text().await.unwrap();
    let from_worker = reqwest::get(format!("http://{}/metrics", worker.metrics_addr.unwrap()))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();

    assert!(
        api.contains("hast_jobs_submitted_total{kind=\"echo\"}"),
        "{api}"
    );
    assert!(
        api.contains("hast_http_request_duration_seconds_bucket"),
        "{api}"
    );
    assert!(api.contains("route=\"/api/v1/jobs\""), "{api}");
    // Present, not a value: the registry is the test process's, and the APIs of the
    // tests running beside this one set the same gauges from their own queues.
    assert!(api.contains("hast_queue_depth{kind=\"echo\"} "), "{api}");
    assert!(api.contains("hast_dlq_depth "), "{api}");
    assert!(
        api.contains("hast_storage_max_bytes{stream=\"JOBS\"}"),
        "storage use against each store's limit: {api}"
    );
    assert!(
        from_worker.contains("hast_jobs_completed_total{kind=\"echo\"}"),
        "{from_worker}"
    );
    assert!(
        from_worker.contains("hast_job_duration_seconds_bucket"),
        "{from_worker}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_waits_for_running_jobs_and_a_second_signal_exits_at_once() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let env = [("SHUTDOWN_GRACE", "60s"), ("JOB_ACK_WAIT", "2s")];
    let mut patient = WorkerProcess::start(&stack.db.url, &stack.nats.url(), &env);
    let short = submit_ok(&stack.app, "echo", json!({"sleep_ms": 300})).await;
    wait_for(&stack.statuses, &short, JobState::Running).await;

    patient.signal("TERM");
    let done = wait_for(&stack.statuses, &short, JobState::Completed).await;
    let code = patient.exited().await;

    assert_eq!(
        done.attempt, 1,
        "the running job finished within the grace period"
    );
    assert_eq!(code, Some(0));

    let mut impatient = WorkerProcess::start(&stack.db.url, &stack.nats.url(), &env);
    let long = submit_ok(&stack.app, "echo", json!({"sleep_ms": 50000})).await;
    wait_for(&stack.statuses, &long, JobState::Running).await;
    impatient.signal("TERM");
    // Two signals sent back to back can merge into one at the OS level, so keep sending
    // until one arrives after the first was handled.
    let code = eventually("the worker to exit on a second signal", POLL, || {
        let status = impatient.exit_status();
        if status.is_none() {
            impatient.signal("TERM");
        }
        async move { status }
    })
    .await;

    assert_eq!(
        code,
        Some(130),
        "a second signal exits without waiting 60 s"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_handed_back_after_heartbeats_is_redelivered_at_once() {
    // ack_wait 30 s: heartbeats every 10 s. The job runs past its first heartbeat before
    // the grace period (12 s) ends; if the hand-back waited for ack_wait, the next worker
    // would not see it for ~28 s, longer than the test's wait.
    let slow = [("JOB_ACK_WAIT", "30s"), ("SHUTDOWN_GRACE", "12s")];
    let stack = Stack::start(Backend::Sqlite, &slow).await;
    let first = stack.worker(&slow).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 60000})).await;
    wait_for(&stack.statuses, &id, JobState::Running).await;

    first.stop().await;
    let _second = stack.worker(&slow).await;
    let again = wait_for(&stack.statuses, &id, JobState::Running).await;

    assert_eq!(again.attempt, 2);
}

/// Another process (a newer worker, an operator) shortens the consumer's `ack_wait`
/// after this worker started: the worker reads it back and heartbeats within it, so its
/// long job is delivered once. Without that, its heartbeats (every third of its own 6 s)
/// would come after the consumer's 1 s and the message would be delivered again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_heartbeats_within_an_ack_wait_another_process_shortened() {
    let stack = Stack::start(Backend::Sqlite, &[]).await;
    let executions = ExecutionLog::default();
    let worker = stack
        .worker(&[("JOB_ACK_WAIT", "6s"), executions.setting()])
        .await;
    let js = async_nats::jetstream::new(async_nats::connect(stack.nats.url()).await.unwrap());
    let stream = js.get_stream("JOBS").await.unwrap();
    let consumer: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer("worker-echo").await.unwrap();
    let mut config = consumer.cached_info().config.clone();
    assert_eq!(
        config.ack_wait,
        Duration::from_secs(6),
        "the worker owns it"
    );
    config.ack_wait = Duration::from_secs(1);
    js.create_consumer_on_stream(config, "JOBS").await.unwrap();

    let workers = js.get_key_value("workers").await.unwrap();
    eventually("the worker to read the new ack_wait", POLL, || async {
        hast_common::workers::live_workers(&workers)
            .await
            .ok()?
            .into_iter()
            .find(|w| w.id == worker.id && w.ack_wait_ms.get("echo") == Some(&1000))
    })
    .await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 4000})).await;
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;

    assert_eq!(done.attempt, 1);
    assert_eq!(executions.counts().get(&id), Some(&1));
    let mut consumer: async_nats::jetstream::consumer::PullConsumer =
        stream.get_consumer("worker-echo").await.unwrap();
    assert_eq!(
        consumer.info().await.unwrap().delivered.consumer_sequence,
        1,
        "the job's message was delivered once"
    );
    worker.stop().await;
}

/// Direct gets are answered by any replica of a bucket, and a follower may not yet
/// have an entry its leader acknowledged (written a moment ago, or while the node
/// catches up after a restart). Here every direct get on the statuses, the sessions and
/// the idempotency keys answers as such a replica: the signed-in user stays signed in,
/// the job is found, a repeated submit is the same job, and a worker still runs it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_a_lagging_replica_lacks_is_still_found() {
    let lagging = ["KV_job_status", "KV_sessions", "KV_idempotency"];
    let nats = hast_tests::NatsServer::with_lagging_replicas(&lagging).await;
    let db = hast_tests::TestDatabase::sqlite();
    let settings = hast_tests::test_settings(&db.url, &nats.url(), FAST);
    let app = hast_tests::spawn_app(settings.clone()).await;
    let statuses = status_store(&nats.url()).await;
    let (code, job) = submit_with(&app, "echo", json!({"n": 1}), Some("key-1")).await;
    assert_eq!(code, 202, "the session is found: {job}");
    let id = job["id"].as_str().unwrap();
    assert!(
        statuses.bucket().entry(id).await.unwrap().is_none(),
        "the direct get answers as a replica without the status"
    );

    let (status, _) = statuses.get(id).await.expect("found on the leader");
    assert_eq!(status.status, JobState::Queued);
    assert!(matches!(
        statuses.get("01a00000-0000-7000-8000-000000000000").await,
        Err(hast_common::jobs::StatusError::NotFound)
    ));
    assert_eq!(app.get(&format!("/api/v1/jobs/{id}")).await.status(), 200);
    let (code, again) = submit_with(&app, "echo", json!({"n": 1}), Some("key-1")).await;
    assert_eq!((code, &again["id"]), (202, &job["id"]), "{again}");

    // A worker whose every read of a status may lag still runs the job.
    let worker = hast_tests::spawn_worker(settings).await;
    eventually("the job to complete", POLL, || async {
        let (status, _) = statuses.get(id).await.ok()?;
        (status.status == JobState::Completed).then_some(())
    })
    .await;
    worker.stop().await;
}
