#!/usr/bin/env bash
# Property-based conformance run of the HTTP API against its own OpenAPI document, with
# schemathesis (PyPI, pinned in scripts/lib.sh): a real nats-server, hast-api and
# hast-worker (SQLite in a temporary directory) and a registered user's bearer token.
# Fails on any 5xx and on any response that does not conform to the document (status
# code, content type, headers, schema): every check. Logout and account deletion
# are left out, so the token stays valid for the whole run. scripts/schemathesis.toml
# names the few answers no schema can predict (an image that does not decode, say).
#
#   scripts/schemathesis.sh            # after `cargo build --workspace --bins`
#
# Bounded: HAST_ST_MAX_EXAMPLES (default 25) per operation, HAST_ST_MAX_TIME (default
# 90) seconds for the whole run. Everything it starts listens on 127.0.0.1 and is
# stopped on exit.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HAST_ROOT"

ensure_nats_server
ensure_schemathesis

BIN="${CARGO_TARGET_DIR:-$HAST_ROOT/target}/debug"
for b in hast-api hast-worker; do
    [[ -x "$BIN/$b" ]] || hast_die "$BIN/$b not found: run cargo build --workspace --bins first"
done

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    wait 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
NATS_PORT="$(free_port)"
API_PORT="$(free_port)"
WORKER_PORT="$(free_port)"
API="http://127.0.0.1:$API_PORT"

"$NATS_SERVER_BIN" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$WORK/js" >"$WORK/nats.log" 2>&1 &
PIDS+=($!)

export APP_ENV=development
export NATS_URL="nats://127.0.0.1:$NATS_PORT"
export DATABASE_URL="sqlite://$WORK/hast.db"
export RUST_LOG=warn
# The run sends thousands of requests as one user: the per-user quotas are not under test.
export UPLOADS_PER_HOUR=100000 JOBS_PER_HOUR=0 MESSAGES_PER_HOUR=100000 GUEST_MAX_ANALYSES=100000
export QUESTIONS_IN_FLIGHT=100000
# 1 GiB of JetStream, as the tests use: nats-server sizes its store from the free disk,
# and the production budget (9 GiB) would refuse to start on a machine with less free.
export JETSTREAM_MAX_BYTES=1073741824
# Uploads wait for a decode slot rather than get 503 (that path has its own tests), so a
# case gives the same answer when schemathesis repeats it.
export PHOTO_DECODE_WAIT=60s
BIND_ADDR="127.0.0.1:$API_PORT" "$BIN/hast-api" >"$WORK/api.log" 2>&1 &
PIDS+=($!)
WORKER_METRICS_ADDR="127.0.0.1:$WORKER_PORT" "$BIN/hast-worker" >"$WORK/worker.log" 2>&1 &
PIDS+=($!)

for _ in $(seq 1 200); do
    curl -fsS -o /dev/null "$API/healthz" 2>/dev/null && break
    sleep 0.1
done
curl -fsS -o /dev/null "$API/healthz" || { cat "$WORK/api.log" >&2; hast_die "hast-api did not start"; }

EMAIL="st-$(date +%s%N)@example.com"
PASSWORD="schemathesis-$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')"
TOKEN="$(curl -fsS -H 'content-type: application/json' \
    -d "{\"email\":\"$EMAIL\",\"password\":\"$PASSWORD\"}" \
    "$API/api/v1/auth/register" | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')"

REPORT="${HAST_ST_REPORT:-$WORK/report.json}"
status=0
# One worker: with two, schemathesis's threads parse Python source concurrently
# (hypothesis describing its strategies), and CPython 3.11's ast module keeps one
# recursion counter per interpreter, so a race ends the run with "SystemError: AST
# constructor recursion depth mismatch" (python/cpython#106905), a failure of the tool,
# not of the API.
#
# Every check is on by default (scripts/schemathesis.toml turns a few off for one
# operation each). No `--checks all` here: options on the command line win over every
# level of the config file, so it silently re-enabled those, and a stateful run that
# happened to follow POST /jobs -> DELETE -> GET /jobs/{id}/events failed on a cancel
# that is documented to leave the job readable.
"$HAST_ST_BIN" --config-file "$HAST_ROOT/scripts/schemathesis.toml" run "$API/api/v1/openapi.json" \
    --header "Authorization: Bearer $TOKEN" \
    --exclude-operation-id logout \
    --exclude-operation-id deleteMe \
    --max-examples "${HAST_ST_MAX_EXAMPLES:-25}" \
    --max-time "${HAST_ST_MAX_TIME:-90}" \
    --request-timeout 30 \
    --workers 1 \
    --seed "${HAST_ST_SEED:-1}" \
    --generation-deterministic \
    --no-color \
    ${HAST_ST_ARGS:-} \
    --report ndjson --report-ndjson-path "$WORK/events.ndjson" || status=$?

if [[ $status -ne 0 ]]; then
    hast_log "schemathesis found problems (exit $status); API log tail:"
    tail -n 40 "$WORK/api.log" >&2 || true
fi
[[ -f "$WORK/events.ndjson" ]] && cp "$WORK/events.ndjson" "$REPORT" 2>/dev/null || true
exit "$status"
