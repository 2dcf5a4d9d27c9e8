//! The worker's small HTTP listener on `WORKER_METRICS_ADDR`: `GET /healthz` and
//! `GET /metrics` (Prometheus text; queue and dead-letter depths are read from
//! JetStream at scrape time).

use async_nats::jetstream;
use metrics_exporter_prometheus::PrometheusHandle;
use tokio::net::TcpListener;
use tokio::sync::watch;
use warp::Filter;

/// What `/metrics` needs.
#[derive(Clone)]
pub struct MetricsState {
    jetstream: jetstream::Context,
    handle: PrometheusHandle,
}

impl std::fmt::Debug for MetricsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsState")
    }
}

impl MetricsState {
    pub fn new(jetstream: jetstream::Context) -> Self {
        Self {
            jetstream,
            handle: hast_common::metrics::install(),
        }
    }
}

/// Serves until `stop` turns true.
pub async fn serve(listener: TcpListener, state: MetricsState, mut stop: watch::Receiver<bool>) {
    let healthz = warp::path!("healthz")
        .and(warp::get())
        .map(|| warp::reply::json(&serde_json::json!({"status": "ok"})));
    let metrics = warp::path!("metrics").and(warp::get()).then(move || {
        let state = state.clone();
        async move {
            hast_common::metrics::refresh_queue_gauges(&state.jetstream).await;
            warp::reply::with_header(
                state.handle.render(),
                "content-type",
                "text/plain; version=0.0.4",
            )
        }
    });
    warp::serve(healthz.or(metrics))
        .incoming(listener)
        .graceful(async move {
            let _ = stop.changed().await;
        })
        .run()
        .await;
}
