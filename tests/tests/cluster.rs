//! Node loss on a real three-node JetStream cluster (`JOBS_REPLICAS=3`): the API and two
//! worker processes under a steady load of `echo` jobs while the node leading `JOBS`,
//! then the one leading `KV_job_status`, then the one leading the `worker-echo`
//! consumer is SIGKILLed and restarted. No accepted job may fail or stay unfinished,
//! each must run its handler exactly once (counted by the workers' execution logs, not
//! by rows), and at most 1 % of submissions may be refused.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hast_common::jobs::{JobState, StatusStore};
use hast_tests::{
    eventually_within, spawn_app, test_settings, NatsCluster, TestDatabase, WorkerProcess,
};
use serde_json::json;

/// Clients submitting at once.
const CLIENTS: usize = 8;
/// Pause between one client's submissions: ~100 jobs/s in all, so every fault lands in
/// the middle of the load.
const PACE: Duration = Duration::from_millis(80);
/// Most submissions in one run (a bound on the load, whatever the faults take).
const MAX_SUBMISSIONS: usize = 6_000;
/// How long a killed node stays down.
const DOWNTIME: Duration = Duration::from_secs(3);

/// What the clients saw.
#[derive(Default)]
struct Tally {
    accepted: Mutex<Vec<String>>,
    refused: AtomicUsize,
    /// The error codes of the refusals.
    refusals: Mutex<HashMap<String, usize>>,
    unexpected: Mutex<Vec<String>>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_accepted_job_fails_or_runs_twice_when_cluster_nodes_die() {
    let mut cluster = NatsCluster::start(3).await;
    let urls = cluster.urls();
    let db = TestDatabase::sqlite();
    let env = [
        ("JOBS_REPLICAS", "3"),
        ("JOB_ACK_WAIT", "5s"),
        ("RUST_LOG", "warn"),
    ];
    let app = spawn_app(test_settings(&db.url, &urls, &env)).await;
    let logs = tempfile::tempdir().unwrap();
    let workers: Vec<WorkerProcess> = (0..2)
        .map(|i| {
            let log = logs.path().join(format!("worker-{i}.log"));
            let mut worker_env = env.to_vec();
            let log = log.to_string_lossy().into_owned();
            worker_env.push(("ECHO_EXECUTION_LOG", &log));
            WorkerProcess::start(&db.url, &urls, &worker_env)
        })
        .collect();
    let tally = Arc::new(Tally::default());
    let stop = Arc::new(AtomicBool::new(false));
    let submitted = Arc::new(AtomicUsize::new(0));

    // Load: CLIENTS paced clients until the faults are over.
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            let (client, url) = (app.client.clone(), app.url("/api/v1/jobs"));
            let (tally, stop, submitted) = (tally.clone(), stop.clone(), submitted.clone());
            tokio::spawn(async move {
                let mut n = 0;
                while !stop.load(Ordering::Relaxed)
                    && submitted.fetch_add(1, Ordering::Relaxed) < MAX_SUBMISSIONS
                {
                    n += 1;
                    let body =
                        json!({"kind": "echo", "payload": {"client": c, "n": n, "sleep_ms": 20}});
                    match client.post(&url).json(&body).send().await {
                        Ok(r) if r.status() == 202 => {
                            let v: serde_json::Value = r.json().await.unwrap();
                            let id = v["id"].as_str().unwrap().to_owned();
                            tally.accepted.lock().unwrap().push(id);
                        }
                        Ok(r) if r.status() == 503 => {
                            tally.refused.fetch_add(1, Ordering::Relaxed);
                            let v: serde_json::Value = r.json().await.unwrap_or_default();
                            let code = v["error"]["code"].as_str().unwrap_or("?").to_owned();
                            *tally.refusals.lock().unwrap().entry(code).or_insert(0) += 1;
                        }
                        Ok(r) => {
                            let what =
                                format!("{}: {}", r.status(), r.text().await.unwrap_or_default());
                            tally.unexpected.lock().unwrap().push(what);
                        }
                        Err(e) => tally.unexpected.lock().unwrap().push(e.to_string()),
                    }
                    tokio::time::sleep(PACE).await;
                }
            })
        })
        .collect();

    // Faults: each leader in turn, once the load is flowing.
    let mut killed = Vec::new();
    for (stream, consumer) in [
        ("JOBS", None),
        ("KV_job_status", None),
        ("JOBS", Some("worker-echo")),
    ] {
        let before = tally.accepted.lock().unwrap().len();
        eventually_within(
            "the load to go on",
            Duration::from_secs(60),
            Duration::from_millis(50),
            || async { (tally.accepted.lock().unwrap().len() >= before + 300).then_some(()) },
        )
        .await;
        let leader = cluster.leader_of(stream, consumer).await;
        cluster.nodes[leader].stop();
        killed.push(format!(
            "{} (leader of {stream}{})",
            cluster.nodes[leader].name,
            consumer.map(|c| format!(" / {c}")).unwrap_or_default()
        ));
        tokio::time::sleep(DOWNTIME).await;
        cluster.nodes[leader].restart();
        cluster.wait_healthy().await;
    }
    // Some load after the last restart, then stop.
    let before = tally.accepted.lock().unwrap().len();
    eventually_within(
        "the load to go on after the last restart",
        Duration::from_secs(60),
        Duration::from_millis(50),
        || async { (tally.accepted.lock().unwrap().len() >= before + 200).then_some(()) },
    )
    .await;
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        client.await.unwrap();
    }

    let accepted = tally.accepted.lock().unwrap().clone();
    let refused = tally.refused.load(Ordering::Relaxed);
    let statuses = status_store(&urls).await;
    let finals = final_statuses(&statuses, &accepted).await;
    let executions = executions(logs.path());
    let rows = db.connect().await.count_job_results().await.unwrap();

    let total = accepted.len() + refused;
    let failed: Vec<String> = finals
        .iter()
        .filter(|(_, s)| s.status != JobState::Completed)
        .map(|(id, s)| format!("{id}: {:?} {:?} attempt {}", s.status, s.error, s.attempt))
        .collect();
    let never_ran: Vec<&String> = accepted
        .iter()
        .filter(|id| !executions.contains_key(*id))
        .collect();
    let ran_twice: Vec<(&String, &usize)> = executions.iter().filter(|(_, n)| **n > 1).collect();
    println!(
        "cluster run: killed {killed:?}; {total} submitted, {} accepted, {refused} refused \
         ({:.2} %: {:?}), {} completed, {} not completed, {} executed more than once, {rows} result rows",
        accepted.len(),
        100.0 * refused as f64 / total.max(1) as f64,
        tally.refusals.lock().unwrap(),
        finals.len() - failed.len(),
        failed.len(),
        ran_twice.len(),
    );
    assert!(
        tally.unexpected.lock().unwrap().is_empty(),
        "answers other than 202 and 503: {:?}",
        tally.unexpected.lock().unwrap()
    );
    assert!(
        failed.is_empty(),
        "accepted jobs that did not complete: {failed:?}"
    );
    assert!(
        never_ran.is_empty(),
        "completed without running: {never_ran:?}"
    );
    assert!(
        ran_twice.is_empty(),
        "jobs whose handler ran more than once: {ran_twice:?}"
    );
    assert_eq!(
        rows,
        accepted.len() as i64,
        "one result row per accepted job"
    );
    assert!(
        refused * 100 <= total,
        "{refused} of {total} submissions refused (more than 1 %)"
    );
    drop(workers);
}

/// A status store reaching any node of the cluster.
async fn status_store(urls: &str) -> StatusStore {
    let addrs = hast_common::nats::server_addrs(urls).unwrap();
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connect(addrs)
        .await
        .unwrap();
    let js = async_nats::jetstream::new(client);
    StatusStore::new(
        js.get_key_value("job_status").await.unwrap(),
        js.get_key_value("job_owners").await.unwrap(),
    )
}

/// Waits (up to three minutes) until every job's status is final; the final statuses.
/// Polled (a status read per unfinished job every half second): thousands of watches
/// would cost more than the jobs.
async fn final_statuses(
    statuses: &StatusStore,
    ids: &[String],
) -> Vec<(String, hast_common::jobs::JobStatus)> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(180);
    let mut done = HashMap::new();
    loop {
        let pending = ids.iter().filter(|id| !done.contains_key(*id));
        let reads =
            futures::future::join_all(pending.map(|id| async move {
                (id.clone(), statuses.get(id).await.ok().map(|(s, _)| s))
            }))
            .await;
        for (id, status) in reads {
            if let Some(status) = status.filter(|s| s.status.is_terminal()) {
                done.insert(id, status);
            }
        }
        if done.len() == ids.len() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            let mut unfinished = Vec::new();
            for id in ids.iter().filter(|id| !done.contains_key(*id)).take(10) {
                unfinished.push(format!("{id}: {:?}", statuses.get(id).await));
            }
            panic!(
                "{} of {} accepted jobs never reached a final status, e.g. {unfinished:#?}",
                ids.len() - done.len(),
                ids.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    ids.iter()
        .map(|id| (id.clone(), done[id].clone()))
        .collect()
}

/// Handler executions per job id, from the workers' `ECHO_EXECUTION_LOG` files.
fn executions(folder: &std::path::Path) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        for line in text.lines() {
            if let Some(id) = line.split_whitespace().next() {
                *counts.entry(id.to_owned()).or_insert(0) += 1;
            }
        }
    }
    counts
}
