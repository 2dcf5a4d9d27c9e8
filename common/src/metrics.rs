//! Prometheus metrics: one process-wide recorder (the `metrics` crate's facade with
//! `metrics-exporter-prometheus`), rendered by `GET /metrics` on the API and on each
//! worker's metrics port.
//!
//! Names: `hast_jobs_{submitted,completed,failed,retried,dead_lettered,cancelled}_total`
//! by `kind`, `hast_job_duration_seconds` by `kind` and `outcome`,
//! `hast_queue_depth` / `hast_queue_oldest_age_seconds` by `kind` and `hast_dlq_depth`
//! gauges, `hast_storage_bytes` / `hast_storage_max_bytes` by JetStream `stream`
//! (refreshed at scrape), `hast_workers_live` by `kind` (the API, at scrape),
//! `hast_storage_full_total` (submissions and uploads refused with 507), and
//! `hast_http_request_duration_seconds` by `method`, `route` and `status`.
//! docs/operations.md (Metrics) is the full list.

use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_nats::jetstream;
use async_nats::jetstream::kv;
use async_nats::jetstream::stream::DirectGetErrorKind;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::jobs::Kind;
use crate::nats::names::{consumer_name, job_subject, DLQ_STREAM, JOBS_STREAM};
use crate::workers::{live_workers, HeartbeatError};

/// How long one scrape may spend on each of the reads added at scrape time (the oldest
/// jobs, the live workers). A read that does not finish in time leaves its gauges as
/// they were: a slow NATS must not make `/metrics` slow.
const SCRAPE_READ_LIMIT: Duration = Duration::from_secs(2);

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

/// Sets `hast_queue_depth{kind}` (messages waiting for `worker-<kind>`),
/// `hast_queue_oldest_age_seconds{kind}` and `hast_dlq_depth` from JetStream.
pub async fn refresh_queue_gauges(js: &jetstream::Context) {
    if let Ok(stream) = js.get_stream(JOBS_STREAM).await {
        let _ = tokio::time::timeout(SCRAPE_READ_LIMIT, refresh_oldest_ages(&stream)).await;
        for kind in Kind::names() {
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

/// Sets `hast_queue_oldest_age_seconds{kind}` from [`oldest_job_ages`]: 0 for a kind
/// without unfinished jobs; a kind whose read failed keeps its last value.
async fn refresh_oldest_ages(stream: &jetstream::stream::Stream) {
    for (kind, age) in oldest_job_ages(stream).await {
        metrics::gauge!("hast_queue_oldest_age_seconds", "kind" => kind).set(age.unwrap_or(0.0));
    }
}

/// For each job kind, how many seconds ago the oldest message of `jobs.<kind>` still in
/// `JOBS` was published (`None`: there is none). `JOBS` has WorkQueue retention, so
/// its messages are the unfinished jobs (waiting, running or backing off). One direct
/// get per kind (the subject's first message, found through the server's subject
/// index), never a scan. A kind whose read fails is left out.
pub async fn oldest_job_ages(
    stream: &jetstream::stream::Stream,
) -> Vec<(&'static str, Option<f64>)> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as f64)
        .unwrap_or_default();
    let mut ages = Vec::new();
    for kind in Kind::names() {
        match stream.direct_get_first_for_subject(job_subject(kind)).await {
            Ok(message) => {
                let published = message.time.unix_timestamp_nanos() as f64;
                ages.push((kind, Some(((now - published) / 1e9).max(0.0))));
            }
            Err(err) if err.kind() == DirectGetErrorKind::NotFound => ages.push((kind, None)),
            Err(_) => {}
        }
    }
    ages
}

/// Sets `hast_workers_live{kind}` from [`live_workers_by_kind`]. A fleet-wide figure,
/// so only the API exports it (API replicas all export the same value: take `max`).
/// Leaves the gauges as they were if the heartbeats cannot be read in time.
pub async fn refresh_worker_gauges(workers: &kv::Store) {
    if let Ok(Ok(counts)) =
        tokio::time::timeout(SCRAPE_READ_LIMIT, live_workers_by_kind(workers)).await
    {
        for (kind, count) in counts {
            metrics::gauge!("hast_workers_live", "kind" => kind).set(count as f64);
        }
    }
}

/// For each job kind, the live workers (heartbeats in the `workers` bucket) that run
/// it; 0 for a kind none runs. Kinds a heartbeat names that are not in `KINDS` are not
/// counted, so the label set stays bounded.
pub async fn live_workers_by_kind(
    workers: &kv::Store,
) -> Result<Vec<(&'static str, usize)>, HeartbeatError> {
    let live = live_workers(workers).await?;
    Ok(Kind::names()
        .into_iter()
        .map(|kind| {
            let count = live
                .iter()
                .filter(|w| w.kinds.iter().any(|k| k == kind))
                .count();
            (kind, count)
        })
        .collect())
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
