#!/usr/bin/env bash
# The project's single test command: formatting, lints and every test.
#
# CI runs this as root on a fresh Debian 12 machine with the Rust toolchain
# (.ci/run). The build needs clang/libclang (scripts/ensure-build-deps.sh
# installs them as root). The tests start throwaway PostgreSQL clusters (src/launcher.rs)
# and drive psql, pgbench and openssl, so those must be installed; as root,
# scripts/ensure-postgres.sh installs whatever is missing with apt-get
# (postgresql postgresql-contrib postgresql-client openssl), otherwise it
# fails with a message saying what to install.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '==> %s\n' "$*"; }

log "checking for PostgreSQL server binaries, psql, pgbench and openssl (scripts/ensure-postgres.sh)"
bash scripts/ensure-postgres.sh
log "using PostgreSQL: $(command -v initdb || ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
log "checking for clang and libclang, which the pg_query crate's build needs (scripts/ensure-build-deps.sh)"
bash scripts/ensure-build-deps.sh
log "checking for the client drivers: Python (psycopg, psycopg2, asyncpg, SQLAlchemy, pandas, LangChain, postgres-mcp), Node (node-postgres, pg-cursor, postgres.js, Kysely), pgjdbc and pgx (scripts/ensure-drivers.sh)"
bash scripts/ensure-drivers.sh

# A fresh build of everything the suite compiles (clippy's and the
# tests' artefacts in target/) takes about 10 GiB; the test clusters a
# few hundred MiB. Say so plainly rather than fail later in a linker.
avail_gib=$(df -Pk . | awk 'NR == 2 { printf "%d", $4 / 1024 / 1024 }')
log "free disk space here: ${avail_gib} GiB (a build from scratch needs about 10 GiB)"
if ((avail_gib < 3)); then
    echo "error: only ${avail_gib} GiB free on the disk holding $(pwd): the build cannot fit; free some space (an old target/ directory?) and run again" >&2
    exit 1
fi

for tool in fmt clippy; do
    if ! cargo "$tool" --version >/dev/null 2>&1; then
        component=$tool
        [ "$tool" = fmt ] && component=rustfmt
        if command -v rustup >/dev/null 2>&1; then
            log "rustup component add $component"
            rustup component add "$component"
        else
            echo "error: cargo $tool is not available and rustup is not installed to add $component" >&2
            exit 1
        fi
    fi
done

log "cargo fmt --all -- --check"
cargo fmt --all -- --check

log "cargo clippy --all-targets -- -D warnings"
cargo clippy --all-targets -- -D warnings

# Doc tests first, so that the closing lines are the real suite's.
log "cargo test --doc"
cargo test --doc

log "cargo test --all-targets"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
cargo test --all-targets 2>&1 | tee "$out"

# One closing line for the whole suite, summed over every test binary.
passed=$(grep -E '^test result: ' "$out" | sed -E 's/.* ([0-9]+) passed.*/\1/' | awk '{s+=$1} END {print s+0}')
failed=$(grep -E '^test result: ' "$out" | sed -E 's/.* ([0-9]+) failed.*/\1/' | awk '{s+=$1} END {print s+0}')
log "all checks passed"
echo "actgate: ${passed} passed, ${failed} failed"
