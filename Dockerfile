# syntax=docker/dockerfile:1
#
# Hast container images.
#
#   docker build --target api    -t hast-api .
#   docker build --target worker -t hast-worker .
#
# Stages: chef (toolchain + cargo-chef) -> planner (dependency recipe) ->
# builder (dependencies cached in their own layer, then the two binaries) ->
# runtime (shared slim base) -> worker / api.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS chef
RUN cargo install cargo-chef --locked
WORKDIR /src

# ---------------------------------------------------------------------------
# Only Cargo.toml/Cargo.lock files end up in recipe.json, so the cook layer
# below is reused until the dependency set changes.
FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

# ---------------------------------------------------------------------------
# The web page (web/dist), embedded in hast-api when it is compiled.
FROM node:20-bookworm-slim AS web
WORKDIR /web
COPY web/package.json web/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY web/ ./
RUN npm run build

# ---------------------------------------------------------------------------
FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN cargo chef cook --release --recipe-path recipe.json
COPY . .
COPY --from=web /web/dist web/dist
RUN cargo build --release --locked --bin hast-api --bin hast-worker \
 && install -D -m 0755 target/release/hast-api    /out/hast-api \
 && install -D -m 0755 target/release/hast-worker /out/hast-worker

# ---------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# Unpinned on purpose: bookworm point releases replace the exact versions.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/*
RUN groupadd --gid 10001 hast \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /app \
            --shell /usr/sbin/nologin hast
WORKDIR /app
# Default DATABASE_URL is sqlite://data/hast.db, relative to /app.
RUN mkdir -p /app/data && chown hast:hast /app/data
# Numeric, so runAsNonRoot-style checks can verify it: hast:hast.
USER 10001:10001
# Production unless told otherwise: the binaries then refuse to start without a real
# SESSION_SECRET, and cookies are Secure. `-e APP_ENV=development` for a plain-http trial.
ENV APP_ENV=production

# ---------------------------------------------------------------------------
FROM runtime AS worker
COPY --from=builder /out/hast-worker /usr/local/bin/hast-worker
# The worker binary embeds MediaPipe's hand-landmark model (Apache-2.0): ship its notice.
COPY palm/models/NOTICE palm/models/LICENSE-APACHE-2.0 /usr/share/doc/hast/hand-landmark-model/
# The metrics listener serves /healthz and /metrics.
ENV WORKER_METRICS_ADDR=0.0.0.0:9091
EXPOSE 9091
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:9091/healthz"]
ENTRYPOINT ["/usr/local/bin/hast-worker"]

# ---------------------------------------------------------------------------
# Last stage, so a plain `docker build .` produces the API image.
FROM runtime AS api
COPY --from=builder /out/hast-api /usr/local/bin/hast-api
ENV BIND_ADDR=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:8080/healthz"]
ENTRYPOINT ["/usr/local/bin/hast-api"]
# `docker run IMAGE migrate` runs the migrations instead.
CMD ["serve"]
