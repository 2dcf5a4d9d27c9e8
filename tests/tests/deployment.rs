//! The deployment's defaults (issue #15, M6): NATS with one user per service and
//! subject permissions (`nats/auth.conf`, included by the compose and cluster configs),
//! against a real nats-server started from those files.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::Duration;

use hast_common::jobs::JobState;
use hast_tests::{
    jobs, nats_server_bin, spawn_app, spawn_worker, test_settings, NatsServer, TestDatabase,
};

const PASSWORDS: &[(&str, &str)] = &[
    ("NATS_API_PASSWORD", "api-password-0123456789"),
    ("NATS_WORKER_PASSWORD", "worker-password-0123456789"),
    ("NATS_OPERATOR_PASSWORD", "operator-password-0123456789"),
];

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn password(variable: &str) -> &'static str {
    PASSWORDS.iter().find(|(v, _)| *v == variable).unwrap().1
}

/// `nats://user:password@127.0.0.1:<port>`: what compose passes in `NATS_URL`.
fn url(nats: &NatsServer, user: &str, variable: &str) -> String {
    format!(
        "nats://{user}:{}@127.0.0.1:{}",
        password(variable),
        nats.port
    )
}

async fn connect_as(nats: &NatsServer, user: &str, variable: &str) -> async_nats::Client {
    async_nats::ConnectOptions::with_user_and_password(user.into(), password(variable).into())
        .request_timeout(Some(Duration::from_secs(2)))
        .connect(nats.url())
        .await
        .expect("connects")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_and_the_worker_run_as_their_own_nats_users() {
    // nats-server includes relative to the including file, as compose mounts them.
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo().join("nats/auth.conf"),
        folder.path().join("auth.conf"),
    )
    .unwrap();
    let config = folder.path().join("nats.conf");
    std::fs::write(&config, "include ./auth.conf\n").unwrap();
    let nats = NatsServer::start_with_config(&config, PASSWORDS);

    // No credentials, or a wrong password: refused.
    assert!(async_nats::connect(nats.url()).await.is_err());
    assert!(
        async_nats::ConnectOptions::with_user_and_password("api".into(), "wrong".into())
            .connect(nats.url())
            .await
            .is_err()
    );

    // The whole flow with the services' users: the API stores the photo and queues
    // the job, the worker reads it and stores the reading.
    let db = TestDatabase::sqlite();
    let api_url = url(&nats, "api", "NATS_API_PASSWORD");
    let worker_url = url(&nats, "worker", "NATS_WORKER_PASSWORD");
    let app = spawn_app(test_settings(&db.url, &api_url, &[])).await;
    let worker = spawn_worker(test_settings(&db.url, &worker_url, &[])).await;
    let (analysis, job) = app.upload_palm(7).await;
    let operator = connect_as(&nats, "operator", "NATS_OPERATOR_PASSWORD").await;
    let js = async_nats::jetstream::new(operator);
    let statuses = hast_common::jobs::StatusStore::new(
        js.get_key_value("job_status").await.unwrap(),
        js.get_key_value("job_owners").await.unwrap(),
    );
    jobs::wait_for(&statuses, &job, JobState::Completed).await;
    let reading = app
        .get(&format!("/api/v1/analyses/{analysis}"))
        .await
        .json::<serde_json::Value>()
        .await
        .unwrap();
    assert_eq!(reading["analysis"]["status"], "completed", "{reading}");

    // The API's user may not take jobs (the architecture invariant, enforced by NATS).
    let api = connect_as(&nats, "api", "NATS_API_PASSWORD").await;
    let pull = api
        .request(
            "$JS.API.CONSUMER.MSG.NEXT.JOBS.worker-echo",
            r#"{"batch":1,"no_wait":true}"#.into(),
        )
        .await;
    assert!(pull.is_err(), "the API pulled a job: {pull:?}");
    // Nor may it write dead letters.
    let js_api = async_nats::jetstream::new(api);
    let dead_letter = js_api.publish("dlq.echo", "{}".into()).await;
    assert!(
        match dead_letter {
            Ok(ack) => ack.await.is_err(),
            Err(_) => true,
        },
        "the API wrote a dead letter"
    );

    // The operator's console runs as the operator user: consumer pause, direct gets on
    // JOBS, reads of JOBS_DLQ, heartbeats.
    use hast_api::cli::{Command, DlqCommand, JobsCommand, KindsCommand};
    let console = test_settings(
        &db.url,
        &url(&nats, "operator", "NATS_OPERATOR_PASSWORD"),
        &[],
    );
    for command in [
        Command::Kinds(KindsCommand::Pause {
            kind: "echo".into(),
            until: Some("1h".into()),
        }),
        Command::Kinds(KindsCommand::List),
        Command::Jobs(JobsCommand::List {
            state: "queued".into(),
            kind: None,
            limit: 10,
        }),
        Command::Dlq(DlqCommand::List { limit: 10 }),
        Command::Kinds(KindsCommand::Resume {
            kind: "echo".into(),
        }),
        Command::Workers,
    ] {
        let what = format!("{command:?}");
        Box::pin(hast_api::ops::run(&console, command))
            .await
            .unwrap_or_else(|e| panic!("{what} as the operator: {e:#}"));
    }
    worker.stop().await;
    app.stop().await;
}

/// The compose and cluster configurations parse (`nats-server -t`) with the passwords
/// compose passes, and refuse to start without them.
#[test]
fn the_deployment_configs_parse_and_need_their_passwords() {
    let routes = [
        ("NATS_ROUTE_PASSWORD", "route-password"),
        (
            "NATS_ROUTE_1",
            "nats-route://route:route-password@nats-1:6222",
        ),
        (
            "NATS_ROUTE_2",
            "nats-route://route:route-password@nats-2:6222",
        ),
        (
            "NATS_ROUTE_3",
            "nats-route://route:route-password@nats-3:6222",
        ),
    ];
    // Laid out as compose mounts them: the config and auth.conf in /etc/nats/.
    let layout = |files: &[(&str, &str)]| {
        let folder = tempfile::tempdir().unwrap();
        for (from, to) in files {
            std::fs::copy(repo().join(from), folder.path().join(to)).unwrap();
        }
        std::fs::copy(
            repo().join("nats/auth.conf"),
            folder.path().join("auth.conf"),
        )
        .unwrap();
        folder
    };
    let single = layout(&[("nats/compose.conf", "nats.conf")]);
    let cluster = layout(&[
        ("nats/cluster/cluster.conf", "cluster.conf"),
        ("nats/cluster/nats-1.conf", "nats-1.conf"),
        ("nats/cluster/nats-2.conf", "nats-2.conf"),
        ("nats/cluster/nats-3.conf", "nats-3.conf"),
    ]);
    let check = |config: PathBuf, env: &[(&str, &str)]| {
        std::process::Command::new(nats_server_bin())
            .arg("-t")
            .arg("-c")
            .arg(&config)
            .env_clear()
            .envs(env.iter().copied())
            .output()
            .expect("nats-server runs")
    };
    let all: Vec<(&str, &str)> = PASSWORDS.iter().chain(routes.iter()).copied().collect();
    for config in [
        single.path().join("nats.conf"),
        cluster.path().join("nats-1.conf"),
        cluster.path().join("nats-2.conf"),
        cluster.path().join("nats-3.conf"),
    ] {
        let output = check(config.clone(), &all);
        assert!(
            output.status.success(),
            "{}: {}",
            config.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        let output = check(config.clone(), &[]);
        assert!(
            !output.status.success(),
            "{} starts without passwords",
            config.display()
        );
    }
}
