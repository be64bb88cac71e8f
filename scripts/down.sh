#!/usr/bin/env bash
# down.sh — stop the local network that `scripts/up.sh --detach` left running (its data stays in var/local).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ ! -f var/local/ports ]]; then
    echo "down: no local network in var/local" >&2
    rm -f var/local.env
    exit 0
fi
scripts/netctl.sh down var/local
rm -f var/local.env
