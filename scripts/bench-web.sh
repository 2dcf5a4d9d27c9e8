#!/usr/bin/env bash
# Benchmark (not a test): the web page's first load in headless Chromium, cold cache,
# ten times: bytes transferred (compressed, headers included) and milliseconds from
# navigation to the first view drawn (docs/benchmarks.md).
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HAST_ROOT"

ensure_nats_server
ensure_chromium
build_web
cargo test -p hast-tests --test suite web::first_load_benchmark -- --ignored --nocapture 2>&1 |
    grep -E '^(\{|first load)'
