//! The reconciler: jobs stuck at `max_deliver` and unfinished jobs whose message is gone
//! are failed visibly, never left `running`, `retrying` or `queued` forever.
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use async_nats::jetstream::{self, AckKind};
use futures::StreamExt;
use hast_common::db::Backend;
use hast_common::jobs::{dlq, JobState, JobStatus, Kind};
use hast_common::nats::bootstrap::{consumer_config, TopologyConfig};
use hast_tests::jobs::{status_store, submit_ok, wait_for};
use hast_tests::{
    eventually, spawn_app, spawn_worker, test_settings, NatsServer, TestApp, TestDatabase,
};
use hast_worker::reconciler::{Reconciler, Report};
use serde_json::json;

const POLL: Duration = Duration::from_millis(50);

/// The shared fast job settings and a reconciler pass every 200 ms.
fn fast() -> Vec<(&'static str, &'static str)> {
    [hast_tests::FAST_JOBS, &[("RECONCILE_INTERVAL", "200ms")]].concat()
}

struct Stack {
    nats: NatsServer,
    db: TestDatabase,
    app: TestApp,
    js: jetstream::Context,
}

impl Stack {
    async fn start() -> Self {
        Self::on(NatsServer::start()).await
    }

    async fn on(nats: NatsServer) -> Self {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let app = spawn_app(test_settings(&db.url, &nats.url(), &fast())).await;
        let js = jetstream::new(async_nats::connect(nats.url()).await.unwrap());
        Self { nats, db, app, js }
    }

    /// Lowers `worker-echo`'s `max_deliver` to one delivery, as an operator's mistake
    /// or a long outage would leave a job with no delivery left.
    async fn one_delivery_only(&self) {
        let settings = test_settings(&self.db.url, &self.nats.url(), &fast());
        let topology = TopologyConfig::from_settings(&settings, &Kind::names());
        let mut config = consumer_config(&topology, "echo");
        config.max_deliver = 1;
        self.js
            .create_consumer_on_stream(config, "JOBS")
            .await
            .unwrap();
    }

    async fn reconciler(&self, lost_after: Duration) -> Reconciler {
        let client = async_nats::connect(self.nats.url()).await.unwrap();
        let js = jetstream::new(client.clone());
        Reconciler {
            statuses: status_store(&self.nats.url()).await,
            leases: js.get_key_value("leases").await.unwrap(),
            jetstream: js,
            nats: client,
            db: self.db.connect().await,
            holder: "test".into(),
            interval: Duration::from_secs(1),
            lost_after,
            results_retention: Duration::from_secs(30 * 24 * 3600),
        }
    }

    async fn queue_depth(&self) -> u64 {
        let mut stream = self.js.get_stream("JOBS").await.unwrap();
        stream.info().await.unwrap().state.messages
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_stuck_at_max_deliver_is_failed_visibly_by_the_reconciler() {
    let stack = Stack::start().await;
    let _worker = spawn_worker(test_settings(&stack.db.url, &stack.nats.url(), &fast())).await;
    stack.one_delivery_only().await;
    let statuses = status_store(&stack.nats.url()).await;

    // The first attempt fails (transient): its retry needs a second delivery.
    let id = submit_ok(&stack.app, "echo", json!({"fail_times": 1})).await;
    let failed = wait_for(&statuses, &id, JobState::Failed).await;
    let letters = dlq::list(&stack.js, 10).await.unwrap();

    assert_eq!(failed.error.unwrap().code, "max_deliveries");
    assert_eq!(failed.attempt, 1);
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].job_id, id);
    assert_eq!(letters[0].error_code, "max_deliveries");
    assert_eq!(stack.queue_depth().await, 0, "the stuck message is removed");
    let row = stack.db.connect().await.find_job_result(&id).await.unwrap();
    assert_eq!(row.unwrap().outcome, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_finds_a_job_stranded_while_no_worker_listened() {
    let stack = Stack::start().await;
    stack.one_delivery_only().await;
    let statuses = status_store(&stack.nats.url()).await;
    let id = submit_ok(&stack.app, "echo", json!({"n": 1})).await;
    // A consumer that took the message and gave it back: its one delivery is used.
    let consumer: jetstream::consumer::PullConsumer = stack
        .js
        .get_stream("JOBS")
        .await
        .unwrap()
        .get_consumer("worker-echo")
        .await
        .unwrap();
    let mut batch = consumer.fetch().max_messages(1).messages().await.unwrap();
    let message = batch.next().await.unwrap().unwrap();
    message.double_ack_with(AckKind::Nak(None)).await.unwrap();
    // JetStream notices the used-up delivery when it next looks for a message to hand
    // out: ask again (nothing comes) until it has given the message up.
    eventually("JetStream to give the message up", POLL, || {
        let consumer = consumer.clone();
        async move {
            let mut again = consumer.fetch().max_messages(1).messages().await.ok()?;
            assert!(again.next().await.is_none(), "no second delivery");
            let info = consumer.clone().info().await.ok()?.clone();
            // Neither waiting for an ack nor for a delivery: given up.
            (info.num_ack_pending == 0 && info.num_pending == 0).then_some(())
        }
    })
    .await;

    let report = stack
        .reconciler(Duration::from_secs(600))
        .await
        .pass(false)
        .await;
    let status = statuses.get(&id).await.unwrap().0;

    assert_eq!(
        report,
        Report {
            stranded: 1,
            ..Report::default()
        }
    );
    assert_eq!(status.status, JobState::Failed);
    assert_eq!(status.error.unwrap().code, "max_deliveries");
    assert_eq!(dlq::list(&stack.js, 10).await.unwrap().len(), 1);
    assert_eq!(stack.queue_depth().await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unfinished_job_without_a_message_is_failed_as_lost() {
    // Every direct get of the queue and of the statuses answers as a replica that lags
    // far behind: a job is only judged lost on what the leaders hold.
    let stack =
        Stack::on(NatsServer::with_lagging_replicas(&["JOBS", "KV_job_status"]).await).await;
    let statuses = status_store(&stack.nats.url()).await;
    let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
    let old = |id: &str| {
        let mut status = JobStatus::queued(id.into(), "echo", 5, None);
        status.created_at = hour_ago;
        status.updated_at = hour_ago;
        status
    };
    // Lost: old, unfinished, no message.
    statuses.create(&old("lost-job")).await.unwrap();
    // Recent: may still be on its way.
    statuses
        .create(&JobStatus::queued("recent-job".into(), "echo", 5, None))
        .await
        .unwrap();
    // Old but still queued (no worker runs): its message is there.
    let waiting = submit_ok(&stack.app, "echo", json!({})).await;
    statuses
        .transition_any(&waiting, |s| s.updated_at = hour_ago)
        .await
        .unwrap();

    let report = stack
        .reconciler(Duration::from_secs(600))
        .await
        .pass(true)
        .await;
    let state = |id: &str| {
        let statuses = statuses.clone();
        let id = id.to_owned();
        async move { statuses.get(&id).await.unwrap().0 }
    };

    assert_eq!(
        report,
        Report {
            lost: 1,
            ..Report::default()
        }
    );
    let lost = state("lost-job").await;
    assert_eq!(lost.status, JobState::Failed);
    assert_eq!(lost.error.unwrap().code, "message_lost");
    assert_eq!(state("recent-job").await.status, JobState::Queued);
    assert_eq!(state(&waiting).await.status, JobState::Queued);
    let row = stack
        .db
        .connect()
        .await
        .find_job_result("lost-job")
        .await
        .unwrap();
    assert_eq!(row.unwrap().outcome, "failed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_worker_takes_the_reconciler_lease_when_its_holder_stops() {
    let stack = Stack::start().await;
    let settings = test_settings(&stack.db.url, &stack.nats.url(), &fast());
    let first = spawn_worker(settings.clone()).await;
    let second = spawn_worker(settings).await;
    let leases = stack.js.get_key_value("leases").await.unwrap();
    let holder = || {
        let leases = leases.clone();
        async move {
            let value = leases.get("reconciler").await.unwrap()?;
            Some(String::from_utf8(value.to_vec()).unwrap())
        }
    };

    let held_by = eventually("a worker to take the lease", POLL, holder).await;
    let (holding, other) = if held_by == first.id {
        (first, second)
    } else {
        (second, first)
    };
    let other_id = other.id.clone();
    holding.stop().await;
    let next = eventually("the other worker to take over", POLL, || async {
        holder().await.filter(|h| *h == other_id)
    })
    .await;

    assert_ne!(held_by, other_id, "the first holder kept it while it ran");
    assert_eq!(next, other_id);
    other.stop().await;
}
