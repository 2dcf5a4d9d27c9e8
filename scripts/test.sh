#!/usr/bin/env bash
# The project's test command (README, .ci/run):
#
#   scripts/test.sh                 # fmt check, clippy, all tests
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

hast_section "cargo fmt --all -- --check"
cargo fmt --all -- --check

hast_section "cargo clippy --workspace --all-targets -- -D warnings"
cargo clippy --workspace --all-targets -- -D warnings

hast_section "cargo build --workspace --bins (tests start hast-worker processes)"
cargo build --workspace --bins

hast_section "cargo test --workspace --all-targets $*"
cargo test --workspace --all-targets "$@"

hast_section "all checks passed"
