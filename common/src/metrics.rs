//! Prometheus metrics: one process-wide recorder (the `metrics` crate's facade with
//! `metrics-exporter-prometheus`), rendered by `GET /metrics` on the API and on each
//! worker's metrics port.
//!
//! Names: `hast_jobs_{submitted,completed,failed,retried,dead_lettered,cancelled}_total`
//! by `kind`, `hast_job_duration_seconds` by `kind` and `outcome`,
//! `hast_queue_depth` / `hast_dlq_depth` gauges, `hast_storage_bytes` /
//! `hast_storage_max_bytes` by JetStream `stream` (refreshed at scrape),
//! `hast_storage_full_total` (submissions and uploads refused with 507), and
//! `hast_http_request_duration_seconds` by `method`, `route` and `status`.

use std::sync::OnceLock;

use async_nats::jetstream;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::jobs::kind_names;
use crate::nats::names::{consumer_name, DLQ_STREAM, JOBS_STREAM};

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the recorder once per process and returns a handle that renders it.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let buckets = [
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0, 60.0,
            ];
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &buckets)
                .unwrap_or_else(|_| PrometheusBuilder::new());
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            // Fails only if another recorder is installed, which this module prevents.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Sets `hast_queue_depth{kind}` (messages waiting for `worker-<kind>`) and
/// `hast_dlq_depth` from JetStream.
pub async fn refresh_queue_gauges(js: &jetstream::Context) {
    if let Ok(stream) = js.get_stream(JOBS_STREAM).await {
        for kind in kind_names() {
            let consumer: Result<jetstream::consumer::PullConsumer, _> =
                stream.get_consumer(&consumer_name(kind)).await;
            if let Ok(mut consumer) = consumer {
                if let Ok(info) = consumer.info().await {
                    metrics::gauge!("hast_queue_depth", "kind" => kind)
                        .set(info.num_pending as f64);
                }
            }
        }
    }
    if let Ok(mut dlq) = js.get_stream(DLQ_STREAM).await {
        if let Ok(info) = dlq.info().await {
            metrics::gauge!("hast_dlq_depth").set(info.state.messages as f64);
        }
    }
    refresh_storage_gauges(js).await;
}

/// Sets `hast_storage_bytes{stream}` and `hast_storage_max_bytes{stream}` for every
/// stream (the KV buckets are `KV_<bucket>`, the object store `OBJ_images`): how full
/// each is against its share of `JETSTREAM_MAX_BYTES`.
async fn refresh_storage_gauges(js: &jetstream::Context) {
    use futures::StreamExt;
    let mut streams = js.streams();
    while let Some(Ok(info)) = streams.next().await {
        let name = info.config.name.clone();
        metrics::gauge!("hast_storage_bytes", "stream" => name.clone())
            .set(info.state.bytes as f64);
        metrics::gauge!("hast_storage_max_bytes", "stream" => name)
            .set(info.config.max_bytes as f64);
    }
}
