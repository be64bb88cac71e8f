#!/usr/bin/env bash
# soak.sh NETDIR [SECONDS] — do the wallet's and the gateway's memory stay flat under a long mixed load?
# (issue 7, item 5). Not a test: nothing asserts; it prints and writes bench/results/soak.md.
#
# Against a running network (scripts/netctl.sh up NETDIR, or scripts/bench.sh --keep's var/bench): creates a
# tenant of its own and 4 partners through the API, enrols SOAK_MEMBERS members (default 5,000) by an earn
# from each partner (phones 0912 + a 7-digit index, auto-enrolled; SOAK_WARM_RATE, 200/s), so that every
# cache that grows with the members it sees (the gateway's member references, its auth and lookup caches,
# the wallet's pools) is warm, then runs three open-loop generators at once for SECONDS (default 600): earns
# at SOAK_EARN_RATE (80/s) and authorizations at SOAK_AUTH_RATE (20/s) on random members, balance reads at
# SOAK_READ_RATE (600/s) — rates this machine sustains for ten minutes (see docs/performance.md on the
# local broker), because the question is memory, not saturation. The mixed load starts SOAK_WARM_MIXED
# seconds (default 120) before the measured window, which begins after them with the load still running.
# Wallet and gateway RSS are sampled every 5 s, and so is their live heap (emtiaz_heap_in_use_bytes on each
# one's /metrics: what the allocator has handed out and not had back). The table gives both after the
# warm-up, at every minute and at the end, the growth from the end of the warm-up, and the least-squares
# slope over the run (KiB/min): a resident size that creeps up while the live heap stays flat is the
# allocator's free space spreading over more pages, not memory the service keeps.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_NAME=soak
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
[[ $# -ge 1 ]] || { echo "usage: bench/soak.sh NETDIR [SECONDS]" >&2; exit 2; }
bench_network "$1"
SECONDS_RUN="${2:-600}"
MEMBERS="${SOAK_MEMBERS:-5000}"
WARM_RATE="${SOAK_WARM_RATE:-200}"
EARN_RATE="${SOAK_EARN_RATE:-80}"
AUTH_RATE="${SOAK_AUTH_RATE:-20}"
READ_RATE="${SOAK_READ_RATE:-600}"
WARM_MIXED="${SOAK_WARM_MIXED:-120}"
BUILD="${EMTIAZ_BUILD_DIR:-build}"
LOADGEN="$REPO/$BUILD/bench/emtiaz-loadgen"
OUT="$REPO/bench/results/soak.md"
URL="$EMTIAZ_URL"

[[ -x "$LOADGEN" ]] || { echo "soak: no $LOADGEN (cmake --build $BUILD --target emtiaz-loadgen)" >&2; exit 2; }
WORK="$(mktemp -d /tmp/emtiaz-soak.XXXXXX)"
SAMPLER=""
HEAP_SAMPLER=""
trap 'kill $SAMPLER $HEAP_SAMPLER 2>/dev/null || true; rm -rf "$WORK"' EXIT  # kill with no pid (both ended) is not a failure


say "creating a tenant and 4 partners through the API"
python3 - "$URL" "$EMTIAZ_ADMIN_TOKEN" "$MEMBERS" "$WORK" <<'EOF'
import json, sys, time, urllib.request
url, admin, members, work = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def post(path, token, body):
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())
ten = post("/v1/tenants", admin, {"name": f"Soak coalition {int(time.time())}", "calendar": "jalali", "auto_enroll": True})
with open(work + "/keys.txt", "w") as kf:
    for p in range(4):
        part = post("/v1/partners", ten["operator_token"], {
            "name": f"Soak partner {p}", "category": "grocery", "issue_price_irr": 1000,
            "redeem_value_irr": 900, "fee_bps": 150, "earn": {"points_per_10k_irr": 100}})
        kf.write(f"{part['api_key']} {members}\n")
EOF

run() {  # run LABEL ARGS...: one generator, its JSON line into WORK/LABEL.json
    local label="$1"
    shift
    "$LOADGEN" --url "$URL" --connections 32 --keys "$WORK/keys.txt" --label "$label" "$@" >"$WORK/$label.json"
}

heap_of() {  # heap_of PORT: the live heap in KiB from the service's /metrics, or 0
    curl -s --max-time 2 "http://127.0.0.1:$1/metrics" 2>/dev/null |
        awk '$1 == "emtiaz_heap_in_use_bytes" { printf "%d", $2 / 1024; found = 1 } END { if (!found) print 0 }'
}
heap_sampler() {  # prints "epoch wallet_kib gateway_kib" every 5 s until killed
    local wallet_port gateway_port="${URL##*:}"
    wallet_port="$(cat "$NETDIR/run/wallet.port")"
    while :; do
        printf '%s %s %s\n' "$(date +%s)" "$(heap_of "$wallet_port")" "$(heap_of "$gateway_port")"
        sleep 5
    done
}
rss_sampler "$NETDIR/pids" 5 >"$WORK/rss.log" 2>/dev/null &
SAMPLER=$!
heap_sampler >"$WORK/heap.log" 2>/dev/null &
HEAP_SAMPLER=$!
START=$(date +%s)

say "warm-up: an earn with each of the 4 keys for each of $MEMBERS members (enrols them; ${WARM_RATE}/s)"
run warmup --op earn --members-mode seq --warm "$MEMBERS" --amount 10000000 --rate "$WARM_RATE" \
    --duration "$(python3 -c "print($MEMBERS * 4 / $WARM_RATE)")" --drain 30
# The mixed load runs WARM_MIXED seconds longer than the measured window and without a break: its first
# WARM_MIXED seconds are part of the warm-up (every worker thread, pool connection and allocator arena has
# then served the mix), and the window that is measured starts after them.
MIXED=$((SECONDS_RUN + WARM_MIXED))
WARM_END=$(($(date +%s) + WARM_MIXED))

say "mixed load for ${MIXED}s (the first ${WARM_MIXED}s still warm-up): earn ${EARN_RATE}/s, authorize ${AUTH_RATE}/s, balance ${READ_RATE}/s"
run earn --op earn --members-mode warm --warm "$MEMBERS" --amount 1000000 --rate "$EARN_RATE" --duration "$MIXED" --drain 10 &
p1=$!
run authorize --op authorize --members-mode warm --warm "$MEMBERS" --rate "$AUTH_RATE" --duration "$MIXED" --drain 10 &
p2=$!
run balance --op balance --members-mode warm --warm "$MEMBERS" --rate "$READ_RATE" --duration "$MIXED" --drain 10 &
p3=$!
wait "$p1" "$p2" "$p3"
END=$(date +%s)
kill "$SAMPLER" "$HEAP_SAMPLER" 2>/dev/null || true
SAMPLER=""
HEAP_SAMPLER=""

mkdir -p "$(dirname "$OUT")"
# The kernel's DAMON monitor, whose samples stall the cores on this kind of VM (docs/performance-log.md, sixteenth
# session): its state is part of what the latencies below were measured on.
DAMON="$(cat /sys/kernel/mm/damon/admin/kdamonds/0/state 2>/dev/null || echo absent)"
python3 - "$WORK" "$START" "$WARM_END" "$END" "$SECONDS_RUN" "$MEMBERS" "$(uptime | sed 's/^ *//')" "$WARM_MIXED" "$DAMON" <<'EOF' | tee "$OUT"
import json, sys
work, start, warm_end, end, secs, members, up, warm_mixed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6], sys.argv[7], sys.argv[8]
damon = sys.argv[9]
rows = [tuple(map(int, l.split())) for l in open(work + "/rss.log") if len(l.split()) == 3]
heap = [tuple(map(int, l.split())) for l in open(work + "/heap.log") if len(l.split()) == 3]
def heap_at(t):  # the heap sample nearest to t: (wallet KiB, gateway KiB)
    if not heap: return None
    h = min(heap, key=lambda r: abs(r[0] - t))
    return h[1], h[2]
def mib(kb): return f"{kb/1024:.1f}"
after = [r for r in rows if r[0] >= warm_end]
print(f"# Soak: wallet and gateway memory over {secs} s of mixed load\n")
print(f"{members} members warmed first (an earn from each of 4 partners); then earns, authorizations and balance reads at once,")
print(f"whose first {warm_mixed} s are still warm-up: the table starts when they end.")
print(f"Machine at the end: `{up}`; the kernel's DAMON monitor (kdamond): {damon}.\n")
print("| generator | offered/s | achieved/s | p50 ms | p99 ms | p99.9 ms | errors |")
print("|---|---:|---:|---:|---:|---:|---|")
for name in ("warmup", "earn", "authorize", "balance"):
    try:
        r = json.loads(open(f"{work}/{name}.json").read().strip().splitlines()[-1])
    except Exception:
        continue
    errs = ", ".join(f"{k}: {v}" for k, v in r.get("errors", {}).items()) or "0"
    print(f"| {name} | {r['offered']:.0f} | {r['achieved']:.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | {r['p999_ms']:.1f} | {errs} |")
print("\n| time since the warm-up ended | wallet RSS MiB | gateway RSS MiB | wallet live heap MiB | gateway live heap MiB |")
print("|---|---:|---:|---:|---:|")
marks, nxt = [], 0
for r in after:
    t = r[0] - warm_end
    if t >= nxt or r is after[-1]:
        marks.append(r)
        nxt = (t // 60 + 1) * 60
for r in marks:
    h = heap_at(r[0])
    hw, hg = (mib(h[0]), mib(h[1])) if h else ("?", "?")
    print(f"| {r[0]-warm_end} s | {mib(r[1])} | {mib(r[2])} | {hw} | {hg} |")
def slope(i, samples=None):
    pts = [((r[0]-warm_end)/60.0, r[i]) for r in (after if samples is None else samples)]
    n = len(pts)
    if n < 2: return 0.0
    mx = sum(p[0] for p in pts)/n; my = sum(p[1] for p in pts)/n
    den = sum((p[0]-mx)**2 for p in pts)
    return sum((p[0]-mx)*(p[1]-my) for p in pts)/den if den else 0.0
if after:
    first, last = after[0], after[-1]
    peak_w = max(r[1] for r in after); peak_g = max(r[2] for r in after)
    print(f"\nWallet: {mib(first[1])} → {mib(last[1])} MiB (peak {mib(peak_w)}), slope {slope(1):+.0f} KiB/min.")
    print(f"Gateway: {mib(first[2])} → {mib(last[2])} MiB (peak {mib(peak_g)}), slope {slope(2):+.0f} KiB/min.")
    half = [r for r in after if r[0] >= warm_end + (last[0] - warm_end) / 2]
    if half:
        print(f"Second half of the window: wallet {mib(half[0][1])} → {mib(last[1])} MiB, gateway {mib(half[0][2])} → {mib(last[2])} MiB.")
    heap_after = [h for h in heap if h[0] >= warm_end and h[1] > 0 and h[2] > 0]
    if heap_after:
        hf, hl = heap_after[0], heap_after[-1]
        print(f"Live heap: wallet {mib(hf[1])} → {mib(hl[1])} MiB (peak {mib(max(h[1] for h in heap_after))}), slope {slope(1, heap_after):+.0f} KiB/min; "
              f"gateway {mib(hf[2])} → {mib(hl[2])} MiB (peak {mib(max(h[2] for h in heap_after))}), slope {slope(2, heap_after):+.0f} KiB/min.")
EOF
say "written: bench/results/soak.md"
