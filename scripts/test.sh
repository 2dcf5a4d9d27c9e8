#!/usr/bin/env bash
# The project's test command (README, .ci/run):
#
#   scripts/test.sh                 # fmt check, clippy -D warnings, all tests
#   scripts/test.sh -- --nocapture  # extra args go to `cargo test`
#
# Makes sure nats-server (>= 2.11, JetStream) and a private PostgreSQL
# cluster on 127.0.0.1:${HAST_PG_PORT:-55432} are available first; the
# PostgreSQL cluster is left running for the next run.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HAST_ROOT"

hast_section "nats-server"
ensure_nats_server

hast_section "PostgreSQL"
ensure_postgres

hast_section "Prometheus and docker-compose (monitoring and compose tests)"
ensure_prometheus
ensure_docker_compose

hast_section "Chromium and ChromeDriver (browser tests)"
ensure_chromium

hast_section "web page (web/ -> web/dist, embedded in hast-api)"
build_web

hast_section "cargo fmt --all -- --check"
cargo fmt --all -- --check

# Clippy runs as the compiler of the workspace's own crates during the test build
# (what `cargo clippy` does under the hood, with `cargo check`): the lints and
# `-D warnings` are the same as `cargo clippy --workspace --all-targets -- -D warnings`,
# but the dependencies are compiled once instead of twice (a check build of tract
# and diesel alone took 7 of CI's 28 minutes). Dependencies never go through clippy.
clippy_driver="$(command -v clippy-driver || true)"
[ -n "$clippy_driver" ] || hast_die "clippy-driver not found: rustup component add clippy"
export RUSTC_WORKSPACE_WRAPPER="$clippy_driver"
export CLIPPY_ARGS="-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__"

# `--tests` is every target with `test = true`: the libraries' unit tests and the
# integration-test binaries. The binaries have `test = false` (no unit tests; a test
# harness of each would be one more link of the whole stack): they are compiled, and
# linted, by the build below.
hast_section "cargo test --workspace --tests --no-run (with clippy -D warnings)"
cargo test --workspace --tests --no-run

hast_section "cargo build --workspace --bins (tests start hast-worker processes)"
cargo build --workspace --bins

# The end-to-end tests mostly wait (on nats-server, PostgreSQL, workers' heartbeats):
# two at a time they kept this 2-core machine's CPUs 23 % busy, four at a time 40 %,
# and the suite took 73 s and 42 s. Set RUST_TEST_THREADS to choose another number.
export RUST_TEST_THREADS="${RUST_TEST_THREADS:-4}"
hast_section "cargo test --workspace --tests $* (${RUST_TEST_THREADS} tests at a time per binary)"
cargo test --workspace --tests "$@"

# The HTTP API against its own OpenAPI document: property-based requests with a live
# session (schemathesis, every check), bounded in time; fails on any 5xx or
# non-conformance.
hast_section "schemathesis against the running API (scripts/schemathesis.sh)"
"$HAST_ROOT/scripts/schemathesis.sh"

hast_section "all checks passed"
