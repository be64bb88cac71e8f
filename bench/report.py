#!/usr/bin/env python3
"""Turns the JSON lines written by scripts/bench.sh into the Markdown table (bench/results/latest.md)."""
import json
import sys

rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
kind = lambda k: [r for r in rows if r.get("kind") == k]
loads = [r for r in rows if "op" in r]
label = lambda r: r.get("label") or r["op"]  # a step's operation as the report names it ("bare", "balance", ...)
forks_recorded = any("redis_forks" in r for r in loads)  # Redis forks per step (runs before 2026-12-05 have none)
# Since the twenty-sixth session Redis keeps nothing on disk (no snapshot, no append-only file to rewrite), so a
# run normally has no fork: the sentences about rewrites are written only for a run in which Redis forked.
forked = any(r.get("redis_forks") for r in loads)
flushing_recorded = any("checkpoint_age_pct" in r for r in loads)  # InnoDB's flushing per step (since the thirtieth session)
# Whether a step's `redis` CPU may hold a rewrite's child: Redis forked in this run, or the run did not count forks.
may_hold_rewrite = forked or not forks_recorded
no_fork_note = " Redis forked in no step (it keeps nothing on disk: no snapshot, no append-only file to rewrite)."


def one(k, default=None):
    xs = kind(k)
    return xs[-1] if xs else default


def fmt_rate(x):
    return f"{x:,.0f}" if x is not None else "n/a"


def fmt_ms(x):
    return f"{x:,.1f}" if x >= 10 else f"{x:.2f}"


machine = one("machine", {})
machine_end = one("machine_end", {})
seed = one("seed", {})
out = []
w = out.append
w(f"# Emtiaz benchmark — {machine.get('date', '?')}")
w("")
w(f"- Machine: {machine.get('nproc', '?')} cores, shared with other work. `uptime` at start: `{machine.get('uptime_start', '?')}`; "
  f"at end: `{machine_end.get('uptime_end', '?')}`.")
w(f"- Seeded: {seed.get('tenants', '?')} tenants, {seed.get('partners', '?')} partners, {seed.get('members', 0):,} members "
  f"(bulk INSERT into MySQL in {seed.get('seconds', '?')} s); "
  + (f"{machine['warm_members']:,} members per tenant were funded through the API, and the authorizations, balance "
     "reads and transactions pages pick among them at random."
     if "warm_members" in machine else "funded members got their points through the API."))
history = one("history", {})
if history:
    hs = history.get("tenants", [])
    tot = lambda k: sum(h.get(k, 0) for h in hs)
    w(f"- A year of history for those members (bench/history_seed.py, LOAD DATA in {history.get('seconds', '?')} s): "
      f"{tot('members'):,} members with {tot('lots'):,} lots ({tot('live_lots'):,} with points left, in their states) and "
      f"{tot('redemptions'):,} captured redemptions (in the archive), {tot('lots') + tot('redemptions'):,} ledger entries "
      "and as many of clearing's events.")
if machine.get("damon"):
    w(f"- The kernel's DAMON monitor (kdamond): {machine['damon']}. On this VM each of its samples holds a core for "
      "10-25 ms once the services have touched their memory, and requests in flight wait meanwhile "
      "(docs/performance-log.md, sixteenth session); its CPU is the `kdamond` column below.")
broker = machine.get("broker", "")
if broker:
    w(f"- Kafka: the dev broker (librdkafka's mock cluster), {broker}; wallet appliers: {machine.get('wallet_appliers', '?')}; consumers' fetch wait (kafka.fetch_wait_ms): {machine.get('fetch_wait_ms', '?')}.")
warmup = machine.get("warmup_s")
w(f"- Each step: open loop at a fixed arrival rate for {machine.get('step_s', '?')} s over {machine.get('connections', '?')} "
  "keep-alive connections"
  + (f", measured after {warmup} s at the same rate on the same connections that are not counted (captures and "
     "refunds: none, they spend ids another step made)" if warmup else "")
  + "; latency from each request's scheduled send time (queueing for a connection included); "
  "steps stop at saturation (achieved < 80 % of offered, or p99 > 2 s). `achieved` counts 2xx answers only.")
w("")
def step_at(op, offered):
    return next((r for r in loads if label(r) == op and r["offered"] == offered), None)


# The targets on this machine, judged from this run's own steps: met when the step at the target's rate
# answered at least 99 % of what was offered with a p99 under the bound. The bare Beast server at the read
# target's rate is the floor the machine itself puts under any server's p99 (same generator, same connections).
w("## Targets")
w("")
w("| target | step (offered/s) | achieved/s | p99 ms | verdict |")
w("|---|---:|---:|---:|---|")
sustained = next((r for r in loads if label(r) == "sustained"), None)
held = f"held {sustained['duration']:.0f} s" if sustained else "held"
for what, op, rate, bound in ((f"earns: 2,000/s sustained ({held}), p99 < 50 ms", "sustained", 2000, 50.0),
                                 (f"earns: 2,000/s for one {machine.get('step_s', '?')} s step", "earn", 2000, 50.0),
                                 ("balance reads: 10,000/s, p99 < 5 ms", "balance", 10000, 5.0),
                                 ("floor: a bare Beast server at 10,000/s, no work per request", "bare", 10000, None)):
    r = step_at(op, rate)
    if r is None:
        w(f"| {what} | {fmt_rate(rate)} | – | – | not in this run |")
        continue
    verdict = "" if bound is None else ("met" if r["achieved"] >= 0.99 * r["offered"] and r["p99_ms"] < bound else "missed")
    w(f"| {what} | {fmt_rate(r['offered'])} | {fmt_rate(r['achieved'])} | {fmt_ms(r['p99_ms'])} | {verdict} |")
w("")
if sustained:
    windows = one("sustained_windows") or {}
    w(f"The sustained step ran last among the loads, after MariaDB's dirty pages were written: earns to random members "
      f"offered at {fmt_rate(sustained['offered'])}/s for {sustained['duration']:.0f} s, {sustained['ok']:,} answered "
      f"(2xx), {fmt_rate(sustained['achieved'])}/s, p50 {fmt_ms(sustained['p50_ms'])} ms, "
      f"p99 {fmt_ms(sustained['p99_ms'])} ms, p99.9 {fmt_ms(sustained['p999_ms'])} ms, max "
      f"{fmt_ms(sustained['max_ms'])} ms. InnoDB's page cleaner wrote {sustained.get('innodb_pages_flushed', 0):,} pages "
      f"during it (the checkpoint age at its end: {sustained.get('checkpoint_age_pct', '?')} % of the maximum), the "
      f"earn steps {sum(r.get('innodb_pages_flushed', 0) for r in loads if label(r) == 'earn'):,} in all. Its p99 by "
      f"{windows.get('window_s', 30)} s window, in ms: "
      + (", ".join(fmt_ms(x) for x in windows.get("p99_ms", [])) or "–") + ".")
    w("")
    dirty = one("dirty_by_index")
    if dirty and dirty.get("pages"):
        total = sum(n for _, n in dirty["pages"])
        w(f"The pages it left dirty, by table and index ({total:,} in all, {total / max(sustained['ok'], 1) * 1000:,.0f} "
          f"per 1,000 earns it answered; `information_schema.INNODB_BUFFER_PAGE` at its end): what the page cleaner "
          f"writes back comes from these, and a row inserted at a random place of an index dirties a page of its own.")
        w("")
        w("| table.index | dirty pages | share |")
        w("|---|---:|---:|")
        for name, n in dirty["pages"][:12]:
            shown = f"`{name}`" if name != "-.-" else "no table's (the undo log, the system's pages)"
            w(f"| {shown} | {n:,} | {n / total * 100:.1f} % |")
        w("")
w("## Operations")
w("")
w("The last two columns are the machine, not the servers: a thread of the generator that only sleeps 1 ms at a "
  "time, and how late it woke at worst and how often by more than 10 ms during the step (a busy run queue, the "
  "kernel's kdamond holding a core, or a pause of the whole virtual machine: no request answers faster than the "
  "machine runs). The last steps, `earn, accumulating members`, earn to a few members per tenant whom the `pile` "
  "step first gave a long run of earns each (`scripts/bench.sh` ACC_MEMBERS, ACC_LOTS): members who earn often and "
  "spend rarely, holding a lot per earn, which the wallet stores apart past 48 (docs/design.md)." +
  (" A step during which Redis began rewriting its append-only file says so in its errors "
  "column: it stalls the wallet's batches for seconds (docs/performance-log.md, seventeenth session)."
  if forked else no_fork_note if forks_recorded else ""))
w("")
w("| operation | offered/s | achieved/s | p50 ms | p99 ms | p99.9 ms | max ms | errors | sleeper late max ms | sleeper late > 10 ms |")
w("|---|---:|---:|---:|---:|---:|---:|---|---:|---:|")
names = {"fund": "fund (warm-up earns)", "earn": "earn", "authorize": "authorize", "capture": "capture",
         "balance": "balance read", "transactions": "transactions page", "refund": "purchase refund", "bare": "bare Beast server",
         "pile": "pile (earns making accumulating members)", "accumulators": "earn, accumulating members",
         "sustained": "earn, sustained (one long step)"}
def step_cells(r):
    """A step's first three cells: the operation, offered/s and achieved/s."""
    return f"| {names.get(label(r), r['op'])} | {fmt_rate(r['offered'])} | {fmt_rate(r['achieved'])} | "


for r in loads:
    errs = ", ".join(f"{k}: {v}" for k, v in sorted(r.get("errors", {}).items())) or "0"
    if r.get("ran_out_of_ids"):
        errs += f" (only {r['scheduled']:,} ids to use: a shorter step)"
    if r.get("redis_forks"):
        errs += " — Redis began rewriting its append-only file during the step (fork, copy-on-write, most of a core)"
    w(step_cells(r) +
      f"{fmt_ms(r['p50_ms'])} | {fmt_ms(r['p99_ms'])} | {fmt_ms(r['p999_ms'])} | {fmt_ms(r['max_ms'])} | {errs} | "
      f"{fmt_ms(r['sleeper_late_max_ms']) if 'sleeper_late_max_ms' in r else '–'} | {r.get('sleeper_late_over_10ms', '–')} |")
w("")


def best(op):
    xs = [r["achieved"] for r in loads if label(r) == op]
    return max(xs) if xs else None


mysql = [r["r"] for r in kind("mysql")]
variables = next((m["variables"] for m in mysql if "variables" in m), {})
commits = {m["threads"]: m for m in mysql if "threads" in m}
redis = {r["pipeline"]: r["rate"] for r in kind("redis")}
kafka = one("kafka", {}).get("r", {})
bare = best("bare")
w("## Limits (same machine, same servers)")
w("")
w("| limit | rate/s | notes |")
w("|---|---:|---|")
w(f"| MariaDB durable INSERT+COMMIT | | `innodb_flush_log_at_trx_commit={variables.get('innodb_flush_log_at_trx_commit', '?')}`, "
  f"`sync_binlog={variables.get('sync_binlog', '?')}`, `log_bin={variables.get('log_bin', '?')}` ({variables.get('version', '?')}) |")
for t, m in sorted(commits.items()):
    w(f"| … from {t} thread{'s' if t > 1 else ''} | {fmt_rate(m['rate'])} | p50 {fmt_ms(m['p50_ms'])} ms, p99 {fmt_ms(m['p99_ms'])} ms |")
for p, rate in sorted(redis.items()):
    w(f"| Redis INCRBY (redis-benchmark, 50 clients, pipeline {p}) | {fmt_rate(rate)} | |")
bare_sat = any(label(r) == "bare" and (r["achieved"] < 0.8 * r["offered"] or r["p99_ms"] > 2000) for r in loads)
w(f"| bare Boost.Beast server (2 threads) | {fmt_rate(bare)} | best achieved step above{'' if bare_sat else ' (never saturated: a floor)'} |")
if kafka:
    s, i = kafka.get("sequential", {}), kafka.get("inflight", {})
    w(f"| Kafka echo, sequential | {fmt_rate(s.get('rate'))} | round trip p50 {fmt_ms(s.get('p50_ms', 0))} ms, p99 {fmt_ms(s.get('p99_ms', 0))} ms |")
    w(f"| Kafka echo, {i.get('n', 256)} in flight | {fmt_rate(i.get('rate'))} | p50 {fmt_ms(i.get('p50_ms', 0))} ms, p99 {fmt_ms(i.get('p99_ms', 0))} ms |")
w("")

w("## Ratios")
w("")
earn = best("earn")
reads = best("balance")


def ratio(a, b):
    return f"{a / b:.3g}" if a and b else "n/a"


kaf = kafka.get("inflight", {}).get("rate") if kafka else None
w("| ratio | value |")
w("|---|---:|")
w(f"| earns/s ÷ bare Kafka echo/s (256 in flight) | {ratio(earn, kaf)} ({fmt_rate(earn)} ÷ {fmt_rate(kaf)}) |")
c1 = commits.get(1, {}).get("rate")
cbest = max((m["rate"] for m in commits.values()), default=None)
w(f"| earns/s ÷ MariaDB commits/s (1 thread) | {ratio(earn, c1)} ({fmt_rate(earn)} ÷ {fmt_rate(c1)}) |")
w(f"| earns/s ÷ MariaDB commits/s (best thread count) | {ratio(earn, cbest)} ({fmt_rate(earn)} ÷ {fmt_rate(cbest)}) |")
w(f"| gateway balance reads/s ÷ bare-server requests/s | {ratio(reads, bare)} ({fmt_rate(reads)} ÷ {fmt_rate(bare)}) |")
w("")

w("## Settlement and audit")
w("")
st = one("settlement", {})
au = one("audit", {})
if not st:
    w("- Settlement close: not run (the run stopped before it).")
elif st.get("status") == 404:
    w(f"- Settlement close (POST /v1/settlements, {st.get('ledger_entries', 0):,} ledger entries in the tenant): **not available** (404).")
elif 200 <= st.get("status", 0) < 300:
    w(f"- Settlement close over {st.get('ledger_entries', 0):,} ledger entries: **{st['seconds']:.2f} s** (HTTP {st['status']}).")
else:
    w(f"- Settlement close over {st.get('ledger_entries', 0):,} ledger entries: HTTP {st.get('status')} after {st.get('seconds', 0):.2f} s (not a success).")
if au:
    w(f"- Audit of the run (`emtiaz-audit`, every tenant, {au.get('ledger_entries', 0):,} ledger entries): **{au['seconds']:.2f} s**, exit {au['rc']}: "
      f"`{au.get('output', '').strip().splitlines()[0] if au.get('output', '').strip() else ''}`")
ss = one("settlement_scale", {})
if ss:
    w(f"- Settlement close over {ss.get('entries', 0):,} ledger entries (`bench/settlement_scale.sh`): **{ss.get('close_s', 0):.2f} s** "
      f"(HTTP {ss.get('status')}, every figure as the generator computed: {'yes' if ss.get('match') else 'NO'}; seeding took {ss.get('seed_s', 0):.0f} s).")
asc = one("audit_scale", {})
if asc:
    w(f"- Audit over {asc.get('members', 0):,} members (`bench/audit_scale.sh`: conservation and Redis = MySQL for every member): "
      f"**{asc.get('audit_s', 0):.2f} s**, exit {asc.get('rc')}, peak RSS {asc.get('peak_rss_kb', 0) / 1024:.0f} MiB (seeding took {asc.get('seed_s', 0):.0f} s).")
w("")

sc = kind("state_codec")
if sc:
    w("## The member state's cost by its size")
    w("")
    w("The wallet parses a member's state and serialises it again for every command that changes the member "
      "(MySQL's row and Redis' copy are the same text). Until the fourteenth session the state kept every captured "
      "redemption for ever; now finished records leave it for the archive (docs/design.md), and the rows below "
      "are what a state that size would cost — the cost the archive removes. The wallet writes and reads its own "
      "text without a JSON tree (wallet::state_text, wallet::read_state_text); nlohmann's tree is what it did before "
      "the twenty-first session, and still does for a text that is not its own. CPU only, this machine, median of "
      "many rounds (`bench/state_codec.cpp`):")
    w("")
    w("| lots | captured redemptions | bytes | write µs (wallet) | read µs (wallet) | build + dump µs (tree) | parse µs (tree) |")
    w("|---:|---:|---:|---:|---:|---:|---:|")
    for r in sc:
        text = (f"{r['text_dump_us']:.2f} | {r['text_parse_us']:.2f}" if "text_dump_us" in r else "– | –")
        w(f"| {r['lots']} | {r['redemptions']:,} | {r['bytes']:,} | {text} | {r['dump_us']:.1f} | {r['parse_us']:.1f} |")
    w("")

cl = kind("cold_lots")
if cl:
    w("A member who earns and never spends keeps one lot per earn until its points expire. Since the thirty-second "
      "session the wallet stores such a state's quiet lots apart (`member_states.cold_lots`, wallet/cold_lots.hpp) "
      "and writes them only when one changes or enough new ones gather; below, per command over the next 64 earns "
      "of a member holding that many lots, what one column holding them all would write, and what the split writes "
      "and reads (`bench/state_codec.cpp`, the wallet's text writer and reader; the server's work, escaping, "
      "lexing, storing, logging, grows with the bytes written). The last two columns are what an earn reads since "
      "the thirty-fourth session: the state alone when the sum and first expiry stored with the cold lots are all it "
      "needs (wallet::cold_lots_may_stay_unread), both columns when not (once per re-split):")
    w("")
    w("| lots | one column: bytes written | split: bytes written | split: bytes read | write µs (one column) | write µs (split) | read µs (one column) | read µs (split) | an earn: bytes read | an earn: read µs |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in cl:
        earn = (f"{r['earn_read_bytes']:,.0f} | {r['earn_read_us']:.1f}" if "earn_read_us" in r else "– | –")
        w(f"| {r['lots']} | {r['whole_bytes']:,.0f} | {r['split_written_bytes']:,.0f} | {r['split_read_bytes']:,.0f} | "
          f"{r['whole_write_us']:.1f} | {r['split_write_us']:.1f} | {r['whole_read_us']:.1f} | {r['split_read_us']:.1f} | "
          f"{earn} |")
    w("")

def mean_ms(m, name, labels=""):
    """The mean of a metric's observations in ms, from its `_sum` and `_count` in m (None without any)."""
    n = m.get(f"{name}_count{labels}", 0)
    return m.get(f"{name}_sum{labels}", 0) / n * 1000 if n else None


EARN_ROUTE = '{route="POST /v1/earn"}'
# The gateway's metrics over the earn steps: summed from each step's own (step_metrics); runs before the
# twenty-fifth session recorded them once around all the earn steps (a "breakdown" line).
bd = one("breakdown")
ser = dict(bd["series"]) if bd else {}
if not ser:
    for r in loads:
        if label(r) == "earn":
            for k, v in r.get("step_metrics", {}).items():
                ser[k] = ser.get(k, 0.0) + v
if ser:
    http_ms = mean_ms(ser, "emtiaz_http_request_duration_seconds", EARN_ROUTE)
    n_http = ser.get(f"emtiaz_http_request_duration_seconds_count{EARN_ROUTE}", 0)
    cmd_ms = mean_ms(ser, "emtiaz_gateway_command_seconds")
    n_cmd = ser.get("emtiaz_gateway_command_seconds_count", 0)
    w("## Where an earn's time goes (the gateway's own metrics over the earn steps)")
    w("")
    if http_ms is not None and cmd_ms is not None:
        w(f"- Mean time the gateway spent on `POST /v1/earn` (from parsed request to response, {n_http:,.0f} requests): "
          f"**{http_ms:.1f} ms**; of which waiting for the wallet's reply over Kafka (command round trip, {n_cmd:,.0f} commands): "
          f"**{cmd_ms:.1f} ms**; the rest ({http_ms - cmd_ms:.1f} ms) is the gateway's own work: auth, the member look-up "
          "(in-process cache, else the member index in Redis, else MySQL on a worker; tenant and partner come from caches) and the "
          "Idempotency-Key reservation in Redis, both asked without blocking the I/O thread. Time queued before a worker picked the request up, and in the "
          "generator's queue for a connection, is in the table's latencies but not here.")
    w("- CPU profile of gateway, wallet, MariaDB and broker during the earn steps: `bench/results/perf-earn.txt` (perf, 99 Hz).")
    w("")
for r in kind("mariadb_phases")[-1:]:  # since the thirty-first session
    pct = r.get("pct", {})

    def share(sym):
        return "–" if sym not in pct else f"{pct[sym]:.1f} %"

    w("## Inside MariaDB during the earn steps")
    w("")
    w(f"Shares of MariaDB's {r['samples']:,} samples in the earn steps' profile (`bench/results/perf-earn.txt`) spent in "
      "each of the server's functions below and in what they call. The SQL layer's symbols are named (InnoDB's are "
      "not, so its work shows under the SQL function that asked for it); the clients are the wallet's batches "
      "(most of it), clearing and the gateway. Indented rows are part of the row above them.")
    w("")
    w("| where | share of MariaDB's samples |")
    w("|---|---:|")
    for sym, what in (
            ("dispatch_command", "every client command, from its packet read to its answer (`dispatch_command`)"),
            ("parse_sql", "parsing the SQL text: the values come as literals in it (`parse_sql`)"),
            ("Lex_input_stream::lex_token", "&nbsp;&nbsp;reading its tokens (`Lex_input_stream::lex_token`)"),
            ("THD::make_string_literal", "&nbsp;&nbsp;an item for each string literal (`THD::make_string_literal`)"),
            ("Item::set_name", "&nbsp;&nbsp;&nbsp;&nbsp;naming it, converted to the server's utf8mb3 (`Item::set_name`)"),
            ("mysql_insert", "INSERTs, the member states' upserts included (`mysql_insert`)"),
            ("handler::ha_write_row", "&nbsp;&nbsp;rows into InnoDB (`handler::ha_write_row`)"),
            ("handler::ha_update_row", "&nbsp;&nbsp;the upserts' updates (`handler::ha_update_row`)"),
            ("handle_select", "SELECTs (`handle_select`)"),
            ("JOIN::optimize", "&nbsp;&nbsp;planning them: the ranges of the `IN` lists (`JOIN::optimize`)"),
            ("JOIN::exec", "&nbsp;&nbsp;reading the rows (`JOIN::exec`)"),
            ("trans_commit", "COMMIT; the redo log's flush is waited for, not spent (`trans_commit`)")):
        w(f"| {what} | {share(sym)} |")
    if r.get("kernel_pct") is not None:
        w(f"| the kernel, in all of MariaDB's threads | {r['kernel_pct']:.1f} % |")
    w("")
timed = [r for r in loads if r.get("step_metrics", {}).get("emtiaz_gateway_command_seconds_count")]
if timed:
    def route_ms(m):
        """The gateway's mean time on the step's own route: the POST route with the most requests."""
        counts = {k[len("emtiaz_http_request_duration_seconds_count"):]: v for k, v in m.items()
                  if k.startswith('emtiaz_http_request_duration_seconds_count{route="POST')}
        return mean_ms(m, "emtiaz_http_request_duration_seconds", max(counts, key=counts.get)) if counts else None

    def ms(x):
        return "–" if x is None else fmt_ms(x)

    w("## Where a command's time goes, step by step (the services' own metrics)")
    w("")
    w("Means over each step, drain included, from the gateway's and the wallet's `/metrics` before and after it. "
      "`gateway` is the gateway's time on the step's route, from parsed request to response; `round trip` is the part "
      "of it spent waiting for the wallet's reply over Kafka: the produce, the broker, the wait until an applier takes "
      "the command (it may be busy with its previous batch), the whole batch the command is in, and the reply's way "
      "back. `batch` is the wallet's mean time per batch (reading the commands, the MySQL transaction, Redis, the "
      "replies) and `transaction` the MySQL part of it; `hops and waiting` is the round trip less a batch. Two "
      "appliers take batches side by side.")
    w("")
    w("| operation | offered/s | achieved/s | p50 ms (client) | gateway ms | round trip ms | batch ms | transaction ms | "
      "hops and waiting ms | commands per batch | batches/s |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in timed:
        m = r["step_metrics"]
        rt = mean_ms(m, "emtiaz_gateway_command_seconds")
        batch = mean_ms(m, "emtiaz_wallet_batch_seconds")
        txn = mean_ms(m, "emtiaz_wallet_batch_commit_seconds")
        nb = m.get("emtiaz_wallet_batches_total", 0)
        size = m.get("emtiaz_wallet_commands_total", 0) / nb if nb else None
        w(step_cells(r) + f"{fmt_ms(r['p50_ms'])} | {ms(route_ms(m))} | {ms(rt)} | {ms(batch)} | {ms(txn)} | "
          f"{ms(rt - batch if rt is not None and batch is not None else None)} | "
          f"{'–' if size is None else f'{size:.1f}'} | {nb / r['step_wall_s']:,.0f} |")
    w("")
cold_steps = [r for r in loads if any(k.startswith("emtiaz_wallet_cold_lots_members_total")
                                      for k in r.get("step_metrics", {}))]
if cold_steps:
    w("## Cold lots read or left unread (the wallet's metrics)")
    w("")
    w("Per step, the batches' members with lots stored apart (docs/design.md), by whether the batch read those lots or, "
      "its commands for the member being earns that need only what they add up to, left them unread "
      "(`emtiaz_wallet_cold_lots_members_total`). Each member counts once per batch it is in.")
    w("")
    w("| operation | offered/s | achieved/s | members read | members left unread | share left unread |")
    w("|---|---:|---:|---:|---:|---:|")
    for r in cold_steps:
        m = r["step_metrics"]
        read = m.get('emtiaz_wallet_cold_lots_members_total{read="yes"}', 0)
        unread = m.get('emtiaz_wallet_cold_lots_members_total{read="no"}', 0)
        share = f"{100 * unread / (read + unread):.1f} %" if read + unread else "–"
        w(step_cells(r) + f"{read:,.0f} | {unread:,.0f} | {share} |")
    w("")
for r in kind("profile"):
    w(f"## Where a {r['profile_of']}'s time goes")
    w("")
    w(f"- CPU profile of the whole machine during the {r['profile_of']} steps (every process, the generator and the kernel's threads "
      f"included, idle time as `swapper`; between the steps the harness's own shell and python3 show too): `{r['file']}` "
      "(perf -a, 99 Hz); each step's CPU by process is in the table below.")
    w("")

def served(r):
    """The requests a step sent, its warm-up second included: its CPU was taken over all of them."""
    return r.get("sent", 0) + r["offered"] * r.get("warmup_s", 0)


def per_request(cpu_s, r):
    """µs of CPU per request the step sent (None for a step that sent nothing)."""
    n = served(r)
    return cpu_s / n * 1e6 if n > 0 else None


bare_cpu = {r["offered"]: r for r in loads if label(r) == "bare" and "server_cpu_s" in r}
read_cpu = {r["offered"]: r for r in loads
            if label(r) == "balance" and r.get("step_cpu_s") and "gateway" in r["step_cpu_s"]}
if bare_cpu and read_cpu:
    def us(x):
        return "–" if x is None else f"{x:,.0f}"

    w("## A balance read beside a bare server (CPU per request)")
    w("")
    w("The bare Beast server (`bench/bare_server.cpp`, 2 I/O threads) parses each request and answers a fixed body; "
      "the gateway (by default two I/O threads per core) authenticates the key, finds the member and asks Redis for the balance "
      "view. Same generator, same connections. Each process's CPU over its step divided by the requests the step "
      "sent: what the HTTP exchange alone costs on this machine, and what a balance read adds to it."
      + (" A step with a Redis fork counts the rewrite in `redis`, as above." if may_hold_rewrite else ""))
    w("")
    w("| offered/s | bare: achieved/s | bare: p99 ms | bare server µs/request | loadgen µs/request | "
      "reads: achieved/s | reads: p99 ms | gateway µs/read | redis µs/read | loadgen µs/read |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for rate in sorted(set(bare_cpu) | set(read_cpu)):
        b, g = bare_cpu.get(rate), read_cpu.get(rate)
        left = ("– | – | – | –" if b is None else
                f"{fmt_rate(b['achieved'])} | {fmt_ms(b['p99_ms'])} | {us(per_request(b['server_cpu_s'], b))} | "
                f"{us(per_request(b.get('loadgen_cpu_s', 0), b))}")
        right = ("– | – | – | – | –" if g is None else
                 f"{fmt_rate(g['achieved'])} | {fmt_ms(g['p99_ms'])} | {us(per_request(g['step_cpu_s']['gateway'], g))} | "
                 f"{us(per_request(g['step_cpu_s'].get('redis', 0), g))} | {us(per_request(g.get('loadgen_cpu_s', 0), g))}")
        w(f"| {fmt_rate(rate)} | {left} | {right} |")
    both = sorted(set(bare_cpu) & set(read_cpu))
    if both:
        rate = both[-1]
        b = per_request(bare_cpu[rate]["server_cpu_s"], bare_cpu[rate])
        g = per_request(read_cpu[rate]["step_cpu_s"]["gateway"], read_cpu[rate])
        if b and g:
            w("")
            w(f"At {fmt_rate(rate)}/s a balance read cost the gateway {g:,.0f} µs of CPU, {g / b:.2f} times what a request "
              f"cost the bare server ({b:,.0f} µs).")
    w("")

w("## Processes: CPU time and peak memory")
w("")
cpu = {}
for r in kind("cpu"):
    cpu.setdefault(r["part"], {})[r["when"]] = r
w("| process | CPU s (whole run) | CPU s during load steps | peak RSS (VmHWM) MiB |")
w("|---|---:|---:|---:|")
for part, d in cpu.items():
    start, end = d.get("start", {}), d.get("final", d.get("end", {}))
    warm, load_end = d.get("warm", {}), d.get("end", {})
    w(f"| {part} | {end.get('cpu_s', 0) - start.get('cpu_s', 0):.1f} | "
      f"{load_end.get('cpu_s', 0) - warm.get('cpu_s', 0):.1f} | {end.get('hwm_kb', 0) / 1024:.0f} |")
w("")
steps_cpu = [r for r in loads if r.get("step_cpu_s") and r.get("step_wall_s")]
if steps_cpu:
    parts = list(steps_cpu[0]["step_cpu_s"].keys())
    w("## Where each step's CPU went (cores: CPU seconds of each process ÷ the step's wall time, drain included)")
    w("")
    w("Two cores in all. The load generator's own CPU is `loadgen`; `kdamond` is the kernel's DAMON monitor "
      "(not ours, but on the same cores); a row near 2.0 in total is a machine that is saturated, whichever process is."
      + (" A process's CPU includes its children's once it has reaped them: `redis` includes the child that "
         "rewrites its append-only file (most of a core for 10-30 s with this data set), in the step that reaped it; "
         "`Redis forks` counts the rewrites that started during the step (the fork itself stops Redis for ~0.1 s)."
         if forked else " `Redis forks` counts the forks that started during the step: none in this run."
         if forks_recorded else ""))
    w("")
    if flushing_recorded:
        w("`InnoDB pages flushed` is what MariaDB's page cleaner wrote during the step (16 KiB pages), and `checkpoint "
          "age` how much of the redo log it had not yet checkpointed at the step's end, as a share of the maximum. With MariaDB's "
          "default `innodb_max_dirty_pages_pct_lwm` = 0 the cleaner writes nothing while the age is below its "
          "asynchronous point (~84 % of the maximum in the "
          "thirtieth session's runs), then as much as keeps it there; at the maximum the commits would wait for "
          "it. A step that wrote nothing left its pages for later steps to write.")
        w("")
    w("| operation | offered/s | achieved/s | " + " | ".join(parts) + " | loadgen | total |" + (" Redis forks |" if forks_recorded else "")
      + (" InnoDB pages flushed | checkpoint age % |" if flushing_recorded else ""))
    w("|---|---:|---:|" + "---:|" * (len(parts) + 2) + ("---:|" if forks_recorded else "")
      + ("---:|---:|" if flushing_recorded else ""))
    for r in steps_cpu:
        wall = r["step_wall_s"]
        cores = [r["step_cpu_s"].get(p, 0) / wall for p in parts]
        gen = r.get("loadgen_cpu_s", 0) / wall
        w(step_cells(r)
          + " | ".join(f"{c:.2f}" for c in cores) + f" | {gen:.2f} | {sum(cores) + gen:.2f} |"
          + (f" {r.get('redis_forks', 0) or ''} |" if forks_recorded else "")
          + (f" {r.get('innodb_pages_flushed', 0):,} | {r.get('checkpoint_age_pct', 0):.0f} |" if flushing_recorded else ""))
    w("")
    ours = [p for p in parts if p != "kdamond"]
    w("## CPU per request (µs of CPU per request the step sent, its warm-up second included)")
    w("")
    w("The same CPU seconds divided by the requests each process served in the step: what one request costs, and how "
      "much of it is paid per batch or per wake-up rather than per request (the cost falls as the rate rises while "
      "the batches grow). `services` is the sum of the network's processes, without the generator and kdamond"
      + ("; a step with a Redis fork counts the rewrite in `redis`" if may_hold_rewrite else "") +
      ". At a saturated step the unanswered requests are counted "
      "as served, so its figures are a floor.")
    w("")
    w("| operation | offered/s | achieved/s | " + " | ".join(ours) + " | services | loadgen |")
    w("|---|---:|---:|" + "---:|" * (len(ours) + 2))
    for r in steps_cpu:
        if served(r) <= 0:
            continue
        per = [per_request(r["step_cpu_s"].get(p, 0), r) for p in ours]
        gen = per_request(r.get("loadgen_cpu_s", 0), r)
        w(step_cells(r)
          + " | ".join(f"{v:,.0f}" for v in per) + f" | {sum(per):,.0f} | {gen:,.0f} |")
    w("")
steps_threads = [r for r in steps_cpu if r.get("step_threads_cpu_s") and served(r) > 0]
if steps_threads:
    groups = ["gateway", "gateway.librdkafka", "wallet", "wallet.librdkafka", "clearing", "clearing.librdkafka",
              "broker", "mariadb.wallet", "mariadb.clearing", "mariadb.gateway", "mariadb.other", "redis"]
    w("## CPU per request, thread by thread (µs)")
    w("")
    w("The services' CPU of the table above split by the threads that spent it (`bench/threads_cpu.py`): each service's "
      "own threads apart from librdkafka's (`.librdkafka`: its broker and main threads, the Kafka client), and "
      "MariaDB's threads by the client each serves (a connection's thread matched to the process at the other end; "
      "`mariadb.other`: InnoDB's background threads and unmatched connections). A thread that ended during a step is "
      "missing from it.")
    w("")
    w("| operation | offered/s | achieved/s | " + " | ".join(f"`{g}`" for g in groups) + " |")
    w("|---|---:|---:|" + "---:|" * len(groups))
    for r in steps_threads:
        t = r["step_threads_cpu_s"]
        w(step_cells(r) + " | ".join(f"{per_request(t.get(g, 0), r):,.0f}" for g in groups) + " |")
    w("")
w("## Memory over the run (VmRSS, MiB)")
w("")
rss = {}
for r in kind("rss"):
    rss.setdefault(r["part"], {})[r["when"]] = r["rss_kb"]
peak = one("rss_peak", {})
w("| process | start | after warm-up | end | sampled peak |")
w("|---|---:|---:|---:|---:|")
for part, d in rss.items():
    w(f"| {part} | {d.get('start', 0) / 1024:.0f} | {d.get('after-warm-up', 0) / 1024:.0f} | {d.get('end', 0) / 1024:.0f} | "
      f"{peak.get(part + '_kb', 0) / 1024:.0f} |")
print("\n".join(out))
