#!/usr/bin/env bash
# netctl.sh — the lifecycle of one local Emtiaz network whose state lives in one folder DIR.
#
#   netctl.sh up     DIR [--ports fixed|free]   start whatever is not running; wait for /v1/ready
#   netctl.sh down   DIR                        stop everything (services first)
#   netctl.sh stop   DIR PART                   stop one part (SIGTERM, then SIGKILL after a timeout)
#   netctl.sh start  DIR PART [--no-wait]       start one part again (same ports, same data)
#   netctl.sh kill   DIR PART                   SIGKILL one part
#   netctl.sh status DIR                        one line per part
#   netctl.sh env    DIR                        print DIR/env
#   netctl.sh destroy DIR                       down, then delete DIR and all its data
#
# PART is one of: mariadb redis broker wallet clearing gateway.
#
# Layout of DIR (created by `up`):
#   env                KEY=value lines for clients and tests (EMTIAZ_URL, EMTIAZ_ADMIN_TOKEN, ...)
#   ports, secrets     remembered ports and generated secrets (kept across down/up: data and tokens survive)
#   pids/PART.pid      logs/PART.log      run/PART.port (written by the services, EMTIAZ_PORT_FILE)
#   mysql/data         mysql/mysqld.sock  redis/ (redis.conf; no data files: Redis is a cache)   kafka/bootstrap
#
# Environment: EMTIAZ_BUILD_DIR (binaries; default `build`, relative to the repository),
# EMTIAZ_READY_TIMEOUT (seconds to wait for readiness, default 60), EMTIAZ_STOP_TIMEOUT (seconds before
# SIGKILL, default 15), EMTIAZ_LOG_LEVEL (passed to the services, default info), EMTIAZ_INNODB_BUFFER_POOL
# and EMTIAZ_INNODB_LOG_FILE (InnoDB's buffer pool and redo log sizes, default 256M each; the benchmark sizes
# them to its million members), EMTIAZ_MARIADB_ARGS (more options for mariadbd, split on spaces, for probes:
# e.g. `--performance-schema=ON`).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PARTS=(mariadb redis broker wallet clearing gateway)
SERVICES=(wallet clearing gateway)
READY_TIMEOUT="${EMTIAZ_READY_TIMEOUT:-60}"
STOP_TIMEOUT="${EMTIAZ_STOP_TIMEOUT:-15}"
INNODB_BUFFER_POOL="${EMTIAZ_INNODB_BUFFER_POOL:-256M}"
INNODB_LOG_FILE="${EMTIAZ_INNODB_LOG_FILE:-256M}"
read -r -a MARIADB_EXTRA_ARGS <<<"${EMTIAZ_MARIADB_ARGS:-}"

BUILD_DIR="${EMTIAZ_BUILD_DIR:-build}"
case "$BUILD_DIR" in /*) ;; *) BUILD_DIR="$REPO/$BUILD_DIR" ;; esac

say() { printf 'netctl: %s\n' "$*" >&2; }
die() { printf 'netctl: error: %s\n' "$*" >&2; exit 1; }

usage() {
    sed -n '2,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

is_part() {
    local p
    for p in "${PARTS[@]}"; do [[ "$p" == "$1" ]] && return 0; done
    return 1
}

is_service() {
    local p
    for p in "${SERVICES[@]}"; do [[ "$p" == "$1" ]] && return 0; done
    return 1
}

random_hex() { od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'; }

# ---------------------------------------------------------------------------------------------- state

set_dir() {
    [[ -n "${1:-}" ]] || usage
    mkdir -p "$1"
    DIR="$(cd "$1" && pwd)"
    [[ "$DIR" =~ ^[A-Za-z0-9_./+-]+$ ]] || die "DIR must be a plain path (letters, digits, _ . / + -): $DIR"
    mkdir -p "$DIR/pids" "$DIR/logs" "$DIR/run" "$DIR/redis" "$DIR/kafka"
    chmod a+rx "$DIR"
    BOOTSTRAP_FILE="$DIR/kafka/bootstrap"
    set_mysql_home
}

# MariaDB's folder (data + socket) is DIR/mysql, unless the mysql user cannot reach DIR (a clone under a
# private home folder, say) or the socket path would be too long: then it lives in /var/tmp/emtiaz-mysql/,
# and DIR/mysql.home remembers where. `destroy` removes it with DIR.
set_mysql_home() {
    if [[ -s "$DIR/mysql.home" ]]; then
        MYSQL_HOME="$(cat "$DIR/mysql.home")"
    else
        MYSQL_HOME="$DIR/mysql"
        local reachable=1
        if ((EUID == 0)) && ! runuser -u mysql -- test -x "$DIR" 2>/dev/null; then reachable=0; fi
        if ((reachable == 0 || ${#MYSQL_HOME} > 80)); then
            local hash
            hash="$(printf '%s' "$DIR" | sha256sum | cut -c1-16)"
            mkdir -p /var/tmp/emtiaz-mysql
            chmod 755 /var/tmp/emtiaz-mysql
            MYSQL_HOME="/var/tmp/emtiaz-mysql/$hash"
            echo "$MYSQL_HOME" >"$DIR/mysql.home"
        fi
    fi
    MYSQL_SOCKET="$MYSQL_HOME/mysqld.sock"
}

# One netctl at a time per DIR. The lock's file descriptor is closed for every daemon we start.
lock_dir() {
    exec 9>"$DIR/.lock"
    flock -w 300 9 || die "another netctl holds $DIR/.lock"
}

pick_free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
n = int(sys.argv[1])
socks = []
for _ in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# Ports are chosen once per DIR and remembered, so that stop/start and down/up reuse them.
load_ports() {
    local mode="${1:-}"
    if [[ ! -f "$DIR/ports" ]]; then
        [[ -n "$mode" ]] || mode=fixed
        local gw wa ca my rd
        case "$mode" in
            fixed) gw=8080 wa=8081 ca=8082 my=3307 rd=6380 ;;
            free) read -r gw wa ca my rd < <(pick_free_ports 5) ;;
            *) die "--ports must be fixed or free, not '$mode'" ;;
        esac
        cat >"$DIR/ports.tmp" <<EOF
PORTS_MODE=$mode
GATEWAY_PORT=$gw
WALLET_ADMIN_PORT=$wa
CLEARING_ADMIN_PORT=$ca
MYSQL_PORT=$my
REDIS_PORT=$rd
EOF
        mv "$DIR/ports.tmp" "$DIR/ports"
    fi
    # shellcheck disable=SC1091
    source "$DIR/ports"
    if [[ -n "$mode" && "$mode" != "$PORTS_MODE" ]]; then
        say "note: $DIR keeps the $PORTS_MODE ports it was created with (asked for $mode)"
    fi
}

# Secrets are generated once per DIR and kept (readable by root only).
load_secrets() {
    if [[ ! -f "$DIR/secrets" ]]; then
        (
            umask 077
            cat >"$DIR/secrets.tmp" <<EOF
MYSQL_PASSWORD=$(random_hex 18)
REDIS_PASSWORD=$(random_hex 18)
ADMIN_TOKEN=adm_$(random_hex 24)
EOF
        )
        mv "$DIR/secrets.tmp" "$DIR/secrets"
    fi
    # shellcheck disable=SC1091
    source "$DIR/secrets"
}

write_env() {
    cat >"$DIR/env.tmp" <<EOF
EMTIAZ_MODE=local
EMTIAZ_URL=http://127.0.0.1:$GATEWAY_PORT
EMTIAZ_ADMIN_TOKEN=$ADMIN_TOKEN
EMTIAZ_MYSQL_HOST=127.0.0.1
EMTIAZ_MYSQL_PORT=$MYSQL_PORT
EMTIAZ_MYSQL_USER=emtiaz
EMTIAZ_MYSQL_PASSWORD=$MYSQL_PASSWORD
EMTIAZ_MYSQL_DATABASE=emtiaz
EMTIAZ_REDIS_HOST=127.0.0.1
EMTIAZ_REDIS_PORT=$REDIS_PORT
EMTIAZ_REDIS_PASSWORD=$REDIS_PASSWORD
EMTIAZ_KAFKA_BOOTSTRAP_FILE=$BOOTSTRAP_FILE
EMTIAZ_WALLET_ADMIN_URL=http://127.0.0.1:$WALLET_ADMIN_PORT
EMTIAZ_CLEARING_ADMIN_URL=http://127.0.0.1:$CLEARING_ADMIN_PORT
EOF
    chmod 600 "$DIR/env.tmp"
    mv "$DIR/env.tmp" "$DIR/env"
}

load_state() {
    load_ports "${1:-}"
    load_secrets
    write_env
}

# ------------------------------------------------------------------------------------------- processes

pidfile() { echo "$DIR/pids/$1.pid"; }
logfile() { echo "$DIR/logs/$1.log"; }

process_name() {
    case "$1" in
        mariadb) echo mariadbd ;;
        redis) echo redis-server ;;
        broker) echo emtiaz-devbroker ;;
        *) echo "emtiaz-$1" ;;
    esac
}

# The pid of PART if it is running (its pid file names a live process running the expected program).
part_pid() {
    local f pid exe
    f="$(pidfile "$1")"
    [[ -s "$f" ]] || return 1
    pid="$(tr -dc 0-9 <"$f")"
    [[ -n "$pid" ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    # Guard against a recycled pid: the process must be the program we started.
    exe="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)"
    [[ "$exe" == *"$(process_name "$1")"* ]] || return 1
    # A zombie is not running.
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
    echo "$pid"
}

is_running() { part_pid "$1" >/dev/null; }

log_tail() {
    local f
    f="$(logfile "$1")"
    if [[ -f "$f" ]]; then
        say "last lines of $f:"
        tail -n "${2:-40}" "$f" | sed 's/^/    /' >&2
    fi
}

fail_part() {
    local part="$1"
    shift
    say "$part: $*"
    log_tail "$part"
    exit 1
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

check_port_free() {
    local part="$1" port="$2" _
    for _ in $(seq 1 20); do
        port_in_use "$port" || return 0
        sleep 0.25
    done
    die "$part: port $port on 127.0.0.1 is in use by another program (stop it, or use another DIR)"
}

# launch PART CMD...: run CMD in the background in its own session, logging to logs/PART.log; the pid file
# is written by the process itself before it execs, so it is the program's own pid.
launch() {
    local part="$1"
    shift
    local pf lf
    pf="$(pidfile "$part")"
    lf="$(logfile "$part")"
    rm -f "$pf"
    printf '\n==== %s starting %s\n' "$(date -Is)" "$part" >>"$lf"
    setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pf" "$@" </dev/null >>"$lf" 2>&1 9>&- &
    local _
    for _ in $(seq 1 50); do
        [[ -s "$pf" ]] && return 0
        sleep 0.02
    done
    fail_part "$part" "did not start"
}

# wait_gone PART PID SECONDS: true when the process has exited within SECONDS.
wait_gone() {
    local pid="$2" deadline=$((SECONDS + $3))
    while kill -0 "$pid" 2>/dev/null; do
        # A zombie (our own child, when the launching shell is still around) counts as gone.
        [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
    return 0
}

stop_part() {
    local part="$1" pid timeout="$STOP_TIMEOUT"
    if ! pid="$(part_pid "$part")"; then
        rm -f "$(pidfile "$part")"
        return 0
    fi
    [[ "$part" == mariadb ]] && timeout=$((STOP_TIMEOUT > 120 ? STOP_TIMEOUT : 120))
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_gone "$part" "$pid" "$timeout"; then
        say "$part (pid $pid) did not stop within ${timeout}s: SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
        wait_gone "$part" "$pid" 10 || die "$part (pid $pid) survived SIGKILL"
    fi
    rm -f "$(pidfile "$part")"
    [[ "$part" == broker ]] && rm -f "$BOOTSTRAP_FILE"
    say "$part stopped"
}

kill_part() {
    local part="$1" pid
    if ! pid="$(part_pid "$part")"; then
        rm -f "$(pidfile "$part")"
        return 0
    fi
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$part" "$pid" 10 || die "$part (pid $pid) survived SIGKILL"
    rm -f "$(pidfile "$part")"
    # A killed broker leaves its bootstrap file naming dead ports, as a crash would.
    say "$part killed"
}

# ------------------------------------------------------------------------------------------------ MariaDB

mysql_root() {
    local user=root
    ((EUID == 0)) || user="$(id -un)"
    mariadb --no-defaults --socket="$MYSQL_SOCKET" --user="$user" --batch --skip-column-names "$@"
}

mysql_app() {
    MYSQL_PWD="$MYSQL_PASSWORD" mariadb --no-defaults --protocol=TCP --host=127.0.0.1 --port="$MYSQL_PORT" \
        --user=emtiaz --batch --skip-column-names "$@"
}

# An initialised, never-started data folder, made once per machine and MariaDB version and copied for every
# new network (mariadb-install-db takes a few seconds; a copy takes a fraction of one). Root only.
mariadb_template() {
    local root=/var/tmp/emtiaz-mysql version tpl
    version="$(mariadbd --version 2>/dev/null | sha256sum | cut -c1-12)"
    tpl="$root/template-$version"
    if [[ ! -f "$tpl/.complete" ]]; then
        mkdir -p "$root"
        chmod 755 "$root"
        (
            exec 8>"$root/template.lock"
            flock -w 300 8 || exit 1
            [[ -f "$tpl/.complete" ]] && exit 0
            rm -rf "$tpl" "$tpl.tmp"
            mkdir -p "$tpl.tmp"
            chown mysql:mysql "$tpl.tmp"
            mariadb-install-db --no-defaults --user=mysql --datadir="$tpl.tmp/data" \
                --auth-root-authentication-method=socket --skip-test-db >>"$(logfile mariadb)" 2>&1 8>&- 9>&- || exit 1
            touch "$tpl.tmp/.complete"
            mv "$tpl.tmp" "$tpl"
        ) || return 1
    fi
    echo "$tpl"
}

mariadb_install() {
    local data="$MYSQL_HOME/data"
    [[ -f "$MYSQL_HOME/.installed" ]] && return 0
    say "mariadb: initialising $data"
    mkdir -p "$MYSQL_HOME"
    rm -rf "$data"
    if ((EUID == 0)); then
        chown mysql:mysql "$MYSQL_HOME"
        chmod 750 "$MYSQL_HOME"
        if ! runuser -u mysql -- test -w "$MYSQL_HOME"; then
            die "mariadb: the mysql user cannot reach $MYSQL_HOME (every parent folder must be traversable)"
        fi
        local tpl
        tpl="$(mariadb_template)" || fail_part mariadb "mariadb-install-db failed"
        cp -a "$tpl/data" "$data" || fail_part mariadb "cannot copy $tpl/data to $data"
    elif ! mariadb-install-db --no-defaults --datadir="$data" \
        --auth-root-authentication-method=socket --skip-test-db >>"$(logfile mariadb)" 2>&1 9>&-; then
        fail_part mariadb "mariadb-install-db failed"
    fi
    touch "$MYSQL_HOME/.installed"
}

start_mariadb() {
    mariadb_install
    check_port_free mariadb "$MYSQL_PORT"
    local user_args=()
    ((EUID == 0)) && user_args=(--user=mysql)
    launch mariadb mariadbd --no-defaults "${user_args[@]}" --datadir="$MYSQL_HOME/data" \
        --socket="$MYSQL_SOCKET" --port="$MYSQL_PORT" --bind-address=127.0.0.1 --skip-name-resolve \
        --pid-file="$MYSQL_HOME/mariadbd.pid" \
        --innodb-flush-log-at-trx-commit=1 --sync-binlog=1 \
        --innodb-buffer-pool-size="$INNODB_BUFFER_POOL" --innodb-log-file-size="$INNODB_LOG_FILE" \
        --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
        --max-connections=500 "${MARIADB_EXTRA_ARGS[@]}"
    local deadline=$((SECONDS + READY_TIMEOUT))
    until mysql_root -e 'SELECT 1' >/dev/null 2>&1; do
        is_running mariadb || fail_part mariadb "exited while starting"
        ((SECONDS < deadline)) || fail_part mariadb "not accepting connections after ${READY_TIMEOUT}s"
        sleep 0.1
    done
    # Idempotent: the database and the application user (with this DIR's password) exist.
    mysql_root <<EOF || fail_part mariadb "could not create the database and user"
CREATE DATABASE IF NOT EXISTS emtiaz CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS 'emtiaz'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
CREATE USER IF NOT EXISTS 'emtiaz'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
ALTER USER 'emtiaz'@'127.0.0.1' IDENTIFIED BY '$MYSQL_PASSWORD';
ALTER USER 'emtiaz'@'localhost' IDENTIFIED BY '$MYSQL_PASSWORD';
GRANT ALL PRIVILEGES ON emtiaz.* TO 'emtiaz'@'127.0.0.1';
GRANT ALL PRIVILEGES ON emtiaz.* TO 'emtiaz'@'localhost';
FLUSH PRIVILEGES;
EOF
    mysql_app -e 'SELECT 1' emtiaz >/dev/null 2>&1 || fail_part mariadb "the application user cannot log in"
    say "mariadb ready on 127.0.0.1:$MYSQL_PORT"
}

# ------------------------------------------------------------------------------------------------ Redis

start_redis() {
    check_port_free redis "$REDIS_PORT"
    (
        umask 077
        cat >"$DIR/redis/redis.conf" <<EOF
port $REDIS_PORT
bind 127.0.0.1
dir $DIR/redis
# No persistence: Redis caches what MySQL holds (docs/reliability.md 7, 9), and a restarted Redis starts empty,
# to be filled again from MySQL. A cache restored from disk can be older than answered commits: the wallet
# applies commands while Redis is away, and what it remembers to delete there is lost if it restarts too
# (readiness_test ARestartedRedisNeverAnswersFromBeforeAnAnsweredEarn failed so with the append-only file).
# And every persistence forks: snapshots, and the append-only file's rewrites, which under the benchmark's
# writes took most of a core for 10-30 s every few minutes and stalled the wallet's batches.
appendonly no
save ""
daemonize yes
pidfile $(pidfile redis)
logfile $(logfile redis)
requirepass $REDIS_PASSWORD
EOF
    )
    rm -f "$(pidfile redis)"
    redis-server "$DIR/redis/redis.conf" </dev/null >>"$(logfile redis)" 2>&1 9>&- ||
        fail_part redis "redis-server failed to start"
    local deadline=$((SECONDS + READY_TIMEOUT))
    until [[ "$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null)" == PONG ]]; do
        if [[ -s "$(pidfile redis)" ]] && ! is_running redis; then
            fail_part redis "exited while starting"
        fi
        ((SECONDS < deadline)) || fail_part redis "not answering PING after ${READY_TIMEOUT}s"
        sleep 0.05
    done
    say "redis ready on 127.0.0.1:$REDIS_PORT"
}

# ------------------------------------------------------------------------------------------------ broker

start_broker() {
    local bin="$BUILD_DIR/devbroker/emtiaz-devbroker"
    [[ -x "$bin" ]] || die "broker: $bin is missing (build the project first)"
    rm -f "$BOOTSTRAP_FILE"
    launch broker "$bin" --bootstrap-file "$BOOTSTRAP_FILE" \
        --topics emtiaz.commands:16,emtiaz.replies:16,emtiaz.ledger:16
    local deadline=$((SECONDS + READY_TIMEOUT))
    until [[ -s "$BOOTSTRAP_FILE" ]]; do
        is_running broker || fail_part broker "exited while starting"
        ((SECONDS < deadline)) || fail_part broker "wrote no bootstrap file after ${READY_TIMEOUT}s"
        sleep 0.02
    done
    say "broker ready at $(cat "$BOOTSTRAP_FILE")"
}

# ---------------------------------------------------------------------------------------------- services

service_port() {
    case "$1" in
        gateway) echo "$GATEWAY_PORT" ;;
        wallet) echo "$WALLET_ADMIN_PORT" ;;
        clearing) echo "$CLEARING_ADMIN_PORT" ;;
    esac
}

launch_service() {
    local part="$1" bin port
    bin="$BUILD_DIR/$part/emtiaz-$part"
    [[ -x "$bin" ]] || die "$part: $bin is missing (build the project first)"
    port="$(service_port "$part")"
    check_port_free "$part" "$port"
    rm -f "$DIR/run/$part.port"
    local port_var=EMTIAZ_ADMIN_PORT
    [[ "$part" == gateway ]] && port_var=EMTIAZ_HTTP_PORT
    launch "$part" env \
        EMTIAZ_MODE=local \
        EMTIAZ_ADMIN_TOKEN="$ADMIN_TOKEN" \
        "$port_var=$port" \
        EMTIAZ_PORT_FILE="$DIR/run/$part.port" \
        EMTIAZ_MYSQL_HOST=127.0.0.1 \
        EMTIAZ_MYSQL_PORT="$MYSQL_PORT" \
        EMTIAZ_MYSQL_USER=emtiaz \
        EMTIAZ_MYSQL_PASSWORD="$MYSQL_PASSWORD" \
        EMTIAZ_MYSQL_DATABASE=emtiaz \
        EMTIAZ_REDIS_HOST=127.0.0.1 \
        EMTIAZ_REDIS_PORT="$REDIS_PORT" \
        EMTIAZ_REDIS_PASSWORD="$REDIS_PASSWORD" \
        EMTIAZ_KAFKA_BOOTSTRAP_FILE="$BOOTSTRAP_FILE" \
        EMTIAZ_LOG_LEVEL="${EMTIAZ_LOG_LEVEL:-info}" \
        "$bin"
}

ready_status() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://127.0.0.1:$1/v1/ready" 2>/dev/null || true
}

wait_service_ready() {
    local part="$1" port code=000
    port="$(service_port "$part")"
    local deadline=$((SECONDS + READY_TIMEOUT))
    while :; do
        code="$(ready_status "$port")"
        [[ "$code" == 200 ]] && break
        is_running "$part" || fail_part "$part" "exited while starting"
        ((SECONDS < deadline)) || fail_part "$part" "GET /v1/ready on port $port is not 200 after ${READY_TIMEOUT}s (last: $code)"
        sleep 0.1
    done
    say "$part ready on 127.0.0.1:$port"
}

# ------------------------------------------------------------------------------------------------ parts

start_part() {
    local part="$1" wait="${2:-wait}"
    if is_running "$part"; then
        say "$part already running (pid $(part_pid "$part"))"
        return 0
    fi
    case "$part" in
        mariadb) start_mariadb ;;
        redis) start_redis ;;
        broker) start_broker ;;
        *)
            launch_service "$part"
            if [[ "$wait" == wait ]]; then wait_service_ready "$part"; fi
            ;;
    esac
}

cmd_up() {
    local ports_mode=""
    while (($#)); do
        case "$1" in
            --ports) ports_mode="${2:-}"; shift 2 || usage ;;
            --ports=*) ports_mode="${1#--ports=}"; shift ;;
            *) usage ;;
        esac
    done
    lock_dir
    load_state "$ports_mode"
    local part missing=()
    for part in "${PARTS[@]}"; do is_running "$part" || missing+=("$part"); done
    if ((${#missing[@]} == 0)); then
        say "the network in $DIR is already running"
    else
        for part in mariadb redis broker; do start_part "$part"; done
        local started=()
        for part in "${SERVICES[@]}"; do
            if ! is_running "$part"; then
                launch_service "$part"
                started+=("$part")
            fi
        done
        for part in "${started[@]}"; do wait_service_ready "$part"; done
    fi
    say "up: $DIR (gateway http://127.0.0.1:$GATEWAY_PORT)"
}

cmd_down() {
    lock_dir
    [[ -f "$DIR/ports" ]] && load_ports ""
    local part
    for part in gateway clearing wallet broker redis mariadb; do stop_part "$part"; done
    say "down: $DIR"
}

cmd_part() {
    local action="$1" part="${2:-}"
    shift 2 || usage
    is_part "$part" || die "unknown part '$part' (one of: ${PARTS[*]})"
    lock_dir
    [[ -f "$DIR/ports" ]] || die "$DIR holds no network (run: netctl.sh up $DIR)"
    load_state ""
    case "$action" in
        stop) stop_part "$part" ;;
        kill) kill_part "$part" ;;
        start)
            local wait=wait
            [[ "${1:-}" == --no-wait ]] && wait=nowait
            start_part "$part" "$wait"
            ;;
    esac
}

cmd_destroy() {
    if [[ ! -f "$DIR/ports" && ! -d "$DIR/pids" ]]; then
        die "$DIR does not look like a network folder; not deleting it"
    fi
    cmd_down
    if [[ "$MYSQL_HOME" != "$DIR/mysql" && "$MYSQL_HOME" == /var/tmp/emtiaz-mysql/* ]]; then
        rm -rf "$MYSQL_HOME"
    fi
    rm -rf "$DIR"
    say "destroyed: $DIR"
}

cmd_status() {
    local part pid
    [[ -f "$DIR/ports" ]] || die "$DIR holds no network"
    load_ports ""
    for part in "${PARTS[@]}"; do
        if pid="$(part_pid "$part")"; then
            local extra=""
            is_service "$part" && extra=" port $(service_port "$part") ready=$(ready_status "$(service_port "$part")")"
            printf '%-9s running (pid %s)%s\n' "$part" "$pid" "$extra"
        else
            printf '%-9s stopped\n' "$part"
        fi
    done
}

main() {
    local cmd="${1:-}"
    shift || usage
    case "$cmd" in
        up) set_dir "${1:-}"; shift; cmd_up "$@" ;;
        down) set_dir "${1:-}"; cmd_down ;;
        stop | start | kill) set_dir "${1:-}"; shift; cmd_part "$cmd" "$@" ;;
        status) set_dir "${1:-}"; cmd_status ;;
        env) set_dir "${1:-}"; cat "$DIR/env" ;;
        destroy) set_dir "${1:-}"; cmd_destroy ;;
        -h | --help | help) usage ;;
        *) usage ;;
    esac
}

main "$@"
