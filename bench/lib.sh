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
# rss_sampler PIDDIR SECONDS: prints "epoch wallet_kb gateway_kb" every SECONDS until killed. It runs beside the
# steps it measures, so it reads /proc with bash builtins: the date, cat and awk it used to fork cost ~50 ms of
# CPU per sample on this VM, 5 % of a core at one a second (docs/performance.md, eighteenth session).
rss_sampler() {
    local w g
    while :; do
        rss_of_pidfile w "$1/wallet.pid"
        rss_of_pidfile g "$1/gateway.pid"
        printf '%s %s %s\n' "$EPOCHSECONDS" "$w" "$g"
        sleep "$2"
    done
}
# rss_of_pidfile VAR PIDFILE: VmRSS in KiB of the process PIDFILE names, into VAR (0 when it is gone); no fork.
rss_of_pidfile() {
    local -n rss_out="$1"
    local pid="" k v _
    rss_out=0
    { read -r pid <"$2"; } 2>/dev/null || true
    [[ -n "$pid" && -r "/proc/$pid/status" ]] || return 0
    while read -r k v _; do
        if [[ "$k" == VmRSS: ]]; then rss_out="$v"; return 0; fi
    done <"/proc/$pid/status"
}
