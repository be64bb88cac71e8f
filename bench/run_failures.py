#!/usr/bin/env python3
"""What went wrong in a benchmark run, from scripts/bench.sh's JSON lines: steps with errors, an audit that did not
pass, a scale step that did not finish (full runs). Prints one line for each; exit status 1 when there is any.

    bench/run_failures.py RAW.jsonl [--full]

The table is written either way: a run whose earns all failed still has rates and latencies to print, and they
are not the network's (thirty-eighth session: a --quick run whose seeded states the wallet refused exited 0)."""
import json
import sys

rows = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
full = "--full" in sys.argv[2:]
failures = []
seen = set()  # operations whose first (lowest-rate) step has been looked at
for r in rows:
    if "op" not in r:
        continue
    name = r.get("label") or r["op"]
    first = name not in seen
    seen.add(name)
    errors = sum(r.get("errors", {}).values())
    # Past saturation (bench.sh's test: under 80 % of the offered rate achieved, or p99 over 2 s) requests left
    # unanswered at the end of the drain are what saturation is; at an operation's lowest rate, or below
    # saturation, an error is the network's.
    saturated = r["achieved"] < 0.8 * r["offered"] or r["p99_ms"] > 2000
    if errors and (first or not saturated):
        what = ", ".join(f"{k}: {v}" for k, v in sorted(r["errors"].items()))
        failures.append(f"step {name} at {r['offered']:,.0f}/s: {errors:,} errors ({what})")
audits = [r for r in rows if r.get("kind") == "audit"]
if not audits:
    failures.append("no audit ran")
for r in audits:
    if r.get("rc") != 0:
        failures.append(f"the audit exited {r.get('rc')}: {r.get('output', '')[:200]!r}")
if full:
    for k in ("settlement_scale", "audit_scale"):
        done = [r for r in rows if r.get("kind") == k]
        if not done:
            failures.append(f"{k} did not finish (bench/{k}.sh)")
        elif done[-1].get("rc", 0) != 0 or done[-1].get("match", True) is not True:
            failures.append(f"{k} did not check out: {json.dumps(done[-1])}")
for f in failures:
    print(f"bench: {f}", file=sys.stderr)
sys.exit(1 if failures else 0)
