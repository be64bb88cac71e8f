#!/usr/bin/env python3
"""batch_replay.py — what MariaDB itself spends on the wallet's batches (docs/performance-log.md, eighteenth session).

    bench/batch_replay.py capture DIR SECONDS OUT.json
    bench/batch_replay.py replay DIR BATCHES.json [--commands N] [--rounds R] [--gap-ms G] [--drop PREFIX]...
                                 [--sub FROM TO]...
    bench/batch_replay.py export BATCHES.json OUT.json [--commands N]

capture: turns on the general log of DIR's MariaDB (a network of scripts/netctl.sh, e.g. var/bench after
`scripts/bench.sh --keep`) for SECONDS while something else drives earns (emtiaz-loadgen), then keeps every
batch the wallet sent: its read query (START TRANSACTION and the SELECTs) and its write query (the INSERTs
and the COMMIT), as the wallet wrote them. The general log slows MariaDB several-fold while it is on (1,600
earns/s offered were answered at ~380/s): the load backs up and the batches come in all sizes (1 to ~250
commands), which is what replay needs; the load generator's figures from that window mean nothing.

replay: sends the captured batch with the number of commands closest to N (default 1) R times (default 100)
over one connection of the mysql client, each as the wallet does (two multi-statement queries), but ending
with ROLLBACK instead of COMMIT, so that nothing changes and no fsync happens. Keys that the committed batch
made taken (command ids, earn ids, receipts, outbox sequences, members it created) are rewritten so that the
replay inserts rows again instead of failing on duplicates. Prints mariadbd's CPU per batch and per command,
less MariaDB's own background CPU (its rate measured over 3 s of quiet first, times the replay's wall time).
--gap-ms G sleeps G ms in MariaDB (DO SLEEP) between batches: the cost of a batch that finds its connection's
thread idle, as at low rates. --drop PREFIX leaves out the statements that start with PREFIX (repeatable):
what that statement costs is the difference. --sub FROM TO replaces every FROM in the batch's text by TO
(repeatable), e.g. a form of escaping against another. The network must be otherwise quiet (no load) while it runs.

export: writes the batch with the number of commands closest to N, keys made fresh as replay makes them, as JSON:
its write query as text ending with ROLLBACK ("text") and each INSERT as table, columns, suffix and typed rows
("inserts"), for bench/sql_protocols.js to send the same rows over MariaDB's binary protocols.
"""
import argparse
import json
import os
import pwd
import re
import subprocess
import sys
import time


def mysql_home(d):
    """MariaDB's folder (data, socket, pid file) of the network in d: d/mysql, unless scripts/netctl.sh had to
    put it elsewhere (a path too long for a socket, a folder the mysql user cannot reach) and wrote where into
    d/mysql.home."""
    try:
        with open(os.path.join(d, "mysql.home")) as f:
            home = f.read().strip()
    except FileNotFoundError:
        home = ""
    return home or os.path.join(os.path.abspath(d), "mysql")


def mysql(d, sql, database="emtiaz"):
    user = "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name  # as netctl.sh's mysql_root
    p = subprocess.run(["mariadb", "--no-defaults", f"--socket={os.path.join(mysql_home(d), 'mysqld.sock')}",
                        f"--user={user}", "--batch", "--skip-column-names", database],
                       input=sql, text=True, capture_output=True)
    if p.returncode != 0:
        sys.exit(f"batch_replay: mysql failed: {p.stderr.strip()[:600]}")
    return p.stdout


def mariadbd_cpu_ticks(d):
    pid = open(os.path.join(mysql_home(d), "mariadbd.pid")).read().strip()
    f = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])  # utime + stime


TICK = os.sysconf("SC_CLK_TCK")
ENTRY = re.compile(r"^(?:\d{6} [ \d:]{8})?\t\t?\s*(\d+) (Query|Execute|Connect|Quit|Prepare|Close stmt|Init DB)\t(.*)$")


def capture(d, seconds, out):
    # In the data folder: the server (user mysql when started as root) must be able to write it.
    log = os.path.join(mysql_home(d), "data", "batch_replay.general.log")
    if os.path.exists(log):
        os.remove(log)
    mysql(d, f"SET GLOBAL general_log_file='{log}'; SET GLOBAL general_log=1;")
    try:
        time.sleep(seconds)
    finally:
        mysql(d, "SET GLOBAL general_log=0;")
    entries, cur = [], None
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            line = line.rstrip("\n")
            m = ENTRY.match(line)
            if m:
                cur = [m.group(1), m.group(2), [m.group(3)]]
                entries.append(cur)
            elif cur:
                cur[2].append(line)
    batches = []
    for i, (conn, kind, lines) in enumerate(entries):
        if kind != "Query" or not lines[0].startswith("START TRANSACTION;") or "FROM member_states" not in "\n".join(lines):
            continue
        for conn2, kind2, lines2 in entries[i + 1:i + 400]:  # the same connection's next query: the writes
            if conn2 == conn and kind2 == "Query":
                if lines2[0].startswith("INSERT INTO outbox") and lines2[-1].strip() == "COMMIT":
                    batches.append({"commands": lines2[0].count("'ten_"), "reads": lines, "writes": lines2})
                break
    os.remove(log)
    json.dump(batches, open(out, "w"))
    sizes = sorted({b["commands"] for b in batches})
    print(f"batch_replay: {len(batches)} batches captured into {out}; commands per batch: {sizes}")


def rewrite(statements, new_members):
    """The batch's statements with every key its COMMIT took made fresh again."""
    out = []
    for s in statements:
        s = re.sub(r"'([0-9a-f])([0-9a-f]{63})'", lambda m: "'" + ("e" if m.group(1) == "f" else "f") + m.group(2) + "'", s)
        s = re.sub(r"'(ern|red)_([A-Za-z0-9])([A-Za-z0-9]{23})'",
                   lambda m: f"'{m.group(1)}_{'Z' if m.group(2) == 'Q' else 'Q'}{m.group(3)}'", s)
        s = s.replace("'rc-", "'rx-")
        if s.startswith("INSERT INTO outbox"):
            s = re.sub(r"\((\d+),(\d+),'ten_", lambda m: f"({m.group(1)},{int(m.group(2)) + 900000000},'ten_", s)
        for m in new_members:
            s = s.replace(f"'{m}'", f"'{m.replace('mem_', 'mrp_', 1)}'")
        out.append(s)
    return out


def pick(batches_file, commands):
    """The captured batch with the number of commands closest to `commands`, and the members its COMMIT created."""
    batches = json.load(open(batches_file))
    if not batches:
        sys.exit("batch_replay: no batches in " + batches_file)
    b = min(batches, key=lambda x: abs(x["commands"] - commands))
    new_members = set()
    for s in b["writes"]:
        if s.startswith("INSERT INTO member_states") and "ON DUPLICATE" not in s:
            new_members |= set(re.findall(r"'(mem_[A-Za-z0-9_]+)',\d+,\d+,'\{", s))
    return b, new_members


UNESCAPE = {"0": "\0", "n": "\n", "r": "\r", "Z": "\x1a"}
NUMBER = re.compile(r"-?\d+")


def values_rows(s, i):
    """The rows of an INSERT's VALUES list that starts at s[i], as typed values (str, int, None), and where it ends.
    Reads back what the wallet's text writer (common/sql_util.cpp: append_escaped, BulkInsert) writes."""
    rows = []
    while True:
        while s[i] in " ,":
            i += 1
        if s[i] != "(":
            return rows, i
        i += 1
        row = []
        while True:
            if s[i] == "'":
                i += 1
                out = []
                while s[i] != "'":
                    if s[i] == "\\":
                        out.append(UNESCAPE.get(s[i + 1], s[i + 1]))
                        i += 2
                    else:
                        out.append(s[i])
                        i += 1
                i += 1
                row.append("".join(out))
            elif s.startswith("NULL", i):
                row.append(None)
                i += 4
            else:
                m = NUMBER.match(s, i)
                if not m:
                    sys.exit(f"batch_replay: cannot read a value at ...{s[max(0, i - 40):i + 40]}...")
                row.append(int(m.group(0)))
                i += len(m.group(0))
            i += 1  # the , or ) after the value
            if s[i - 1] == ")":
                break
        rows.append(row)


def export(batches_file, commands, out):
    b, new_members = pick(batches_file, commands)
    writes = rewrite(b["writes"], new_members)
    stmts = []
    for s in writes:
        m = re.match(r"INSERT INTO (\w+) \(([^)]*)\) VALUES ", s)
        if not m:
            continue
        rows, i = values_rows(s, m.end())
        stmts.append({"table": m.group(1), "columns": m.group(2).split(","), "suffix": s[i:].strip().rstrip(";"),
                      "rows": rows})
    if writes[-1].strip() != "COMMIT":
        sys.exit("batch_replay: the write query does not end with COMMIT")
    json.dump({"commands": b["commands"], "text": "\n".join(writes[:-1] + ["ROLLBACK"]), "inserts": stmts}, open(out, "w"))
    print(f"batch_replay: a batch of {b['commands']} commands into {out}: "
          + ", ".join(f"{s['table']} {len(s['rows'])} rows" for s in stmts))


def replay(d, batches_file, commands, rounds, gap_ms, drops, subs):
    b, new_members = pick(batches_file, commands)
    keep = lambda s: not any(s.startswith(p) for p in drops)
    reads = [s for s in rewrite(b["reads"], new_members) if keep(s)]
    writes = [s for s in rewrite(b["writes"], new_members) if keep(s)]
    for old, new in subs:
        reads, writes = [s.replace(old, new) for s in reads], [s.replace(old, new) for s in writes]
    if writes[-1].strip() != "COMMIT":
        sys.exit("batch_replay: the write query does not end with COMMIT")
    writes[-1] = "ROLLBACK"
    r, w = "\n".join(reads).rstrip(";\n"), "\n".join(writes)
    gap = f"DO SLEEP({gap_ms / 1000:.3f})$$\n" if gap_ms > 0 else ""
    # The session as the wallet's (common/mysql.cpp), whatever the client's locale would choose.
    sql = "SET NAMES utf8mb4 COLLATE utf8mb4_bin;\nDELIMITER $$\n" + "".join(f"{r}$$\n{w}$$\n{gap}" for _ in range(rounds))
    c0, t0 = mariadbd_cpu_ticks(d), time.time()
    time.sleep(3)
    idle_rate = (mariadbd_cpu_ticks(d) - c0) / TICK / (time.time() - t0)  # cores, MariaDB's background
    c0, t0 = mariadbd_cpu_ticks(d), time.time()
    mysql(d, sql)
    cpu, wall = (mariadbd_cpu_ticks(d) - c0) / TICK, time.time() - t0
    net = max(0.0, cpu - idle_rate * wall)
    per_batch = net / rounds * 1e6
    print(json.dumps({"commands": b["commands"], "new_members": len(new_members), "rounds": rounds,
                      "gap_ms": gap_ms, "dropped": drops, "substituted": subs, "mariadbd_cpu_us_per_batch": round(per_batch),
                      "per_command_us": round(per_batch / b["commands"]),
                      "wall_us_per_batch": round((wall / rounds - gap_ms / 1000) * 1e6),
                      "background_cores": round(idle_rate, 3)}))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("capture")
    c.add_argument("dir")
    c.add_argument("seconds", type=float)
    c.add_argument("out")
    r = sub.add_parser("replay")
    r.add_argument("dir")
    r.add_argument("batches")
    r.add_argument("--commands", type=int, default=1)
    r.add_argument("--rounds", type=int, default=100)
    r.add_argument("--gap-ms", type=float, default=0.0)
    r.add_argument("--drop", action="append", default=[], metavar="PREFIX")
    r.add_argument("--sub", action="append", nargs=2, default=[], metavar=("FROM", "TO"))
    e = sub.add_parser("export")
    e.add_argument("batches")
    e.add_argument("out")
    e.add_argument("--commands", type=int, default=1)
    a = ap.parse_args()
    if a.cmd == "capture":
        capture(a.dir, a.seconds, a.out)
    elif a.cmd == "export":
        export(a.batches, a.commands, a.out)
    else:
        replay(a.dir, a.batches, a.commands, a.rounds, a.gap_ms, a.drop, a.sub)


if __name__ == "__main__":
    main()
