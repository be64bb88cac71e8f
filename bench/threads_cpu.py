#!/usr/bin/env python3
"""threads_cpu.py — the network's CPU thread by thread, grouped by what the threads serve (docs/performance-log.md,
twenty-seventh session).

    bench/threads_cpu.py snapshot DIR > FILE     every thread of DIR's processes (scripts/netctl.sh's pids/*.pid)
    bench/threads_cpu.py delta BEFORE AFTER      the CPU seconds between two snapshots, by group, as one JSON object

Groups: each service's own threads (`gateway`, `wallet`, `clearing`) apart from librdkafka's (`gateway.librdkafka`,
…: the threads it names `rdk:…`), `broker` and `redis` whole, and MariaDB's threads by the client each serves — a
connection's thread (`information_schema.processlist.TID`) is matched to the process at the other end of its TCP
connection (`ss -tnp`): `mariadb.wallet`, `mariadb.clearing`, `mariadb.gateway`; `mariadb.other` is everything
else (InnoDB's background threads, the benchmark's own clients, connections that could not be matched). A thread that
started during the interval counts from zero; one that ended during it is lost (its CPU is in neither snapshot), so
the groups can add up to a little less than the process.
"""
import json
import os
import re
import subprocess
import sys

from batch_replay import mysql  # the network's MariaDB as root, through its socket

CLK_TCK = os.sysconf("SC_CLK_TCK")
SERVICES = ("gateway", "wallet", "clearing")


def pids(d):
    out = {}
    for name in os.listdir(os.path.join(d, "pids")):
        if name.endswith(".pid"):
            try:
                out[name[:-4]] = int(open(os.path.join(d, "pids", name)).read().strip())
            except (OSError, ValueError):
                pass
    return out


def threads(pid):
    """(tid, comm, CPU seconds) of every thread of pid."""
    rows = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return rows
    for tid in tids:
        try:
            stat = open(f"/proc/{pid}/task/{tid}/stat").read()
        except OSError:
            continue
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        f = stat[stat.rindex(")") + 2:].split()
        rows.append((int(tid), comm, (int(f[11]) + int(f[12])) / CLK_TCK))
    return rows


def mariadb_clients(d, by_pid):
    """MariaDB thread id -> the part of the network at the other end of its connection."""
    try:
        rows = mysql(d, "SELECT tid, host FROM information_schema.processlist").splitlines()
        ss = subprocess.run(["ss", "-tnpH"], capture_output=True, text=True, timeout=10).stdout.splitlines()
    except (SystemExit, OSError, subprocess.SubprocessError):  # mysql() exits when the client fails
        return {}
    owner = {}  # a client's local address (127.0.0.1:port) -> its part
    for line in ss:
        cols = line.split()
        m = re.search(r"pid=(\d+)", line)
        if len(cols) >= 4 and m and int(m.group(1)) in by_pid:
            owner[cols[3]] = by_pid[int(m.group(1))]
    out = {}
    for row in rows:
        tid, _, host = row.partition("\t")
        if tid.isdigit() and host in owner:
            out[int(tid)] = owner[host]
    return out


def snapshot(d):
    parts = pids(d)
    by_pid = {pid: part for part, pid in parts.items()}
    clients = mariadb_clients(d, by_pid) if "mariadb" in parts else {}
    snap = {}
    for part, pid in parts.items():
        for tid, comm, cpu in threads(pid):
            if part in SERVICES:
                group = part + (".librdkafka" if comm.startswith("rdk:") else "")
            elif part == "mariadb":
                client = clients.get(tid)
                group = "mariadb." + (client if client in SERVICES else "other")
            else:
                group = part
            snap[f"{part}:{tid}"] = [group, cpu]
    return snap


def delta(before, after):
    out = {}
    for key, (group, cpu) in after.items():
        prev = before.get(key)
        # A MariaDB thread that began serving a client during the interval (a pooled connection opened) is
        # grouped by whom it served at the end.
        out[group] = out.get(group, 0.0) + max(0.0, cpu - (prev[1] if prev else 0.0))
    return {k: round(v, 3) for k, v in sorted(out.items())}


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "snapshot":
        print(json.dumps(snapshot(sys.argv[2]), separators=(",", ":")))
    elif len(sys.argv) == 4 and sys.argv[1] == "delta":
        print(json.dumps(delta(json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))), separators=(",", ":")))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
