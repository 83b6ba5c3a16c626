#!/usr/bin/env bash
# Soak test (not run in CI): a throwaway PostgreSQL with the demo shop
# database and actgate in-process in front of it, 200 concurrent clients
# (ordinary tokio-postgres sessions, raw extended pipelines with
# server-raised errors, bad clients) for N minutes, with row limits on, the
# rules rewritten in slow chunks and reloaded every few seconds, and the
# audit log rotated every 30 s. All traffic stays on 127.0.0.1.
#
# Prints a table of figures and exits non-zero if a bad one is not zero
# (wrong decisions, rows past a limit, hung sessions, unexpected replies,
# fd growth, sessions or backends left, audit events lost without a record).
# The driver is examples/soak.rs; actgate's own log (WARN and up; set
# RUST_LOG for more) goes to target/soak/actgate.log.
#
# usage: scripts/soak.sh [--minutes N]   (default 10)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

minutes=10
while [ $# -gt 0 ]; do
    case "$1" in
        --minutes) minutes="${2:?--minutes needs a value}"; shift 2 ;;
        --minutes=*) minutes="${1#*=}"; shift ;;
        -h|--help) sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "soak.sh: unknown argument $1 (usage: scripts/soak.sh [--minutes N])" >&2; exit 2 ;;
    esac
done

bash scripts/ensure-postgres.sh
cargo build --example soak
mkdir -p target/soak
exec target/debug/examples/soak --minutes "$minutes" --log target/soak/actgate.log
