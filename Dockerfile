# syntax=docker/dockerfile:1.7
#
# Cloud Chat Rust services: one Dockerfile, one target per service.
#
#   docker build --target auth-service -t cloudchat/auth-service .
#   docker build --target chat-service -t cloudchat/chat-service .
#   docker build --target ws-relay     -t cloudchat/ws-relay .
#
# The three targets share the `builder` stage, so building all of them compiles the
# workspace once. Dependencies are compiled in their own layer (cargo-chef) that is
# reused until Cargo.toml/Cargo.lock change. The web image (nginx + SPA) is
# docker/web.Dockerfile.
#
# Each image runs the binary as an unprivileged user on distroless/cc (glibc,
# libgcc, CA certificates, no shell). Subcommands: `migrate` (auth, chat) applies
# the embedded migrations and exits; `healthcheck` is used by HEALTHCHECK below.

ARG RUST_VERSION=1.95

FROM rust:${RUST_VERSION}-bookworm AS chef
# aws-lc-sys (the crypto behind rustls and the JWT signer) compiles C; cmake lets it
# use its preferred build path.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends cmake \
 && rm -rf /var/lib/apt/lists/*
RUN cargo install cargo-chef --locked --version 0.1.78
WORKDIR /src
# sqlx's query macros read the checked-in .sqlx/ metadata instead of a live database.
ENV SQLX_OFFLINE=true

FROM chef AS planner
COPY . .
RUN cargo chef prepare --recipe-path recipe.json

FROM chef AS builder
COPY --from=planner /src/recipe.json recipe.json
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo chef cook --release --locked --recipe-path recipe.json \
        -p auth-service -p chat-service -p ws-relay
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    cargo build --release --locked -p auth-service -p chat-service -p ws-relay \
 && mkdir -p /out \
 && cp target/release/auth-service target/release/chat-service target/release/ws-relay /out/

# --- runtime images -----------------------------------------------------------------

FROM gcr.io/distroless/cc-debian12:nonroot AS runtime
ENV APP_ENV=production \
    LOG_FORMAT=json \
    RUST_LOG=info \
    MIGRATE_ON_START=false
# uid/gid 65532 ("nonroot" in distroless).
USER 65532:65532

FROM runtime AS auth-service
COPY --from=builder /out/auth-service /usr/local/bin/auth-service
ENV BIND_ADDR=0.0.0.0:8081
EXPOSE 8081
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/auth-service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/auth-service"]

FROM runtime AS chat-service
COPY --from=builder /out/chat-service /usr/local/bin/chat-service
ENV BIND_ADDR=0.0.0.0:8082
EXPOSE 8082
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/chat-service", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/chat-service"]

FROM runtime AS ws-relay
COPY --from=builder /out/ws-relay /usr/local/bin/ws-relay
ENV BIND_ADDR=0.0.0.0:8083 \
    SHUTDOWN_DRAIN_SECS=20
EXPOSE 8083
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["/usr/local/bin/ws-relay", "healthcheck"]
ENTRYPOINT ["/usr/local/bin/ws-relay"]
