#!/usr/bin/env bash
# install-deps.sh — install the Debian 12 packages Emtiaz needs to build, test and run locally.
# This is the one list of them. Fast (dpkg-query only) when everything is present; quiet otherwise.
set -euo pipefail

PACKAGES=(
    # toolchain
    build-essential cmake ninja-build ccache pkg-config
    # libraries
    libboost-dev libboost-system-dev librdkafka-dev libhiredis-dev libmysqlcppconn-dev nlohmann-json3-dev
    libspdlog-dev libfmt-dev libyaml-cpp-dev libphonenumber-dev libicu-dev libssl-dev zlib1g-dev
    libdeflate-dev
    libgtest-dev libgmock-dev
    # servers of the local network
    mariadb-server mariadb-client redis-server redis-tools
    # the scripts
    curl python3 ca-certificates util-linux
)

if [[ "${1:-}" == --list ]]; then
    printf '%s\n' "${PACKAGES[@]}"
    exit 0
fi

missing=()
installed="$(dpkg-query -W -f='${Package} ${db:Status-Abbrev}\n' "${PACKAGES[@]}" 2>/dev/null || true)"
for pkg in "${PACKAGES[@]}"; do
    grep -qx "$pkg ii " <<<"$installed" || missing+=("$pkg")
done
((${#missing[@]} == 0)) && exit 0

echo "install-deps: installing ${#missing[@]} package(s): ${missing[*]}" >&2
SUDO=()
if ((EUID != 0)); then
    command -v sudo >/dev/null || { echo "install-deps: not root and no sudo; install: ${missing[*]}" >&2; exit 1; }
    SUDO=(sudo)
fi

log="$(mktemp /tmp/emtiaz-install-deps.XXXXXX.log)"
# Packages must not start their servers (the local network starts its own, on other ports).
policy_created=0
if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee /usr/sbin/policy-rc.d >/dev/null
    "${SUDO[@]}" chmod 755 /usr/sbin/policy-rc.d
    policy_created=1
fi
cleanup() { ((policy_created == 0)) || "${SUDO[@]}" rm -f /usr/sbin/policy-rc.d; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -qq && \
       "${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    echo "install-deps: apt-get failed; last lines of $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
fi
rm -f "$log"
echo "install-deps: done" >&2
