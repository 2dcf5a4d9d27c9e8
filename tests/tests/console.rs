//! The operator's console (`hast-api workers|kinds|jobs|dlq`) against a real
//! nats-server, the real API and workers: each command line is parsed by the binary's
//! own parser and run by `hast_api::ops::run`, whose JSON lines the binary prints.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use clap::Parser;
use hast_api::cli::Cli;
use hast_api::ops::Output;
use hast_common::db::Backend;
use hast_common::jobs::JobState;
use hast_tests::jobs::{submit_ok, wait_for};
use hast_tests::{eventually, on_both_backends, TestStack, TestWorker};
use serde_json::{json, Value};

const POLL: Duration = Duration::from_millis(50);

struct Stack(TestStack);

hast_tests::wraps_test_stack!(Stack, 0);

impl Stack {
    /// nats-server, a database and the API (which creates the topology); no worker.
    async fn start(backend: Backend) -> Self {
        Self(
            TestStack::builder(backend)
                .shared(hast_tests::FAST_JOBS)
                .start()
                .await,
        )
    }

    async fn worker_with(&self, extra: &[(&str, &str)]) -> TestWorker {
        self.0.worker(extra).await
    }

    /// Runs `hast-api <args>`; its output, or its error as text.
    async fn try_console(&self, args: &[&str]) -> Result<Output, String> {
        let cli = Cli::try_parse_from(std::iter::once("hast-api").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let command = cli.command.ok_or("no command")?;
        let settings = self.worker_settings(&[]);
        Box::pin(hast_api::ops::run(&settings, command))
            .await
            .map_err(|e| format!("{e:#}"))
    }

    /// Runs `hast-api <args>`, which must succeed; its JSON lines.
    async fn console(&self, args: &[&str]) -> Vec<Value> {
        let output = self
            .try_console(args)
            .await
            .unwrap_or_else(|e| panic!("hast-api {}: {e}", args.join(" ")));
        assert_eq!(output.failures, 0, "{:?}", output.lines);
        output.lines
    }

    /// The `kinds list` line of `kind`.
    async fn queue(&self, kind: &str) -> Value {
        self.console(&["kinds", "list"])
            .await
            .into_iter()
            .find(|q| q["kind"] == kind)
            .unwrap()
    }

    /// Submits a job of a non-public kind through the console; its id.
    async fn submit_as_operator(&self, kind: &str) -> String {
        let lines = self.console(&["jobs", "submit", kind]).await;
        lines[0]["id"].as_str().unwrap().to_owned()
    }

    /// Proves the worker pulls while `kind` delivers nothing: a `health` job submitted
    /// after the `kind` jobs completes, the `kind` consumer has a waiting pull request
    /// from the worker, and it has never delivered a message.
    async fn assert_held_back(&self, kind: &str) -> async_nats::jetstream::consumer::Info {
        let barrier = self.submit_as_operator("health").await;
        wait_for(&self.statuses, &barrier, JobState::Completed).await;
        let client = async_nats::connect(self.nats.url()).await.unwrap();
        let stream = async_nats::jetstream::new(client)
            .get_stream("JOBS")
            .await
            .unwrap();
        let consumer = format!("worker-{kind}");
        let info = eventually(
            "a worker's pull request waits on the paused consumer",
            POLL,
            || {
                let stream = stream.clone();
                let consumer = consumer.clone();
                async move {
                    let info = stream.consumer_info(consumer).await.unwrap();
                    (info.num_waiting > 0).then_some(info)
                }
            },
        )
        .await;
        assert!(info.paused, "{info:?}");
        assert_eq!(info.delivered.stream_sequence, 0, "nothing was delivered");
        assert_eq!(info.num_ack_pending, 0);
        info
    }
}

fn ids(lines: &[Value], field: &str) -> Vec<String> {
    lines
        .iter()
        .map(|l| l[field].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pausing_a_kind_holds_its_jobs_and_resuming_runs_them() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[]).await;

    let paused = stack.console(&["kinds", "pause", "echo"]).await;
    assert_eq!(paused[0]["paused"], true, "{paused:?}");
    assert_eq!(paused[0]["workers"], 1, "{paused:?}");
    let id = submit_ok(&stack.app, "echo", json!({})).await;
    stack.assert_held_back("echo").await;
    let (status, _) = stack.statuses.get(&id).await.unwrap();
    assert_eq!(status.status, JobState::Queued);
    let queue = stack.queue("echo").await;
    assert_eq!(
        (queue["paused"].clone(), queue["pending"].clone()),
        (json!(true), json!(1))
    );

    let resumed = stack.console(&["kinds", "resume", "echo"]).await;
    assert_eq!(resumed[0]["paused"], false, "{resumed:?}");
    wait_for(&stack.statuses, &id, JobState::Completed).await;
    // Resuming a kind that is not paused changes nothing.
    let again = stack.console(&["kinds", "resume", "thumbnail"]).await;
    assert_eq!(again[0]["paused"], false, "{again:?}");
    // A pause that ends by itself, and one in the past, refused.
    let until = stack
        .console(&["kinds", "pause", "chat", "--until", "1h"])
        .await;
    let ends: chrono::DateTime<chrono::Utc> =
        serde_json::from_value(until[0]["pause_until"].clone()).unwrap();
    assert!(
        ends > chrono::Utc::now() + chrono::Duration::minutes(59),
        "{until:?}"
    );
    let past = stack
        .try_console(&["kinds", "pause", "chat", "--until", "2020-01-01T00:00:00Z"])
        .await
        .unwrap_err();
    assert!(past.contains("not in the future"), "{past}");
    let unknown = stack
        .try_console(&["kinds", "pause", "nope"])
        .await
        .unwrap_err();
    assert!(unknown.contains("unknown job kind"), "{unknown}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_starting_keeps_a_kind_paused() {
    let stack = Stack::start(Backend::Sqlite).await;
    let paused = stack
        .console(&["kinds", "pause", "echo", "--until", "2h"])
        .await;
    let until = paused[0]["pause_until"].clone();

    // The worker's start updates every consumer to its own settings (here a longer
    // ack_wait than the API created them with).
    let _worker = stack.worker_with(&[("JOB_ACK_WAIT", "3s")]).await;
    let id = submit_ok(&stack.app, "echo", json!({})).await;
    let info = stack.assert_held_back("echo").await;
    assert_eq!(
        info.config.ack_wait,
        Duration::from_secs(3),
        "the worker updated it"
    );
    let queue = stack.queue("echo").await;
    assert_eq!(queue["paused"], true, "{queue}");
    assert_eq!(queue["pause_until"], until, "{queue}");

    stack.console(&["kinds", "resume", "echo"]).await;
    wait_for(&stack.statuses, &id, JobState::Completed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bulk_replay_replays_exactly_the_matching_dead_letters() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[]).await;
    let mut failed = Vec::new();
    for payload in [
        json!({"fail_unless_replayed": true}),
        json!({"fail_unless_replayed": true}),
        json!({"panic": true}),
    ] {
        let id = submit_ok(&stack.app, "echo", payload).await;
        wait_for(&stack.statuses, &id, JobState::Failed).await;
        failed.push(id);
    }
    let after_all = chrono::Utc::now().to_rfc3339();
    let letters = stack.console(&["dlq", "list"]).await;
    assert_eq!(ids(&letters, "job_id"), failed);

    // Nothing named, nothing replayed.
    let unnamed = stack.try_console(&["dlq", "replay"]).await.unwrap_err();
    assert!(unnamed.contains("--all"), "{unnamed}");
    let dry = stack
        .console(&[
            "dlq",
            "replay",
            "--kind",
            "echo",
            "--code",
            "echo_failed",
            "--dry-run",
        ])
        .await;
    assert_eq!(ids(&dry, "job_id"), failed[..2]);
    assert_eq!(
        stack.console(&["dlq", "list"]).await.len(),
        3,
        "a dry run replays nothing"
    );
    let none = stack
        .console(&["dlq", "replay", "--code", "panicked", "--since", &after_all])
        .await;
    assert!(none.is_empty(), "{none:?}");

    let replayed = stack
        .console(&[
            "dlq",
            "replay",
            "--kind",
            "echo",
            "--code",
            "echo_failed",
            "--since",
            "1h",
        ])
        .await;
    assert_eq!(ids(&replayed, "job_id"), failed[..2]);
    for (line, original) in replayed.iter().zip(&failed) {
        let new = line["job"]["id"].as_str().unwrap();
        let done = wait_for(&stack.statuses, new, JobState::Completed).await;
        assert_eq!(done.replay_of.as_deref(), Some(original.as_str()));
    }
    let left = stack.console(&["dlq", "list"]).await;
    assert_eq!(
        ids(&left, "job_id"),
        failed[2..],
        "only the panicked letter is left"
    );

    // Delete the last one.
    let sequence = left[0]["sequence"].as_u64().unwrap().to_string();
    let deleted = stack.console(&["dlq", "delete", &sequence]).await;
    assert_eq!(deleted[0]["deleted"].to_string(), sequence);
    assert!(stack.console(&["dlq", "list"]).await.is_empty());
    let again = stack
        .try_console(&["dlq", "delete", &sequence])
        .await
        .unwrap_err();
    assert!(again.contains("no dead letter"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_cancels_and_retries_another_users_jobs() {
    let stack = Stack::start(Backend::Sqlite).await;
    let _worker = stack.worker(&[]).await;
    let owner = stack.app.user.id.clone();

    // A failed job is retried from its dead letter.
    let failed = submit_ok(&stack.app, "echo", json!({"fail_unless_replayed": true})).await;
    wait_for(&stack.statuses, &failed, JobState::Failed).await;
    let retried = stack.console(&["jobs", "retry", &failed]).await;
    let new = retried[0]["id"].as_str().unwrap().to_owned();
    let done = wait_for(&stack.statuses, &new, JobState::Completed).await;
    assert_eq!(done.replay_of.as_deref(), Some(failed.as_str()));
    assert_eq!(
        done.owner_id.as_deref(),
        Some(owner.as_str()),
        "the owner keeps the job"
    );
    assert!(
        stack.console(&["dlq", "list"]).await.is_empty(),
        "its letter is used up"
    );

    // A completed job only with --force; an unfinished one not at all.
    let refused = stack
        .try_console(&["jobs", "retry", &new])
        .await
        .unwrap_err();
    assert!(refused.contains("--force"), "{refused}");
    stack.console(&["kinds", "pause", "echo"]).await;
    let queued = submit_ok(&stack.app, "echo", json!({"n": 1})).await;
    let refused = stack
        .try_console(&["jobs", "retry", &queued])
        .await
        .unwrap_err();
    assert!(refused.contains("is queued"), "{refused}");

    // Cancel it as an operator, then retry it from its message still in JOBS.
    let cancelled = stack.console(&["jobs", "cancel", &queued]).await;
    assert_eq!(cancelled[0]["status"], "cancelled", "{cancelled:?}");
    let again = stack
        .try_console(&["jobs", "cancel", &queued])
        .await
        .unwrap_err();
    assert!(again.contains("already cancelled"), "{again}");
    let retried = stack.console(&["jobs", "retry", &queued]).await;
    let rerun = retried[0]["id"].as_str().unwrap().to_owned();
    stack.console(&["kinds", "resume", "echo"]).await;
    let done = wait_for(&stack.statuses, &rerun, JobState::Completed).await;
    assert_eq!(done.replay_of.as_deref(), Some(queued.as_str()));
    assert_eq!(done.result, Some(json!({"n": 1})));
    let (original, _) = stack.statuses.get(&queued).await.unwrap();
    assert_eq!(
        original.status,
        JobState::Cancelled,
        "the original stays cancelled"
    );

    // Once a worker has dropped the cancelled message, nothing is left to run.
    eventually(
        "the cancelled job's message to leave JOBS",
        POLL,
        || async {
            let queued = stack
                .console(&["jobs", "list", "--state", "queued", "--kind", "echo"])
                .await;
            let client = async_nats::connect(stack.nats.url()).await.unwrap();
            let mut jobs = async_nats::jetstream::new(client)
                .get_stream("JOBS")
                .await
                .unwrap();
            (queued.is_empty() && jobs.info().await.unwrap().state.messages == 0).then_some(())
        },
    )
    .await;
    let gone = stack
        .try_console(&["jobs", "retry", &queued])
        .await
        .unwrap_err();
    assert!(gone.contains("no longer stored"), "{gone}");
    let missing = stack
        .try_console(&["jobs", "cancel", "no-such-job"])
        .await
        .unwrap_err();
    assert!(missing.contains("not found"), "{missing}");
}

async fn jobs_are_listed_by_state_and_kind(backend: Backend) {
    let stack = Stack::start(backend).await;
    let _worker = stack.worker(&[]).await;
    let mut completed = Vec::new();
    for n in 0..2 {
        let id = submit_ok(&stack.app, "echo", json!({"n": n})).await;
        wait_for(&stack.statuses, &id, JobState::Completed).await;
        completed.push(id);
    }
    let failed = submit_ok(&stack.app, "echo", json!({"fail": true})).await;
    wait_for(&stack.statuses, &failed, JobState::Failed).await;
    let health = stack.submit_as_operator("health").await;
    wait_for(&stack.statuses, &health, JobState::Completed).await;
    stack.console(&["kinds", "pause", "echo"]).await;
    let mut queued = Vec::new();
    for n in 0..3 {
        queued.push(submit_ok(&stack.app, "echo", json!({"n": n})).await);
    }

    let list = |state: &'static str, kind: Option<&'static str>, limit: Option<&'static str>| {
        let mut args = vec!["jobs", "list", "--state", state];
        args.extend(kind.iter().flat_map(|k| ["--kind", *k]));
        args.extend(limit.iter().flat_map(|l| ["--limit", *l]));
        let stack = &stack;
        async move { stack.console(&args).await }
    };
    // Unfinished jobs from the queue, oldest first.
    let listed = list("queued", Some("echo"), None).await;
    assert_eq!(ids(&listed, "id"), queued);
    assert!(listed.iter().all(|j| j["state"] == "queued"), "{listed:?}");
    assert_eq!(
        ids(&list("queued", Some("echo"), Some("2")).await, "id"),
        queued[..2]
    );
    assert!(list("queued", Some("health"), None).await.is_empty());
    assert!(list("running", Some("echo"), None).await.is_empty());
    // Finished jobs from job_results, newest first.
    let mut newest_first = completed.clone();
    newest_first.reverse();
    assert_eq!(
        ids(&list("completed", Some("echo"), None).await, "id"),
        newest_first
    );
    assert_eq!(
        ids(&list("completed", Some("health"), None).await, "id"),
        [health]
    );
    assert_eq!(list("completed", None, None).await.len(), 3);
    let failures = list("failed", Some("echo"), None).await;
    assert_eq!(ids(&failures, "id"), [failed]);
    assert_eq!(failures[0]["error"]["code"], "echo_failed", "{failures:?}");
    assert_eq!(failures[0]["owner_id"], stack.app.user.id.as_str());

    let cancelled = stack
        .try_console(&["jobs", "list", "--state", "cancelled"])
        .await
        .unwrap_err();
    assert!(cancelled.contains("not listable"), "{cancelled}");
    let unknown = stack
        .try_console(&["jobs", "list", "--state", "stuck"])
        .await
        .unwrap_err();
    assert!(unknown.contains("unknown state"), "{unknown}");
}

on_both_backends!(jobs_are_listed_by_state_and_kind);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn workers_show_the_jobs_they_are_running() {
    let stack = Stack::start(Backend::Sqlite).await;
    let worker = stack.worker(&[]).await;
    let id = submit_ok(&stack.app, "echo", json!({"sleep_ms": 60_000})).await;
    wait_for(&stack.statuses, &id, JobState::Running).await;

    let worker_id = worker.id.clone();
    let jobs = eventually("the heartbeat to list the running job", POLL, || async {
        let workers = stack.console(&["workers"]).await;
        let mine = workers
            .into_iter()
            .find(|w| w["id"] == worker_id.as_str())?;
        (mine["jobs"].as_array()?.len() == 1).then(|| mine["jobs"].clone())
    })
    .await;
    assert_eq!(jobs[0]["id"], id.as_str(), "{jobs}");
    assert_eq!(jobs[0]["kind"], "echo", "{jobs}");

    // Cancelled by an operator, it leaves the worker at its next heartbeat.
    stack.console(&["jobs", "cancel", &id]).await;
    eventually("the heartbeat to list no job", POLL, || async {
        let workers = stack.console(&["workers"]).await;
        let mine = workers
            .into_iter()
            .find(|w| w["id"] == worker_id.as_str())?;
        mine["jobs"].as_array()?.is_empty().then_some(())
    })
    .await;
}
