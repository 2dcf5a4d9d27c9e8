//! The worker skeleton: it announces itself in the `workers` bucket, serves `/healthz`
//! on its metrics port, and removes its heartbeat when it stops cleanly.
#![allow(clippy::unwrap_used)]

use hast_common::workers::live_workers;
use hast_tests::{spawn_worker, test_settings, NatsServer, TestDatabase};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_heartbeats_and_deregisters_on_graceful_shutdown() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let settings = test_settings(&db.url, &nats.url(), &[]);
    let a = spawn_worker(settings.clone()).await;
    let b = spawn_worker(settings).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let bucket = async_nats::jetstream::new(client)
        .get_key_value("workers")
        .await
        .unwrap();

    let live = live_workers(&bucket).await.unwrap();
    let healthz = reqwest::get(format!("http://{}/healthz", a.metrics_addr.unwrap()))
        .await
        .unwrap();

    assert_eq!(live.len(), 2);
    let mine = live
        .iter()
        .find(|w| w.id == a.id)
        .expect("worker a is listed");
    assert_eq!(mine.pid, std::process::id());
    assert!(mine.kinds.iter().any(|k| k == "echo"));
    assert_eq!(mine.in_flight, 0);
    assert_eq!(healthz.status(), 200);

    a.stop().await;

    let after: Vec<String> = live_workers(&bucket)
        .await
        .unwrap()
        .into_iter()
        .map(|w| w.id)
        .collect();
    assert_eq!(
        after,
        vec![b.id.clone()],
        "a stopped worker removes its heartbeat"
    );
    b.stop().await;
}
