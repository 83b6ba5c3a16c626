#!/usr/bin/env bash
# Smoke test of the image and docker-compose.yml, as a new user would run
# them: builds the image, starts the stack, checks through port 6432 that an
# allowed query answers and a denied one gets SQLSTATE 42501, runs the
# `policy-tests` profile, checks that data survives `down`/`up`, and tears
# everything down. Run by hand or by a CI that has Docker; `.ci/run` does
# not (it has no Docker engine).
#
#   bash scripts/docker-smoke.sh                       # Compose v2 (docker compose)
#   COMPOSE=docker-compose bash scripts/docker-smoke.sh  # Compose v1 (Debian's docker-compose)
#
# Needs docker, psql and openssl. It runs as its own compose project
# (actgate-smoke, volumes removed at the end) but publishes the compose
# file's ports, 6432 and 9187: stop a running actgate stack first. Makes
# deploy/secrets with deploy/init-secrets.sh if they are missing (and keeps
# them).
set -euo pipefail
cd "$(dirname "$0")/.."

COMPOSE=${COMPOSE:-"docker compose"}
PROJECT=${PROJECT:-actgate-smoke}
# shellcheck disable=SC2086 # COMPOSE is a command of one or two words
compose() { $COMPOSE -p "$PROJECT" "$@"; }

passed=0
failed=0
step() { printf '\n==> %s\n' "$*"; }
pass() { passed=$((passed + 1)); printf 'PASS %s\n' "$*"; }
fail() { failed=$((failed + 1)); printf 'FAIL %s\n' "$*"; }

for tool in docker psql openssl; do
    command -v "$tool" >/dev/null || { echo "docker-smoke.sh: $tool is required" >&2; exit 2; }
done
$COMPOSE version >/dev/null 2>&1 || { echo "docker-smoke.sh: '$COMPOSE' does not run" >&2; exit 2; }

teardown() {
    step "teardown"
    compose --profile ci down -v --remove-orphans >/dev/null 2>&1 || true
}
trap teardown EXIT

[[ -d deploy/secrets ]] || { step "making deploy/secrets"; bash deploy/init-secrets.sh; }

# Waits until the actgate container is healthy (its HEALTHCHECK asks /readyz).
wait_healthy() {
    local id status
    for _ in $(seq 1 120); do
        id=$(compose ps -q actgate 2>/dev/null || true)
        if [[ -n $id ]]; then
            status=$(docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{end}}' "$id" 2>/dev/null || true)
            [[ $status == healthy ]] && return 0
        fi
        sleep 2
    done
    compose logs --tail 50 >&2 || true
    return 1
}

AGENT_URL="postgres://analytics:analytics-demo-secret@127.0.0.1:6432/shop?sslmode=require"
agent_psql() { psql "$AGENT_URL" -X -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -At "$@"; }
db_psql() { compose exec -T postgres psql -X -v ON_ERROR_STOP=1 -U postgres -d shop -At "$@"; }

step "$COMPOSE version"
$COMPOSE version

step "build the image"
if compose build; then pass "image built"; else fail "image build"; exit 1; fi

step "up"
compose up -d
if wait_healthy; then pass "postgres and actgate healthy"; else fail "actgate never became healthy"; exit 1; fi

step "an allowed query through 6432"
if out=$(agent_psql -c "SELECT count(*) FROM orders" 2>&1) && [[ $out =~ ^[0-9]+$ ]]; then
    pass "allowed query answered ($out orders)"
else
    fail "allowed query: $out"
fi

step "a denied query through 6432"
if out=$(agent_psql -c "SELECT * FROM staff_users" 2>&1); then
    fail "denied query ran: $out"
elif [[ $out == *"42501"* ]]; then
    pass "denied with 42501: $(head -1 <<<"$out")"
else
    fail "denied query, but not with 42501: $out"
fi
# The session survives a denial: the next statement of the same session
# (psql sends both over one connection) runs.
out=$(psql "$AGENT_URL" -X -v ON_ERROR_STOP=0 -v VERBOSITY=verbose -At \
    -c "SELECT * FROM staff_users" -c "SELECT 'still here'" 2>&1 || true)
if [[ $out == *"42501"* && $out == *"still here"* ]]; then
    pass "the session goes on after a 42501"
else
    fail "after a denial: $out"
fi

step "policy-tests profile"
if compose --profile ci run --rm policy-tests; then pass "policy-tests"; else fail "policy-tests"; fi

step "data survives down and up"
db_psql -c "CREATE TABLE IF NOT EXISTS smoke_marker (note text); INSERT INTO smoke_marker VALUES ('kept')" >/dev/null
compose down
compose up -d
if wait_healthy && [[ $(db_psql -c "SELECT note FROM smoke_marker") == kept ]]; then
    pass "data kept across down/up"
else
    fail "data lost across down/up"
fi
db_psql -c "DROP TABLE IF EXISTS smoke_marker" >/dev/null || true

printf '\n%d passed, %d failed (%s)\n' "$passed" "$failed" "$COMPOSE"
[[ $failed -eq 0 ]]
