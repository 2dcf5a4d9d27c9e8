#!/usr/bin/env bash
# Benchmark (not a test): end-to-end echo jobs through the release binaries.
#
#   scripts/bench.sh                      # SQLite and PostgreSQL, defaults below
#   BENCH_JOBS=20000 BENCH_CONCURRENCY=128 scripts/bench.sh sqlite
#   BENCH_NATS=cluster scripts/bench.sh sqlite   # 3 local nats-servers, JOBS_REPLICAS=3
#   BENCH_BIN=/tmp/bin-before scripts/bench.sh sqlite  # binaries copied from another build
#                                                     # (no build; for before/after runs)
#   BENCH_PHOTOS=0 scripts/bench.sh sqlite       # skip the analysis phase
#
# The services run with the product's defaults (WORKER_CONCURRENCY per kind, as
# shipped); BENCH_WORKER_CONCURRENCY overrides it. The echo worker is the non-analysis
# pool of compose (WORKER_KINDS=chat,echo,health,thumbnail), so its idle RSS is that of
# a worker without the palm model. Two settings are not defaults: JOBS_PER_HOUR=0 and
# UPLOADS_PER_HOUR=1000000, per-user quotas that would stop one benchmark user.
#
# Then, for the first backend, the analysis phase: BENCH_PHOTOS (40) synthetic palms
# uploaded through one analysis worker process (WORKER_KINDS=analysis), then through two.
#
# Starts its own nats-server (temporary store; with BENCH_NATS=cluster, three routed
# into one JetStream cluster, and every stream and bucket replicated three times)
# and, per backend, hast-api and one
# hast-worker on loopback ports, records their idle RSS, runs hast-bench (load phase
# then serial phase), records RSS after the load, and stops everything it started.
# Results: one JSON line per backend on stdout; a summary on stderr.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HAST_ROOT"

JOBS="${BENCH_JOBS:-20000}"
CONCURRENCY="${BENCH_CONCURRENCY:-64}"
SERIAL="${BENCH_SERIAL:-1000}"
WORKER_CONCURRENCY="${BENCH_WORKER_CONCURRENCY:-}"
WORKER_KINDS="${BENCH_WORKER_KINDS:-chat,echo,health,thumbnail}"
PHOTOS="${BENCH_PHOTOS:-40}"
NATS_MODE="${BENCH_NATS:-single}"
BACKENDS=("$@")
((${#BACKENDS[@]})) || BACKENDS=(sqlite postgres)

ensure_nats_server
for b in "${BACKENDS[@]}"; do
    [[ "$b" == postgres ]] && ensure_postgres
done
BIN="${BENCH_BIN:-target/release}"
if [[ -z "${BENCH_BIN:-}" ]]; then
    hast_section "cargo build --release"
    cargo build --release -p hast-api -p hast-worker -p hast-bench
fi

WORK="$(mktemp -d /tmp/hast-bench.XXXXXX)"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cpu_s() { awk '{ split($0, a, ") "); split(a[2], f, " "); printf "%.2f", (f[12] + f[13]) / 100 }' "/proc/$1/stat"; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a - b }'; }
rss_mb() { awk '/VmRSS/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }
wait_http() {
    local url="$1" i
    for i in $(seq 1 100); do
        curl -fsS -m 1 "$url" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    hast_die "$url did not answer"
}

NATS_PIDS=()
NATS_URLS=()
NATS_MONS=()
case "$NATS_MODE" in
single) NODES=1 ;;
cluster) NODES=3 ;;
*) hast_die "BENCH_NATS is single or cluster, not $NATS_MODE" ;;
esac
ROUTE_PORTS=()
for i in $(seq 1 "$NODES"); do ROUTE_PORTS+=("$(free_port)"); done
ROUTES="$(printf 'nats://127.0.0.1:%s,' "${ROUTE_PORTS[@]}")"
for i in $(seq 1 "$NODES"); do
    port="$(free_port)" mon="$(free_port)"
    cluster_args=()
    if [[ "$NATS_MODE" == cluster ]]; then
        cluster_args=(-n "bench-$i" --cluster_name hast-bench --cluster "nats://127.0.0.1:${ROUTE_PORTS[$((i - 1))]}" --routes "${ROUTES%,}")
    fi
    "$NATS_SERVER_BIN" -a 127.0.0.1 -p "$port" -m "$mon" -js -sd "$WORK/nats-$i" "${cluster_args[@]}" >"$WORK/nats-$i.log" 2>&1 &
    PIDS+=("$!")
    NATS_PIDS+=("$!")
    NATS_URLS+=("nats://127.0.0.1:$port")
    NATS_MONS+=("$mon")
done
for mon in "${NATS_MONS[@]}"; do wait_http "http://127.0.0.1:$mon/healthz"; done
NATS_URL="$(IFS=,; echo "${NATS_URLS[*]}")"
export NATS_URL
export JOBS_REPLICAS="$NODES"
nats_cpu_s() {
    local total=0 pid
    for pid in "${NATS_PIDS[@]}"; do total="$(awk -v a="$total" -v b="$(cpu_s "$pid")" 'BEGIN { printf "%.2f", a + b }')"; done
    echo "$total"
}

for backend in "${BACKENDS[@]}"; do
    case "$backend" in
    sqlite) DATABASE_URL="sqlite://$WORK/bench.db" ;;
    postgres)
        psql "$HAST_TEST_POSTGRES_URL" -qc "DROP DATABASE IF EXISTS hast_bench WITH (FORCE)" -c "CREATE DATABASE hast_bench"
        DATABASE_URL="${HAST_TEST_POSTGRES_URL%/*}/hast_bench"
        ;;
    *) hast_die "unknown backend $backend" ;;
    esac
    export DATABASE_URL
    API_PORT="$(free_port)"
    METRICS_PORT="$(free_port)"
    # A fresh stream per backend, so the runs do not share a backlog.
    curl -fsS "http://127.0.0.1:${NATS_MONS[0]}/healthz" >/dev/null
    BIND_ADDR="127.0.0.1:$API_PORT" JOBS_PER_HOUR=0 UPLOADS_PER_HOUR=1000000 RUST_LOG=warn \
        "$BIN"/hast-api >"$WORK/api-$backend.log" 2>&1 &
    API_PID="$!"
    PIDS+=("$API_PID")
    wait_http "http://127.0.0.1:$API_PORT/healthz"
    ( [[ -n "$WORKER_CONCURRENCY" ]] && export WORKER_CONCURRENCY
      WORKER_KINDS="$WORKER_KINDS" WORKER_METRICS_ADDR="127.0.0.1:$METRICS_PORT" RUST_LOG=warn \
        exec "$BIN"/hast-worker >"$WORK/worker-$backend.log" 2>&1 ) &
    WORKER_PID="$!"
    PIDS+=("$WORKER_PID")
    wait_http "http://127.0.0.1:$METRICS_PORT/healthz"
    sleep 1 # settle before reading idle memory (a measurement, not synchronisation)
    API_IDLE="$(rss_mb "$API_PID")"
    WORKER_IDLE="$(rss_mb "$WORKER_PID")"

    hast_section "$backend: $JOBS jobs, concurrency $CONCURRENCY, then $SERIAL serial"
    NATS_CPU0="$(nats_cpu_s)" API_CPU0="$(cpu_s "$API_PID")" WORKER_CPU0="$(cpu_s "$WORKER_PID")"
    REPORT="$("$BIN"/hast-bench --api "http://127.0.0.1:$API_PORT" --nats "${NATS_URLS[0]}" \
        --jobs "$JOBS" --concurrency "$CONCURRENCY" --serial "$SERIAL")"
    CPU="{\"nats_server\":$(sub "$(nats_cpu_s)" "$NATS_CPU0"),\"api\":$(sub "$(cpu_s "$API_PID")" "$API_CPU0"),\"worker\":$(sub "$(cpu_s "$WORKER_PID")" "$WORKER_CPU0")}"
    API_AFTER="$(rss_mb "$API_PID")"
    WORKER_AFTER="$(rss_mb "$WORKER_PID")"
    echo "{\"nats\":\"$NATS_MODE\",\"backend\":\"$backend\",\"worker_kinds\":\"$WORKER_KINDS\",\"worker_concurrency\":\"${WORKER_CONCURRENCY:-default}\",\"rss_mb\":{\"api_idle\":$API_IDLE,\"worker_idle\":$WORKER_IDLE,\"api_after\":$API_AFTER,\"worker_after\":$WORKER_AFTER},\"cpu_seconds\":$CPU,\"bench\":$REPORT}"
    hast_log "$backend: idle RSS api ${API_IDLE} MB, worker ${WORKER_IDLE} MB; after load api ${API_AFTER} MB, worker ${WORKER_AFTER} MB"
    if ((PHOTOS > 0)) && [[ "$backend" == "${BACKENDS[0]}" ]]; then
        ANALYSIS_PIDS=()
        for n in 1 2; do
            port="$(free_port)"
            WORKER_KINDS=analysis WORKER_METRICS_ADDR="127.0.0.1:$port" RUST_LOG=warn \
                "$BIN"/hast-worker >"$WORK/worker-analysis-$n.log" 2>&1 &
            ANALYSIS_PIDS+=("$!")
            PIDS+=("$!")
            wait_http "http://127.0.0.1:$port/healthz"
            hast_section "$backend: $PHOTOS photos through $n analysis worker(s)"
            PHOTO_REPORT="$("$BIN"/hast-bench --api "http://127.0.0.1:$API_PORT" --nats "${NATS_URLS[0]}" \
                --photos "$PHOTOS" --concurrency 8)"
            echo "{\"nats\":\"$NATS_MODE\",\"backend\":\"$backend\",\"analysis_workers\":$n,\"analysis_rss_mb\":$(rss_mb "${ANALYSIS_PIDS[0]}"),\"bench\":$PHOTO_REPORT}"
        done
        kill -TERM "${ANALYSIS_PIDS[@]}"
        wait "${ANALYSIS_PIDS[@]}" 2>/dev/null || true
    fi
    kill -TERM "$API_PID" "$WORKER_PID"
    wait "$API_PID" "$WORKER_PID" 2>/dev/null || true
done
