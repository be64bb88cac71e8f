#!/usr/bin/env python3
"""settlement_seed.py — writes a synthetic ledger of one tenant for bench/settlement_scale.sh.

    settlement_seed.py --tenant T --partners P1,P2,... --prices 200,310,... --fees 125,0,... --values 150,90,...
                       --entries N --start-us US --span-us US --out DIR [--seq-base N]

Writes DIR/clearing_events.tsv (the rows clearing's consumer stores for each ledger event: part, seq, idx,
tenant_id, type, points, issuer, issue_price_irr, fee_bps, partner_id, redeem_value_irr, earn_id, at_us),
DIR/ledger_entries.tsv (the wallet's rows for the same movements) and DIR/expected.json (the settlement
figures of the whole ledger, computed here from what was generated, with the rules of api.md "Settlement
(normative)": per-lot prices and fees, the fee rounded half away from zero once per partner).

The ledger is made of two member stories, each a realistic sequence of wallet commands whose lots all end
empty and whose debt is repaid, so conservation holds (the audit of the tenant stays clean without member
states). Story A (12 entries) — earn X; earn Y; authorize at Z (hold all of X, 6 of Y); capture all of X
(release 6 of Y); refund 3 to X; purchase refund of half of Y's purchase (clawback); authorize 4 of Y at Z
and let it time out (hold, hold_expiry); X's lot expires (3); Y's lot expires (the rest). Story B (10
entries) — operator adjustment +a; earn W; adjustment −(a+10) (takes a from the operator's lot and 10
from W); whole refund of W's purchase (clawback of W's rest, debt 10); earn V (debt repayment 10); authorize
and capture V's rest at Z2. Prices, fees and redeem values vary from lot to lot (as if they had been
changed over time), so the per-lot pricing and the fee rounding are exercised.
"""
import argparse
import datetime
import json
import os

PARTS = 16
SEQ_BASE = 10**12  # far above any sequence the live wallet will reach: the seeded events never collide


def half_away(n, d):
    q, r = divmod(abs(n), d)
    if 2 * r >= d:
        q += 1
    return q if n >= 0 else -q


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tenant", required=True)
    ap.add_argument("--partners", required=True)
    ap.add_argument("--prices", required=True)
    ap.add_argument("--fees", required=True)
    ap.add_argument("--values", required=True)
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--start-us", type=int, required=True)
    ap.add_argument("--span-us", type=int, required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seq-base", type=int, default=SEQ_BASE,
                    help="sequences start above this (above any earlier seeding: (part, seq, idx) is unique)")
    a = ap.parse_args()

    tenant = a.tenant
    P = a.partners.split(",")
    base_price = [int(x) for x in a.prices.split(",")]
    base_fee = [int(x) for x in a.fees.split(",")]
    base_value = [int(x) for x in a.values.split(",")]
    K = len(P)
    # 12 entries per story A, 10 per story B: pairs of both, then what the remainder allows.
    n_b = a.entries // 22
    rest = a.entries - 22 * n_b
    fits = [(na, (rest - 12 * na) // 10) for na in range(0, 3) if rest - 12 * na >= 0 and (rest - 12 * na) % 10 == 0]
    if not fits:
        raise SystemExit(f"cannot make exactly {a.entries} entries from stories of 12 and 10 entries")
    extra_a, extra_b = fits[0]
    stories = ["A", "B"] * n_b + ["A"] * extra_a + ["B"] * extra_b
    n = len(stories)
    step = a.span_us // n
    if step < 12:
        raise SystemExit("span too short for the number of stories")

    fig = {p: dict(issued=0, clawed=0, redeemed=0, refunded=0, expired=0, issued_irr=0, fee_num=0, redeemed_irr=0)
           for p in P + ["operator"]}
    matrix = {}
    adjusted = 0
    seq = [max(SEQ_BASE, a.seq_base)] * PARTS

    ce = open(os.path.join(a.out, "clearing_events.tsv"), "w")
    le = open(os.path.join(a.out, "ledger_entries.tsv"), "w")
    ce_lines = []
    le_lines = []

    def sql_time(us):
        return datetime.datetime.fromtimestamp(us / 1e6, datetime.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")

    for j, kind in enumerate(stories):
        part = j % PARTS
        member = f"mem_sbench{j:010d}"
        t = a.start_us + j * step
        state = {"t": t}

        def event(entries, txn):
            """One wallet command (or time event) = one ledger event: (part, seq) with its entries."""
            seq[part] += 1
            for idx, e in enumerate(entries):
                (typ, pts, issuer, price, fee, partner, value, earn_id, lot_id, red_id) = e
                at = state["t"]
                state["t"] += 1
                ce_lines.append(f"{part}\t{seq[part]}\t{idx}\t{tenant}\t{typ}\t{pts}\t{issuer}\t{price}\t{fee}\t{partner}\t{value}\t{earn_id}\t{at}\n")
                st = sql_time(at)
                le_lines.append(f"{tenant}\t{member}\t{txn}\t{typ}\t{pts}\t{lot_id}\t{issuer}\t{price}\t{fee}\t{partner}\t{red_id}\t{value}\t{st}\t{st}\n")

        def issue(p, pts, price, fee):
            f = fig[p]
            f["issued"] += pts
            f["issued_irr"] += pts * price
            f["fee_num"] += pts * price * fee

        def claw(p, pts, price, fee):
            f = fig[p]
            f["clawed"] += pts
            f["issued_irr"] -= pts * price
            f["fee_num"] -= pts * price * fee

        def redeem(issuer, z, pts, value, sign=1):
            f = fig[z]
            if sign > 0:
                f["redeemed"] += pts
            else:
                f["refunded"] += pts
            f["redeemed_irr"] += sign * pts * value
            matrix[(issuer, z)] = matrix.get((issuer, z), 0) + sign * pts

        if kind == "A":
            x, y, z = P[j % K], P[(j + 1) % K], P[(j + 3) % K]
            xi, yi, zi = j % K, (j + 1) % K, (j + 3) % K
            px_price, px_fee = base_price[xi] + (j % 3) * 7, base_fee[xi] + (j % 2) * 13
            py_price, py_fee = base_price[yi] + (j % 5) * 3, base_fee[yi] + (j % 3) * 11
            vz = base_value[zi] + (j % 4) * 5
            pX, pY = 50 + j % 200, 20 + j % 50
            cb = pY // 2
            eX, eY = f"ern_sb{j}x", f"ern_sb{j}y"
            lX, lY = f"lot_sb{j}x", f"lot_sb{j}y"
            r1, r2 = f"red_sb{j}a", f"red_sb{j}b"
            event([("earn", pX, x, px_price, px_fee, x, 0, eX, lX, "")], eX)
            issue(x, pX, px_price, px_fee)
            event([("earn", pY, y, py_price, py_fee, y, 0, eY, lY, "")], eY)
            issue(y, pY, py_price, py_fee)
            event([("hold", pX, x, px_price, px_fee, z, vz, "", lX, r1),
                   ("hold", 6, y, py_price, py_fee, z, vz, "", lY, r1)], r1)
            event([("capture", pX, x, px_price, px_fee, z, vz, "", lX, r1),
                   ("release", 6, y, py_price, py_fee, z, vz, "", lY, r1)], r1)
            redeem(x, z, pX, vz)
            event([("redemption_refund", 3, x, px_price, px_fee, z, vz, "", lX, r1)], r1)
            redeem(x, z, 3, vz, -1)
            event([("clawback", cb, y, py_price, py_fee, y, 0, eY, lY, "")], eY)
            claw(y, cb, py_price, py_fee)
            event([("hold", 4, y, py_price, py_fee, z, vz, "", lY, r2)], r2)
            event([("hold_expiry", 4, y, py_price, py_fee, z, vz, "", lY, r2)], "txn_time")
            event([("lot_expiry", 3, x, px_price, px_fee, "", 0, "", lX, "")], "txn_time")
            fig[x]["expired"] += 3
            event([("lot_expiry", pY - cb, y, py_price, py_fee, "", 0, "", lY, "")], "txn_time")
            fig[y]["expired"] += pY - cb
        else:
            w, v, z2 = P[(j + 2) % K], P[(j + 5) % K], P[(j + 6) % K]
            wi, vi, zi = (j + 2) % K, (j + 5) % K, (j + 6) % K
            pw_price, pw_fee = base_price[wi] + (j % 4) * 5, base_fee[wi] + (j % 2) * 7
            pv_price, pv_fee = base_price[vi] + (j % 3) * 9, base_fee[vi] + (j % 5) * 3
            vz = base_value[zi] + (j % 3) * 4
            pa, pw, pv = 40 + j % 30, 30 + j % 40, 25 + j % 20
            eW, eV = f"ern_sb{j}w", f"ern_sb{j}v"
            lO, lW, lV = f"lot_sb{j}o", f"lot_sb{j}w", f"lot_sb{j}v"
            r = f"red_sb{j}c"
            event([("adjustment", pa, "operator", 0, 0, "", 0, "", lO, "")], f"adj_sb{j}a")
            fig["operator"]["issued"] += pa
            adjusted += pa
            event([("earn", pw, w, pw_price, pw_fee, w, 0, eW, lW, "")], eW)
            issue(w, pw, pw_price, pw_fee)
            event([("adjustment_debit", pa, "operator", 0, 0, "", 0, "", lO, ""),
                   ("adjustment_debit", 10, w, pw_price, pw_fee, "", 0, "", lW, "")], f"adj_sb{j}b")
            fig["operator"]["clawed"] += pa
            claw(w, 10, pw_price, pw_fee)
            adjusted -= pa + 10
            event([("clawback", pw - 10, w, pw_price, pw_fee, w, 0, eW, lW, ""),
                   ("debt", 10, "", 0, 0, w, 0, eW, "", "")], eW)
            claw(w, pw - 10, pw_price, pw_fee)
            event([("earn", pv, v, pv_price, pv_fee, v, 0, eV, lV, ""),
                   ("debt_repayment", 10, v, pv_price, pv_fee, "", 0, "", lV, "")], eV)
            issue(v, pv, pv_price, pv_fee)
            claw(v, 10, pv_price, pv_fee)
            event([("hold", pv - 10, v, pv_price, pv_fee, z2, vz, "", lV, r)], r)
            event([("capture", pv - 10, v, pv_price, pv_fee, z2, vz, "", lV, r)], r)
            redeem(v, z2, pv - 10, vz)
        if len(ce_lines) >= 200_000:
            ce.writelines(ce_lines)
            le.writelines(le_lines)
            ce_lines.clear()
            le_lines.clear()
    ce.writelines(ce_lines)
    le.writelines(le_lines)
    ce.close()
    le.close()
    last_at = a.start_us + (n - 1) * step + 11

    partners = []
    for p in P:
        f = fig[p]
        fee = half_away(f["fee_num"], 10000)
        partners.append(dict(partner_id=p, points_issued=f["issued"], points_clawed_back=f["clawed"],
                             points_redeemed=f["redeemed"], points_redemption_refunded=f["refunded"],
                             points_expired=f["expired"], issued_irr=f["issued_irr"], fee_irr=fee,
                             redeemed_irr=f["redeemed_irr"], net_irr=f["redeemed_irr"] - f["issued_irr"] - fee))
    allf = list(fig.values())
    totals = dict(points_issued=sum(f["issued"] for f in allf), points_clawed_back=sum(f["clawed"] for f in allf),
                  points_adjusted=adjusted, points_redeemed=sum(f["redeemed"] for f in allf),
                  points_redemption_refunded=sum(f["refunded"] for f in allf),
                  points_expired=sum(f["expired"] for f in allf),
                  issued_irr=sum(p["issued_irr"] for p in partners), fee_irr=sum(p["fee_irr"] for p in partners),
                  redeemed_irr=sum(p["redeemed_irr"] for p in partners))
    totals["operator_net_irr"] = totals["issued_irr"] + totals["fee_irr"] - totals["redeemed_irr"]
    expected = dict(entries=a.entries, stories=n, first_at_us=a.start_us, last_at_us=last_at, partners=partners,
                    matrix=[dict(issuer_partner_id=k[0], redeemer_partner_id=k[1], points=v)
                            for k, v in sorted(matrix.items()) if v != 0],
                    totals=totals)
    with open(os.path.join(a.out, "expected.json"), "w") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    main()
