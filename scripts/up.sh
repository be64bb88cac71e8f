#!/usr/bin/env bash
# up.sh [--detach] — install what is missing, build, and run the whole Emtiaz network on loopback:
# MariaDB, Redis, the dev broker, the wallet, clearing and the gateway (state under var/local).
#   foreground (default): prints the URL and the admin token, runs until Ctrl-C, then stops everything.
#   --detach: leaves the network running, writes var/local.env and returns; scripts/down.sh stops it.
# EMTIAZ_BUILD_DIR names another build folder (default build/); EMTIAZ_SKIP_BUILD=1 skips the package check
# and the build and runs the binaries already there.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

detach=0
for arg in "$@"; do
    case "$arg" in
        --detach | -d) detach=1 ;;
        -h | --help) sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) echo "up: unknown argument '$arg' (usage: scripts/up.sh [--detach])" >&2; exit 2 ;;
    esac
done

NET=var/local
build_dir="${EMTIAZ_BUILD_DIR:-build}"
case "$build_dir" in /*) ;; *) build_dir="$PWD/$build_dir" ;; esac
export EMTIAZ_BUILD_DIR="$build_dir"

if [[ "${EMTIAZ_SKIP_BUILD:-0}" != 1 ]]; then
    scripts/install-deps.sh
    scripts/build.sh "$build_dir"
fi

# A network that is already fully running (say, from `up.sh --detach`) is left alone.
already=0
if [[ -f "$NET/ports" ]]; then
    status="$(scripts/netctl.sh status "$NET" 2>/dev/null || true)"
    if [[ -n "$status" && "$status" != *stopped* ]]; then already=1; fi
fi

stop_network() {
    trap - INT TERM
    echo >&2
    echo "up: stopping the network ..." >&2
    scripts/netctl.sh down "$NET" || true
    exit 0
}
if ((detach == 0 && already == 0)); then
    # Stop what came up if we are interrupted half-way, or when Ctrl-C comes later.
    trap stop_network INT TERM
fi

scripts/netctl.sh up "$NET" --ports fixed

# shellcheck disable=SC1091
source "$NET/env"
printf '\n  Emtiaz is running.\n'
printf '    URL:          %s\n' "$EMTIAZ_URL"
printf '    admin token:  %s\n' "$EMTIAZ_ADMIN_TOKEN"
printf '    logs:         %s/logs/\n' "$NET"
printf '  Try:  curl -s %s/v1/ready\n\n' "$EMTIAZ_URL"

if ((detach == 1)); then
    (umask 077 && cp "$NET/env" var/local.env)
    echo "up: detached; the addresses are in var/local.env; stop it with scripts/down.sh"
    exit 0
fi
if ((already == 1)); then
    echo "up: this network was already running (detached) and is left running; stop it with scripts/down.sh"
    exit 0
fi

echo "up: press Ctrl-C to stop."
while :; do
    sleep 3600 &
    wait $! || true
done
