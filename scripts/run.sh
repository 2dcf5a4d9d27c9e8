#!/usr/bin/env bash
# The project's run command (README):
#
#   scripts/run.sh                 # NATS + hast-api + hast-worker, Ctrl-C stops all
#   scripts/run.sh | npx bunyan    # the same, with the JSON logs pretty-printed
#
# Builds the release binaries, starts a JetStream-enabled nats-server on
# 127.0.0.1:4222 (nats/dev.conf: monitoring 127.0.0.1:8222, store data/nats) unless NATS_URL
# is set (in the environment or .env), runs `hast-api migrate`, then starts
# hast-api and hast-worker. Their bunyan JSON logs go to stdout; this script's
# own messages go to stderr; nats-server logs to data/nats-server.log.
# On exit (Ctrl-C, TERM, or when any of them dies) it stops exactly the
# processes it started: TERM, then KILL after ${HAST_STOP_GRACE:-10}s.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HAST_ROOT"

START_TIMEOUT="${HAST_START_TIMEOUT:-60}"
STOP_GRACE="${HAST_STOP_GRACE:-10}"

PIDS=()  # everything we started, in start order
NAMES=() # matching names, for messages
APP_PIDS=()
NATS_PID=""
_STOPPING=""

# Value of KEY from the environment, else from ./.env (read, not executed),
# else empty. The binaries load .env themselves (dotenvy: the environment wins).
env_or_dotenv() {
    local key="$1" line val
    if [[ -n "${!key:-}" ]]; then
        printf '%s' "${!key}"
        return 0
    fi
    [[ -f .env ]] || return 0
    line="$(grep -E "^[[:space:]]*(export[[:space:]]+)?${key}[[:space:]]*=" .env | tail -n1 || true)"
    [[ -n "$line" ]] || return 0
    val="${line#*=}"
    val="${val#"${val%%[![:space:]]*}"}" # ltrim
    case "$val" in
    \"*) val="${val#\"}" && val="${val%%\"*}" ;;
    \'*) val="${val#\'}" && val="${val%%\'*}" ;;
    *) val="${val%%[[:space:]]#*}" && val="${val%"${val##*[![:space:]]}"}" ;;
    esac
    printf '%s' "$val"
}

# host:port -> http://host:port reachable from here (0.0.0.0 / [::] -> loopback).
addr_to_url() {
    local addr="$1" host port
    host="${addr%:*}"
    port="${addr##*:}"
    case "$host" in
    "" | 0.0.0.0) host=127.0.0.1 ;;
    "[::]") host="[::1]" ;;
    esac
    printf 'http://%s:%s' "$host" "$port"
}

alive() {
    local pid="$1" state
    [[ -r "/proc/$pid/stat" ]] || return 1
    state="$(sed -E 's/^[0-9]+ \(.*\) ([A-Za-z]).*/\1/' "/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ "$state" != Z && "$state" != X ]]
}

name_of() {
    local i
    for i in "${!PIDS[@]}"; do
        [[ "${PIDS[$i]}" == "$1" ]] && printf '%s' "${NAMES[$i]}" && return 0
    done
    printf 'pid %s' "$1"
}

# start [--log FILE] NAME CMD...: start CMD in the background (output appended
# to FILE if given), in its own session so that a Ctrl-C on the terminal
# reaches only this script, which then stops everything in order (apps first,
# NATS last). setsid does not fork here (a background job of a non-interactive
# shell is no process-group leader), so $! is the program's own pid.
start() {
    local log=/dev/stdout name
    if [[ "$1" == --log ]]; then
        log="$2"
        shift 2
    fi
    name="$1"
    shift
    if [[ "$log" == /dev/stdout ]]; then
        setsid "$@" &
    else
        setsid "$@" >>"$log" 2>&1 &
    fi
    PIDS+=("$!")
    NAMES+=("$name")
    hast_log "started $name (pid $!)"
}

# shellcheck disable=SC2317 # stop_pids/cleanup run from traps
# stop_pids PID...: TERM, wait up to STOP_GRACE seconds, then KILL.
stop_pids() {
    local pid deadline
    (($# > 0)) || return 0
    for pid in "$@"; do
        if alive "$pid"; then
            hast_log "stopping $(name_of "$pid") (pid $pid)"
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    deadline=$((SECONDS + STOP_GRACE))
    for pid in "$@"; do
        while alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.2
        done
        if alive "$pid"; then
            hast_log "$(name_of "$pid") (pid $pid) did not stop within ${STOP_GRACE}s; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
        wait "$pid" 2>/dev/null || true
    done
}

# shellcheck disable=SC2317
cleanup() {
    [[ -z "$_STOPPING" ]] || return 0
    _STOPPING=1
    # Whatever happens now, stop the processes: a Ctrl-C may also have ended
    # the reader of our output (`| tee`, `| jq`), so our writes may fail.
    set +e
    trap '' PIPE
    stop_pids "${APP_PIDS[@]}"
    if [[ -n "$NATS_PID" ]]; then
        stop_pids "$NATS_PID"
    fi
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM
trap 'cleanup; exit 129' HUP
trap 'cleanup; exit 141' PIPE

# wait_until WHAT PID CMD...: poll CMD until it succeeds; fail if PID dies or
# START_TIMEOUT passes.
wait_until() {
    local what="$1" pid="$2" deadline
    shift 2
    deadline=$((SECONDS + START_TIMEOUT))
    until "$@" >/dev/null 2>&1; do
        if ! alive "$pid"; then
            hast_die "$what exited during startup"
            return 1
        fi
        if ((SECONDS >= deadline)); then
            hast_die "$what did not become healthy within ${START_TIMEOUT}s"
            return 1
        fi
        sleep 0.5
    done
}

tcp_open() {
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
}

# ---------------------------------------------------------------------------
hast_section "nats-server"
command -v curl >/dev/null 2>&1 || _hast_apt_install curl ca-certificates
ensure_nats_server

hast_section "web page (web/ -> web/dist, embedded in hast-api)"
build_web

hast_section "cargo build --release --bin hast-api --bin hast-worker"
cargo build --release --bin hast-api --bin hast-worker
API_BIN="$HAST_ROOT/target/release/hast-api"
WORKER_BIN="$HAST_ROOT/target/release/hast-worker"

mkdir -p data

NATS_URL_SET="$(env_or_dotenv NATS_URL)"
if [[ -n "$NATS_URL_SET" ]]; then
    # Shown with any password as *** (user:password@host), like the binaries do.
    hast_section "NATS: using NATS_URL=$(printf '%s' "$NATS_URL_SET" |
        sed -E 's#(^|,|://)([^:/@,]+):[^@/,]*@#\1\2:***@#g') (not starting nats-server)"
else
    hast_section "NATS: starting nats-server (nats/dev.conf, store data/nats)"
    if tcp_open 127.0.0.1 4222 || tcp_open 127.0.0.1 8222; then
        hast_die "127.0.0.1:4222 or :8222 is already in use. Stop that server, or use it: NATS_URL=nats://127.0.0.1:4222 scripts/run.sh"
        exit 1
    fi
    mkdir -p data/nats
    hast_log "nats-server log: data/nats-server.log"
    # No -sd: dev.conf sets store_dir "data/nats" (relative to the repo root,
    # our cwd), and nats-server rejects -sd together with a store_dir.
    start --log data/nats-server.log nats-server "$NATS_SERVER_BIN" -c nats/dev.conf
    NATS_PID="${PIDS[-1]}"
    if ! wait_until nats-server "$NATS_PID" curl -fsS -m 2 http://127.0.0.1:8222/healthz; then
        tail -n 20 data/nats-server.log >&2 || true
        exit 1
    fi
    hast_log "nats-server is healthy (nats://127.0.0.1:4222, monitoring http://127.0.0.1:8222)"
fi

hast_section "hast-api migrate"
"$API_BIN" migrate

hast_section "starting hast-api and hast-worker"
start hast-api "$API_BIN"
APP_PIDS+=("${PIDS[-1]}")
API_PID="${PIDS[-1]}"
start hast-worker "$WORKER_BIN"
APP_PIDS+=("${PIDS[-1]}")
WORKER_PID="${PIDS[-1]}"

BIND_ADDR_SET="$(env_or_dotenv BIND_ADDR)"
API_URL="$(addr_to_url "${BIND_ADDR_SET:-127.0.0.1:8080}")"
METRICS_ADDR_SET="$(env_or_dotenv WORKER_METRICS_ADDR)"
METRICS_URL="$(addr_to_url "${METRICS_ADDR_SET:-127.0.0.1:9091}")"

wait_until hast-api "$API_PID" curl -fsS -m 2 "$API_URL/healthz"
if ! wait_until hast-worker "$WORKER_PID" curl -fsS -m 2 "$METRICS_URL/healthz"; then
    alive "$WORKER_PID" || exit 1
    hast_log "warning: worker health endpoint $METRICS_URL/healthz does not answer; carrying on"
fi

{
    echo
    echo "Hast is running at $API_URL"
    echo "  health:  $API_URL/healthz  $API_URL/api/v1/health"
    echo "  worker:  $METRICS_URL/healthz"
    if [[ -n "$NATS_PID" ]]; then
        echo "  NATS:    nats://127.0.0.1:4222 (monitoring http://127.0.0.1:8222, log data/nats-server.log)"
    fi
    echo "  logs:    hast-api/hast-worker write bunyan JSON to stdout;"
    echo "           pretty-print with: scripts/run.sh | npx bunyan"
    echo "Press Ctrl-C to stop."
    echo
} >&2

# Run until Ctrl-C / TERM (handled by the traps) or until one process exits.
rc=0
wait -n "${PIDS[@]}" || rc=$?
for pid in "${PIDS[@]}"; do
    if ! alive "$pid"; then
        hast_log "$(name_of "$pid") (pid $pid) exited (status $rc); stopping the rest"
    fi
done
((rc != 0)) || rc=1
exit "$rc"
