#!/usr/bin/env bash
# audit_scale.sh NETDIR — how long the audit (emtiaz-audit) takes over 1,000,000 members (issue 7, item 4).
#
# Against a running network (scripts/netctl.sh up NETDIR; NETDIR/env gives the URL and the credentials):
# creates a tenant and a partner through the API and makes one real earn for a template member, so that the
# wallet writes that member's state (MySQL and Redis) and ledger entries. Then it clones that member
# AUDIT_MEMBERS times (default 1,000,000) in bulk: members, member_states and ledger_entries straight into
# MySQL (INSERT ... SELECT from MariaDB's sequence engine, each clone with its own ids and lot id) and the
# cached states and balance views into Redis (redis-cli --pipe) — every clone is a member with one lot, as conserved as the
# template. Then it runs `emtiaz-audit TENANT` (conservation from the ledger and the states, and Redis = MySQL
# for every member), timed, with its peak memory.
#
# Prints lines on stderr and one JSON line on stdout:
#   {"kind":"audit_scale","members":...,"seed_s":...,"audit_s":...,"rc":0,"peak_rss_kb":...}
# Exits non-zero when the audit reports a difference or cannot run.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BENCH_NAME=audit_scale
# shellcheck source=bench/lib.sh
source "$REPO/bench/lib.sh"
[[ $# -ge 1 ]] || { echo "usage: bench/audit_scale.sh NETDIR (a running network's folder)" >&2; exit 2; }
bench_network "$1"
N="${AUDIT_MEMBERS:-1000000}"
BUILD="${EMTIAZ_BUILD_DIR:-build}"
mysql_root() { mysql_root_at "$NETDIR" emtiaz "$@"; }
WORK="$(mktemp -d /tmp/emtiaz-audit.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT

say "a tenant, a partner and one earn through the API (the template member)"
read -r TENANT MEMBER < <(python3 - "$EMTIAZ_URL" "$EMTIAZ_ADMIN_TOKEN" <<'EOF'
import json, sys, time, urllib.request
url, admin = sys.argv[1], sys.argv[2]
def post(path, token, body, key=None):
    h = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    if key: h["Idempotency-Key"] = key
    req = urllib.request.Request(url + path, data=json.dumps(body).encode(), method="POST", headers=h)
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())
tag = str(int(time.time()))
ten = post("/v1/tenants", admin, {"name": f"Audit scale {tag}", "calendar": "jalali"})
part = post("/v1/partners", ten["operator_token"], {"name": "Audit partner", "category": "grocery",
            "issue_price_irr": 1000, "redeem_value_irr": 900, "fee_bps": 150, "earn": {"points_per_10k_irr": 100}})
earn = post("/v1/earn", part["api_key"], {"member": "phone:09350000000", "amount_irr": 1000000,
            "receipt_id": "audit-template-" + tag}, key="audit-template-" + tag)
print(ten["id"], earn["balance"]["member_id"])
EOF
)
[[ -n "$TENANT" && -n "$MEMBER" ]] || die "could not create the template member"
sleep 1
RUN=$(mysql_root -e "SELECT COUNT(*) FROM tenants WHERE name LIKE 'Audit scale %'")
LOT=$(mysql_root -e "SELECT lot_id FROM ledger_entries WHERE tenant_id='$TENANT' AND member_id='$MEMBER' AND type='earn'")
[[ -n "$LOT" ]] || die "the template earn has no ledger entry"
redis_cli GET "emtiaz:{t:$TENANT:$MEMBER}:state" >"$WORK/template.redis"
[[ -s "$WORK/template.redis" ]] || die "the template member's state is not in Redis"
redis_cli GET "emtiaz:{t:$TENANT:$MEMBER}:balance" >"$WORK/template.balance"
[[ -s "$WORK/template.balance" ]] || die "the template member's balance view is not in Redis"
say "template: tenant $TENANT, member $MEMBER, lot $LOT; cloning it $N times"

seed_start=$(now_us)
# Ids: mem_a<run>x<12 digits>, lot_a<run>x<12 digits>; phones +98935 + 7 digits; cards 7 + run (2) + 13 digits.
P="a${RUN}x"
CARD="7$(printf '%02d' $((RUN % 100)))"
mysql_root <<EOF
SET unique_checks=0;
INSERT INTO members (tenant_id, id, phone, card, created_at)
  SELECT '$TENANT', CONCAT('mem_$P', LPAD(seq, 12, '0')), CONCAT('+98935', LPAD(seq, 7, '0')),
         CONCAT('$CARD', LPAD(seq, 13, '0')), NOW(6) FROM seq_1_to_$N;
-- The template's state as the wallet stored it: deflated behind 0x01 (wallet/stored_state.hpp), each clone's lot id
-- replaced in its text and deflated again (no room in the slot: the audit only reads them), or else a JSON text.
INSERT INTO member_states (tenant_id, member_id, part, version, state, next_due, updated_at)
  SELECT s.tenant_id, CONCAT('mem_$P', LPAD(q.seq, 12, '0')), s.part, s.version,
         IF(LEFT(s.state, 1) = X'01',
            CONCAT(X'01', COMPRESS(REPLACE(UNCOMPRESS(SUBSTRING(s.state, 2)), '$LOT',
                                           CONCAT('lot_$P', LPAD(q.seq, 12, '0'))))),
            REPLACE(s.state, '$LOT', CONCAT('lot_$P', LPAD(q.seq, 12, '0')))), s.next_due, s.updated_at
  FROM member_states s JOIN seq_1_to_$N q WHERE s.tenant_id = '$TENANT' AND s.member_id = '$MEMBER';
INSERT INTO ledger_entries (tenant_id, member_id, txn_id, type, points, lot_id, issuer, issue_price_irr, fee_bps,
                            partner_id, redemption_id, redeem_value_irr, at, committed_at)
  SELECT e.tenant_id, CONCAT('mem_$P', LPAD(q.seq, 12, '0')), CONCAT('txn_$P', LPAD(q.seq, 12, '0')), e.type,
         e.points, CONCAT('lot_$P', LPAD(q.seq, 12, '0')), e.issuer, e.issue_price_irr, e.fee_bps, e.partner_id,
         e.redemption_id, e.redeem_value_irr, e.at, e.committed_at
  FROM ledger_entries e JOIN seq_1_to_$N q WHERE e.tenant_id = '$TENANT' AND e.member_id = '$MEMBER';
EOF
say "MySQL seeded in $(secs_since "$seed_start")s; now the Redis copies"
python3 - "$WORK/template.redis" "$TENANT" "$LOT" "$P" "$N" "$WORK/template.balance" <<'EOF' | redis_cli --pipe >"$WORK/pipe.out"
import sys
tpl, tenant, lot, p, n = open(sys.argv[1]).read().rstrip("\n"), sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5])
view = open(sys.argv[6]).read().rstrip("\n").encode()  # the balance view names no lot: the same for every clone
out = sys.stdout.buffer
def put(key, val):
    out.write(b"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%d\r\n%s\r\n" % (len(key), key, len(val), val))
for i in range(1, n + 1):
    suffix = f"{p}{i:012d}"
    put(f"emtiaz:{{t:{tenant}:mem_{suffix}}}:state".encode(), tpl.replace(lot, "lot_" + suffix).encode())
    put(f"emtiaz:{{t:{tenant}:mem_{suffix}}}:balance".encode(), view)
EOF
tail -1 "$WORK/pipe.out" >&2
SEED_S=$(secs_since "$seed_start")
members=$(mysql_root -e "SELECT COUNT(*) FROM member_states WHERE tenant_id='$TENANT'")
say "seeded $members member states in ${SEED_S}s; auditing"

audit_start=$(now_us)
rc=0
if [[ -x /usr/bin/time ]]; then
    /usr/bin/time -f '%M' -o "$WORK/rss" "$REPO/$BUILD/wallet/emtiaz-audit" "$TENANT" >"$WORK/audit.txt" 2>&1 || rc=$?
else
    echo 0 >"$WORK/rss"
    "$REPO/$BUILD/wallet/emtiaz-audit" "$TENANT" >"$WORK/audit.txt" 2>&1 || rc=$?
fi
AUDIT_S=$(secs_since "$audit_start")
cat "$WORK/audit.txt" | head -5 >&2
say "audit of $members members: ${AUDIT_S}s, exit $rc, peak RSS $(cat "$WORK/rss") KiB"
echo "{\"kind\":\"audit_scale\",\"members\":$members,\"seed_s\":$SEED_S,\"audit_s\":$AUDIT_S,\"rc\":$rc,\"peak_rss_kb\":$(cat "$WORK/rss" 2>/dev/null || echo 0)}"
exit "$rc"
