#!/usr/bin/env bash
# Measures actgate's overhead with pgbench, next to PgBouncer's.
#
# Builds actgate (release), starts a throwaway PostgreSQL with a pgbench
# database (scale 10, plus the demo shop schema), actgate in front of it
# (the shipped rules/ plus a benchmark agent that may read the pgbench
# tables, so every statement goes through the firewall; its audit log on) and PgBouncer in
# front of it too (session mode, SCRAM for clients and the server, see
# below), then runs pgbench's built-in select-only script (-S) and
# benches/select1.sql in each query mode (-M simple, extended, prepared),
# directly, through actgate and through PgBouncer, interleaved (direct,
# actgate, pgbouncer, then actgate, pgbouncer, direct, ...) for ROUNDS
# rounds, at each number of clients in CLIENTS. Each round starts one path
# later than the one before and every second round runs backwards, so no
# path keeps its place or always runs right after the same other (after a
# proxy whose log the kernel is still writing back, say).
# Prints, per number of clients, mode and script, the median TPS of each
# path, each proxy's ratio to direct (the median of its rounds' ratios,
# each to the direct run of the same round: a drift of the machine between
# rounds moves both sides of a ratio), the latency actgate adds: on average
# (pgbench's "latency average", derived from run time and transaction
# count) and at p50 and p99 (the percentiles of pgbench's per-transaction
# log, --log), PgBouncer's added average latency, and each proxy process's
# CPU time per transaction it relayed (user + system, read from
# /proc/<pid>/stat before and after each run; on a machine where pgbench,
# PostgreSQL and the proxies share few cores this is steadier than TPS;
# the report also gives it as user and system time, which tells the
# proxy's own work from the kernel's).
# Each figure is the median over the rounds. It ends with a compact
# Markdown table, one row per clients/mode/script:
#   | clients | mode | script | PgBouncer TPS / direct | actgate TPS / direct |
#     PgBouncer CPU µs/txn | actgate CPU µs/txn |
#
# A caveat on the percentiles: pgbench reads its clock lazily, so a
# transaction whose result is already there when pgbench looks for it is
# logged with a time of 0 µs. For sub-100 µs statements (SELECT 1, direct)
# a large share of the log can be zeros, which pulls p50 down, mostly on
# the direct path; the average and p99 are not affected that way.
#
# PgBouncer: the pgbouncer binary on PATH or /usr/sbin/pgbouncer (Debian's
# package; 1.18 on bookworm). If there is none, the script installs the
# package with apt-get when it runs as root, and otherwise stops and says
# how to get one. It runs in session mode (pool_mode = session) on its own
# port on 127.0.0.1, with the pool and client limits sized for the largest
# CLIENTS, connection logging off, and its configuration, userlist, pid
# file, Unix socket and log under the temporary work directory. Clients
# authenticate to it with SCRAM-SHA-256 as the upstream role (the userlist
# holds the role's generated password), and it logs into PostgreSQL as that
# role with SCRAM too, as actgate does. PgBouncer refuses to run as root:
# as root, it runs as the 'postgres' user, like the server.
#
# Every server runs in a session of its own, as a service does (systemd
# and Docker give each its own cgroup): PostgreSQL's postmaster (pg_ctl)
# and PgBouncer (-d) make their own, and actgate, the baseline and the
# floor are started with setsid. Otherwise actgate would share the
# script's session with pgbench, and on a kernel with autogrouping
# (sched_autogroup_enabled, on by default) the scheduler would weigh
# actgate and pgbench as one group, preempting actgate for pgbench's
# wakeups, while PgBouncer had a group of its own.
#
# It measures; it asserts nothing about time. Everything it starts or
# creates is removed on exit (PostgreSQL, actgate, the baseline, the
# floor, PgBouncer and the work directory; an installed pgbouncer package
# stays).
#
# Settings (environment):
#   ROUNDS=3     rounds of interleaved direct/actgate/pgbouncer(/baseline)
#                runs
#   DURATION=10  seconds per pgbench run
#   CLIENTS=8    pgbench clients (-c); a list ("1 16") measures each value
#                in every round, and the report gains a section (and table
#                rows) per value
#   THREADS=2    pgbench threads (-j); at most the number of clients
#   SCALE=10     pgbench scale factor for the select-only script
#   MODES="simple extended prepared"
#   ACTGATE_PG_BIN_DIR  directory with initdb/postgres/pg_ctl/pgbench/psql
#                       (default: initdb on PATH, else the newest
#                       /usr/lib/postgresql/*/bin)
#   PGBOUNCER_BIN       the pgbouncer binary to run (default: pgbouncer on
#                       PATH, else /usr/sbin/pgbouncer, else installed with
#                       apt-get when root)
#   CARGO_TARGET_DIR    honoured when locating the release binary
#   PERF_DIR            optional: record a CPU profile of actgate during each
#                       of its runs with `perf record -g` into this directory
#                       (one <clients>.<mode>.<script>.actgate.<round>.data per
#                       run; build with CARGO_PROFILE_RELEASE_DEBUG=1 for
#                       symbols, read with `perf report -i FILE`)
#   PERF_PATHS          the proxies profiled (default actgate; e.g. "actgate pgbouncer")
#   PERF_ARGS           what perf does instead of `record -q -F 997 -g`, e.g.
#                       `stat -e raw_syscalls:sys_enter,context-switches`, or
#                       `record -q -e raw_syscalls:sys_enter -e
#                       raw_syscalls:sys_exit` for benches/onpath.sh (how long
#                       each proxy holds a message)
#   STATE_BUDGET        1: actgate's agent is under a budget counted in a
#                       [state] store = "postgres" database (the baseline's
#                       is not): what one charge adds per statement
#   WORKERS             optional: actgate's [server] workers (its session
#                       threads; default one per core)
#   BASELINE_WORKERS    the same for the baseline (e.g. the same binary
#                       as BASELINE_BIN with another number of workers)
#   BASELINE_BIN        optional: path of a second actgate binary to compare
#                       against (e.g. built from an earlier commit). It is
#                       started too, with the same rules and configuration
#                       on its own port in front of the same PostgreSQL,
#                       checked like the other paths and measured in the
#                       same run, interleaved (direct, actgate, pgbouncer,
#                       baseline, ...). The report gains the baseline's TPS,
#                       the ratio actgate/baseline, the baseline's added
#                       average latency and its CPU per transaction.
#   FLOOR=1             also measure the floor: examples/floor.rs, a
#                       transparent forwarder on actgate's runtime layout
#                       (one single-threaded tokio runtime per worker,
#                       WORKERS of them, default one per core) that checks,
#                       parses and audits nothing. Clients log in through it
#                       to PostgreSQL as the upstream role. The report gains
#                       its TPS, its ratio to direct and its CPU per
#                       transaction: what the runtime and the kernel cost,
#                       apart from actgate's own work per message.
#   FLOOR=epoll         the floor is examples/floor_epoll.rs instead: the
#                       same forwarding on one thread around one epoll
#                       loop (mio), with no async runtime, as PgBouncer is
#                       built: what any forwarder pays on the machine.
#
# Example: ROUNDS=1 DURATION=3 benches/pgbench.sh
# Both rows of the issue's table in one run:
#   ROUNDS=3 DURATION=4 CLIENTS="1 16" benches/pgbench.sh
# Against an earlier build:
#   git worktree add /tmp/base <commit>
#   (cd /tmp/base && CARGO_TARGET_DIR=/tmp/base-target cargo build --release --bin actgate)
#   BASELINE_BIN=/tmp/base-target/release/actgate ROUNDS=3 DURATION=5 benches/pgbench.sh
set -euo pipefail

ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10}
CLIENTS=${CLIENTS:-8}
THREADS=${THREADS:-2}
SCALE=${SCALE:-10}
MODES=${MODES:-"simple extended prepared"}

for v in ROUNDS DURATION THREADS SCALE; do
    if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "pgbench.sh: $v must be a positive integer, got '${!v}'" >&2
        exit 2
    fi
done
for v in WORKERS BASELINE_WORKERS; do
    if [[ -n ${!v:-} ]] && ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
        echo "pgbench.sh: $v must be a positive integer, got '${!v}'" >&2
        exit 2
    fi
done
# CLIENTS: one or more positive integers (PostgreSQL is started with
# max_connections = 200).
max_clients=0
for c in $CLIENTS; do
    if ! [[ $c =~ ^[1-9][0-9]*$ ]] || ((c > 180)); then
        echo "pgbench.sh: CLIENTS must be a list of integers from 1 to 180, got '$CLIENTS'" >&2
        exit 2
    fi
    ((c > max_clients)) && max_clients=$c
done
((max_clients > 0)) || {
    echo "pgbench.sh: CLIENTS is empty" >&2
    exit 2
}
for mode in $MODES; do
    case $mode in
        simple | extended | prepared) ;;
        *)
            echo "pgbench.sh: unknown query mode '$mode' in MODES" >&2
            exit 2
            ;;
    esac
done

baseline_bin=""
if [[ -n ${BASELINE_BIN:-} ]]; then
    [[ -f $BASELINE_BIN && -x $BASELINE_BIN ]] || {
        echo "pgbench.sh: BASELINE_BIN '$BASELINE_BIN' is not an executable file" >&2
        exit 2
    }
    baseline_bin=$(readlink -f "$BASELINE_BIN")
fi

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
select1="$repo/benches/select1.sql"
# A benchmark agent, added to a copy of the shipped rules: it may read the
# pgbench tables (the shipped demo agents' policies do not cover them).
AGENT=bench
AGENT_SECRET=bench-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
DB=shop
ADMIN=bench_admin
ROLE=bench_upstream

log() { printf '%s\n' "$*" >&2; }
die() {
    log "pgbench.sh: $*"
    exit 1
}

# --- binaries ---------------------------------------------------------------

find_bin_dir() {
    if [[ -n ${ACTGATE_PG_BIN_DIR:-} ]]; then
        printf '%s\n' "$ACTGATE_PG_BIN_DIR"
        return
    fi
    local initdb dir
    if initdb=$(command -v initdb 2>/dev/null); then
        dir=$(dirname "$(readlink -f "$initdb")")
        if [[ -x $dir/postgres && -x $dir/pg_ctl ]]; then
            printf '%s\n' "$dir"
            return
        fi
    fi
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [[ -n $dir ]] && printf '%s\n' "$dir"
}

bin_dir=$(find_bin_dir) || true
[[ -n $bin_dir && -x $bin_dir/initdb && -x $bin_dir/postgres && -x $bin_dir/pg_ctl ]] ||
    die "initdb/postgres/pg_ctl not found (searched ACTGATE_PG_BIN_DIR, PATH and /usr/lib/postgresql/*/bin)"

client_bin() {
    if [[ -x $bin_dir/$1 ]]; then
        printf '%s\n' "$bin_dir/$1"
    elif command -v "$1" >/dev/null 2>&1; then
        command -v "$1"
    else
        die "$1 not found in $bin_dir or on PATH"
    fi
}
PGBENCH=$(client_bin pgbench)
PSQL=$(client_bin psql)
command -v cargo >/dev/null || die "cargo not found"

# PgBouncer: PGBOUNCER_BIN, else on PATH or where Debian puts it, else
# Debian's package, installed when running as root.
find_pgbouncer() {
    if [[ -n ${PGBOUNCER_BIN:-} ]]; then
        readlink -f "$PGBOUNCER_BIN"
        return
    fi
    command -v pgbouncer 2>/dev/null && return
    [[ -x /usr/sbin/pgbouncer ]] && {
        printf '%s\n' /usr/sbin/pgbouncer
        return
    }
    return 1
}
if [[ -n ${PGBOUNCER_BIN:-} && ! ( -f $PGBOUNCER_BIN && -x $PGBOUNCER_BIN ) ]]; then
    die "PGBOUNCER_BIN '$PGBOUNCER_BIN' is not an executable file"
fi
if ! pgbouncer_bin=$(find_pgbouncer); then
    if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
        log "pgbouncer not found: installing Debian's pgbouncer package…"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -q pgbouncer >"${TMPDIR:-/tmp}/pgbench-sh-apt.log" 2>&1 || {
            apt-get update -q >>"${TMPDIR:-/tmp}/pgbench-sh-apt.log" 2>&1 &&
                apt-get install -y -q pgbouncer >>"${TMPDIR:-/tmp}/pgbench-sh-apt.log" 2>&1
        } || {
            cat "${TMPDIR:-/tmp}/pgbench-sh-apt.log" >&2
            die "apt-get install pgbouncer failed"
        }
        rm -f "${TMPDIR:-/tmp}/pgbench-sh-apt.log"
        pgbouncer_bin=$(find_pgbouncer) || die "pgbouncer still not found after installing the package"
    else
        die "pgbouncer not found: install it (Debian/Ubuntu: sudo apt-get install pgbouncer),
run this script as root to have it installed, or set PGBOUNCER_BIN to a pgbouncer binary"
    fi
fi
pgbouncer_version=$("$pgbouncer_bin" --version 2>/dev/null | head -n 1)

# --- cleanup ----------------------------------------------------------------

work=""
actgate_pid=""
baseline_pid=""
floor_pid=""
pgbouncer_pid=""
pgbouncer_dir=""
pg_started=""
pgdir=""

as_pg() {
    if [[ $(id -u) == 0 ]]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

cleanup() {
    local status=$?
    trap - EXIT INT TERM
    local pid
    for pid in $actgate_pid $baseline_pid $floor_pid; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    # PgBouncer daemonizes (not our child): its pid file says who it is,
    # even if the script stopped before reading it.
    if [[ -z $pgbouncer_pid && -n $pgbouncer_dir && -s $pgbouncer_dir/pgbouncer.pid ]]; then
        pgbouncer_pid=$(cat "$pgbouncer_dir/pgbouncer.pid" 2>/dev/null || true)
    fi
    if [[ $pgbouncer_pid =~ ^[0-9]+$ ]]; then
        kill "$pgbouncer_pid" 2>/dev/null || true
        for _ in $(seq 1 50); do
            kill -0 "$pgbouncer_pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pgbouncer_pid" 2>/dev/null || true
    fi
    if [[ -n $pg_started ]]; then
        as_pg "$bin_dir/pg_ctl" -D "$pgdir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [[ -n $work ]]; then
        rm -rf -- "$work"
    fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- build ------------------------------------------------------------------

log "building actgate (release)…"
(cd "$repo" && cargo build --release --quiet --bin actgate)
actgate_bin="${CARGO_TARGET_DIR:-$repo/target}/release/actgate"
floor_bin=""
floor_name=""
case ${FLOOR:-} in
'') ;;
1)
    (cd "$repo" && cargo build --release --quiet --example floor)
    floor_bin="${CARGO_TARGET_DIR:-$repo/target}/release/examples/floor"
    floor_name="examples/floor.rs (on actgate's tokio workers: ${WORKERS:-one per core})"
    ;;
epoll)
    (cd "$repo" && cargo build --release --quiet --example floor_epoll)
    floor_bin="${CARGO_TARGET_DIR:-$repo/target}/release/examples/floor_epoll"
    floor_name="examples/floor_epoll.rs (one thread, one epoll loop, no runtime)"
    ;;
*) die "FLOOR must be 1 or epoll" ;;
esac
[[ -x $actgate_bin ]] || die "$actgate_bin was not built"
# How many of the functions build.rs asks the linker to place together the
# binary still has by those names (a compiler or dependency update renames
# them: scripts/hot-functions.py lists them again).
if command -v nm >/dev/null; then
    hot_list="$repo/link/hot-functions.txt"
    hot_found=$(nm --defined-only "$actgate_bin" | awk '{print $NF}' | grep -cxFf "$hot_list" || true)
    log "link order: $hot_found of $(wc -l <"$hot_list") listed hot functions found in the binary"
fi

# --- throwaway PostgreSQL ---------------------------------------------------

work=$(mktemp -d "${TMPDIR:-/tmp}/actgate-bench.XXXXXX")
chmod 755 "$work"
# $work/pg belongs to the user running the server: data directory, Unix
# socket and server log.
pgdir="$work/pg"
mkdir "$pgdir" "$work/logs"
if [[ $(id -u) == 0 ]]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the server"
    command -v runuser >/dev/null || die "running as root needs runuser"
    chown postgres: "$pgdir"
fi

# new_port VAR: a free port on 127.0.0.1 into the variable named VAR, never
# one an earlier call gave out (its server may not be listening yet).
ports_given=" "
new_port() {
    local port
    for _ in $(seq 1 100); do
        port=$((20000 + RANDOM % 30000))
        [[ $ports_given == *" $port "* ]] && continue
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            ports_given+="$port "
            printf -v "$1" '%s' "$port"
            return
        fi
    done
    die "no free port found"
}

wait_for_port() {
    local port=$1 what=$2
    for _ in $(seq 1 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            return
        fi
        sleep 0.1
    done
    die "$what did not start listening on port $port"
}

log "starting a throwaway PostgreSQL ($("$bin_dir/postgres" --version))…"
as_pg "$bin_dir/initdb" -D "$pgdir/data" -U "$ADMIN" --auth-local=trust --auth-host=scram-sha-256 \
    -E UTF8 --locale=C >"$work/initdb.log" 2>&1 || {
    cat "$work/initdb.log" >&2
    die "initdb failed"
}
# The superuser only over the Unix socket (trust); everyone else over TCP
# with SCRAM, like actgate's upstream role.
cat >"$pgdir/data/pg_hba.conf" <<EOF
local all all trust
host all $ADMIN 127.0.0.1/32 reject
host all all 127.0.0.1/32 scram-sha-256
EOF
new_port pg_port
pg_started=1
as_pg "$bin_dir/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w -t 60 \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -k $pgdir -c max_connections=200 \
        -c shared_buffers=256MB -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || {
    cat "$pgdir/postgres.log" >&2
    die "postgres did not start"
}

admin_psql() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$pgdir" -p "$pg_port" -U "$ADMIN" "$@"
}

role_password=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
admin_psql -d postgres <<EOF
SET password_encryption = 'scram-sha-256';
CREATE ROLE $ROLE LOGIN PASSWORD '$role_password';
CREATE DATABASE $DB;
EOF

log "pgbench -i -s $SCALE…"
"$PGBENCH" -i -q -s "$SCALE" -h "$pgdir" -p "$pg_port" -U "$ADMIN" "$DB" >"$work/init.log" 2>&1 || {
    cat "$work/init.log" >&2
    die "pgbench -i failed"
}
# The demo shop schema too: actgate checks the shipped rules (which name
# its tables) against the live catalog at startup.
admin_psql -d "$DB" -f "$repo/demo/shop.sql" >/dev/null
admin_psql -d "$DB" <<EOF
GRANT USAGE ON SCHEMA public TO $ROLE;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO $ROLE;
EOF

# --- actgate ----------------------------------------------------------------

new_port actgate_port
printf '%s' "$role_password" >"$work/upstream-password"
chmod 600 "$work/upstream-password"
mkdir "$work/rules"
cp "$repo"/rules/*.toml "$work/rules/"
verifier=$("$actgate_bin" secret "$AGENT_SECRET")
cat >"$work/rules/$AGENT.toml" <<EOF
# Benchmark agent (written by benches/pgbench.sh): reads the pgbench tables.
[agent]
name = "$AGENT"
databases = ["$DB"]
secret_verifier = "$verifier"

[policy]
statements = ["read"]

[tables.pgbench_accounts]
operations = ["select"]

[tables.pgbench_branches]
operations = ["select"]
EOF
# STATE_BUDGET=1: actgate's agent reads pgbench_accounts under a budget
# counted in a [state] store = "postgres" database on the same cluster (a
# calendar-day budget of 100,000, the most a rule may set: keep runs under
# that many statements so that every one is charged
# and allowed); the baseline, if any, runs the same rules without it, so
# +avg minus bl+avg is what a charge adds per statement.
actgate_rules=rules
state_section=""
if [[ ${STATE_BUDGET:-0} == 1 ]]; then
    admin_psql -d postgres -c "CREATE DATABASE actgate_state OWNER $ROLE" >/dev/null
    mkdir "$work/rules-budget"
    cp "$work"/rules/*.toml "$work/rules-budget/"
    cat >>"$work/rules-budget/$AGENT.toml" <<EOF

[[rate_limits]]
name = "bench-budget"
table = "pgbench_accounts"
operations = ["select"]
budget = "100000/calendar-day"
EOF
    actgate_rules=rules-budget
    state_section="
[state]
store = \"postgres\"
url = \"postgres://$ROLE@127.0.0.1:$pg_port/actgate_state\"
password_file = \"upstream-password\"
"
fi
# The shipped rules include a token agent, so token keys must be configured.
"$actgate_bin" keygen --private "$work/keys/actgate.key" --public "$work/keys/actgate.pub" >/dev/null
# write_config FILE PORT RULES_DIR STATE_SECTION WORKERS: actgate's
# configuration, listening on PORT (empty arguments take the defaults).
write_config() {
    cat >"$1" <<EOF
[server]
listen = "127.0.0.1:$2"
rules_dir = "${3:-rules}"
max_connections = 500
${5:+workers = $5}

[upstream]
host = "127.0.0.1"
port = $pg_port
user = "$ROLE"
password_file = "upstream-password"

[tokens]
public_keys = ["keys/actgate.pub"]

[audit]
path = "$1.audit.jsonl"
${4:-}
EOF
}
# Starts actgate binary $1 with configuration $2 (log: the same path
# ending in .log instead of .toml) on port $3, $4 naming it in messages
# and its pid in the variable named $5 (see serve).
serve_actgate() {
    local bin=$1 config=$2 port=$3 name=$4 pid_var=$5
    serve "${config%.toml}.log" "$port" "$name" "$pid_var" "$bin" serve --config "$config"
}
# serve LOG PORT NAME PID_VAR COMMAND...: starts COMMAND (its output in
# LOG) in a session of its own (see the top), stores its pid in the
# variable named PID_VAR (before anything can fail, so that cleanup stops
# it) and waits for PORT, NAME naming it in messages. A script's
# background job is no process group leader, so setsid execs in place and
# $! is the server itself, whose /proc figures are read: checked, so that
# a change there cannot make the CPU column another process's.
serve() {
    local log_file=$1 port=$2 name=$3 pid_var=$4
    shift 4
    RUST_LOG=${RUST_LOG:-actgate=warn} setsid "$@" >"$log_file" 2>&1 &
    printf -v "$pid_var" '%s' "$!"
    # In a subshell, to show the log if it does not come up.
    (wait_for_port "$port" "$name") || {
        log "$name log:"
        cat "$log_file" >&2
        die "$name did not start"
    }
    [[ $(ps -o sid= -p "${!pid_var}" | tr -d ' ') == "${!pid_var}" ]] ||
        die "$name (pid ${!pid_var}) is not in a session of its own"
}
write_config "$work/actgate.toml" "$actgate_port" "$actgate_rules" "$state_section" "${WORKERS:-}"
serve_actgate "$actgate_bin" "$work/actgate.toml" "$actgate_port" actgate actgate_pid

direct_url="postgres://$ROLE:$role_password@127.0.0.1:$pg_port/$DB"
proxy_url="postgres://$AGENT:$AGENT_SECRET@127.0.0.1:$actgate_port/$DB"

# The baseline: the same rules, configuration and upstream, its own port.
if [[ -n $baseline_bin ]]; then
    new_port baseline_port
    write_config "$work/baseline.toml" "$baseline_port" "" "" "${BASELINE_WORKERS:-}"
    log "starting the baseline $baseline_bin…"
    serve_actgate "$baseline_bin" "$work/baseline.toml" "$baseline_port" \
        "the baseline ($baseline_bin)" baseline_pid
    baseline_url="postgres://$AGENT:$AGENT_SECRET@127.0.0.1:$baseline_port/$DB"
fi

# The floor: a forwarder in front of the same PostgreSQL, its own port.
if [[ -n $floor_bin ]]; then
    new_port floor_port
    log "starting the floor forwarder…"
    serve "$work/floor.log" "$floor_port" "the floor forwarder" floor_pid \
        "$floor_bin" "127.0.0.1:$floor_port" "127.0.0.1:$pg_port" ${WORKERS:+"$WORKERS"}
    floor_url="postgres://$ROLE:$role_password@127.0.0.1:$floor_port/$DB"
fi

# --- PgBouncer --------------------------------------------------------------

# Session mode, in front of the same PostgreSQL, on its own port. Clients
# log in as the upstream role with SCRAM (the userlist holds the role's
# password in clear, which PgBouncer also uses to log into PostgreSQL with
# SCRAM). Its files live in $work/pgbouncer, which belongs to the user
# running it ('postgres' when root: PgBouncer refuses to run as root).
new_port pgbouncer_port
pgbouncer_dir="$work/pgbouncer"
mkdir "$pgbouncer_dir"
printf '"%s" "%s"\n' "$ROLE" "$role_password" >"$pgbouncer_dir/userlist.txt"
cat >"$pgbouncer_dir/pgbouncer.ini" <<EOF
; Written by benches/pgbench.sh.
[databases]
$DB = host=127.0.0.1 port=$pg_port dbname=$DB

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $pgbouncer_port
unix_socket_dir = $pgbouncer_dir
pidfile = $pgbouncer_dir/pgbouncer.pid
logfile = $pgbouncer_dir/pgbouncer.log
auth_type = scram-sha-256
auth_file = $pgbouncer_dir/userlist.txt
pool_mode = session
max_client_conn = $((max_clients + 20))
default_pool_size = $((max_clients + 5))
max_db_connections = 0
server_tls_sslmode = disable
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
log_pooler_errors = 1
log_stats = 0
stats_period = 3600
verbose = 0
EOF
chmod 700 "$pgbouncer_dir"
chmod 600 "$pgbouncer_dir"/*
if [[ $(id -u) == 0 ]]; then
    chown -R postgres: "$pgbouncer_dir"
fi
log "starting PgBouncer ($pgbouncer_version, $pgbouncer_bin)…"
as_pg "$pgbouncer_bin" -d -q "$pgbouncer_dir/pgbouncer.ini" >"$work/pgbouncer-start.log" 2>&1 || {
    cat "$work/pgbouncer-start.log" "$pgbouncer_dir/pgbouncer.log" >&2 2>/dev/null || true
    die "pgbouncer did not start"
}
for _ in $(seq 1 100); do
    [[ -s $pgbouncer_dir/pgbouncer.pid ]] && break
    sleep 0.1
done
pgbouncer_pid=$(cat "$pgbouncer_dir/pgbouncer.pid" 2>/dev/null || true)
[[ $pgbouncer_pid =~ ^[0-9]+$ ]] || {
    cat "$work/pgbouncer-start.log" "$pgbouncer_dir/pgbouncer.log" >&2 2>/dev/null || true
    die "pgbouncer wrote no pid file"
}
(wait_for_port "$pgbouncer_port" pgbouncer) || {
    cat "$pgbouncer_dir/pgbouncer.log" >&2 2>/dev/null || true
    die "pgbouncer did not start"
}
pgbouncer_url="postgres://$ROLE:$role_password@127.0.0.1:$pgbouncer_port/$DB"
PATHS="direct actgate pgbouncer${baseline_bin:+ baseline}${floor_bin:+ floor}"

# What each path is: the URL pgbench connects to, the pid whose CPU is
# read (none for direct) and the log shown when it fails.
path_url() {
    case $1 in
        direct) echo "$direct_url" ;;
        actgate) echo "$proxy_url" ;;
        pgbouncer) echo "$pgbouncer_url" ;;
        baseline) echo "$baseline_url" ;;
        floor) echo "$floor_url" ;;
    esac
}
path_pid() {
    case $1 in
        actgate) echo "$actgate_pid" ;;
        pgbouncer) echo "$pgbouncer_pid" ;;
        baseline) echo "$baseline_pid" ;;
        floor) echo "$floor_pid" ;;
    esac
}
path_log() {
    case $1 in
        direct | actgate) echo "$work/actgate.log" ;;
        pgbouncer) echo "$pgbouncer_dir/pgbouncer.log" ;;
        baseline | floor) echo "$work/$1.log" ;;
    esac
}

# Every path must work before measuring anything.
for path in $PATHS; do
    out=$(PGCONNECT_TIMEOUT=10 "$PSQL" -X -A -t -v ON_ERROR_STOP=1 -d "$(path_url "$path")" \
        -c "SELECT count(*) FROM pgbench_branches") || {
        log "$path log ($(path_log "$path")):"
        cat "$(path_log "$path")" >&2 || true
        die "cannot query the database $path"
    }
    [[ $out == "$SCALE" ]] || die "unexpected pgbench_branches count '$out' ($path)"
done

# --- measurements -----------------------------------------------------------

SCRIPTS=${SCRIPTS:-"select-only select1"}

CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

# proxy_cpu PID: the user and the system CPU time (in clock ticks) process
# PID has used so far ("NA" without /proc).
proxy_cpu() {
    [[ -n $1 && -r /proc/$1/stat ]] || {
        echo NA
        return
    }
    # After the command name (in parentheses), utime and stime are the
    # 12th and 13th fields.
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12, $13 }'
}

# threads_for CLIENTS: pgbench threads for that many clients (THREADS, at
# most one per client).
threads_for() {
    if (($1 < THREADS)); then echo "$1"; else echo "$THREADS"; fi
}

# run_one CLIENTS MODE SCRIPT PATH ROUND: one pgbench run; appends TPS, the
# p50 and p99 per-transaction latency (µs), the average latency and the
# proxy's CPU time per transaction (µs; NA for direct) to $work/results.
run_one() {
    local clients=$1 mode=$2 script=$3 path=$4 round=$5 url
    url=$(path_url "$path")
    local script_args=()
    case $script in
        select-only) script_args=(-S) ;;
        select1) script_args=(-f "$select1") ;;
    esac
    local tag="$clients.$mode.$script.$path.$round"
    local dir="$work/logs/$tag"
    mkdir "$dir"
    local pid cpu_before cpu_after
    pid=$(path_pid "$path")
    cpu_before=$(proxy_cpu "$pid")
    local perf_pid=""
    if [[ -n ${PERF_DIR:-} && -n $pid && " ${PERF_PATHS:-actgate} " == *" $path "* ]]; then
        mkdir -p "$PERF_DIR"
        # shellcheck disable=SC2086 # PERF_ARGS is a list of words
        perf ${PERF_ARGS:-record -q -F 997 -g} -p "$pid" -o "$PERF_DIR/$tag.data" \
            -- sleep "$DURATION" >/dev/null 2>&1 &
        perf_pid=$!
        # Attached before pgbench connects (benches/onpath.sh tells the
        # client sockets by the accepts it sees).
        sleep 0.3
    fi
    local out
    if ! out=$(PGCONNECT_TIMEOUT=10 "$PGBENCH" -n -c "$clients" -j "$(threads_for "$clients")" -T "$DURATION" \
        -M "$mode" "${script_args[@]}" --log --log-prefix="$dir/tx" "$url" 2>&1); then
        printf '%s\n' "$out" >&2
        die "pgbench failed ($tag)"
    fi
    cpu_after=$(proxy_cpu "$pid")
    if [[ -n $perf_pid ]]; then wait "$perf_pid" || true; fi
    local txns cpu=NA user=NA system=NA
    txns=$(printf '%s\n' "$out" | awk '/^number of transactions actually processed: / { split($6, n, "/"); print n[1]; exit }')
    if [[ $cpu_before != NA && $cpu_after != NA && ${txns:-0} -gt 0 ]]; then
        read -r cpu user system < <(awk -v b="$cpu_before" -v a="$cpu_after" -v t="$txns" -v hz="$CLK_TCK" '
            BEGIN {
                split(b, x, " "); split(a, y, " "); f = 1000000 / hz / t
                u = (y[1] - x[1]) * f; s = (y[2] - x[2]) * f
                printf "%.1f %.1f %.1f\n", u + s, u, s
            }')
    fi
    local tps avg
    avg=$(printf '%s\n' "$out" | awk '/^latency average = / { printf "%.0f\n", $4 * 1000; exit }')
    [[ -n $avg ]] || avg=NA
    tps=$(printf '%s\n' "$out" | awk '
        /^tps = / && /(without|excluding)/ { print $3; found = 1; exit }
        /^tps = / && first == "" { first = $3 }
        END { if (!found && first != "") print first }')
    [[ -n $tps ]] || {
        printf '%s\n' "$out" >&2
        die "no tps line in the pgbench output ($tag)"
    }
    # Per-transaction log lines: client_id transaction_no time_us script_no
    # epoch epoch_us. Skipped or failed transactions are not numbers.
    local pct
    pct=$(cat "$dir"/tx.* | awk '$3 ~ /^[0-9]+$/ { print $3 }' | sort -n | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "NA NA"; exit }
            i50 = int(NR * 0.50 + 0.999999); if (i50 < 1) i50 = 1
            i99 = int(NR * 0.99 + 0.999999); if (i99 < 1) i99 = 1
            print v[i50], v[i99]
        }')
    rm -rf -- "$dir"
    local split=""
    [[ $cpu == NA ]] || split=" (user $user, system $system)"
    printf '%s %s %s %s %s %s %s %s %s %s %s\n' "$clients" "$mode" "$script" "$path" "$round" "$tps" "$pct" \
        "$avg" "$cpu" "$user" "$system" >>"$work/results"
    log "  round $round  $clients clients  $mode  $script  $path: tps $tps, latency avg/p50/p99 $avg/${pct% *}/${pct#* } µs, proxy CPU $cpu µs/tx$split"
}

runs=$((ROUNDS * $(wc -w <<<"$CLIENTS") * $(wc -w <<<"$MODES") * 2 * $(wc -w <<<"$PATHS")))
log "measuring: $runs runs of ${DURATION}s ($PATHS), clients: $CLIENTS, threads: up to $THREADS…"
: >"$work/results"
# order ROUND: the paths in round ROUND's order: $PATHS starting ROUND - 1
# paths later, backwards in even rounds.
order() {
    local paths
    read -ra paths <<<"$PATHS"
    local n=${#paths[@]} i j
    for ((i = 0; i < n; i++)); do
        j=$i
        (($1 % 2 == 0)) && j=$((n - 1 - i))
        printf '%s ' "${paths[(j + $1 - 1) % n]}"
    done
}

for round in $(seq 1 "$ROUNDS"); do
    for clients in $CLIENTS; do
        for mode in $MODES; do
            for script in $SCRIPTS; do
                for path in $(order "$round"); do
                    run_one "$clients" "$mode" "$script" "$path" "$round"
                done
            done
        done
    done
done

# --- report -----------------------------------------------------------------

# middle: the median of the numbers read, one per line ("NA" if none).
middle() {
    sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "NA"; exit }
            if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2
        }'
}

# median CLIENTS MODE SCRIPT PATH FIELD (6 tps, 7 p50, 8 p99, 9 average
# latency, 10 proxy CPU µs per transaction, 11 of it user time, 12 system
# time)
median() {
    awk -v c="$1" -v m="$2" -v s="$3" -v p="$4" -v f="$5" \
        '$1 == c && $2 == m && $3 == s && $4 == p && $f != "NA" { print $f }' \
        "$work/results" | middle
}

# round_ratios CLIENTS MODE SCRIPT PATH BY: for each round in order, PATH's
# TPS divided by BY's TPS in that round (NA where either did not run).
round_ratios() {
    awk -v c="$1" -v m="$2" -v s="$3" -v p="$4" -v b="$5" -v n="$ROUNDS" '
        $1 == c && $2 == m && $3 == s && $6 != "NA" { tps[$4, $5] = $6 }
        END {
            for (k = 1; k <= n; k++) {
                r = "NA"
                if ((p, k) in tps && tps[b, k] > 0) r = tps[p, k] / tps[b, k]
                print r
            }
        }' "$work/results"
}

# paired CLIENTS MODE SCRIPT PATH BY: the median over the rounds of
# round_ratios (NA without a pair).
paired() {
    round_ratios "$@" | awk '$1 != "NA"' | middle
}

# at_least CLIENTS MODE SCRIPT: "K of N": in K of the N rounds where both
# ran, actgate relayed at least as many transactions per second as
# PgBouncer (a median can be read with how often it held).
at_least() {
    round_ratios "$1" "$2" "$3" actgate pgbouncer |
        awk '$1 != "NA" { n++; if ($1 >= 1) k++ } END { printf "%d of %d\n", k, n }'
}

# per_row FUNCTION: for each clients/mode/script row, its label, then what
# FUNCTION CLIENTS MODE SCRIPT prints.
per_row() {
    local clients mode script
    for clients in $CLIENTS; do
        for mode in $MODES; do
            for script in $SCRIPTS; do
                printf '  %2s clients  %-9s %-12s' "$clients" "$mode" "$script"
                "$1" "$clients" "$mode" "$script"
            done
        done
    done
}

# round_list CLIENTS MODE SCRIPT: each round's ratios to direct (actgate /
# PgBouncer / floor), and how often actgate held PgBouncer's pace.
round_list() {
    local path
    # shellcheck disable=SC2086 # a list of paths
    for path in actgate pgbouncer ${floor_bin:+floor}; do
        round_ratios "$1" "$2" "$3" "$path" direct | paste -s -d ' '
    done | awk 'function r(x) { return (x == "NA") ? x : sprintf("%.2f", x) }
        { for (k = 1; k <= NF; k++) v[NR, k] = r($k); n = NF; rows = NR }
        END {
            for (k = 1; k <= n; k++) {
                printf " %s", v[1, k]
                for (i = 2; i <= rows; i++) printf "/%s", v[i, k]
            }
            printf "\n"
        }'
    printf '  %-36s actgate >= PgBouncer in %s rounds\n' "" "$(at_least "$1" "$2" "$3")"
}

# cpu_split CLIENTS MODE SCRIPT: each proxy's median user / system time per
# transaction.
cpu_split() {
    local path
    # shellcheck disable=SC2086 # a list of paths
    for path in actgate pgbouncer ${baseline_bin:+baseline} ${floor_bin:+floor}; do
        printf ' %s %s/%s' "$path" "$(median "$1" "$2" "$3" "$path" 11)" "$(median "$1" "$2" "$3" "$path" 12)"
    done
    printf '\n'
}

pg_version=$("$bin_dir/postgres" --version | grep -oE '[0-9]+(\.[0-9]+)+' | head -n 1)
: >"$work/table"
for clients in $CLIENTS; do
    echo
    echo "actgate overhead: pgbench, $clients clients, $(threads_for "$clients") threads, ${DURATION}s per run, median of $ROUNDS round(s)"
    echo "PostgreSQL $pg_version, scale $SCALE, $(nproc 2>/dev/null || echo '?') CPUs; $pgbouncer_version (session mode); latencies are per transaction, in µs"
    echo "kernel $(uname -r), autogroup $(cat /proc/sys/kernel/sched_autogroup_enabled 2>/dev/null || echo '?') (each server in a session of its own, see the top of this script)"
    [[ -n $baseline_bin ]] && echo "baseline: $baseline_bin"
    [[ -n $floor_bin ]] && echo "floor: $floor_name, a forwarder that checks nothing"
    echo
    printf '%-9s %-12s %12s %12s %7s %9s %9s %9s %9s %12s %7s %9s %9s' \
        mode script "tps direct" "tps actgate" ratio "+avg µs" "+p50 µs" "+p99 µs" "cpu µs/tx" \
        "tps pgbouncer" "pgb/dir" "pgb+avg" "pgb cpu"
    [[ -n $baseline_bin ]] && printf ' %12s %9s %9s %9s' "tps baseline" "ratio/bl" "bl+avg µs" "bl cpu/tx"
    [[ -n $floor_bin ]] && printf ' %12s %7s %9s' "tps floor" "fl/dir" "fl cpu"
    printf '\n'
    printf '%-9s %-12s %12s %12s %7s %9s %9s %9s %9s %12s %7s %9s %9s' \
        --------- ------------ ------------ ------------ ------- --------- --------- --------- --------- \
        ------------ ------- --------- ---------
    [[ -n $baseline_bin ]] && printf ' %12s %9s %9s %9s' ------------ --------- --------- ---------
    [[ -n $floor_bin ]] && printf ' %12s %7s %9s' ------------ ------- ---------
    printf '\n'
    for mode in $MODES; do
        for script in $SCRIPTS; do
            td=$(median "$clients" "$mode" "$script" direct 6)
            tp=$(median "$clients" "$mode" "$script" actgate 6)
            p50d=$(median "$clients" "$mode" "$script" direct 7)
            p50p=$(median "$clients" "$mode" "$script" actgate 7)
            p99d=$(median "$clients" "$mode" "$script" direct 8)
            p99p=$(median "$clients" "$mode" "$script" actgate 8)
            avgd=$(median "$clients" "$mode" "$script" direct 9)
            avgp=$(median "$clients" "$mode" "$script" actgate 9)
            cpup=$(median "$clients" "$mode" "$script" actgate 10)
            tg=$(median "$clients" "$mode" "$script" pgbouncer 6)
            avgg=$(median "$clients" "$mode" "$script" pgbouncer 9)
            cpug=$(median "$clients" "$mode" "$script" pgbouncer 10)
            rp=$(paired "$clients" "$mode" "$script" actgate direct)
            rg=$(paired "$clients" "$mode" "$script" pgbouncer direct)
            tb="" avgb="" cpub="" rb=""
            if [[ -n $baseline_bin ]]; then
                rb=$(paired "$clients" "$mode" "$script" actgate baseline)
                tb=$(median "$clients" "$mode" "$script" baseline 6)
                avgb=$(median "$clients" "$mode" "$script" baseline 9)
                cpub=$(median "$clients" "$mode" "$script" baseline 10)
            fi
            tf="" rf="" cpuf=""
            if [[ -n $floor_bin ]]; then
                tf=$(median "$clients" "$mode" "$script" floor 6)
                rf=$(paired "$clients" "$mode" "$script" floor direct)
                cpuf=$(median "$clients" "$mode" "$script" floor 10)
            fi
            wins=$(at_least "$clients" "$mode" "$script")
            awk -v clients="$clients" -v mode="$mode" -v script="$script" -v td="$td" -v tp="$tp" \
                -v p50d="$p50d" -v p50p="$p50p" -v p99d="$p99d" -v p99p="$p99p" \
                -v avgd="$avgd" -v avgp="$avgp" -v tb="$tb" -v avgb="$avgb" \
                -v cpup="$cpup" -v cpub="$cpub" -v tg="$tg" -v avgg="$avgg" -v cpug="$cpug" \
                -v rp="$rp" -v rg="$rg" -v rb="$rb" -v tf="$tf" -v rf="$rf" -v cpuf="$cpuf" \
                -v wins="$wins" -v table="$work/table" '
                function diff(d, p) { return (d == "NA" || p == "NA") ? "NA" : sprintf("%+.0f", p - d) }
                function ratio(r, digits) { return (r == "NA") ? "NA" : sprintf("%." digits "f", r) }
                function us(c) { return (c == "NA") ? "NA" : sprintf("%.0f", c) }
                BEGIN {
                    printf "%-9s %-12s %12.1f %12.1f %7s %9s %9s %9s %9s %12.1f %7s %9s %9s", mode, script,
                        td, tp, ratio(rp, 3), diff(avgd, avgp), diff(p50d, p50p), diff(p99d, p99p), cpup,
                        tg, ratio(rg, 3), diff(avgd, avgg), cpug
                    if (tb != "") {
                        printf " %12.1f %9s %9s %9s", tb, ratio(rb, 3), diff(avgd, avgb), cpub
                    }
                    if (tf != "") {
                        printf " %12.1f %7s %9s", tf, ratio(rf, 3), cpuf
                    }
                    printf "\n"
                    name = (script == "select-only") ? "-S" : (script == "select1") ? "SELECT 1" : script
                    printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", clients, mode, name,
                        ratio(rg, 2), ratio(rp, 2), us(cpug), us(cpup), wins >> table
                }'
        done
    done
done
echo
echo "ratio = tps via actgate / tps direct (the median of the rounds' ratios, each round's runs"
echo "paired); +avg/+p50/+p99 = latency via actgate minus direct"
echo "(avg from pgbench's latency average; p50/p99 from its per-transaction log, see the caveat"
echo "at the top of benches/pgbench.sh about 0 µs entries)."
echo "cpu µs/tx = the proxy process's CPU time (user + system, /proc) per transaction it relayed."
echo "pgb/dir, pgb+avg, pgb cpu = the same for PgBouncer (session mode): tps via PgBouncer / tps"
echo "direct, its latency average minus direct, its CPU µs per transaction."
if [[ -n $baseline_bin ]]; then
    echo "ratio/bl = tps via actgate / tps via the baseline (above 1: actgate is faster);"
    echo "bl+avg = latency average via the baseline minus direct (compare with +avg)."
fi
if [[ -n $floor_bin ]]; then
    echo "tps floor, fl/dir, fl cpu = the same for the floor (examples/floor.rs): what a relay on"
    echo "actgate's runtime layout costs before any work of actgate's own."
fi
echo
echo "Each round's ratios to direct, actgate / PgBouncer${floor_bin:+ / floor}, in round order (the spread is"
echo "the noise a median of $ROUNDS round(s) has to be read against), and in how many rounds actgate"
echo "relayed at least as many transactions per second as PgBouncer:"
per_row round_list
echo
echo "Each proxy's CPU per transaction as user / system time (medians, µs): the system time is the"
echo "kernel's (TCP, wakeups, context switches), the user time the proxy's own work and its runtime's:"
per_row cpu_split
echo
echo "Summary ($pgbouncer_version in session mode; -S = pgbench's select-only script, SELECT 1 ="
echo "benches/select1.sql; median of $ROUNDS round(s) of ${DURATION}s; CPU = the proxy's user + system time):"
echo
echo "| clients | mode | script | PgBouncer TPS / direct | actgate TPS / direct | PgBouncer CPU µs/txn | actgate CPU µs/txn | rounds actgate ≥ PgBouncer |"
echo "|---|---|---|---|---|---|---|---|"
cat "$work/table"
