//! The JetStream topology: created idempotently, reconciled on change, and visible to
//! operators through the monitoring endpoint.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use hast_common::jobs::Kind;
use hast_common::nats::bootstrap::{bootstrap, ConsumerOwnership, TopologyConfig};
use hast_common::nats::names::{consumer_name, JOBS_STREAM};
use hast_tests::{test_settings, NatsServer};

fn config(ack_wait: Duration) -> TopologyConfig {
    TopologyConfig {
        replicas: 1,
        ack_wait,
        max_attempts: 5,
        max_ack_pending: 100,
        session_ttl: Duration::from_secs(3600),
        kinds: Kind::names().iter().map(|k| (*k).to_owned()).collect(),
        consumers: ConsumerOwnership::Reconcile,
        storage_budget: 1024 * 1024 * 1024,
        status_retention: Duration::from_secs(7 * 24 * 3600),
        dlq_retention: Duration::from_secs(30 * 24 * 3600),
    }
}

#[tokio::test]
async fn bootstrap_twice_is_idempotent_and_reconciles_a_changed_setting() {
    let nats = NatsServer::start();
    let client = async_nats::connect(nats.url()).await.unwrap();

    bootstrap(client.clone(), &config(Duration::from_secs(30)))
        .await
        .unwrap();
    bootstrap(client.clone(), &config(Duration::from_secs(30)))
        .await
        .unwrap();
    let topology = bootstrap(client.clone(), &config(Duration::from_secs(45)))
        .await
        .unwrap();

    let mut stream = topology.jetstream.get_stream(JOBS_STREAM).await.unwrap();
    let info = stream.consumer_info(consumer_name("echo")).await.unwrap();
    assert_eq!(
        info.config.ack_wait,
        Duration::from_secs(45),
        "ack_wait reconciled"
    );
    assert_eq!(
        info.config.max_deliver, 30,
        "a ceiling above the attempts the worker counts: 2 × 5 + 20"
    );
    assert_eq!(
        stream.info().await.unwrap().state.consumer_count,
        Kind::names().len()
    );
    let status = topology.job_status.status().await.unwrap();
    assert_eq!(status.history(), 10);
    // Every store has its share of the 1 GiB budget, and refuses new writes when full.
    for (name, share) in [
        ("JOBS", 100),
        ("KV_job_status", 120),
        ("KV_job_owners", 20),
        ("KV_sessions", 40),
        ("OBJ_images", 580),
    ] {
        let mut stream = topology.jetstream.get_stream(name).await.unwrap();
        let config = &stream.info().await.unwrap().config;
        assert_eq!(
            config.max_bytes,
            (1024 * 1024 * 1024 / 1000 * share) as i64,
            "{name}"
        );
        assert_eq!(
            config.discard,
            async_nats::jetstream::stream::DiscardPolicy::New,
            "{name}"
        );
    }
}

#[tokio::test]
async fn only_workers_change_an_existing_consumer() {
    let nats = NatsServer::start();
    let client = async_nats::connect(nats.url()).await.unwrap();
    let worker = config(Duration::from_secs(45));
    let api = config(Duration::from_secs(10)).without_consumer_updates();

    bootstrap(client.clone(), &worker).await.unwrap();
    let topology = bootstrap(client.clone(), &api).await.unwrap();

    let stream = topology.jetstream.get_stream(JOBS_STREAM).await.unwrap();
    let info = stream.consumer_info(consumer_name("echo")).await.unwrap();
    assert_eq!(
        info.config.ack_wait,
        Duration::from_secs(45),
        "the API leaves the workers' consumer as it is"
    );
}

#[tokio::test]
async fn the_api_creates_missing_consumers() {
    let nats = NatsServer::start();
    let client = async_nats::connect(nats.url()).await.unwrap();

    let topology = bootstrap(
        client.clone(),
        &config(Duration::from_secs(10)).without_consumer_updates(),
    )
    .await
    .unwrap();

    let mut stream = topology.jetstream.get_stream(JOBS_STREAM).await.unwrap();
    assert_eq!(
        stream.info().await.unwrap().state.consumer_count,
        Kind::names().len()
    );
}

#[tokio::test]
async fn the_monitoring_endpoint_shows_the_work_queue_and_its_consumers() {
    let nats = NatsServer::start();
    let client = async_nats::connect(nats.url()).await.unwrap();
    let settings = test_settings("sqlite://unused.db", &nats.url(), &[]);
    bootstrap(
        client,
        &TopologyConfig::from_settings(&settings, &Kind::names()),
    )
    .await
    .unwrap();

    let jsz: serde_json::Value = reqwest::get(format!(
        "{}/jsz?streams=true&consumers=true&config=true",
        nats.monitor_url()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();

    let streams = jsz["account_details"][0]["stream_detail"]
        .as_array()
        .unwrap();
    let jobs = streams
        .iter()
        .find(|s| s["name"] == JOBS_STREAM)
        .expect("JOBS stream");
    assert_eq!(jobs["config"]["retention"], "workqueue");
    assert_eq!(jobs["config"]["storage"], "file");
    let consumers: Vec<&str> = jobs["consumer_detail"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    for name in [
        "worker-analysis",
        "worker-chat",
        "worker-echo",
        "worker-health",
    ] {
        assert!(
            consumers.contains(&name),
            "{name} missing from {consumers:?}"
        );
    }
    assert!(streams.iter().any(|s| s["name"] == "JOBS_DLQ"));
    for bucket in [
        "KV_job_status",
        "KV_job_owners",
        "KV_sessions",
        "KV_workers",
        "KV_idempotency",
        "OBJ_images",
    ] {
        assert!(
            streams.iter().any(|s| s["name"] == bucket),
            "{bucket} missing"
        );
    }
}
