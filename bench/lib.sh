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
# mysql_socket NETDIR: the socket of the network's MariaDB (scripts/netctl.sh keeps its folder in NETDIR/mysql, or
# where NETDIR/mysql.home says when the mysql user cannot reach NETDIR).
mysql_socket() { echo "$(cat "$1/mysql.home" 2>/dev/null || echo "$1/mysql")/mysqld.sock"; }
# mysql_root_at NETDIR ARGS...: the network's MariaDB as root over its socket, rows tab-separated without names.
mysql_root_at() {
    local dir="$1"
    shift
    mariadb --no-defaults --socket="$(mysql_socket "$dir")" --user=root --batch --skip-column-names "$@"
}
# redis_cli ARGS...: the network's Redis (EMTIAZ_REDIS_PORT and _PASSWORD from its env).
redis_cli() { redis-cli -a "$EMTIAZ_REDIS_PASSWORD" --no-auth-warning -h 127.0.0.1 -p "$EMTIAZ_REDIS_PORT" "$@"; }
# member_index_sets NETDIR [TENANT]: the member index's entries (gateway/members_repository.hpp: phone -> id, what
# enrolment through the API writes beside the row) for the members in MySQL, one tenant's or all, as Redis commands
# for `redis_cli --pipe`.
member_index_sets() {
    mariadb --no-defaults --socket="$(mysql_socket "$1")" --user=root --batch --skip-column-names emtiaz \
        -e "SELECT CONCAT('SET emtiaz:member:{t:', tenant_id, '}:phone:', phone, ' ', id, ' EX 2592000')
            FROM members${2:+ WHERE tenant_id = '$2'}"
}
# net_pid NETDIR PART: the pid of one of the network's processes (mariadb, redis, broker, wallet, ...), or nothing.
net_pid() { tr -dc 0-9 <"$1/pids/$2.pid" 2>/dev/null || true; }
CLK_TCK="$(getconf CLK_TCK)"
# cpu_of PID: utime+stime of a pid in seconds, with its children's once it has reaped them (cutime+cstime): Redis
# once rewrote its append-only file in a forked child that kept most of a core busy for 10-30 s
# (docs/performance-log.md, seventeenth session), and only this way did that CPU show, in the step that reaped it.
cpu_of() {
    awk -v t="$CLK_TCK" '{sub(/^.*\) /, ""); printf "%.2f", ($12 + $13 + $14 + $15) / t}' "/proc/$1/stat" 2>/dev/null || echo 0
}
say() { printf '%s: %s\n' "$BENCH_NAME" "$*" >&2; }
die() { printf '%s: error: %s\n' "$BENCH_NAME" "$*" >&2; exit 1; }
now_us() { date +%s%6N; }
secs_since() { awk -v a="$1" -v b="$(now_us)" 'BEGIN{printf "%.2f", (b-a)/1e6}'; }
# proc_kb VAR PID FIELD: a /proc/PID/status field in KiB (VmRSS, VmHWM) into VAR, 0 when the process is gone.
# Bash builtins only, no fork: rss_sampler runs beside the steps it measures, and the date, cat and awk it used
# to fork cost ~50 ms of CPU per sample on this VM, 5 % of a core at one a second (docs/performance-log.md,
# eighteenth session).
proc_kb() {
    local -n proc_kb_out="$1"
    local k v _
    proc_kb_out=0
    [[ -n "$2" && -r "/proc/$2/status" ]] || return 0
    while read -r k v _; do
        if [[ "$k" == "$3:" ]]; then proc_kb_out="$v"; return 0; fi
    done <"/proc/$2/status"
}
# kb_of PID FIELD: prints what proc_kb reads.
kb_of() { local kb; proc_kb kb "$1" "$2"; echo "$kb"; }
# rss_sampler PIDDIR SECONDS: prints "epoch wallet_kb gateway_kb" every SECONDS until killed.
rss_sampler() {
    local line part pid kb
    while :; do
        line="$EPOCHSECONDS"
        for part in wallet gateway; do
            pid=""
            { read -r pid <"$1/$part.pid"; } 2>/dev/null || true
            proc_kb kb "$pid" VmRSS
            line+=" $kb"
        done
        printf '%s\n' "$line"
        sleep "$2"
    done
}
