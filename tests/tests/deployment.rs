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

/// The secrets compose requires, as dummies.
const COMPOSE_SECRETS: &[(&str, &str)] = &[
    ("SESSION_SECRET", "session-secret-of-at-least-32-characters"),
    ("POSTGRES_PASSWORD", "postgres-password"),
    ("NATS_API_PASSWORD", "api-password"),
    ("NATS_WORKER_PASSWORD", "worker-password"),
    ("NATS_OPERATOR_PASSWORD", "operator-password"),
];

/// `docker-compose config` with only `env` in its environment (and an empty env file,
/// so no `.env` of the checkout leaks in): its exit status and the resolved file.
fn compose_config(profile: Option<&str>, env: &[(&str, &str)]) -> (bool, String, String) {
    let empty = tempfile::NamedTempFile::new().unwrap();
    let mut command = std::process::Command::new(
        std::env::var_os("HAST_DOCKER_COMPOSE_BIN").unwrap_or_else(|| "docker-compose".into()),
    );
    command
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .envs(env.iter().copied())
        .arg("--env-file")
        .arg(empty.path())
        .arg("-f")
        .arg(repo().join("compose.yaml"));
    if let Some(profile) = profile {
        command.args(["--profile", profile]);
    }
    let output = command
        .arg("config")
        .output()
        .expect("docker-compose runs (scripts/lib.sh: ensure_docker_compose)");
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// One service's block of a resolved compose file (`docker-compose config` output).
fn service_block<'a>(config: &'a str, name: &str) -> Option<&'a str> {
    let header = format!("\n  {name}:\n");
    let start = config.find(&header)? + header.len();
    let rest = &config[start..];
    // The block ends at the next line indented by two spaces exactly (the next service
    // or the next top-level key).
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|&i| {
            let line = &rest[i..];
            !line.starts_with("   ") && !line.is_empty()
        })
        .unwrap_or(rest.len());
    Some(&rest[..end])
}

/// compose.yaml is valid for every profile (Debian's docker-compose 1.29, no Docker
/// engine needed), still refuses to start without its secrets, runs two worker
/// services that scale apart, and its `monitoring` and `tools` profiles hold
/// Prometheus, Grafana and nats-box.
#[test]
fn compose_is_valid_for_every_profile() {
    for profile in [None, Some("cluster"), Some("monitoring"), Some("tools")] {
        let (ok, _, stderr) = compose_config(profile, COMPOSE_SECRETS);
        assert!(ok, "docker-compose config ({profile:?}): {stderr}");
    }
    for missing in COMPOSE_SECRETS {
        let without: Vec<(&str, &str)> = COMPOSE_SECRETS
            .iter()
            .filter(|(name, _)| name != &missing.0)
            .copied()
            .collect();
        let (ok, _, stderr) = compose_config(None, &without);
        assert!(!ok, "compose accepts a missing {}", missing.0);
        assert!(stderr.contains(missing.0), "{stderr}");
    }

    // docker-compose 1.29 prints every service whatever the profile: check each
    // service's profile in the resolved file.
    let (_, config, _) = compose_config(Some("monitoring"), COMPOSE_SECRETS);
    let block = |name: &str| {
        service_block(&config, name).unwrap_or_else(|| panic!("no service {name}:\n{config}"))
    };
    for (service, kinds) in [
        ("worker", "WORKER_KINDS: chat,echo,health,thumbnail"),
        ("worker-analysis", "WORKER_KINDS: analysis"),
    ] {
        let block = block(service);
        assert!(block.contains(kinds), "{service}:\n{block}");
        assert!(block.contains("target: worker"), "{service}:\n{block}");
        // Scalable: no fixed name, no host port, no profile (in the default stack).
        for absent in ["container_name", "ports:", "profiles:"] {
            assert!(!block.contains(absent), "{service} has {absent}:\n{block}");
        }
    }
    for (service, profile) in [
        ("prometheus", "monitoring"),
        ("grafana", "monitoring"),
        ("nats-box", "tools"),
        ("nats-1", "cluster"),
    ] {
        let block = block(service);
        assert!(
            block.contains(&format!("profiles:\n    - {profile}\n")),
            "{service} is not in profile {profile}:\n{block}"
        );
    }
    // Prometheus gets the API's token and the shipped files; Grafana its provisioning.
    let prometheus = block("prometheus");
    for needed in [
        "METRICS_TOKEN",
        "/run/hast/metrics-token",
        "monitoring/prometheus.yml:/etc/prometheus/prometheus.yml",
        "monitoring/alerts.yml:/etc/prometheus/alerts.yml",
        "127.0.0.1:9090:9090",
    ] {
        assert!(prometheus.contains(needed), "prometheus lacks {needed}");
    }
    assert!(block("api").contains("METRICS_TOKEN"));
    let grafana = block("grafana");
    for needed in [
        "monitoring/grafana/provisioning:/etc/grafana/provisioning",
        "monitoring/grafana/dashboards:/etc/grafana/dashboards",
        "127.0.0.1:3000:3000",
    ] {
        assert!(grafana.contains(needed), "grafana lacks {needed}");
    }
    // nats-box signs in as the operator user, as the nats CLI reads it.
    let nats_box = block("nats-box");
    for needed in [
        "NATS_URL: nats://nats:4222",
        "NATS_USER: operator",
        "NATS_PASSWORD: operator-password",
    ] {
        assert!(
            nats_box.contains(needed),
            "nats-box lacks {needed}:\n{nats_box}"
        );
    }
}
