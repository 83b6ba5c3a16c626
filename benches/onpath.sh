#!/usr/bin/env bash
# How long a proxy holds each message: from perf traces of its system
# calls, the time between reading a message and passing it on, per proxy,
# measured where it happens instead of inferred from TPS (which on a small
# machine moves more between runs than these times differ).
#
# Record the traces with benches/pgbench.sh, e.g.
#   PERF_DIR=/tmp/onpath PERF_PATHS="actgate pgbouncer baseline" \
#   PERF_ARGS="record -q -e raw_syscalls:sys_enter -e raw_syscalls:sys_exit" \
#   CLIENTS=1 ROUNDS=1 DURATION=3 benches/pgbench.sh
# then
#   benches/onpath.sh /tmp/onpath
#
# For each trace (one proxy, one pgbench run) it prints, in µs, the median
# and the 25th and 75th percentiles of:
#   query   from the return of a read of a client's socket with data to the
#           start of the thread's next send (the statement going upstream:
#           actgate's framing, analysis, decision and bookkeeping);
#   answer  from a read of a server's socket to the next send (the answer
#           going to the client);
#   after   from the end of the send upstream to the thread's next wait in
#           epoll_wait (work done while the server runs);
#   wake    from the return of epoll_wait to the thread's next read, when
#           that read is its next system call (the event loop's own path
#           from a socket being ready to reading it).
# Client sockets are those the proxy accepted during the trace and has not
# closed: pgbench.sh starts each run's perf before pgbench connects. Sends and reads are
# send/sendto/write and recv/recvfrom/read (x86-64 numbers).
#
# It measures; it asserts nothing about time. Needs perf.
set -euo pipefail

dir=${1:?usage: benches/onpath.sh DIR (the PERF_DIR of a pgbench.sh run)}
command -v perf >/dev/null || { echo "onpath.sh: perf is not installed" >&2; exit 1; }

# One line per measured interval: "<kind> <µs>".
intervals() {
    perf script --ns -F tid,time,event,trace -i "$1" 2>/dev/null | awk '
        function hex(s,   i, n, c) {
            n = 0
            for (i = 1; i <= length(s); i++) {
                c = index("0123456789abcdef", substr(s, i, 1))
                if (c == 0) return -1
                n = n * 16 + c - 1
            }
            return n
        }
        {
            tid = $1; ts = $2; sub(/:$/, "", ts)
            enter = ($3 ~ /sys_enter/)
            nr = $5 + 0
            if (enter) {
                fd = $6; sub(/^\(/, "", fd); sub(/,$/, "", fd)
                efd[tid] = hex(fd)
                if ((nr == 45 || nr == 0) && (tid in woke)) printf "wake %.3f\n", (ts - woke[tid]) * 1e6
                delete woke[tid]
                # (a closed socket'"'"'s number may come back as a server'"'"'s)
                if (nr == 3) delete client[efd[tid]]
                if ((nr == 44 || nr == 1) && st[tid] == "read") {
                    if (rfd[tid] in client) kind = "query"; else kind = "answer"
                    printf "%s %.3f\n", kind, (ts - rts[tid]) * 1e6
                    st[tid] = "send " kind
                } else if (nr == 232 || nr == 281) {
                    if (st[tid] == "sent query") printf "after %.3f\n", (ts - sx[tid]) * 1e6
                    st[tid] = ""
                }
                next
            }
            ret = $7 + 0
            if ((nr == 232 || nr == 281) && ret > 0) woke[tid] = ts
            if ((nr == 43 || nr == 288) && ret >= 0) client[ret] = 1
            else if ((nr == 45 || nr == 0) && ret > 0) { rfd[tid] = efd[tid]; rts[tid] = ts; st[tid] = "read" }
            else if ((nr == 44 || nr == 1) && st[tid] == "send query") { sx[tid] = ts; st[tid] = "sent query" }
            else if ((nr == 44 || nr == 1) && st[tid] == "send answer") st[tid] = ""
        }'
}

# "median p25 p75 n" of the numbers on stdin.
quartiles() {
    sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "- - - 0"; exit }
        printf "%.2f %.2f %.2f %d\n", v[int(NR / 2) + 1], v[int(NR / 4) + 1], v[int(3 * NR / 4) + 1], NR
    }'
}

printf '%-44s %8s %8s %8s %8s %8s %8s %8s %8s\n' trace "query" "(p25" "p75)" answer "(p25" "p75)" after wake
shopt -s nullglob
traces=("$dir"/*.data)
[[ ${#traces[@]} -gt 0 ]] || { echo "onpath.sh: no *.data traces in $dir" >&2; exit 1; }
for trace in "${traces[@]}"; do
    all=$(intervals "$trace")
    read -r qm q25 q75 qn < <(grep '^query ' <<<"$all" | cut -d' ' -f2 | quartiles)
    read -r am a25 a75 _ < <(grep '^answer ' <<<"$all" | cut -d' ' -f2 | quartiles)
    read -r fm _ _ _ < <(grep '^after ' <<<"$all" | cut -d' ' -f2 | quartiles)
    read -r wm _ _ _ < <(grep '^wake ' <<<"$all" | cut -d' ' -f2 | quartiles)
    if [[ $qn -eq 0 ]]; then
        echo "onpath.sh: $trace has no client reads (was it recorded with raw_syscalls, before the clients connected?)" >&2
    fi
    printf '%-44s %8s %8s %8s %8s %8s %8s %8s %8s\n' "$(basename "$trace" .data)" \
        "$qm" "$q25" "$q75" "$am" "$a25" "$a75" "$fm" "$wm"
done
