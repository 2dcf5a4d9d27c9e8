#!/usr/bin/env bash
# Builds the web page into web/dist (type-check, bundle, content-hashed names), which
# hast-api embeds when it is compiled. scripts/run.sh and scripts/test.sh run it first;
# run it by hand before a bare `cargo build` of hast-api if you changed web/.
set -euo pipefail

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$HAST_ROOT"

hast_section "web page (web/ -> web/dist)"
build_web
