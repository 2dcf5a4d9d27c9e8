//! The monitoring profile (issue 16): the shipped Prometheus config and alert rules
//! pass `promtool` (and the rules' unit tests), a real Prometheus scrapes a running API
//! and worker and serves a job counter back, the dashboard and the rules name only
//! metrics the services export, and the scrape-time gauges (oldest job, live workers)
//! read what NATS holds.
//!
//! Prometheus and promtool come from Debian's `prometheus` package
//! (`ensure_prometheus` in scripts/lib.sh); `HAST_PROMETHEUS_BIN` and
//! `HAST_PROMTOOL_BIN` override their paths.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use hast_common::jobs::JobState;
use hast_tests::jobs::{status_store, submit_ok, wait_for};
use hast_tests::{
    eventually, free_port, spawn_app, spawn_worker, test_settings, NatsServer, TestDatabase,
};
use serde_json::{json, Value};

const POLL: Duration = Duration::from_millis(200);

fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn binary(variable: &str, name: &str) -> PathBuf {
    std::env::var_os(variable)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(name))
}

fn promtool(args: &[&str], dir: &Path) -> std::process::Output {
    Command::new(binary("HAST_PROMTOOL_BIN", "promtool"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("promtool runs (scripts/lib.sh: ensure_prometheus)")
}

fn assert_success(what: &str, output: &std::process::Output) {
    assert!(
        output.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The token file the shipped config reads (written by the compose entrypoint).
const SHIPPED_TOKEN_FILE: &str = "/run/hast/metrics-token";

/// `promtool check config` and `check rules` on the shipped files, and the rules'
/// unit tests (`monitoring/alerts.test.yml`: each alert fires, and not before).
#[test]
fn the_shipped_prometheus_config_and_rules_pass_promtool() {
    // promtool checks that the token file exists: lay the config out beside its rules
    // with the token file's path pointing into the copy.
    let folder = tempfile::tempdir().unwrap();
    let shipped = std::fs::read_to_string(repo().join("monitoring/prometheus.yml")).unwrap();
    assert!(
        shipped.contains(SHIPPED_TOKEN_FILE),
        "prometheus.yml reads the token from {SHIPPED_TOKEN_FILE} (compose writes it there)"
    );
    let token = folder.path().join("metrics-token");
    std::fs::write(&token, "dummy").unwrap();
    std::fs::write(
        folder.path().join("prometheus.yml"),
        shipped.replace(SHIPPED_TOKEN_FILE, token.to_str().unwrap()),
    )
    .unwrap();
    for file in ["alerts.yml", "alerts.test.yml"] {
        std::fs::copy(
            repo().join("monitoring").join(file),
            folder.path().join(file),
        )
        .unwrap();
    }
    let config = promtool(&["check", "config", "prometheus.yml"], folder.path());
    assert_success("promtool check config", &config);
    // The config loads the rules (checked with it), and both worker services are
    // discovered through compose's DNS.
    assert!(
        String::from_utf8_lossy(&config.stdout).contains("rules found"),
        "{config:?}"
    );
    for name in ["\"worker\"", "\"worker-analysis\"", "type: A", "port: 9091"] {
        assert!(shipped.contains(name), "prometheus.yml lacks {name}");
    }
    assert_success(
        "promtool check rules",
        &promtool(&["check", "rules", "alerts.yml"], folder.path()),
    );
    assert_success(
        "promtool test rules",
        &promtool(&["test", "rules", "alerts.test.yml"], folder.path()),
    );
}

/// A Prometheus server on loopback with its own store, killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
    folder: tempfile::TempDir,
}

impl Prometheus {
    /// Starts Prometheus with `config` (YAML) written into a fresh folder; `files` are
    /// written beside it first (name, contents).
    fn start(config: &str, files: &[(&str, &str)]) -> Self {
        let folder = tempfile::tempdir().unwrap();
        for (name, contents) in files {
            std::fs::write(folder.path().join(name), contents).unwrap();
        }
        let config_path = folder.path().join("prometheus.yml");
        std::fs::write(&config_path, config).unwrap();
        let port = free_port();
        let log = std::fs::File::create(folder.path().join("prometheus.log")).unwrap();
        let child = Command::new(binary("HAST_PROMETHEUS_BIN", "prometheus"))
            .arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                folder.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("prometheus starts (scripts/lib.sh: ensure_prometheus)");
        Self {
            child,
            port,
            folder,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.folder.path().join("prometheus.log")).unwrap_or_default()
    }

    /// GET `path` and its JSON, `None` while Prometheus does not answer.
    async fn get(&self, path: &str, query: &[(&str, &str)]) -> Option<Value> {
        let response = reqwest::Client::new()
            .get(self.url(path))
            .query(query)
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .ok()?;
        response.json().await.ok()
    }

    /// The instant vector of `query`: each series' labels and value.
    async fn query(&self, query: &str) -> Option<Vec<(Value, f64)>> {
        let body = self.get("/api/v1/query", &[("query", query)]).await?;
        let result = body["data"]["result"].as_array()?;
        Some(
            result
                .iter()
                .filter_map(|s| {
                    let value = s["value"][1].as_str()?.parse().ok()?;
                    Some((s["metric"].clone(), value))
                })
                .collect(),
        )
    }

    /// The single value of `query`, `None` while it has none.
    async fn value(&self, query: &str) -> Option<f64> {
        let series = self.query(query).await?;
        match series.as_slice() {
            [(_, value)] => Some(*value),
            _ => None,
        }
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        // Only the child this test started, by its pid.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of the series of `name` whose labels are exactly `labels` in a
/// Prometheus text render, `None` when absent.
fn rendered(text: &str, name: &str, labels: &str) -> Option<f64> {
    let prefix = format!("{name}{labels} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix))
        .and_then(|value| value.trim().parse().ok())
}

/// The real Prometheus scrapes the API (with its bearer token) and a worker, and an
/// echo job's completion comes back through its HTTP API; the shipped rules load and
/// evaluate, and every dashboard query evaluates.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_scrapes_the_api_and_the_worker() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let token = "prometheus-scrape-token-0123456789";
    let app = spawn_app(test_settings(
        &db.url,
        &nats.url(),
        &[("METRICS_TOKEN", token)],
    ))
    .await;
    let worker = spawn_worker(test_settings(&db.url, &nats.url(), &[])).await;
    let worker_addr = worker.metrics_addr.expect("the worker serves /metrics");

    let rules = repo().join("monitoring/alerts.yml");
    let config = format!(
        r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - {rules}
scrape_configs:
  - job_name: hast-api
    metrics_path: /metrics
    authorization:
      type: Bearer
      credentials_file: metrics-token
    static_configs:
      - targets: ["{api}"]
  - job_name: hast-worker
    metrics_path: /metrics
    static_configs:
      - targets: ["{worker_addr}"]
"#,
        rules = rules.display(),
        api = app.addr,
    );
    let prometheus = Prometheus::start(&config, &[("metrics-token", token)]);

    // Both targets up: the API's means the bearer token was accepted (401 is down).
    for job in ["hast-api", "hast-worker"] {
        eventually(&format!("{job} scraped and up"), POLL, || async {
            (prometheus.value(&format!("up{{job=\"{job}\"}}")).await == Some(1.0)).then_some(())
        })
        .await;
    }

    // The counter as the worker renders it now (other tests in this process may
    // complete echo jobs too: it only grows).
    let before = reqwest::get(format!("http://{worker_addr}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let before = rendered(&before, "hast_jobs_completed_total", "{kind=\"echo\"}").unwrap_or(0.0);
    let statuses = status_store(&nats.url()).await;
    let id = submit_ok(&app, "echo", json!({})).await;
    wait_for(&statuses, &id, JobState::Completed).await;
    let query = r#"hast_jobs_completed_total{job="hast-worker",kind="echo"}"#;
    let seen = eventually("the completion, through Prometheus", POLL, || async {
        prometheus.value(query).await.filter(|v| *v >= before + 1.0)
    })
    .await;
    assert!(seen >= 1.0, "{seen}");

    // The gauges added for the dashboard reach Prometheus from the API.
    let live = eventually("hast_workers_live, through Prometheus", POLL, || async {
        prometheus
            .value(r#"hast_workers_live{job="hast-api",kind="echo"}"#)
            .await
            .filter(|v| *v >= 1.0)
    })
    .await;
    assert!(live >= 1.0);
    let ages = eventually("hast_queue_oldest_age_seconds", POLL, || async {
        let series = prometheus
            .query(r#"hast_queue_oldest_age_seconds{job="hast-api"}"#)
            .await?;
        (series.len() == hast_common::jobs::KINDS.len()).then_some(series)
    })
    .await;
    assert!(ages.iter().all(|(_, age)| *age >= 0.0), "{ages:?}");

    // Every dashboard query is valid PromQL against the live data.
    for expr in dashboard_expressions() {
        let expr = expr.replace("$__rate_interval", "1m");
        let body = prometheus
            .get("/api/v1/query", &[("query", &expr)])
            .await
            .expect("Prometheus answers");
        assert_eq!(body["status"], "success", "{expr}: {body}");
    }

    // The shipped rules loaded, and each has been evaluated without error.
    let alerts = std::fs::read_to_string(&rules).unwrap();
    let expected = alerts.matches("- alert:").count();
    eventually("every alert rule evaluated", POLL, || async {
        let body = prometheus.get("/api/v1/rules", &[]).await?;
        let rules: Vec<&Value> = body["data"]["groups"]
            .as_array()?
            .iter()
            .flat_map(|g| g["rules"].as_array().into_iter().flatten())
            .collect();
        assert!(
            rules.iter().all(|r| r["health"] != "err"),
            "a rule fails: {body}"
        );
        (rules.len() == expected && rules.iter().all(|r| r["health"] == "ok")).then_some(())
    })
    .await;
    assert!(
        !prometheus.log().contains("level=error"),
        "{}",
        prometheus.log()
    );

    worker.stop().await;
    app.stop().await;
}

/// Every `expr` of the provisioned dashboard.
fn dashboard_expressions() -> Vec<String> {
    fn collect(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, value) in map {
                    match (key.as_str(), value) {
                        ("expr", Value::String(expr)) => out.push(expr.clone()),
                        _ => collect(value, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|v| collect(v, out)),
            _ => {}
        }
    }
    let text =
        std::fs::read_to_string(repo().join("monitoring/grafana/dashboards/hast.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    let mut out = Vec::new();
    collect(&dashboard, &mut out);
    out
}

/// The `hast_…` metric names in a text (PromQL or a rules file): histogram series
/// suffixes stripped.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(at) = rest.find("hast_") {
        let boundary = rest[..at]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let tail = &rest[at..];
        let len = tail
            .find(|c: char| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(tail.len());
        if boundary {
            let name = &tail[..len];
            let name = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|suffix| name.strip_suffix(suffix))
                .unwrap_or(name);
            names.insert(name.to_owned());
        }
        rest = &tail[len.max(1)..];
    }
    names
}

/// The metric names the services register: the first argument of every
/// `counter!`/`gauge!`/`histogram!` in the sources of the crates that serve `/metrics`.
fn exported_metrics() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for crate_dir in [
        "api/src",
        "common/src",
        "worker/src",
        "openai/src",
        "palm/src",
    ] {
        walk(&repo().join(crate_dir), &mut files);
    }
    let mut names = BTreeSet::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap();
        for macro_name in ["counter!(", "gauge!(", "histogram!("] {
            for (at, _) in text.match_indices(macro_name) {
                let args = text[at + macro_name.len()..].trim_start();
                if let Some(literal) = args.strip_prefix('"') {
                    if let Some(end) = literal.find('"') {
                        names.insert(literal[..end].to_owned());
                    }
                }
            }
        }
    }
    names
}

/// The dashboard parses, covers what the issue asks it to show, and it and the alert
/// rules name only metrics the services register: renaming a metric fails here.
#[test]
fn the_dashboard_and_the_alerts_name_only_exported_metrics() {
    let exported = exported_metrics();
    // The scan itself works (an empty set would make the check below vacuous).
    for name in [
        "hast_jobs_completed_total",
        "hast_http_request_duration_seconds",
        "hast_queue_oldest_age_seconds",
        "hast_workers_live",
    ] {
        assert!(exported.contains(name), "{name} not found in {exported:?}");
    }

    let expressions = dashboard_expressions();
    assert!(expressions.len() >= 10, "{expressions:?}");
    let dashboard: BTreeSet<String> = expressions.iter().flat_map(|e| metric_names(e)).collect();
    let alerts: BTreeSet<String> =
        metric_names(&std::fs::read_to_string(repo().join("monitoring/alerts.yml")).unwrap());
    let tests: BTreeSet<String> =
        metric_names(&std::fs::read_to_string(repo().join("monitoring/alerts.test.yml")).unwrap());
    for (file, used) in [
        ("hast.json", &dashboard),
        ("alerts.yml", &alerts),
        ("alerts.test.yml", &tests),
    ] {
        let unknown: Vec<&String> = used.difference(&exported).collect();
        assert!(
            unknown.is_empty(),
            "{file} uses metrics no service exports: {unknown:?}"
        );
    }

    // What the dashboard must show: jobs and latency by kind, queue depth and age,
    // failures and dead letters, live workers, storage, AI, HTTP.
    for name in [
        "hast_jobs_completed_total",
        "hast_job_duration_seconds",
        "hast_queue_depth",
        "hast_queue_oldest_age_seconds",
        "hast_jobs_failed_total",
        "hast_dlq_depth",
        "hast_workers_live",
        "hast_storage_bytes",
        "hast_storage_max_bytes",
        "hast_ai_requests_total",
        "hast_ai_tokens_total",
        "hast_http_request_duration_seconds",
    ] {
        assert!(
            dashboard.contains(name),
            "the dashboard does not show {name}"
        );
    }
    for name in [
        "hast_dlq_depth",
        "hast_workers_live",
        "hast_queue_oldest_age_seconds",
        "hast_storage_bytes",
    ] {
        assert!(alerts.contains(name), "no alert on {name}");
    }

    // The provisioned data source is the one the panels name.
    let datasource = std::fs::read_to_string(
        repo().join("monitoring/grafana/provisioning/datasources/prometheus.yml"),
    )
    .unwrap();
    let text =
        std::fs::read_to_string(repo().join("monitoring/grafana/dashboards/hast.json")).unwrap();
    let dashboard: Value = serde_json::from_str(&text).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let uids: BTreeSet<&str> = panels
        .iter()
        .filter(|p| p["type"] != "row")
        .map(|p| p["datasource"]["uid"].as_str().expect("a data source uid"))
        .collect();
    assert_eq!(uids.len(), 1, "{uids:?}");
    for uid in uids {
        assert!(
            datasource.contains(&format!("uid: {uid}")),
            "{uid} not provisioned"
        );
    }
}

/// The scrape-time reads: the oldest unfinished job of each kind comes from the first
/// message of `jobs.<kind>` in `JOBS`, the live workers per kind from the heartbeats,
/// and the API's `/metrics` exports both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_oldest_job_and_the_live_workers_are_read_at_scrape_time() {
    let nats = NatsServer::start();
    let db = TestDatabase::sqlite();
    let app = spawn_app(test_settings(&db.url, &nats.url(), &[])).await;
    let client = async_nats::connect(nats.url()).await.unwrap();
    let js = async_nats::jetstream::new(client);
    let stream = js.get_stream("JOBS").await.unwrap();
    let workers = js.get_key_value("workers").await.unwrap();
    let age_of = |ages: &[(&str, Option<f64>)], kind: &str| {
        ages.iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, age)| *age)
            .expect("every kind is read")
    };

    // Nothing queued, no worker.
    let ages = hast_common::metrics::oldest_job_ages(&stream).await;
    assert_eq!(ages.len(), hast_common::jobs::KINDS.len(), "{ages:?}");
    assert!(ages.iter().all(|(_, age)| age.is_none()), "{ages:?}");
    let live = hast_common::metrics::live_workers_by_kind(&workers)
        .await
        .unwrap();
    assert!(live.iter().all(|(_, n)| *n == 0), "{live:?}");

    // Two echo jobs wait: the age is the first one's, and it grows.
    let statuses = status_store(&nats.url()).await;
    let first = submit_ok(&app, "echo", json!({})).await;
    let _second = submit_ok(&app, "echo", json!({})).await;
    let first_age = age_of(
        &hast_common::metrics::oldest_job_ages(&stream).await,
        "echo",
    )
    .expect("an echo job waits");
    assert!((0.0..60.0).contains(&first_age), "{first_age}");
    let later = eventually("the age to grow", POLL, || async {
        age_of(
            &hast_common::metrics::oldest_job_ages(&stream).await,
            "echo",
        )
        .filter(|age| *age > first_age)
    })
    .await;
    assert!(later > first_age);
    let ages = hast_common::metrics::oldest_job_ages(&stream).await;
    assert!(age_of(&ages, "analysis").is_none(), "{ages:?}");

    // The API exports both gauges.
    let text = app.get("/metrics").await.text().await.unwrap();
    assert!(
        rendered(&text, "hast_queue_oldest_age_seconds", "{kind=\"echo\"}").is_some(),
        "{text}"
    );
    assert!(
        rendered(&text, "hast_workers_live", "{kind=\"echo\"}").is_some(),
        "{text}"
    );

    // A worker runs both jobs: it counts for each of its kinds, and nothing is left.
    let worker = spawn_worker(test_settings(&db.url, &nats.url(), &[])).await;
    let live = hast_common::metrics::live_workers_by_kind(&workers)
        .await
        .unwrap();
    assert_eq!(live.len(), hast_common::jobs::KINDS.len());
    assert!(live.iter().all(|(_, n)| *n == 1), "{live:?}");
    wait_for(&statuses, &first, JobState::Completed).await;
    eventually("no echo job left in JOBS", POLL, || async {
        let ages = hast_common::metrics::oldest_job_ages(&stream).await;
        age_of(&ages, "echo").is_none().then_some(())
    })
    .await;

    // Stopped, it no longer counts.
    worker.stop().await;
    let live = hast_common::metrics::live_workers_by_kind(&workers)
        .await
        .unwrap();
    assert!(live.iter().all(|(_, n)| *n == 0), "{live:?}");
    app.stop().await;
}
