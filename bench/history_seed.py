#!/usr/bin/env python3
"""history_seed.py — a year of points history for the benchmark's bulk-seeded members (scripts/bench.sh).

    history_seed.py --tenant T --tenant-index I --members N --partners ID:PRICE:FEE:VALUE,... \
                    --now-us US --seq-base S --partitions 16 --out DIR

The members scripts/bench.sh writes in bulk (ids `mem_bench{I}x` + a 12-digit index) get what the wallet would
hold after a year of use, written as the wallet and clearing write it, so that every command of the run meets
a realistic member and tables of a realistic size: per member 0 to 8 earns (30 % none, 1.95 on average) at
random partners of the tenant, 3 to 330 days ago; 40 % of the lots untouched, 30 % partly and 30 % wholly
spent by a captured redemption at a random partner, some time after the earn. Files (tab-separated, `\\N` for
NULL, for LOAD DATA):

  member_states.tsv    one state per member with history: its lots with points left (JSON of points_json), no
                       redemption in it (they are all captured: finished), next_due = the earliest expiry;
  member_archive.tsv   the finished records (migration 008): every captured redemption, every emptied lot;
  ledger_entries.tsv   the movements: an `earn` per lot, a `capture` per redemption (the hold of an
                       authorize-and-capture moves nothing between issuers and is left out);
  clearing_events.tsv  the same movements as clearing's consumer stores them (sequences from --seq-base up,
                       above the live wallet's), so a settlement over the year sees them;
  ledger_transactions.tsv, earns.tsv, redemptions.tsv   the history items and the look-up rows.

Conservation holds per issuer (issued − captured = the points left in the states' lots), so the audit of
every tenant checks the seeding too. Prints one JSON line of counts on stdout. Deterministic per tenant index.
"""
import argparse
import hashlib
import json
import os
import random
import time

DAY_US = 86_400_000_000
YEAR_US = 365 * DAY_US
HOLD_US = 15 * 60 * 1_000_000
LOTS = [0, 1, 2, 3, 5, 8]
LOT_WEIGHTS = [30, 20, 20, 15, 10, 5]


def fnv1a(key: str, partitions: int) -> int:
    """common/kafka.cpp partition_for: the member's partition."""
    h = 1469598103934665603
    for c in key.encode():
        h ^= c
        h = (h * 1099511628211) & 0xFFFFFFFFFFFFFFFF
    return h % partitions


def sql_time(us: int) -> str:
    s, f = divmod(us, 1_000_000)
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(s)) + f".{f:06d}"


def dumps(obj) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--tenant-index", type=int, required=True)
    ap.add_argument("--members", type=int, required=True)
    ap.add_argument("--partners", required=True, help="ID:PRICE:FEE:VALUE,...")
    ap.add_argument("--now-us", type=int, required=True)
    ap.add_argument("--seq-base", type=int, required=True)
    ap.add_argument("--partitions", type=int, default=16)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()

    tenant, t, now = a.tenant, a.tenant_index, a.now_us
    partners = []
    for spec in a.partners.split(","):
        pid, price, fee, value = spec.split(":")
        partners.append((pid, int(price), int(fee), int(value)))
    rng = random.Random(7919 * (t + 1))
    seq = a.seq_base
    committed = sql_time(now)
    counts = dict(members=0, lots=0, live_lots=0, redemptions=0, issued=0, captured=0)

    files = {name: open(os.path.join(a.out, name + ".tsv"), "w", encoding="utf-8") for name in (
        "member_states", "member_archive", "ledger_entries", "clearing_events", "ledger_transactions", "earns",
        "redemptions")}
    w = {name: f.write for name, f in files.items()}

    def row(name, *values):
        w[name]("\t".join("\\N" if v is None else str(v) for v in values) + "\n")

    for m in range(a.members):
        n = rng.choices(LOTS, LOT_WEIGHTS)[0]
        if n == 0:
            continue
        member = f"mem_bench{t}x{m:012d}"
        part = fnv1a(f"{tenant}:{member}", a.partitions)
        events = []  # (at_us, kind, j): creation order decides the seq numbers
        lots = []
        for j in range(n):
            pid, price, fee, _ = partners[rng.randrange(len(partners))]
            created = now - rng.randint(3 * DAY_US, 330 * DAY_US)
            points = rng.randint(50, 5000)
            fate = rng.random()
            spent = 0 if fate < 0.4 else (rng.randint(1, points - 1) if fate < 0.7 else points)
            lot = dict(j=j, id=f"lot_s{t}m{m:010d}j{j}", earn_id=f"ern_s{t}m{m:010d}j{j}", issuer=pid, price=price,
                       fee=fee, points=points, spent=spent, created=created, receipt=f"seed-{m}-{j}")
            if spent:
                rpid, _, _, rvalue = partners[rng.randrange(len(partners))]
                lot["red"] = dict(id=f"red_s{t}m{m:010d}j{j}", partner=rpid, value=rvalue,
                                  at=created + rng.randint(DAY_US // 2, (now - created) - DAY_US // 2),
                                  receipt=f"seed-r-{m}-{j}")
                events.append((lot["red"]["at"], 1, j))
            events.append((created, 0, j))
            lots.append(lot)
        events.sort()
        for s, (_, kind, j) in enumerate(events, start=1):
            lots[j]["red_seq" if kind else "seq"] = s
        lots.sort(key=lambda l: l["seq"])

        state_lots = []
        for lot in lots:
            remaining = lot["points"] - lot["spent"]
            record = dict(id=lot["id"], issuer=lot["issuer"], issue_price_irr=lot["price"], fee_bps=lot["fee"],
                          earn_id=lot["earn_id"], amount_irr=lot["points"] * 100, points=lot["points"],
                          remaining=remaining, created_at=lot["created"], available_at=lot["created"],
                          expires_at=lot["created"] + YEAR_US, seq=lot["seq"], pending=False, expired=False,
                          refunded_irr=0, clawed_back=0)
            if remaining > 0:
                state_lots.append(record)
            else:
                row("member_archive", tenant, member, lot["id"], "lot", lot["earn_id"], None, dumps(record), committed)
            at = sql_time(lot["created"])
            txn = f"txn_s{t}m{m:010d}j{lot['j']}e"
            row("ledger_entries", tenant, member, txn, "earn", lot["points"], lot["id"], lot["issuer"], lot["price"],
                lot["fee"], lot["issuer"], "", 0, at, committed)
            row("clearing_events", part, seq, 0, tenant, "earn", lot["points"], lot["issuer"], lot["price"], lot["fee"],
                lot["issuer"], 0, lot["earn_id"], lot["created"])
            seq += 1
            row("ledger_transactions", tenant, member, txn, "earn", lot["points"], lot["issuer"], lot["receipt"], None,
                lot["earn_id"], None, at)
            row("earns", tenant, lot["earn_id"], member, lot["issuer"], lot["receipt"], lot["points"] * 100,
                lot["points"], hashlib.sha256(lot["earn_id"].encode()).hexdigest(), at)
            counts["lots"] += 1
            counts["issued"] += lot["points"]
            if "red" not in lot:
                continue
            red = lot["red"]
            record = dict(id=red["id"], partner_id=red["partner"], redeem_value_irr=red["value"], status="captured",
                          points=lot["spent"], points_captured=lot["spent"], points_refunded=0, created_at=red["at"],
                          expires_at=red["at"] + HOLD_US, seq=lot["red_seq"],
                          allocations=[dict(lot_id=lot["id"], held=0, captured=lot["spent"], refunded=0)])
            row("member_archive", tenant, member, red["id"], "redemption", None, red["receipt"], dumps(record), committed)
            at = sql_time(red["at"])
            txn = f"txn_s{t}m{m:010d}j{lot['j']}c"
            row("ledger_entries", tenant, member, txn, "capture", lot["spent"], lot["id"], lot["issuer"], lot["price"],
                lot["fee"], red["partner"], red["id"], red["value"], at, committed)
            row("clearing_events", part, seq, 0, tenant, "capture", lot["spent"], lot["issuer"], lot["price"],
                lot["fee"], red["partner"], red["value"], "", red["at"])
            seq += 1
            row("ledger_transactions", tenant, member, txn, "capture", -lot["spent"], red["partner"], red["receipt"],
                None, None, red["id"], at)
            row("redemptions", tenant, red["id"], member, red["partner"], red["receipt"], at)
            counts["redemptions"] += 1
            counts["captured"] += lot["spent"]
        counts["live_lots"] += len(state_lots)
        counts["members"] += 1
        state = {"points": {"lots": state_lots, "redemptions": [], "debt": 0, "next_seq": len(events) + 1,
                            "as_of": now}, "receipts": {}}
        due = min((l["expires_at"] for l in state_lots), default=None)
        row("member_states", tenant, member, part, 1, dumps(state), sql_time(due) if due else None, committed)

    for f in files.values():
        f.close()
    counts["next_seq_base"] = seq
    print(dumps(counts))


if __name__ == "__main__":
    main()
