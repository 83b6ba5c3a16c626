# actgate container image.
#
#   docker build -t actgate .
#   docker run --rm -v "$PWD/actgate.toml:/etc/actgate/actgate.toml:ro" ... actgate
#
# docker-compose.yml runs it with PostgreSQL and the sample shop schema; see
# the "Deployment" section of README.md.

# --- build -------------------------------------------------------------------
# The toolchain this repository is developed with (edition 2024, let chains).
FROM rust:1.95-bookworm AS builder
WORKDIR /src
# The pg_query crate (PostgreSQL's parser, the analysis's referee) compiles C
# and generates bindings with bindgen, which needs libclang.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-dev \
    && rm -rf /var/lib/apt/lists/*

# Dependencies first, in their own layer: rebuilt only when Cargo.toml or
# Cargo.lock change. Stub targets stand in for the sources (cargo checks that
# every target the manifest declares exists).
COPY Cargo.toml Cargo.lock ./
# The patched sqlparser ([patch.crates-io] in Cargo.toml).
COPY vendor ./vendor
RUN mkdir -p src benches tests \
    && echo 'fn main() {}' > src/main.rs \
    && touch src/lib.rs \
    && echo 'fn main() {}' > benches/policy.rs \
    && echo 'fn main() {}' > tests/launcher_owner.rs \
    && cargo build --release --locked \
    && rm -rf src

# The real sources (demo/shop.sql is compiled in by src/launcher.rs), and
# the build script that has the linker place the per-statement functions
# together (link/hot-functions.txt).
COPY src ./src
COPY demo ./demo
COPY build.rs ./
COPY link ./link
RUN touch src/main.rs src/lib.rs \
    && cargo build --release --locked --bin actgate \
    && strip target/release/actgate

# --- runtime -----------------------------------------------------------------
FROM debian:bookworm-slim

# CA certificates for upstream.tls = "require" with a public CA.
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# An unprivileged user; /var/lib/actgate is its working directory and where
# the sample configuration writes the audit log.
RUN groupadd --system --gid 10001 actgate \
    && useradd --system --uid 10001 --gid actgate --home-dir /var/lib/actgate \
       --shell /usr/sbin/nologin actgate \
    && mkdir -p /etc/actgate/rules /var/lib/actgate \
    && chown actgate:actgate /var/lib/actgate

COPY --from=builder /src/target/release/actgate /usr/local/bin/actgate

USER 10001:10001
WORKDIR /var/lib/actgate

# 6432: agents (PostgreSQL protocol). 9187: admin endpoint ([admin] listen).
EXPOSE 6432 9187

# GET /readyz on the admin endpoint, with bash's /dev/tcp (the image has no
# curl). It assumes [admin] listen on port 9187; without an admin endpoint,
# run the container with --no-healthcheck.
HEALTHCHECK --interval=10s --timeout=3s --start-period=15s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/9187 && printf 'GET /readyz HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["actgate"]
CMD ["serve", "--config", "/etc/actgate/actgate.toml"]
