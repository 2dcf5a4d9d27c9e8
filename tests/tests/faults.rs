//! Faults at the edges of the job platform: a status store that refuses writes, a dead
//! letter that cannot be stored, a submission whose publish is never acknowledged, a
//! database lock held by someone else, malformed messages. Each test fails without the
//! fix it names; executions are counted by the `echo` handler's log, not by rows.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use async_nats::jetstream;
use hast_common::db::Backend;
use hast_common::jobs::{dlq, JobState};
use hast_common::nats::bootstrap::{bootstrap, TopologyConfig};
use hast_tests::jobs::{history, submit_ok, submit_with, wait_for};
use hast_tests::{eventually, spawn_worker, test_settings, ExecutionLog, TestStack, TestWorker};
use serde_json::json;

const POLL: Duration = Duration::from_millis(50);

/// The shared fast job settings and a 3 s submit budget.
fn fast() -> Vec<(&'static str, &'static str)> {
    [hast_tests::FAST_JOBS, &[("JOB_SUBMIT_TIMEOUT", "3s")]].concat()
}

struct Stack {
    base: TestStack,
    executions: ExecutionLog,
}

hast_tests::wraps_test_stack!(Stack, base);

impl Stack {
    async fn start(backend: Backend) -> Self {
        Self {
            base: TestStack::builder(backend).shared(&fast()).start().await,
            executions: ExecutionLog::default(),
        }
    }

    /// A worker that logs its echo executions to the stack's log.
    async fn worker(&self, extra: &[(&str, &str)]) -> TestWorker {
        let settings: Vec<_> = std::iter::once(self.executions.setting())
            .chain(extra.iter().copied())
            .collect();
        self.base.worker(&settings).await
    }

    /// Changes a stream's configuration (an operator's or an outage's doing).
    async fn alter_stream(&self, name: &str, change: impl FnOnce(&mut jetstream::stream::Config)) {
        let mut stream = self.js.get_stream(name).await.unwrap();
        let mut config = stream.info().await.unwrap().config.clone();
        change(&mut config);
        self.js.update_stream(config).await.unwrap();
    }

    /// The job ids of the test user's jobs, from the status bucket.
    async fn user_jobs(&self) -> Vec<hast_common::jobs::JobStatus> {
        self.statuses
            .owned_by(&self.app.user.id)
            .await
            .unwrap()
            .into_iter()
            .map(|(_, s)| s)
            .collect()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_store_refusing_writes_for_longer_than_the_old_budget_costs_no_attempt() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[]).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 500})).await;
    wait_for(&stack.statuses, &id, JobState::Running).await;

    // The status bucket refuses every write: full, as far as JetStream is concerned.
    let mut bucket = stack.js.get_stream("KV_job_status").await.unwrap();
    let used = bucket.info().await.unwrap().state.bytes;
    let limit = bucket.info().await.unwrap().config.max_bytes;
    stack
        .alter_stream("KV_job_status", |c| c.max_bytes = used as i64)
        .await;
    // Before the fix every failed write was a Nak and a delivery a second later: five
    // attempts were gone in about five seconds. The fault lasts longer than that, and
    // three times JOB_ACK_WAIT. (The worker's retry counters are process-wide, shared
    // with the other tests of this binary: no event of this job's to await.)
    tokio::time::sleep(Duration::from_secs(6)).await;
    stack
        .alter_stream("KV_job_status", |c| c.max_bytes = limit)
        .await;
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;
    let revisions = history(&stack.nats.url(), &id).await;

    assert_eq!(done.attempt, 1, "no attempt used");
    assert_eq!(stack.executions.count(&id), 1, "the handler ran once");
    assert!(
        revisions.iter().all(|s| s.status != JobState::Retrying),
        "never retried: {revisions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_job_is_terminated_before_its_dead_letter_is_stored() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[("JOB_INFRA_RETRY_BUDGET", "1s")]).await;
    // Dead letters cannot be stored: their stream is gone.
    stack.js.delete_stream("JOBS_DLQ").await.unwrap();
    let id = submit_ok(&stack.app, "echo", json!({"fail": true})).await;

    // The failure is stored, then the letter is retried for its 1 s budget and the
    // message handed back; the fault lasts three times the budget.
    let db = stack.db.connect().await;
    eventually("the failure to be stored", POLL, || async {
        db.find_job_result(&id).await.unwrap()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let while_down = stack.statuses.get(&id).await.unwrap().0;
    let mut jobs = stack.js.get_stream("JOBS").await.unwrap();
    let queued = jobs.info().await.unwrap().state.messages;
    // The stream comes back (any process's bootstrap recreates it).
    let settings = test_settings(&stack.db.url, &stack.nats.url(), &fast());
    bootstrap(
        async_nats::connect(stack.nats.url()).await.unwrap(),
        &TopologyConfig::from_settings(&settings, &hast_common::jobs::Kind::names()),
    )
    .await
    .unwrap();
    let failed = wait_for(&stack.statuses, &id, JobState::Failed).await;
    let letters = dlq::list(&stack.js, 10).await.unwrap();

    assert_eq!(
        while_down.status,
        JobState::Running,
        "not failed without its letter"
    );
    assert_eq!(queued, 1, "the message is kept, not terminated");
    assert_eq!(failed.error.unwrap().code, "echo_failed");
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].job_id, id);
    assert_eq!(
        stack.executions.count(&id),
        1,
        "resumed from the stored failure"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_messages_each_get_their_own_dead_letter() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[]).await;

    for body in ["not json", "{\"also\": \"not a job\"}", "[]"] {
        stack
            .js
            .publish("jobs.echo", body.into())
            .await
            .unwrap()
            .await
            .unwrap();
    }
    let letters = eventually("three dead letters", POLL, || async {
        let letters = dlq::list(&stack.js, 10).await.unwrap();
        (letters.len() >= 3).then_some(letters)
    })
    .await;

    assert_eq!(letters.len(), 3, "none dropped as a duplicate");
    assert!(letters.iter().all(|l| l.error_code == "malformed_message"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_repeat_that_cannot_publish_leaves_the_accepted_job_and_its_key_alone() {
    let stack = Stack::start(Backend::Sqlite).await;
    let (first, original) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("k-1")).await;
    let id = original["id"].as_str().unwrap().to_owned();
    // JOBS stops taking messages.
    stack.alter_stream("JOBS", |c| c.sealed = true).await;

    let (repeat, body) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("k-1")).await;
    let (again, _) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("k-1")).await;
    let jobs = stack.user_jobs().await;

    assert_eq!(first, 202);
    assert_eq!((repeat, again), (503, 503), "{body}");
    assert_eq!(jobs.len(), 1, "the key still names the first job: {jobs:?}");
    assert_eq!(jobs[0].id, id);
    assert_eq!(
        jobs[0].status,
        JobState::Queued,
        "an accepted job is never failed by a repeat"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unacknowledged_submission_is_failed_and_only_its_own_key_released() {
    let stack = Stack::start(Backend::Sqlite).await;
    stack.alter_stream("JOBS", |c| c.sealed = true).await;

    let (first, body) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("k-2")).await;
    let (retry, _) = submit_with(&stack.app, "echo", json!({"n": 1}), Some("k-2")).await;
    let jobs = stack.user_jobs().await;

    assert_eq!((first, retry), (503, 503), "{body}");
    assert_eq!(body["error"]["code"], "queue_unavailable");
    assert_eq!(
        jobs.len(),
        2,
        "the key was released for the retry: {jobs:?}"
    );
    for job in &jobs {
        assert_eq!(job.status, JobState::Failed, "nothing looks accepted");
        assert_eq!(job.error.as_ref().unwrap().code, "submit_failed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_result_waiting_on_a_locked_table_keeps_its_job_alive() {
    let stack = Stack::start(Backend::Postgres).await;
    let _worker = stack.worker(&[]).await;
    // Someone else holds job_results in an open transaction.
    let lock = stack
        .db
        .hold_lock("LOCK TABLE job_results IN ACCESS EXCLUSIVE MODE")
        .await;
    let id = submit_ok(&stack.app, "echo", json!({"n": 1})).await;
    wait_for(&stack.statuses, &id, JobState::Running).await;
    // The result waits on the lock for longer than JOB_ACK_WAIT (2 s): only heartbeats
    // sent while it waits keep the message from going to another delivery.
    eventually("the result writer to wait", POLL, || async {
        (stack.db.waiting_on_locks().await > 0).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    drop(lock);
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;

    assert_eq!(done.attempt, 1);
    assert_eq!(
        stack.executions.count(&id),
        1,
        "never delivered again meanwhile"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_delivery_of_a_purged_job_is_dropped_not_revived() {
    let stack = Stack::start(Backend::Sqlite).await;
    // Queued with no worker, then purged (its analysis or account was deleted).
    let id = submit_ok(&stack.app, "echo", json!({"n": 1})).await;
    stack.statuses.purge(&id).await.unwrap();

    let _worker = stack.worker(&[]).await;
    eventually("the message to be dropped", POLL, || async {
        let mut jobs = stack.js.get_stream("JOBS").await.unwrap();
        (jobs.info().await.unwrap().state.messages == 0).then_some(())
    })
    .await;

    assert!(
        matches!(
            stack.statuses.get(&id).await,
            Err(hast_common::jobs::StatusError::NotFound)
        ),
        "the purged status stays gone"
    );
    assert_eq!(stack.executions.count(&id), 0, "never run");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replaying_a_dead_letter_whose_job_completed_needs_force() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[]).await;
    let id = submit_ok(&stack.app, "echo", json!({"n": 1})).await;
    wait_for(&stack.statuses, &id, JobState::Completed).await;
    // A dead letter for a job that completed after all (as an old release could leave).
    let envelope = json!({
        "id": id, "kind": "echo", "payload": {"n": 1},
        "created_at": chrono::Utc::now(), "replay_of": null,
    });
    let mut headers = async_nats::HeaderMap::new();
    headers.insert("Hast-Job-Id", id.as_str());
    headers.insert("Hast-Error-Code", "attempts_exhausted");
    stack
        .js
        .publish_with_headers("dlq.echo", headers, envelope.to_string().into())
        .await
        .unwrap()
        .await
        .unwrap();
    let letter = dlq::list(&stack.js, 10).await.unwrap()[0].sequence;
    let submitter = hast_common::jobs::Submitter::new(
        stack.js.clone(),
        stack.statuses.clone(),
        stack.js.get_key_value("idempotency").await.unwrap(),
        5,
    );

    let refused = dlq::replay(
        &stack.js,
        &submitter,
        letter,
        dlq::Replay::UnlessCompleted,
        false,
    )
    .await;
    let forced = dlq::replay(&stack.js, &submitter, letter, dlq::Replay::Force, false)
        .await
        .unwrap();
    let rerun = wait_for(&stack.statuses, &forced.status.id, JobState::Completed).await;

    assert!(
        matches!(refused, Err(dlq::DlqError::AlreadyCompleted { .. })),
        "{refused:?}"
    );
    assert_eq!(rerun.replay_of.as_deref(), Some(id.as_str()));
    assert_eq!(stack.executions.count(&id), 1);
    assert_eq!(
        stack.executions.count(&rerun.id),
        1,
        "forced: it runs again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_redelivered_while_its_worker_is_cut_off_is_not_run_twice() {
    let stack = Stack::start(Backend::Sqlite).await;
    // Worker A reaches NATS through a proxy that can cut it off; worker B directly.
    let proxy = hast_tests::PausableProxy::start(stack.nats.port).await;
    let mut settings = fast();
    settings.push(stack.executions.setting());
    let a = spawn_worker(test_settings(&stack.db.url, &proxy.url(), &settings)).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 6000})).await;
    eventually("A to take the job", POLL, || async {
        (stack.executions.count(&id) == 1).then_some(())
    })
    .await;
    let _b = stack.worker(&[]).await;

    // A is cut off for twice JOB_ACK_WAIT: its heartbeats do not arrive, so JetStream
    // delivers the job to B while A's run goes on.
    proxy.hold(true);
    tokio::time::sleep(Duration::from_secs(4)).await;
    proxy.hold(false);
    let done = wait_for(&stack.statuses, &id, JobState::Completed).await;

    assert_eq!(stack.executions.count(&id), 1, "the handler ran once");
    assert_eq!(done.attempt, 1, "the redelivery used no attempt");
    assert_eq!(done.worker_id.as_deref(), Some(a.id.as_str()));
}
