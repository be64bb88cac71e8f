# bench/lib.sh — shell helpers shared by the benchmark scripts (sourced, never run). Set BENCH_NAME first:
# it prefixes what say and die print.

# bench_network NETDIR: checks that NETDIR is a network's folder and exports its env (URL, credentials).
bench_network() {
    [[ -f "$1/env" ]] || { echo "$BENCH_NAME: $1 is not a running network's folder (no env file)" >&2; exit 2; }
    NETDIR="$(cd "$1" && pwd)"
    set -a
    # shellcheck disable=SC1091
    source "$NETDIR/env"
    set +a
}
say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
now_us() { date +%s%6N; }
secs_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN{printf "%.2f", (b-a)/1e6}'; }
# kb_of PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM), 0 when the process is gone.
kb_of() { awk -v k="$2" '$1 == k":" {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
# rss_sampler PIDDIR SECONDS: prints "epoch wallet_kb gateway_kb" every SECONDS until killed.
rss_sampler() {
    while :; do
        printf '%s %s %s\n' "$(date +%s)" "$(kb_of "$(cat "$1/wallet.pid" 2>/dev/null)" VmRSS)" \
            "$(kb_of "$(cat "$1/gateway.pid" 2>/dev/null)" VmRSS)"
        sleep "$2"
    done
}
