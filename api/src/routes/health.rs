//! Liveness and readiness.
//!
//! `GET /healthz` touches nothing (container liveness). `GET /api/v1/health` checks
//! every dependency concurrently, each within [`CHECK_TIMEOUT`]: the database, the NATS
//! connection, the `JOBS` stream, the `job_status` KV bucket and the live workers (every
//! kind the deployment uses needs at least one).
//! It answers 200 `ok`, or 503 `degraded` with the failing checks named in `failing`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use async_nats::connection::State;
use hast_common::jobs::KINDS;
use hast_common::nats::names::JOBS_STREAM;
use hast_common::workers::{live_workers, WorkerHeartbeat};
use serde::Serialize;
use serde_json::{json, Value};
use warp::http::StatusCode;
use warp::{Filter, Rejection, Reply};

use crate::extract::with_state;
use crate::state::AppState;

/// The longest any single check may take.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

pub fn routes(state: AppState) -> impl Filter<Extract = (impl Reply,), Error = Rejection> + Clone {
    let liveness = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&json!({"status": "ok"})));
    // GET /api/v1/health
    let readiness = warp::path!("api" / "v1" / "health")
        .and(warp::get())
        .and(with_state(state))
        .and(warp::header::headers_cloned())
        .then(health);
    liveness.or(readiness)
}

#[derive(Debug, Serialize)]
struct Check {
    status: &'static str,
    latency_ms: f64,
    #[serde(flatten)]
    detail: Value,
}

async fn timed<F, T, E>(check: F, ok: impl FnOnce(T) -> Value) -> Check
where
    F: std::future::Future<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let started = Instant::now();
    let outcome = tokio::time::timeout(CHECK_TIMEOUT, check).await;
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    match outcome {
        Ok(Ok(value)) => Check {
            status: "ok",
            latency_ms,
            detail: ok(value),
        },
        Ok(Err(err)) => Check {
            status: "error",
            latency_ms,
            detail: json!({"error": err.to_string()}),
        },
        Err(_) => Check {
            status: "error",
            latency_ms,
            detail: json!({"error": format!("no answer within {CHECK_TIMEOUT:?}")}),
        },
    }
}

/// The live workers per kind, and the kinds this deployment uses that no live worker
/// runs (`missing`, and then an `error` naming them, which fails the check). A
/// development-only kind is not needed outside development.
fn worker_coverage(workers: &[WorkerHeartbeat], development: bool) -> Value {
    let mut per_kind: BTreeMap<&str, usize> = KINDS
        .iter()
        .filter(|k| development || !k.development_only)
        .map(|k| (k.name, 0))
        .collect();
    for kind in workers.iter().flat_map(|w| w.kinds.iter()) {
        if let Some(count) = per_kind.get_mut(kind.as_str()) {
            *count += 1;
        }
    }
    let missing: Vec<&str> = per_kind
        .iter()
        .filter(|(_, n)| **n == 0)
        .map(|(k, _)| *k)
        .collect();
    let mut coverage = json!({"count": workers.len(), "kinds": per_kind, "missing": missing});
    if !missing.is_empty() {
        coverage["error"] = json!(format!("no live worker runs {}", missing.join(", ")));
    }
    coverage
}

async fn health(state: AppState, headers: warp::http::HeaderMap) -> warp::reply::Response {
    let details = crate::auth::operator::access(&state.settings, &headers)
        == crate::auth::operator::OperatorAccess::Full;
    let topology = &state.topology;
    let nats_state = state.nats.connection_state();
    let nats = Check {
        status: if nats_state == State::Connected {
            "ok"
        } else {
            "error"
        },
        latency_ms: 0.0,
        detail: json!({"state": nats_state.to_string()}),
    };
    let (database, jetstream, kv, workers) = tokio::join!(
        timed(state.db.ping(CHECK_TIMEOUT), |()| json!({
            "backend": format!("{:?}", state.db.backend()).to_lowercase()
        })),
        timed(topology.jetstream.get_stream(JOBS_STREAM), |stream| {
            let info = stream.cached_info();
            json!({"stream": JOBS_STREAM, "messages": info.state.messages, "consumers": info.state.consumer_count})
        }),
        timed(topology.job_status.status(), |status| json!({
            "bucket": status.bucket(), "keys": status.values()
        })),
        timed(live_workers(&topology.workers), |list| {
            worker_coverage(&list, state.settings.is_development())
        }),
    );
    // A kind without a live worker means its accepted jobs would wait forever: the
    // service is degraded.
    let workers = match workers {
        Check {
            status: "ok",
            latency_ms,
            detail,
        } if detail.get("error").is_some() => Check {
            status: "error",
            latency_ms,
            detail,
        },
        other => other,
    };
    let checks = [
        ("database", database),
        ("nats", nats),
        ("jetstream", jetstream),
        ("kv", kv),
        ("workers", workers),
    ];
    let failing: Vec<&str> = checks
        .iter()
        .filter(|(_, c)| c.status != "ok")
        .map(|(name, _)| *name)
        .collect();
    let healthy = failing.is_empty();
    if !healthy {
        tracing::warn!(failing = ?failing, "health check degraded");
    }
    // The checks' details (latencies, counts, dependency errors) are for operators.
    let body = if details {
        json!({
            "status": if healthy { "ok" } else { "degraded" },
            "checks": checks.iter().map(|(n, c)| (n.to_string(), json!(c))).collect::<serde_json::Map<_, _>>(),
            "failing": failing,
        })
    } else {
        json!({
            "status": if healthy { "ok" } else { "degraded" },
            "failing": failing,
        })
    };
    let status = if healthy {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    warp::reply::with_status(warp::reply::json(&body), status).into_response()
}
