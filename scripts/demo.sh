#!/usr/bin/env bash
# The main job: a throwaway PostgreSQL with the demo shop database and actgate
# in front of it, governed by rules/. Ctrl-C stops and cleans up everything.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-postgres.sh
bash scripts/ensure-build-deps.sh
exec cargo run --release --quiet -- demo "$@"
