//! `hast-bench`: submits `echo` jobs to a running Hast over HTTP and times them.
//!
//! Completion is observed the way a client would see it, from the `job_status` KV
//! bucket (one watch over all keys), so end-to-end latency covers submit → worker →
//! database → status. Phases:
//! 1. load: `--jobs` jobs submitted by `--concurrency` tasks;
//! 2. serial: `--serial` jobs, each submitted only after the previous one completed;
//!    afterwards the stored times of their status writes (nats-server's timestamps in
//!    the `job_status` history) split each job's time into where it was spent;
//! 3. round trips: `--round-trips` sequential NATS operations of each kind a job makes
//!    (a KV compare-and-swap, a KV direct get, a JetStream publish), on a scratch
//!    bucket deleted afterwards: the floor under each hop of the serial path.
//!
//! With `--photos N` it instead uploads N synthetic palm photos (JPEG, made before the
//! clock starts) from `--concurrency` tasks and times them until every analysis job has
//! completed: photos per second through the analysis workers.
//!
//! It prints a JSON report (and a readable summary on stderr), including the CPU the
//! load generator itself used, so it can be shown not to be the bottleneck.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures::StreamExt;
use serde_json::json;
use tokio::sync::Notify;

#[derive(Debug, Parser)]
#[command(name = "hast-bench", about = "Hast load generator")]
struct Args {
    /// Base URL of hast-api.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    api: String,
    /// NATS URL (to watch job statuses).
    #[arg(long, default_value = "nats://127.0.0.1:4222")]
    nats: String,
    /// Jobs in the load phase.
    #[arg(long, default_value_t = 10_000)]
    jobs: usize,
    /// Concurrent submitters in the load phase.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Jobs in the serial phase.
    #[arg(long, default_value_t = 500)]
    serial: usize,
    /// Sequential operations per kind in the round-trip phase (0: skip it).
    #[arg(long, default_value_t = 1_000)]
    round_trips: usize,
    /// Upload this many synthetic palms and time their analyses instead of echo jobs.
    #[arg(long)]
    photos: Option<usize>,
    /// Give up waiting for completions after this many seconds.
    #[arg(long, default_value_t = 300)]
    timeout_s: u64,
}

/// Completion times by job id, filled by the KV watch.
#[derive(Default)]
struct Completions {
    done: Mutex<HashMap<String, Instant>>,
    notify: Notify,
}

impl Completions {
    fn get(&self, id: &str) -> Option<Instant> {
        self.done.lock().ok()?.get(id).copied()
    }
    fn count(&self) -> usize {
        self.done.lock().map(|d| d.len()).unwrap_or(0)
    }
}

async fn watch(nats: &str, completions: Arc<Completions>) -> anyhow::Result<()> {
    let client = async_nats::connect(nats).await.context("connect to NATS")?;
    let kv = async_nats::jetstream::new(client)
        .get_key_value("job_status")
        .await
        .context("job_status bucket")?;
    let mut updates = kv.watch_all().await?;
    tokio::spawn(async move {
        while let Some(Ok(entry)) = updates.next().await {
            let now = Instant::now();
            // Cheap check before parsing: only completed statuses matter.
            if !contains(&entry.value, b"\"status\":\"completed\"") {
                continue;
            }
            if let Ok(mut done) = completions.done.lock() {
                done.entry(entry.key.clone()).or_insert(now);
            }
            completions.notify.notify_waiters();
        }
    });
    Ok(())
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn submit(client: &reqwest::Client, url: &str, n: usize) -> anyhow::Result<String> {
    let response = client
        .post(url)
        .json(&json!({"kind": "echo", "payload": {"n": n}}))
        .send()
        .await?;
    if response.status().as_u16() != 202 {
        bail!("submit answered {}", response.status());
    }
    let body: serde_json::Value = response.json().await?;
    body["id"]
        .as_str()
        .map(str::to_owned)
        .context("no id in the answer")
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)].as_secs_f64() * 1000.0
}

/// The median of `times`, in whole microseconds.
fn p50_us(mut times: Vec<Duration>) -> u64 {
    times.sort_unstable();
    (percentile(&times, 50.0) * 1000.0).round() as u64
}

/// CPU seconds (user + system) this process has used.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return f64::NAN;
    };
    let after = stat.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // After the command name: state is field 0, utime 11, stime 12 (clock ticks, 100 Hz).
    (ticks(11) + ticks(12)) / 100.0
}

async fn wait_all(
    completions: &Completions,
    ids: &[String],
    deadline: Instant,
) -> anyhow::Result<Instant> {
    loop {
        let notified = completions.notify.notified();
        let missing = ids
            .iter()
            .filter(|id| completions.get(id).is_none())
            .count();
        if missing == 0 {
            let last = ids.iter().filter_map(|id| completions.get(id)).max();
            return last.context("no completions");
        }
        if Instant::now() > deadline {
            bail!("{missing} jobs did not complete in time");
        }
        let _ = tokio::time::timeout(Duration::from_millis(200), notified).await;
    }
}

/// Registers a throw-away account and returns its bearer token (jobs need an owner).
async fn bench_account(api: &str) -> anyhow::Result<String> {
    let email = format!("bench-{}@example.com", uuid::Uuid::now_v7().simple());
    let response = reqwest::Client::new()
        .post(format!(
            "{}/api/v1/auth/register",
            api.trim_end_matches('/')
        ))
        .json(&serde_json::json!({"email": email, "password": "benchmark password"}))
        .send()
        .await?;
    anyhow::ensure!(
        response.status().as_u16() == 201,
        "registering the bench account failed: {}",
        response.status()
    );
    let body: serde_json::Value = response.json().await?;
    body["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("no token in the register answer"))
}

/// Uploads `photos` synthetic palms and waits for their analyses: photos per second.
async fn analyses(
    args: &Args,
    client: &reqwest::Client,
    completions: &Completions,
    photos: usize,
    deadline: Instant,
) -> anyhow::Result<serde_json::Value> {
    use hast_palm_synth::synth::{generate, to_jpeg, SynthSpec};
    let url = format!("{}/api/v1/analyses", args.api.trim_end_matches('/'));
    let jpegs: Vec<Vec<u8>> = (0..photos)
        .map(|n| to_jpeg(&generate(&SynthSpec::palm(n as u64)).image, 90))
        .collect();
    let jpegs = Arc::new(jpegs);
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency.min(photos).max(1) {
        let (client, url, next, jpegs) = (client.clone(), url.clone(), next.clone(), jpegs.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                let Some(jpeg) = jpegs.get(n) else { break };
                let part = reqwest::multipart::Part::bytes(jpeg.clone())
                    .file_name("palm.jpg")
                    .mime_str("image/jpeg")?;
                let form = reqwest::multipart::Form::new().part("image", part);
                let response = client.post(&url).multipart(form).send().await?;
                if response.status().as_u16() != 202 {
                    bail!("upload answered {}", response.status());
                }
                let body: serde_json::Value = response.json().await?;
                let job = body["job"]["id"]
                    .as_str()
                    .context("no job id in the answer")?;
                ids.push(job.to_owned());
            }
            Ok::<_, anyhow::Error>(ids)
        }));
    }
    let mut ids = Vec::with_capacity(photos);
    for task in tasks {
        ids.extend(task.await??);
    }
    let last = wait_all(completions, &ids, deadline).await?;
    let wall = last.duration_since(started).as_secs_f64();
    eprintln!(
        "analysis: {photos} photos in {wall:.2} s: {:.2} photos/s",
        photos as f64 / wall
    );
    Ok(json!({"photos": photos, "seconds": wall, "photos_per_s": photos as f64 / wall}))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let completions = Arc::new(Completions::default());
    watch(&args.nats, completions.clone()).await?;
    let token = bench_account(&args.api).await?;
    let client = http_client(&token, args.concurrency)?;
    let url = format!("{}/api/v1/jobs", args.api.trim_end_matches('/'));
    let deadline = Instant::now() + Duration::from_secs(args.timeout_s);
    if let Some(photos) = args.photos {
        let report = analyses(&args, &client, &completions, photos, deadline).await?;
        println!("{report}");
        return Ok(());
    }
    let load = load_phase(&args, &client, &url, &completions, deadline).await?;
    // Serial phase: one job at a time, submit to completion.
    let (statuses, serial_from) = status_stream(&args.nats).await?;
    let mut serial_lat = Vec::with_capacity(args.serial);
    let mut serial_ids = Vec::with_capacity(args.serial);
    for n in 0..args.serial {
        let t0 = Instant::now();
        let id = submit(&client, &url, n).await?;
        let done = wait_all(&completions, std::slice::from_ref(&id), deadline).await?;
        serial_lat.push(done.saturating_duration_since(t0));
        serial_ids.push(id);
    }
    serial_lat.sort_unstable();
    let mut report = load_report(&args, &load, &serial_lat, completions.count());
    report["serial_segments_us"] = serial_segments(&statuses, serial_from, &serial_ids).await?;
    eprintln!("serial segments, p50 µs: {}", report["serial_segments_us"]);
    if args.round_trips > 0 {
        report["round_trip_us"] = round_trips(&args.nats, args.round_trips).await?;
        eprintln!("NATS round trips, p50 µs: {}", report["round_trip_us"]);
    }
    println!("{report}");
    Ok(())
}

/// The `job_status` bucket's stream, and the sequence its next write will get.
async fn status_stream(nats: &str) -> anyhow::Result<(async_nats::jetstream::stream::Stream, u64)> {
    let client = async_nats::connect(nats).await.context("connect to NATS")?;
    let mut stream = async_nats::jetstream::new(client)
        .get_stream("KV_job_status")
        .await
        .context("the job_status bucket's stream")?;
    let next = stream.info().await?.state.last_sequence + 1;
    Ok((stream, next))
}

/// Where the serial jobs' time went, from the times nats-server stored their status
/// writes at (one clock, the server's), read from the bucket's stream from sequence
/// `from` on: p50 of `queued → running` (the publish, the delivery to the worker, its
/// claim), `running → completed` (the run, the result row, the completion) and
/// `completed → next queued` (the watch telling the client, its next request, the
/// session read and the status write).
async fn serial_segments(
    stream: &async_nats::jetstream::stream::Stream,
    from: u64,
    ids: &[String],
) -> anyhow::Result<serde_json::Value> {
    let mut stream = stream.clone();
    let to = stream.info().await?.state.last_sequence;
    let mut stored: HashMap<(String, &str), i128> = HashMap::new();
    for sequence in from..=to {
        let message = stream.get_raw_message(sequence).await?;
        let Some(id) = message.subject.as_str().strip_prefix("$KV.job_status.") else {
            continue;
        };
        for state in ["queued", "running", "completed"] {
            if contains(
                &message.payload,
                format!("\"status\":\"{state}\"").as_bytes(),
            ) {
                stored
                    .entry((id.to_owned(), state))
                    .or_insert(message.time.unix_timestamp_nanos());
            }
        }
    }
    let mut times = Vec::with_capacity(ids.len());
    for id in ids {
        let at = |state| stored.get(&(id.clone(), state)).copied();
        match (at("queued"), at("running"), at("completed")) {
            (Some(q), Some(r), Some(c)) => times.push((q, r, c)),
            _ => bail!("job {id}: its status writes are incomplete"),
        }
    }
    let span = |a: i128, b: i128| Duration::from_nanos(u64::try_from(b - a).unwrap_or(0));
    Ok(json!({
        "queued_to_running": p50_us(times.iter().map(|(q, r, _)| span(*q, *r)).collect()),
        "running_to_completed": p50_us(times.iter().map(|(_, r, c)| span(*r, *c)).collect()),
        "completed_to_next_queued": p50_us(times.windows(2).map(|w| span(w[0].2, w[1].0)).collect()),
    }))
}

/// p50 of `n` sequential round trips of each NATS operation a job makes, on the scratch
/// bucket `bench_round_trips` (file storage, like Hast's), deleted afterwards.
async fn round_trips(nats: &str, n: usize) -> anyhow::Result<serde_json::Value> {
    let client = async_nats::connect(nats).await.context("connect to NATS")?;
    let js = async_nats::jetstream::new(client);
    let kv = js
        .create_key_value(async_nats::jetstream::kv::Config {
            bucket: "bench_round_trips".into(),
            history: 1,
            max_bytes: 16 * 1024 * 1024,
            ..Default::default()
        })
        .await
        .context("the scratch bucket")?;
    let mut revision = kv.put("k", "v".into()).await?;
    let (mut cas, mut get, mut publish) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..n {
        let t0 = Instant::now();
        revision = kv.update("k", "v".into(), revision).await?;
        cas.push(t0.elapsed());
        let t0 = Instant::now();
        kv.entry("k").await?;
        get.push(t0.elapsed());
        let t0 = Instant::now();
        js.publish("$KV.bench_round_trips.p", "v".into())
            .await?
            .await?;
        publish.push(t0.elapsed());
    }
    js.delete_key_value("bench_round_trips").await?;
    Ok(
        json!({"kv_update": p50_us(cas), "kv_direct_get": p50_us(get), "publish_with_ack": p50_us(publish)}),
    )
}

/// The HTTP client of the bench account: `concurrency` idle connections kept.
fn http_client(token: &str, concurrency: usize) -> anyhow::Result<reqwest::Client> {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {token}").parse()?,
    );
    Ok(reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .timeout(Duration::from_secs(30))
        .default_headers(headers)
        .build()?)
}

/// What the load phase measured.
struct Load {
    /// Submit → 202 of each job, sorted.
    submit_lat: Vec<Duration>,
    /// Submit → completion seen in KV of each job, sorted.
    e2e_lat: Vec<Duration>,
    /// Seconds from the first submit to the last 202.
    submit_wall: f64,
    /// Seconds from the first submit to the last completion.
    load_wall: f64,
    /// CPU seconds this process spent meanwhile.
    load_cpu: f64,
}

/// `args.jobs` jobs from `args.concurrency` tasks, then waits for every completion.
async fn load_phase(
    args: &Args,
    client: &reqwest::Client,
    url: &str,
    completions: &Completions,
    deadline: Instant,
) -> anyhow::Result<Load> {
    let cpu0 = cpu_seconds();
    let started = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..args.concurrency {
        let (client, url, next) = (client.clone(), url.to_owned(), next.clone());
        let jobs = args.jobs;
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= jobs {
                    break;
                }
                let t0 = Instant::now();
                let id = submit(&client, &url, n).await?;
                out.push((id, t0, Instant::now()));
            }
            Ok::<_, anyhow::Error>(out)
        }));
    }
    let mut submitted = Vec::with_capacity(args.jobs);
    for task in tasks {
        submitted.extend(task.await??);
    }
    let submit_end = submitted.iter().map(|s| s.2).max().unwrap_or(started);
    let ids: Vec<String> = submitted.iter().map(|s| s.0.clone()).collect();
    let last_completion = wait_all(completions, &ids, deadline).await?;
    let mut submit_lat: Vec<Duration> = submitted.iter().map(|s| s.2 - s.1).collect();
    let mut e2e_lat: Vec<Duration> = submitted
        .iter()
        .filter_map(|s| {
            completions
                .get(&s.0)
                .map(|done| done.saturating_duration_since(s.1))
        })
        .collect();
    submit_lat.sort_unstable();
    e2e_lat.sort_unstable();
    Ok(Load {
        submit_lat,
        e2e_lat,
        submit_wall: submit_end.duration_since(started).as_secs_f64(),
        load_wall: last_completion.duration_since(started).as_secs_f64(),
        load_cpu: cpu_seconds() - cpu0,
    })
}

/// The JSON report of both phases (also summarised on stderr).
fn load_report(
    args: &Args,
    load: &Load,
    serial_lat: &[Duration],
    seen: usize,
) -> serde_json::Value {
    let (submit_lat, e2e_lat) = (&load.submit_lat, &load.e2e_lat);
    let report = json!({
        "jobs": args.jobs,
        "concurrency": args.concurrency,
        "submit_per_s": args.jobs as f64 / load.submit_wall,
        "end_to_end_jobs_per_s": args.jobs as f64 / load.load_wall,
        "submit_ms": {"p50": percentile(submit_lat, 50.0), "p99": percentile(submit_lat, 99.0)},
        "end_to_end_ms": {"p50": percentile(e2e_lat, 50.0), "p99": percentile(e2e_lat, 99.0)},
        "serial_jobs": args.serial,
        "serial_ms": {"p50": percentile(serial_lat, 50.0), "p99": percentile(serial_lat, 99.0)},
        "load_generator_cpu_percent_of_one_core": 100.0 * load.load_cpu / load.load_wall,
        "completions_seen": seen,
    });
    eprintln!(
        "load: {} jobs, c={}: submit {:.0}/s, end-to-end {:.0} jobs/s; submit p50 {:.2} ms p99 {:.2} ms; e2e p50 {:.2} ms p99 {:.2} ms; generator CPU {:.0}% of a core\nserial: {} jobs: p50 {:.2} ms p99 {:.2} ms",
        args.jobs,
        args.concurrency,
        report["submit_per_s"].as_f64().unwrap_or_default(),
        report["end_to_end_jobs_per_s"].as_f64().unwrap_or_default(),
        percentile(submit_lat, 50.0),
        percentile(submit_lat, 99.0),
        percentile(e2e_lat, 50.0),
        percentile(e2e_lat, 99.0),
        report["load_generator_cpu_percent_of_one_core"].as_f64().unwrap_or_default(),
        args.serial,
        percentile(serial_lat, 50.0),
        percentile(serial_lat, 99.0),
    );
    report
}
