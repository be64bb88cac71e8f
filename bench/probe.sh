#!/usr/bin/env bash
# probe.sh NETDIR COMMAND ... — A/B probes on a kept benchmark network (scripts/bench.sh --keep). Not a test:
# nothing asserts; it prints. The sessions' notebook (docs/performance-log.md) judged most changes this way.
#
#   bench/probe.sh NETDIR round OP RATE SECONDS [LOADGEN ARGS...]
#       One open-loop round of OP (earn, authorize, balance, transactions) at RATE/s for SECONDS, 1 s of warm-up
#       and 5 s of drain: the generator's summary, then the CPU of every process of the network over the round
#       in cores (utime + stime, reaped children's included, ÷ wall time; `kdamond` is the kernel's DAMON monitor, not in `total`), their
#       voluntary context switches and their minor page faults per request sent. Earns go to random members, the rest to the warm ones.
#   bench/probe.sh NETDIR restart PART [NAME=VALUE ...]
#       Restarts one service (wallet, gateway, clearing) with these settings in its environment (for instance
#       EMTIAZ_WALLET_APPLIERS=3) and waits until it is ready; without them it comes back as it was started.
#   bench/probe.sh NETDIR up
#       Starts a kept network again (after `scripts/netctl.sh down`, or on a new boot) as scripts/bench.sh started
#       it: InnoDB sized as the benchmark sizes it, the consumers' long fetch wait with the patched broker, and the
#       member index refilled into Redis, which keeps nothing across a restart (without it every earn resolves
#       its member in MySQL on a gateway worker). InnoDB's buffer pool starts with only what it saved at shutdown,
#       so the first rounds read from disk: run a round or two before comparing anything.
#   bench/probe.sh NETDIR flush
#       Writes MariaDB's dirty pages now, so that the page cleaner does not work through the next rounds.
#   bench/probe.sh NETDIR ab OP RATE SECONDS ALTERNATIONS PART NAME VALUE...
#       Flushes, then ALTERNATIONS times: for each VALUE, restarts PART with NAME=VALUE and runs a round.
#
# PROBE_KEYS: the API keys file of the run that made the network (default: the newest
# /tmp/emtiaz-bench.*/keys.txt, which bench.sh --keep leaves); PROBE_WARM: the funded members per tenant
# (default 5,000; a --quick network has 300); EMTIAZ_BUILD_DIR: where the generator is (default build-bench).
#
# Two lessons from the thirtieth session, which is why `flush` and fresh networks matter:
#   - every round of random earns adds a lot to most members' states, and nothing spends them: after ~30 rounds
#     on a 100,000-member network the states had tripled and each command cost MariaDB ~40 % more;
#   - each earn writes ~11 KB of redo log; after ~25 rounds InnoDB's checkpoint age neared its maximum and the
#     page cleaner wrote ~2,000 pages a second through every round.
# So compare variants in alternation, a few rounds at a time, `flush` between sets, on a network no older than
# the comparison needs.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_NAME=probe
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
[[ $# -ge 2 ]] || { sed -n '2,26p' "${BASH_SOURCE[0]}" >&2; exit 2; }
bench_network "$1"
COMMAND="$2"
shift 2
BUILD="${EMTIAZ_BUILD_DIR:-build-bench}"
LOADGEN="$REPO/$BUILD/bench/emtiaz-loadgen"
NETCTL="$REPO/scripts/netctl.sh"
PARTS=(mariadb redis broker wallet clearing gateway)

mysql_root() { mysql_root_at "$NETDIR" "$@"; }
switches() {  # switches PID: voluntary context switches of all its threads
    [[ -n "$1" && -d "/proc/$1/task" ]] || { echo 0; return; }
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ {s += $2} END {print s + 0}'
}
faults() {  # faults PID: minor page faults of the process, its reaped children's included (minflt + cminflt)
    awk '{sub(/^.*\) /, ""); print $8 + $9}' "/proc/$1/stat" 2>/dev/null || echo 0
}
snapshot() {  # "part=cpu_seconds:switches:minor_faults ..." for the network and kdamond
    local p k pid
    for p in "${PARTS[@]}"; do
        pid="$(net_pid "$NETDIR" "$p")"
        printf '%s=%s:%s:%s ' "$p" "$(cpu_of "$pid")" "$(switches "$pid")" "$(faults "$pid")"
    done
    k="$(pgrep '^kdamond' | head -1 || true)"
    printf 'kdamond=%s:0:0\n' "$(cpu_of "$k")"
}

round() {
    (($# >= 3)) || die "round OP RATE SECONDS [LOADGEN ARGS...]"
    local op="$1" rate="$2" secs="$3" keys members a b t0 t1 out
    shift 3
    keys="${PROBE_KEYS:-$(ls -t /tmp/emtiaz-bench.*/keys.txt 2>/dev/null | head -1)}"
    [[ -n "$keys" && -f "$keys" ]] || die "no API keys file: set PROBE_KEYS (bench.sh --keep says where it is)"
    [[ -x "$LOADGEN" ]] || die "no $LOADGEN (cmake --build $BUILD --target emtiaz-loadgen)"
    if [[ "$op" == earn ]]; then members=(--members-mode random --amount 1000000)
    else members=(--members-mode warm --warm "${PROBE_WARM:-5000}"); fi
    a="$(snapshot)"
    t0="$(now_us)"
    out="$("$LOADGEN" --url "$EMTIAZ_URL" --connections 256 --label "$op" --op "$op" --rate "$rate" \
        --duration "$secs" --warmup 1 --drain 5 --keys "$keys" "${members[@]}" "$@")" || die "the generator failed"
    t1="$(now_us)"
    b="$(snapshot)"
    python3 - "$out" "$a" "$b" "$t0" "$t1" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
print(" ".join(f"{k}={r[k]:.1f}" if isinstance(r[k], float) else f"{k}={r[k]}"
               for k in ("offered", "achieved", "p50_ms", "p99_ms", "p999_ms", "errors") if k in r))
parse = lambda s: {k: [float(x) for x in v.split(":")] for k, v in (kv.split("=") for kv in s.split())}
a, b = parse(sys.argv[2]), parse(sys.argv[3])
wall = (int(sys.argv[5]) - int(sys.argv[4])) / 1e6
cores = {k: (b[k][0] - a[k][0]) / wall for k in a}
sent = max(1, r.get("sent", r.get("scheduled", 1)))
print("cores:", " ".join(f"{k}={v:.3f}" for k, v in cores.items()),
      f"total={sum(v for k, v in cores.items() if k != 'kdamond'):.3f}", f"wall={wall:.1f}s")
sw = {k: (b[k][1] - a[k][1]) / sent for k in a if k != "kdamond"}
print("switches per request:", " ".join(f"{k}={v:.2f}" for k, v in sw.items()), f"total={sum(sw.values()):.2f}")
pf = {k: (b[k][2] - a[k][2]) / sent for k in a if k != "kdamond"}
print("minor page faults per request:", " ".join(f"{k}={v:.2f}" for k, v in pf.items()), f"total={sum(pf.values()):.2f}")
PY
}

# fetch_wait VAR: the services' fetch wait as scripts/bench.sh gives it, into the array VAR (NAME=VALUE, or nothing):
# with its patched broker the consumers get a long one.
fetch_wait() {
    local -n fetch_wait_out="$1"
    fetch_wait_out=()
    ldd "$REPO/$BUILD/devbroker/emtiaz-devbroker" 2>/dev/null | grep -q librdkafka ||
        fetch_wait_out=(EMTIAZ_KAFKA_FETCH_WAIT_MS="${EMTIAZ_KAFKA_FETCH_WAIT_MS:-100}")
}

restart() {
    (($# >= 1)) || die "restart PART [NAME=VALUE ...]"
    local part="$1" wait
    shift
    fetch_wait wait
    "$NETCTL" stop "$NETDIR" "$part" >/dev/null 2>&1 || true
    env EMTIAZ_BUILD_DIR="$BUILD" "${wait[@]}" "$@" "$NETCTL" start "$NETDIR" "$part" >/dev/null 2>&1 ||
        die "$part did not start again (its log: $NETDIR/logs/$part.log)"
    say "$part restarted${*:+ with $*}"
}

up() {
    local wait members
    fetch_wait wait
    env EMTIAZ_BUILD_DIR="$BUILD" EMTIAZ_INNODB_BUFFER_POOL="${BENCH_INNODB_BUFFER_POOL:-8G}" \
        EMTIAZ_INNODB_LOG_FILE="${BENCH_INNODB_LOG_FILE:-4G}" "${wait[@]}" "$NETCTL" up "$NETDIR" >/dev/null ||
        die "the network did not start (its logs: $NETDIR/logs)"
    bench_network "$NETDIR"  # the ports may have changed
    member_index_sets "$NETDIR" | redis_cli --pipe >/dev/null  # what scripts/bench.sh writes when it seeds
    members="$(redis_cli dbsize)"
    say "up at $EMTIAZ_URL${wait:+ (${wait[*]})}; Redis holds $members keys (the member index refilled)"
}

flush() {
    local t0=$SECONDS dirty
    mysql_root -e "SET GLOBAL innodb_io_capacity_max = 40000; SET GLOBAL innodb_io_capacity = 20000;
        SET GLOBAL innodb_max_dirty_pages_pct = 0"
    while dirty="$(mysql_root -e "SHOW GLOBAL STATUS LIKE 'Innodb_buffer_pool_pages_dirty'" | awk '{print $2}')" &&
        ((dirty > 500 && SECONDS - t0 < 600)); do
        sleep 2
    done
    # Back to the server's defaults, as scripts/netctl.sh starts it.
    mysql_root -e "SET GLOBAL innodb_max_dirty_pages_pct = DEFAULT; SET GLOBAL innodb_io_capacity = DEFAULT;
        SET GLOBAL innodb_io_capacity_max = DEFAULT"
    say "dirty pages written in $((SECONDS - t0)) s: $(mysql_root -e "SHOW GLOBAL STATUS WHERE Variable_name IN
        ('Innodb_buffer_pool_pages_dirty', 'Innodb_checkpoint_age')" | tr '\t\n' '= ')"
}

ab() {
    (($# >= 7)) || die "ab OP RATE SECONDS ALTERNATIONS PART NAME VALUE..."
    local op="$1" rate="$2" secs="$3" n="$4" part="$5" name="$6" i v
    shift 6
    flush
    for ((i = 1; i <= n; i++)); do
        for v in "$@"; do
            restart "$part" "$name=$v"
            echo "== $op at $rate/s, $name=$v, $(date +%T)"
            round "$op" "$rate" "$secs"
        done
    done
}

case "$COMMAND" in
    round | restart | flush | ab | up) "$COMMAND" "$@" ;;
    *) die "unknown command $COMMAND (round, restart, flush, ab, up)" ;;
esac
