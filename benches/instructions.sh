#!/usr/bin/env bash
# Instructions actgate's relay executes per statement, counted by
# valgrind's callgrind: a figure that does not move between runs the way
# TPS and CPU time do on a small machine, so that a change to the data
# path can be weighed before a long benchmark run.
#
#   BIN=/path/to/actgate benches/instructions.sh
#
# It runs benches/pgbench.sh (one client, the select-only script) with BIN
# under callgrind as the baseline path, counting only inside the sessions'
# relay (`halves::first`: both halves of every session, from the first
# statement on; not the login, the runtime's event loop or the kernel),
# and prints, per mode, the instructions per audited statement: one per
# pgbench transaction in simple and extended mode (a Query; a Parse),
# so those are the modes it measures. Build BIN with symbols (a release
# build keeps them; CARGO_PROFILE_RELEASE_DEBUG=1 adds source lines for
# `callgrind_annotate`). The callgrind files stay in OUT.
#
# Settings (environment):
#   BIN        the actgate binary to count (required)
#   MODES      "simple extended"
#   DURATION   3   seconds of pgbench per mode (under callgrind a session
#                  runs some 2,000-3,000 transactions a second)
#   OUT        directory for the callgrind files (default: a new one
#              under /tmp)
#   COLLECT    relay (default: the sessions' relay only) or process (the
#              whole process, login and runtime included: what
#              scripts/hot-functions.py reads)
#   CALLGRIND_ARGS  more callgrind options (scripts/hot-functions.py adds
#              --dump-instr=yes, to learn which instructions run)
#
# It measures; it asserts nothing. Needs valgrind (installed with apt-get
# when missing and running as root) and what benches/pgbench.sh needs.
set -euo pipefail

die() {
    echo "instructions.sh: $*" >&2
    exit 1
}

[[ -n ${BIN:-} && -x ${BIN:-} ]] || die "BIN must name the actgate binary to count"
bin=$(readlink -f "$BIN")
if ! command -v valgrind >/dev/null; then
    [[ $(id -u) == 0 ]] || die "valgrind is not installed"
    apt-get install -y -q valgrind >/dev/null || die "installing valgrind failed"
fi
repo=$(cd "$(dirname "$0")/.." && pwd)
out=${OUT:-$(mktemp -d /tmp/actgate-instructions.XXXXXX)}
mkdir -p "$out"

case ${COLLECT:-relay} in
relay) collect="--collect-atstart=no --toggle-collect='*halves::first*'" ;;
process) collect="" ;;
*) die "COLLECT must be relay or process" ;;
esac

for mode in ${MODES:-simple extended}; do
    case $mode in
    simple | extended) ;;
    *) die "mode $mode: only simple and extended audit one statement per transaction" ;;
    esac
    # The wrapper keeps the server's pid (exec), which pgbench.sh checks.
    wrapper="$out/actgate-under-callgrind.$mode"
    cat >"$wrapper" <<EOF
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.$mode.%p" \
    $collect ${CALLGRIND_ARGS:-} "$bin" "\$@" 2>>"$out/valgrind.log"
EOF
    chmod +x "$wrapper"
    rm -f "$out/callgrind.$mode".*
    BASELINE_BIN="$wrapper" CLIENTS=1 ROUNDS=1 DURATION="${DURATION:-3}" MODES="$mode" \
        SCRIPTS=select-only bash "$repo/benches/pgbench.sh" >"$out/pgbench.$mode.log" 2>&1 ||
        die "pgbench.sh failed: see $out/pgbench.$mode.log"
    files=("$out/callgrind.$mode".*)
    file=${files[0]}
    # Audited statements: the calls of the audit log's record (counted
    # from OUT: run from the sources, callgrind_annotate prints no callers).
    events=$(cd "$out" && callgrind_annotate --tree=caller "$file" 2>/dev/null |
        grep -B3 '\* .*actgate::audit::AuditLog::record \[' |
        grep -oP '\(\K[0-9,]+(?=x\))' | tr -d , | paste -sd+ | bc || true)
    [[ -n $events && $events -gt 0 ]] || die "no audited statement found in $file"
    total=$(grep -m1 -oP '^(summary|totals): \K[0-9]+' "$file")
    printf '%-9s %12s instructions, %7s statements, %6s per statement\n' \
        "$mode" "$total" "$events" "$((total / events))"
done
echo "callgrind files: $out"
