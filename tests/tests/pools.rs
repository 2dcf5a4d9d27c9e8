//! Worker pools per kind (`WORKER_KINDS`, `WORKER_CONCURRENCY`): a worker runs only
//! the kinds it is given, never more jobs of a kind at once than that kind's slots,
//! loads the palm model only when it runs analyses, and health names a kind no live
//! worker runs.
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;
use std::time::Duration;

use futures::StreamExt;
use hast_common::jobs::{JobState, JobStatus};
use hast_common::workers::{live_workers, WorkerHeartbeat};
use hast_tests::jobs::{history, status_store, submit_ok, wait_for};
use hast_tests::{
    eventually, memory_of, spawn_app, spawn_worker, test_settings, NatsServer, TestDatabase,
    WorkerProcess,
};
use serde_json::{json, Value};

const POLL: Duration = Duration::from_millis(50);

async fn bucket(nats_url: &str, name: &str) -> async_nats::jetstream::kv::Store {
    let client = async_nats::connect(nats_url).await.unwrap();
    async_nats::jetstream::new(client)
        .get_key_value(name)
        .await
        .unwrap()
}

/// Waits for the heartbeat of the worker process `pid`.
async fn heartbeat_of(nats_url: &str, pid: u32) -> WorkerHeartbeat {
    let workers = bucket(nats_url, "workers").await;
    eventually("the worker's heartbeat", POLL, || async {
        live_workers(&workers)
            .await
            .ok()?
            .into_iter()
            .find(|w| w.pid == pid)
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_given_only_echo_never_takes_an_analysis_job_nor_loads_the_model() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let statuses = status_store(&nats.url()).await;
    let echo_only = WorkerProcess::start(&db.url, &nats.url(), &[("WORKER_KINDS", "echo")]);
    let analysis_only = WorkerProcess::start(&db.url, &nats.url(), &[("WORKER_KINDS", "analysis")]);
    let echo_beat = heartbeat_of(&nats.url(), echo_only.pid()).await;
    let analysis_beat = heartbeat_of(&nats.url(), analysis_only.pid()).await;
    assert_eq!(echo_beat.kinds, ["echo"]);
    assert_eq!(echo_beat.concurrency.keys().collect::<Vec<_>>(), ["echo"]);
    assert_eq!(analysis_beat.kinds, ["analysis"]);

    // Both idle and ready: the analysis worker holds the landmark model (about 50 MB
    // resident), the echo worker must not.
    let echo_rss = memory_of(echo_only.pid(), "VmRSS");
    let analysis_rss = memory_of(analysis_only.pid(), "VmRSS");
    assert!(
        echo_rss + 30 * 1024 * 1024 < analysis_rss,
        "idle: echo-only worker {} MB, analysis worker {} MB: the echo worker loaded the model",
        echo_rss >> 20,
        analysis_rss >> 20
    );

    let (_, analysis_job) = app.upload_palm(7).await;
    let echo_job = submit_ok(&app, "echo", json!({"n": 1})).await;
    let echo = wait_for(&statuses, &echo_job, JobState::Completed).await;
    wait_for(&statuses, &analysis_job, JobState::Completed).await;
    assert_eq!(echo.worker_id.as_deref(), Some(echo_beat.id.as_str()));
    // Every revision of the analysis job's status that names a worker names the
    // analysis worker: the echo worker never claimed it.
    let claims: Vec<String> = history(&nats.url(), &analysis_job)
        .await
        .into_iter()
        .filter_map(|s| s.worker_id)
        .collect();
    assert!(!claims.is_empty());
    assert!(
        claims.iter().all(|id| *id == analysis_beat.id),
        "{claims:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_never_runs_more_jobs_at_once_than_its_pool_has_slots() {
    const SLOTS: usize = 3;
    const JOBS: usize = 12;
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(
        &db.url,
        &nats.url(),
        &[("WORKER_KINDS", "echo"), ("WORKER_CONCURRENCY", "echo=3")],
    );
    let app = spawn_app(settings.clone()).await;
    let worker = spawn_worker(settings).await;
    let kv = bucket(&nats.url(), "job_status").await;
    let mut updates = kv.watch_all().await.unwrap();

    let mut ids = HashSet::new();
    for n in 0..JOBS {
        ids.insert(submit_ok(&app, "echo", json!({"n": n, "sleep_ms": 150})).await);
    }
    // Follow every status write in order: the jobs running at once never exceed the
    // pool, and the pool is used in full.
    let (mut running, mut completed, mut most) = (HashSet::new(), 0, 0);
    let follow = async {
        while completed < JOBS {
            let entry = updates.next().await.unwrap().unwrap();
            if !ids.contains(entry.key.as_str()) || entry.value.is_empty() {
                continue;
            }
            let status: JobStatus = serde_json::from_slice(&entry.value).unwrap();
            match status.status {
                JobState::Running => {
                    running.insert(status.id);
                }
                JobState::Completed => {
                    running.remove(&status.id);
                    completed += 1;
                }
                JobState::Queued => {}
                other => panic!("unexpected {other:?}"),
            }
            most = most.max(running.len());
        }
    };
    tokio::time::timeout(hast_tests::WAIT, follow)
        .await
        .expect("every job completes");
    assert_eq!(most, SLOTS);
    worker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_names_a_kind_that_no_live_worker_runs() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let app = spawn_app(settings.clone()).await;
    let rest = spawn_worker(test_settings(
        &db.url,
        &nats.url(),
        &[("WORKER_KINDS", "chat,echo,health,thumbnail")],
    ))
    .await;

    let response = app.get("/api/v1/health").await;
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["failing"], json!(["workers"]));
    let workers = &body["checks"]["workers"];
    assert_eq!(workers["missing"], json!(["analysis"]), "{body}");
    assert_eq!(workers["kinds"]["echo"], 1);
    assert_eq!(workers["kinds"]["analysis"], 0);
    assert!(workers["error"].as_str().unwrap().contains("analysis"));

    let analysis = spawn_worker(test_settings(
        &db.url,
        &nats.url(),
        &[("WORKER_KINDS", "analysis")],
    ))
    .await;
    let body = eventually("health to be ok", POLL, || async {
        let response = app.get("/api/v1/health").await;
        let ok = response.status().as_u16() == 200;
        let body: Value = response.json().await.ok()?;
        ok.then_some(body)
    })
    .await;
    assert_eq!(body["checks"]["workers"]["missing"], json!([]));
    assert_eq!(body["checks"]["workers"]["count"], 2);
    analysis.stop().await;
    rest.stop().await;
}
